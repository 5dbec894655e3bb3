//go:build linux

package kernelsctp_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/kernelsctp"
)

// One guest for the whole test binary: booting costs 5 to 20 s of TCG
// emulation, the tests run one after the other against it (none is
// parallel), each with its own SCTP port.
var (
	bootOnce  sync.Once
	theGuest  *kernelsctp.Guest
	bootErr   error
	bootStart time.Time
)

// guest returns the shared guest, booting it on first use; it skips or
// fails (on CI) the test like kernelsctp.Require when the guest cannot
// run.
func guest(t *testing.T) *kernelsctp.Guest {
	t.Helper()
	kernelsctp.Require(t)
	bootOnce.Do(func() {
		bootStart = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		theGuest, bootErr = kernelsctp.Boot(ctx, kernelsctp.Options{Logf: func(f string, a ...any) {
			fmt.Fprintf(os.Stderr, f+"\n", a...)
		}})
	})
	if bootErr != nil {
		t.Fatalf("booting the guest: %v", bootErr)
	}
	return theGuest
}

func TestMain(m *testing.M) {
	code := m.Run()
	if theGuest != nil {
		fmt.Fprintf(os.Stderr, "kernelsctp: guest %s booted in %v; package tests took %v after the boot started\n",
			theGuest.Kernel(), theGuest.BootTime().Round(time.Millisecond), time.Since(bootStart).Round(time.Millisecond))
		theGuest.Close()
	}
	os.Exit(code)
}
