package serial

import (
	"flag"
	"math/rand/v2"
	"testing"
)

var seedFlag = flag.Uint64("serial.seed", 0, "seed for the randomized test (0: a fresh one, logged)")

func TestLess32Table(t *testing.T) {
	tests := []struct {
		a, b uint32
		less bool // a < b
	}{
		{0, 0, false},
		{0, 1, true},
		{1, 0, false},
		{100, 200, true},
		{200, 100, false},
		// Wrap-around: 0xFFFFFFFF precedes 0, 0 follows it.
		{0xFFFFFFFF, 0, true},
		{0, 0xFFFFFFFF, false},
		{0xFFFFFFF0, 0x10, true},
		{0x10, 0xFFFFFFF0, false},
		// The largest defined distance, 2^31-1, both ways.
		{0, 0x7FFFFFFF, true},
		{0x7FFFFFFF, 0, false},
		{0x80000001, 0, true}, // 0 - 0x80000001 = 0x7FFFFFFF
		{0, 0x80000001, false},
		// Antipodal (2^31 apart): undefined by RFC 1982, incomparable here.
		{0, 0x80000000, false},
		{0x80000000, 0, false},
		{0x12345678, 0x92345678, false},
		{0x92345678, 0x12345678, false},
	}
	for _, tt := range tests {
		if got := Less32(tt.a, tt.b); got != tt.less {
			t.Errorf("Less32(%#x, %#x) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
		wantLE := tt.less || tt.a == tt.b
		if got := LessEq32(tt.a, tt.b); got != wantLE {
			t.Errorf("LessEq32(%#x, %#x) = %v, want %v", tt.a, tt.b, got, wantLE)
		}
	}
}

func TestLess16Table(t *testing.T) {
	tests := []struct {
		a, b uint16
		less bool
	}{
		{0, 0, false},
		{0, 1, true},
		{1, 0, false},
		// RFC 9260 section 6.5: "When the Stream Sequence Number reaches
		// the value 65535, the next Stream Sequence Number MUST be set to 0."
		{65535, 0, true},
		{0, 65535, false},
		{65000, 100, true},
		{100, 65000, false},
		{0, 0x7FFF, true},
		{0x7FFF, 0, false},
		{0x8001, 0, true},
		{0, 0x8001, false},
		// Antipodal: incomparable.
		{0, 0x8000, false},
		{0x8000, 0, false},
		{0x1234, 0x9234, false},
		{0x9234, 0x1234, false},
	}
	for _, tt := range tests {
		if got := Less16(tt.a, tt.b); got != tt.less {
			t.Errorf("Less16(%#x, %#x) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
		wantLE := tt.less || tt.a == tt.b
		if got := LessEq16(tt.a, tt.b); got != wantLE {
			t.Errorf("LessEq16(%#x, %#x) = %v, want %v", tt.a, tt.b, got, wantLE)
		}
	}
}

func TestMax32(t *testing.T) {
	tests := []struct{ a, b, want uint32 }{
		{1, 2, 2},
		{2, 1, 2},
		{7, 7, 7},
		{0xFFFFFFFF, 0, 0},
		{0, 0xFFFFFFFF, 0},
		{0xFFFFFF00, 5, 5},
		// Antipodal: the order is undefined; Max32 returns its first argument.
		{0, 0x80000000, 0},
		{0x80000000, 0, 0x80000000},
	}
	for _, tt := range tests {
		if got := Max32(tt.a, tt.b); got != tt.want {
			t.Errorf("Max32(%#x, %#x) = %#x, want %#x", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestLess16Definition checks every a, against b on a stride that visits
// every residue, with the RFC 1982 section 3.2 definition written out
// literally: "s1 is said to be less than s2 if, and only if, s1 is not
// equal to s2, and (i1 < i2 and i2 - i1 < 2^(SERIAL_BITS - 1)) or (i1 > i2
// and i1 - i2 > 2^(SERIAL_BITS - 1))". The antipodal b = a+2^15 and the
// neighbours of a are always included.
func TestLess16Definition(t *testing.T) {
	const half = 1 << 15
	check := func(a, b int) {
		want := a != b && ((a < b && b-a < half) || (a > b && a-b > half))
		if got := Less16(uint16(a), uint16(b)); got != want {
			t.Fatalf("Less16(%d, %d) = %v, RFC 1982 says %v", a, b, got, want)
		}
	}
	for a := 0; a < 1<<16; a++ {
		for b := a % 61; b < 1<<16; b += 61 {
			check(a, b)
		}
		for _, d := range []int{-1, 0, 1, half - 1, half, half + 1} {
			check(a, (a+d+1<<16)%(1<<16))
		}
	}
}

// TestSerialProperties checks, on random pairs, the RFC 1982 definition
// and the order properties callers rely on. The seed is logged.
func TestSerialProperties(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay: go test -run '^%s$' ./assoc/serial -serial.seed=%d)", seed, t.Name(), seed)
	r := rand.New(rand.NewPCG(seed, 0))
	const half32 = uint64(1) << 31
	for i := 0; i < 200000; i++ {
		a, b := r.Uint32(), r.Uint32()
		switch i % 4 { // bias towards near and antipodal pairs
		case 1:
			b = a + uint32(r.IntN(64)) - 32
		case 2:
			b = a + 1<<31 + uint32(r.IntN(4)) - 2
		}
		i1, i2 := uint64(a), uint64(b)
		want := a != b && ((i1 < i2 && i2-i1 < half32) || (i1 > i2 && i1-i2 > half32))
		if got := Less32(a, b); got != want {
			t.Fatalf("Less32(%#x, %#x) = %v, RFC 1982 says %v", a, b, got, want)
		}
		if Less32(a, b) && Less32(b, a) {
			t.Fatalf("Less32 not asymmetric on %#x, %#x", a, b)
		}
		antipodal := b-a == 1<<31
		if !antipodal && a != b && Less32(a, b) == Less32(b, a) {
			t.Fatalf("defined pair %#x, %#x not ordered", a, b)
		}
		m := Max32(a, b)
		if m != a && m != b || Less32(m, a) || Less32(m, b) {
			t.Fatalf("Max32(%#x, %#x) = %#x", a, b, m)
		}
		// Translation invariance: adding the same offset keeps the order.
		k := r.Uint32()
		if Less32(a+k, b+k) != Less32(a, b) {
			t.Fatalf("Less32 not translation invariant: %#x %#x + %#x", a, b, k)
		}
		s1, s2 := uint16(a), uint16(b)
		if Less16(s1+uint16(k), s2+uint16(k)) != Less16(s1, s2) {
			t.Fatalf("Less16 not translation invariant: %#x %#x + %#x", s1, s2, k)
		}
	}
}
