package assoc

import (
	"net/netip"
	"time"
)

// Association is one SCTP association's state machine. Not safe for
// concurrent use. All time enters as now.
type Association struct {
	state State
}

// NewClient starts an association towards peer (its IP address and UDP
// encapsulation port; peerPort is its SCTP port): the INIT is queued for
// PollTransmit and T1-init is armed.
func NewClient(now time.Time, cfg Config, peer netip.AddrPort, peerPort uint16) (*Association, error) {
	panic("unimplemented")
}

// HandlePacket processes one received SCTP packet (the UDP payload).
// from is the peer's IP address and UDP port, to the local one.
func (a *Association) HandlePacket(now time.Time, from, to netip.AddrPort, pkt []byte) {
	panic("unimplemented")
}

// HandleTimeout runs the timers that are due at now. Early or repeated
// calls are harmless.
func (a *Association) HandleTimeout(now time.Time) { panic("unimplemented") }

// Send queues one user message on stream sid. msg is copied.
func (a *Association) Send(now time.Time, sid uint16, ppid uint32, msg []byte, o SendOptions) error {
	panic("unimplemented")
}

// Release returns n bytes of delivered Message data to the receive window.
func (a *Association) Release(n int) { panic("unimplemented") }

// Shutdown starts a graceful shutdown (RFC 9260 section 9.2): queued data
// is still delivered, then SHUTDOWN is sent.
func (a *Association) Shutdown(now time.Time) { panic("unimplemented") }

// Abort ends the association at once with an ABORT carrying a User-Initiated
// Abort cause with reason.
func (a *Association) Abort(now time.Time, reason string) { panic("unimplemented") }

// PollTransmit fills buf (at least Config.MTU bytes) with the next packet to
// send, if any.
func (a *Association) PollTransmit(now time.Time, buf []byte) (Transmit, bool) {
	panic("unimplemented")
}

// PollEvent returns the next event, if any.
func (a *Association) PollEvent() (Event, bool) { panic("unimplemented") }

// NextTimeout is when HandleTimeout should next be called; zero: no timer.
func (a *Association) NextTimeout() time.Time { panic("unimplemented") }

// State is the association's state.
func (a *Association) State() State { return a.state }

// Stats returns a snapshot of counters and per-path state.
func (a *Association) Stats() Stats { panic("unimplemented") }

// LocalTag is this end's verification tag: packets for this association
// carry it (except INIT, and T-bit ABORT and SHUTDOWN COMPLETE, which carry
// PeerTag).
func (a *Association) LocalTag() uint32 { panic("unimplemented") }

// PeerTag is the peer's verification tag.
func (a *Association) PeerTag() uint32 { panic("unimplemented") }

// LocalPort and PeerPort are the SCTP ports.
func (a *Association) LocalPort() uint16 { panic("unimplemented") }
func (a *Association) PeerPort() uint16  { panic("unimplemented") }

// PeerAddrs lists the peer's transport addresses (IP and UDP port).
func (a *Association) PeerAddrs() []netip.AddrPort { panic("unimplemented") }

// Buffered is the number of user bytes queued or in flight, not yet
// acknowledged by the peer.
func (a *Association) Buffered() int { panic("unimplemented") }
