package main

import (
	"log/slog"
	"testing"

	"github.com/pgsctp/pgsctp/internal/config"
	"github.com/pgsctp/pgsctp/sctp"
)

// pgsctp.conf's defaults are the sctp package's (what pgdial users get
// from a zero Config), so the commands and the Go API fail over alike.
func TestConfigDefaultsMatchSCTP(t *testing.T) {
	// The proxy has the same sctp_* settings; the server needs no
	// other setting to load.
	for _, set := range []*config.Set{config.Server()} {
		v, err := set.Load("", nil)
		if err != nil {
			t.Fatal(err)
		}
		a := sctpConfig(v, slog.New(slog.DiscardHandler)).Assoc
		if a.RTOMin != sctp.DefaultRTOMin || a.DelayedAckTime != sctp.DefaultDelayedAck ||
			a.HBInterval != sctp.DefaultHBInterval || a.PathMaxRetrans != sctp.DefaultPathMaxRetrans || a.PFMaxRetrans != 0 {
			t.Errorf("%v: RTO.Min %v, SACK delay %v, HB.interval %v, Path.Max.Retrans %d, PFMR %d; the sctp package's are %v, %v, %v, %d, 0",
				set, a.RTOMin, a.DelayedAckTime, a.HBInterval, a.PathMaxRetrans, a.PFMaxRetrans,
				sctp.DefaultRTOMin, sctp.DefaultDelayedAck, sctp.DefaultHBInterval, sctp.DefaultPathMaxRetrans)
		}
	}
}
