package assoc

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// FuzzAssociationInput feeds arbitrary chunk sequences to an established
// association and to the endpoint. The fuzzer's bytes become packets with a
// valid common header (right ports, right or wrong tag, good checksum), so
// they get past the first checks and reach the state machine. Nothing may
// panic, the invariants must hold after every input, and the association
// must still be able to move data when it survived.
func FuzzAssociationInput(f *testing.F) {
	seeds := [][]byte{
		{0x00, 0x03, 0x00, 0x11, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 'x'},        // DATA
		{0x03, 0x00, 0x00, 0x10, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0},             // SACK, one gap
		{0x04, 0x00, 0x00, 0x08, 0, 1, 0, 4},                                     // HEARTBEAT
		{0x07, 0x00, 0x00, 0x08, 0, 0, 0, 0},                                     // SHUTDOWN
		{0x06, 0x00, 0x00, 0x04},                                                 // ABORT
		{0x09, 0x00, 0x00, 0x08, 0, 1, 0, 8, 0, 0, 0, 0},                         // ERROR
		{0x01, 0x00, 0x00, 0x14, 0, 0, 0, 9, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1}, // INIT
		{0xc1, 0x00, 0x00, 0x04, 0x3f, 0x00, 0x00, 0x04},                         // unknown types
		{0x0a, 0x00, 0x00, 0x08, 1, 2, 3, 4, 0x0b, 0x00, 0x00, 0x04},             // COOKIE ECHO, COOKIE ACK
		{0x0e, 0x01, 0x00, 0x04},                                                 // SHUTDOWN COMPLETE, T
	}
	for _, s := range seeds {
		f.Add(uint8(0), s)
	}
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		p := newSmokePair(t, Config{}, 0, 7)
		if !p.run(func() bool { return p.z != nil && p.z.State() == StateEstablished && p.a.State() == StateEstablished }, time.Minute) {
			t.Fatal("no association")
		}
		target := p.z
		from, to := p.aAddr, p.zAddr
		if mode&1 == 1 {
			target, from, to = p.a, p.zAddr, p.aAddr
		}
		pkt := make([]byte, chunk.HeaderLen, chunk.HeaderLen+len(body))
		binary.BigEndian.PutUint16(pkt[0:], target.PeerPort())
		binary.BigEndian.PutUint16(pkt[2:], target.LocalPort())
		switch mode >> 1 & 3 {
		case 0:
			binary.BigEndian.PutUint32(pkt[4:], target.LocalTag())
		case 1:
			binary.BigEndian.PutUint32(pkt[4:], target.PeerTag())
		case 2: // tag 0, as an INIT would have
		default:
			binary.BigEndian.PutUint32(pkt[4:], 0xdeadbeef)
		}
		pkt = append(pkt, body...)
		chunk.SetChecksum(pkt)
		target.HandlePacket(p.now, from, to, pkt)
		if err := target.Invariants(); err != nil {
			t.Fatalf("invariant after input: %v", err)
		}
		if _, ok, _ := p.ep.HandlePacket(p.now, from, to, pkt, make([]byte, 1500)); ok {
			// replies are fine; a panic or a hang is not
		}
		p.run(func() bool { return false }, 5*time.Second)
		if p.a.State() == StateEstablished && p.z.State() == StateEstablished {
			if err := p.a.Send(p.now, 0, 1, []byte("still alive"), SendOptions{}); err != nil {
				t.Fatalf("send after input: %v", err)
			}
			n := len(p.zEv)
			p.run(func() bool { return len(p.zEv) > n }, time.Minute)
		}
	})
}
