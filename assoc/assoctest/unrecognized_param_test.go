package assoctest_test

import (
	"encoding/binary"
	"testing"

	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// RFC 9260 section 3.2.1, for parameter types whose upper two bits are 11:
// "Skip this parameter and continue processing but report the
// unrecognized parameter in an 'Unrecognized Parameter', as described in
// Section 3.3.3.1." pgsctp has no PR-SCTP, so RFC 3758's
// Forward-TSN-Supported (0xC000) in an INIT, which the Linux kernel always
// sends, comes back in the INIT ACK as an Unrecognized Parameter (8)
// holding the whole parameter; ECN Capable (0x8000, upper bits 10) is
// skipped without a report. Regression: the codec used to decode 0xC000,
// and the INIT ACK reported nothing.
func TestInitAckReportsForwardTSNSupported(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{NoConnect: true})
	const tag = 0x5eed1234
	v := initValue(tag, 10, 10, 1)
	v = append(v, 0x80, 0x00, 0x00, 0x04) // ECN Capable
	v = append(v, 0xc0, 0x00, 0x00, 0x04) // Forward-TSN-Supported
	mark := len(p.Ladder.Entries)
	p.Z.InjectEndpoint(assoctest.BuildPacket(5001, 5432, 0, assoctest.RawChunk{Type: chunk.TypeInit, Value: v}))
	p.Drive()
	r := repliesSince(p, assoctest.ZtoA, mark)
	if len(r) != 1 || !r[0].Has(chunk.TypeInitAck) {
		t.Fatalf("Z answered %d packets, want one INIT ACK", len(r))
	}
	ack := chunkValue(r[0].Data, chunk.TypeInitAck)
	var reported [][]byte
	for b := ack[16:]; len(b) >= 4; {
		typ, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			t.Fatalf("bad parameter length %d in % x", l, ack)
		}
		if typ == chunk.ParamUnrecognized {
			reported = append(reported, b[4:l])
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	if len(reported) != 1 || string(reported[0]) != "\xc0\x00\x00\x04" {
		t.Errorf("INIT ACK reports %x; want exactly one Unrecognized Parameter holding c0000004", reported)
	}
}
