package assoctest_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
)

// FuzzPair turns fuzz bytes into a life of an association: messages both
// ways on several streams, clock jumps, loss, duplication and reordering
// switched on and off, an application that stops and resumes reading,
// short outages, and an end (graceful shutdown from either side, or an
// abort). The invariants run after every input; when the association
// survives, every message must arrive exactly once and in order per
// ordered stream, and the shutdown must be graceful.
//
//	go test ./assoc/assoctest -run '^$' -fuzz FuzzPair -fuzztime 20s
func FuzzPair(f *testing.F) {
	f.Add([]byte{0, 1, 200, 1, 2, 50, 2, 30, 0, 0, 0x81, 90, 7, 0, 0})
	f.Add([]byte{3, 20, 0, 4, 20, 0, 6, 3, 0, 0, 1, 255, 0, 2, 255, 1, 3, 17, 2, 200, 0, 7, 1, 0})
	f.Add([]byte{5, 0, 0, 0, 0, 250, 0, 1, 250, 2, 100, 0, 5, 1, 0, 9, 30, 0, 8, 0, 0})
	f.Fuzz(runPairOps)
}

// runPairOps is FuzzPair's body.
func runPairOps(t *testing.T, ops []byte) {
	{
		if len(ops) > 300 {
			ops = ops[:300]
		}
		link := assoctest.LinkConfig{Delay: 10 * ms, Jitter: 3 * ms}
		seed := uint64(1)
		for _, b := range ops {
			seed = seed*1099511628211 ^ uint64(b) // the input picks the network's luck too
		}
		// A has three addresses, and the input adds and deletes them
		// (ASCONF under AUTH) and fails their links.
		aAddrs := []netip.Addr{a1, a2, a3}
		p := assoctest.New(t, assoctest.Options{Seed: seed, AZ: link, ZA: link, LadderTail: 60, AAddrs: aAddrs, ZAddrs: []netip.Addr{z1}})
		// A life of at most 100 operations and a few hundred KB needs far
		// fewer packets than this; more is a runaway (a retransmission or
		// acknowledgement storm).
		p.Check = func() {
			if n := len(p.Ladder.Entries) + p.Ladder.Omitted; n > 100000 {
				p.Fatalf("runaway: %d ladder entries at %v", n, p.Clock.Since())
			}
		}
		var toZ, toA []message
		send := func(s *assoctest.Peer, list *[]message, b1, b2 byte) {
			size := int(b2)*37%6000 + 8
			m := message{sid: uint16(b1 % 4), unordered: b1&0x80 != 0, data: make([]byte, size)}
			binary.BigEndian.PutUint32(m.data[0:4], uint32(len(*list)))
			binary.BigEndian.PutUint32(m.data[4:8], uint32(size))
			for j := 8; j < size; j++ {
				m.data[j] = byte(len(*list)*31 + j*7)
			}
			*list = append(*list, m)
			s.Enqueue(m.sid, 51, m.data, assoc.SendOptions{Unordered: m.unordered})
		}
		outage := false
		end := byte(0xff)
		for i := 0; i+2 < len(ops) && end == 0xff; i += 3 {
			op, b1, b2 := ops[i]%12, ops[i+1], ops[i+2]
			switch op {
			case 0:
				send(p.A, &toZ, b1, b2)
			case 1:
				send(p.Z, &toA, b1, b2)
			case 2:
				p.Advance(time.Duration(b1) * 10 * ms)
			case 3:
				p.AZ.Loss = float64(b1%16) / 100
			case 4:
				p.ZA.Loss = float64(b1%16) / 100
			case 5:
				p.Z.AutoRelease = b1&1 == 0
				if p.Z.AutoRelease {
					p.Z.ReleaseAll()
				}
			case 6:
				p.AZ.Duplicate, p.ZA.Duplicate = float64(b1%10)/100, float64(b1%10)/100
				p.AZ.Reorder, p.ZA.Reorder = float64(b2%10)/100, float64(b2%10)/100
			case 7, 8:
				end = op<<1 | b1&1
			case 9:
				outage = true
				p.Note("outage of %v", time.Duration(b1)*100*ms)
				p.AZ.Down, p.ZA.Down = true, true
				p.Advance(time.Duration(b1) * 100 * ms)
				p.AZ.Down, p.ZA.Down = false, false
			case 10:
				var set []netip.Addr
				for k, ip := range aAddrs {
					if b1&(1<<k) != 0 {
						set = append(set, ip)
					}
				}
				if a := p.A.Assoc; a != nil && len(set) > 0 && a.State() == assoc.StateEstablished {
					p.Note("A's addresses: %v", set)
					a.SetLocalAddrs(p.Now(), set) // ErrNoASCONF or ErrNotEstablished are fine
				}
			case 11:
				ip := aAddrs[int(b1)%len(aAddrs)]
				down := b2&1 == 1
				outage = outage || down
				p.Link(ip, z1).Down, p.Link(z1, ip).Down = down, down
			}
		}
		// The network heals: every link up and lossless, the links of
		// address pairs too (they took the direction's loss when made).
		for _, ip := range aAddrs {
			for _, l := range []*assoctest.Link{p.Link(ip, z1), p.Link(z1, ip)} {
				l.Down, l.Loss = false, 0
			}
		}
		p.AZ.Loss, p.ZA.Loss = 0, 0
		p.Z.AutoRelease = true
		p.Z.ReleaseAll()
		if end>>1 == 8 {
			s := p.A
			if end&1 == 1 {
				s = p.Z
			}
			if s.Assoc != nil && s.State() != assoc.StateClosed {
				s.Abort("fuzz")
			}
			p.Advance(time.Minute)
			return
		}
		delivered := func() bool { return len(p.Z.Messages) >= len(toZ) && len(p.A.Messages) >= len(toA) }
		p.RunUntil(func() bool { return (p.Connected() && delivered()) || p.A.IsClosed() || p.Z.IsClosed() }, 2*time.Hour)
		if p.A.IsClosed() || p.Z.IsClosed() {
			if !outage {
				t.Fatalf("association closed without an outage: A %v, Z %v", p.A.Events[len(p.A.Events)-1], p.Z.Events[len(p.Z.Events)-1])
			}
			return // a long enough outage kills it legitimately
		}
		if !p.Connected() {
			if !outage {
				t.Fatalf("no association: A %s, Z %s", p.A.State(), p.Z.State())
			}
			return
		}
		verifyDelivery(t, toZ, p.Z.Messages)
		verifyDelivery(t, toA, p.A.Messages)
		s := p.A
		if end&1 == 1 {
			s = p.Z
		}
		s.Shutdown()
		if !p.RunUntil(p.Closed, time.Hour) {
			t.Fatalf("shutdown incomplete: A %s, Z %s", p.A.State(), p.Z.State())
		}
		checkGracefulClose(t, p, s)
	}
}
