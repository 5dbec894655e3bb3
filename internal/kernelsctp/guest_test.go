//go:build linux

package kernelsctp_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestGuest: the guest runs a kernel with SCTP loaded and SCTP over UDP on
// (net.sctp.udp_port), and its console answers commands with their status.
func TestGuest(t *testing.T) {
	g := guest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := g.Run(ctx, "cat /proc/sys/net/sctp/udp_port; lsmod | grep -c '^sctp '")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(out); len(f) != 2 || f[0] != "9899" || f[1] != "1" {
		t.Errorf("udp_port and sctp module: %q; want 9899 and 1", out)
	}
	if _, err := g.Run(ctx, "false"); err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("a failing command: %v; want exit status 1", err)
	}
	snmp, err := g.SNMP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snmp["SctpFastRetransmits"]; !ok {
		t.Errorf("no SctpFastRetransmits in /proc/net/sctp/snmp: %v", snmp)
	}
	t.Logf("guest kernel %s, booted in %v", g.Kernel(), g.BootTime())
}
