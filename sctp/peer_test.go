package sctp

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/pgsctp/pgsctp/assoc"
)

// Writing on an association that ended or is ending in order reports a
// closed connection, so relays log an orderly end, not a failure.
func TestOrderlyEndIsErrClosed(t *testing.T) {
	a := &Association{}
	for _, err := range []error{assoc.ErrClosed, assoc.ErrShuttingDown, fmt.Errorf("send: %w", assoc.ErrShuttingDown)} {
		if got := a.opError("write", err); !errors.Is(got, net.ErrClosed) || !errors.Is(got, err) {
			t.Errorf("opError(%v) = %v: want both net.ErrClosed and the cause", err, got)
		}
	}
	if got := a.opError("write", assoc.ErrTimeout); errors.Is(got, net.ErrClosed) {
		t.Errorf("a timeout reported as an orderly close: %v", got)
	}
}
