package assoc

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestPrivateSigner checks that the Endpoint's copy of the signer, which
// keeps its HMACs keyed across calls, makes and accepts exactly the cookies
// the shared signer does, across secret rotations, when an epoch's slot is
// reused two epochs later, and that it rejects a cookie altered by one bit.
func TestPrivateSigner(t *testing.T) {
	shared := &cookieSigner{rotation: time.Minute}
	for i := range shared.master {
		shared.master[i] = byte(i)
	}
	priv := shared.private()
	t0 := time.Unix(1_800_000_000, 0)
	ck := func(at time.Time) *cookie {
		return &cookie{created: at, life: time.Hour, localTag: 7, peerTag: 9,
			peerAddrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
	}
	for step := range 5 {
		now := t0.Add(time.Duration(step) * time.Minute)
		a, b := shared.seal(ck(now)), priv.seal(ck(now))
		if string(a) != string(b) {
			t.Fatalf("epoch %d: private signer made %x, shared %x", step, b, a)
		}
		// A cookie of this epoch and of the previous one are accepted
		// by both; one two epochs old is refused by both.
		for age, want := range []bool{true, true, false} {
			at := now.Add(-time.Duration(age) * time.Minute)
			c := shared.seal(ck(at))
			for name, s := range map[string]*cookieSigner{"shared": shared, "private": priv} {
				_, err := s.open(now, c)
				if got := err == nil; got != want {
					t.Errorf("epoch %d, %s signer, cookie %d epochs old: accepted %v, want %v (%v)", step, name, age, got, want, err)
				}
			}
		}
		bad := append([]byte(nil), b...)
		bad[len(bad)-1] ^= 1
		if _, err := priv.open(now, bad); !errors.Is(err, errCookieInvalid) {
			t.Errorf("epoch %d: altered cookie: %v, want errCookieInvalid", step, err)
		}
	}
}
