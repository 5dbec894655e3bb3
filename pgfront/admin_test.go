package pgfront

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
)

// The status report names each path with its measurements, the path MTU
// that discovery (RFC 8899) reached among them.
func TestWriteReportPaths(t *testing.T) {
	r := Report{Role: "server", Started: time.Now(), Listen: []string{"127.0.0.1:5432"},
		Associations: []AssociationStatus{{
			Local: "127.0.0.1:5432", Peer: []string{"127.0.0.1:40000"}, Since: time.Now(), Sessions: 1,
			Stats: assoc.Stats{State: assoc.StateEstablished, Paths: []assoc.PathStats{{
				ID: 0, Local: netip.MustParseAddr("127.0.0.1"), Addr: netip.MustParseAddrPort("127.0.0.1:9899"),
				State: assoc.PathActive, Primary: true, Data: true, SRTT: 250 * time.Microsecond, RTO: 100 * time.Millisecond,
				Cwnd: 36864, Ssthresh: 1 << 20, MTU: 9216,
			}}},
		}},
	}
	var out bytes.Buffer
	WriteReport(&out, r)
	want := "    path 0 127.0.0.1 -> 127.0.0.1:9899  active primary data  srtt 250µs  rto 100ms  mtu 9216  cwnd 36864  ssthresh 1048576  in flight 0  errors 0\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("report:\n%s\nwant the line:\n%s", out.String(), want)
	}
}
