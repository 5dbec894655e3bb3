package assoc

import (
	"net/netip"
	"time"
)

// Endpoint answers packets that belong to no association: it replies to
// INIT with an INIT ACK carrying an HMAC-SHA-256 signed state cookie and
// keeps no memory per INIT (RFC 9260 section 5.1.3), turns a valid COOKIE
// ECHO into a new Association, and treats everything else as out of the
// blue (section 8.4). Not safe for concurrent use.
type Endpoint struct {
	cfg Config
}

// NewEndpoint returns an endpoint whose accepted associations use cfg.
// With accept false (a client's socket) INITs are treated as out of the
// blue and answered with ABORT.
func NewEndpoint(now time.Time, cfg Config, accept bool) (*Endpoint, error) {
	panic("unimplemented")
}

// HandlePacket processes a packet that no association claimed. It may
// write a reply into buf, and may return a new association created from a
// valid COOKIE ECHO; that association has processed the whole packet and
// has its COOKIE ACK (and anything else) waiting in PollTransmit.
func (e *Endpoint) HandlePacket(now time.Time, from, to netip.AddrPort, pkt []byte, buf []byte) (reply Transmit, ok bool, a *Association) {
	panic("unimplemented")
}
