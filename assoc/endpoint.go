package assoc

import (
	"errors"
	"net/netip"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Endpoint answers packets that belong to no association: it replies to
// INIT with an INIT ACK carrying an HMAC-SHA-256 signed state cookie and
// keeps no memory per INIT (RFC 9260 section 5.1.3), turns a valid COOKIE
// ECHO into a new Association, and treats everything else as out of the
// blue (section 8.4). Not safe for concurrent use; the associations it
// creates share only its immutable cookie signer.
type Endpoint struct {
	cfg    Config
	signer *cookieSigner
	accept bool
}

// NewEndpoint returns an endpoint whose accepted associations use cfg.
// With accept false (a client's socket) INITs are treated as out of the
// blue and answered with ABORT.
func NewEndpoint(now time.Time, cfg Config, accept bool) (*Endpoint, error) {
	cfg = cfg.withDefaults()
	s, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	return &Endpoint{cfg: cfg, signer: s, accept: accept}, nil
}

// HandlePacket processes a packet that no association claimed. It may
// write a reply into buf, and may return a new association created from a
// valid COOKIE ECHO; that association has processed the whole packet and
// has its COOKIE ACK (and anything else) waiting in PollTransmit. pkt is
// not retained.
func (e *Endpoint) HandlePacket(now time.Time, from, to netip.AddrPort, pkt []byte, buf []byte) (reply Transmit, ok bool, a *Association) {
	h, chunks, err := chunk.ParseHeader(pkt)
	if err != nil || !chunk.VerifyChecksum(pkt) {
		return Transmit{}, false, nil
	}
	// 8.4 rule 1: only unicast sources get answers.
	if !from.Addr().IsValid() || from.Addr().IsMulticast() || from.Port() == 0 {
		return Transmit{}, false, nil
	}
	r := chunk.NewReader(chunks)
	var first chunk.Raw
	n := 0
	for r.Next() {
		c := r.Chunk()
		if n == 0 {
			first = c
		}
		n++
		if c.Type == chunk.TypeAbort {
			// 8.4 rule 2: "If the OOTB packet contains an ABORT chunk, the
			// receiver MUST silently discard the OOTB packet".
			return Transmit{}, false, nil
		}
	}
	if n == 0 || r.Err() != nil {
		return Transmit{}, false, nil
	}
	if h.VerificationTag == 0 && first.Type != chunk.TypeInit {
		// 8.5.1 (A): "When an endpoint receives an SCTP packet with the
		// Verification Tag set to 0, it SHOULD verify that the packet
		// contains only an INIT chunk. Otherwise, the receiver MUST
		// silently discard the packet."
		return Transmit{}, false, nil
	}
	portOK := e.cfg.LocalPort == 0 || h.DstPort == e.cfg.LocalPort
	out := func(vtag uint32, c chunk.Chunk) (Transmit, bool, *Association) {
		b := chunk.AppendHeader(buf[:0], chunk.Header{SrcPort: h.DstPort, DstPort: h.SrcPort, VerificationTag: vtag})
		b = c.Append(b)
		chunk.SetChecksum(b)
		return Transmit{From: to.Addr(), To: from, Packet: b}, true, nil
	}
	switch first.Type {
	case chunk.TypeInit:
		// 8.5.1 (A) and 6.10: tag 0, alone in its packet.
		if h.VerificationTag != 0 || n != 1 {
			return Transmit{}, false, nil
		}
		var in chunk.InitChunk
		if err := in.Unmarshal(first); err != nil {
			if in.InitiateTag == 0 {
				// 3.3.2: "If the value of the Initiate Tag in a received
				// INIT chunk is found to be 0, the receiver MUST silently
				// discard the packet."
				return Transmit{}, false, nil
			}
			return out(in.InitiateTag, &chunk.AbortChunk{Causes: []chunk.Cause{&chunk.InvalidMandatoryParamCause{}}})
		}
		if !e.accept || !portOK {
			// 8.4 rule 3: "the Verification Tag of the packet containing
			// the ABORT chunk MUST be the Initiate Tag of the received
			// INIT chunk, and the T bit of the ABORT chunk has to be set
			// to 0".
			return out(in.InitiateTag, &chunk.AbortChunk{})
		}
		if err := e.admit(presented(from, &in, e.cfg.LocalAddrs)); err != nil {
			return out(in.InitiateTag, refusal(err))
		}
		ack := buildInitAck(now, &e.cfg, e.signer, from, &in, h.DstPort, h.SrcPort,
			nonzeroRand32(e.cfg.Rand), rand32(e.cfg.Rand), 0, 0)
		return out(in.InitiateTag, ack)
	case chunk.TypeCookieEcho:
		if !e.accept || !portOK {
			return out(h.VerificationTag, &chunk.AbortChunk{T: true})
		}
		var ce chunk.CookieEchoChunk
		if err := ce.Unmarshal(first); err != nil {
			return Transmit{}, false, nil
		}
		ck, err := e.signer.open(now, ce.Cookie)
		var stale staleCookieError
		if errors.As(err, &stale) {
			return out(ck.peerTag, &chunk.ErrorChunk{Causes: []chunk.Cause{
				&chunk.StaleCookieCause{Staleness: uint32(min(stale.staleness/time.Microsecond, 1<<32-1))}}})
		}
		if err != nil || h.VerificationTag != ck.localTag || h.SrcPort != ck.peerPort || h.DstPort != ck.localPort {
			// 5.1.5 steps 1 and 2: discard silently.
			return Transmit{}, false, nil
		}
		if ck.localTie != 0 || ck.peerTie != 0 {
			// A cookie from a restart or collision INIT ACK whose
			// association is gone: nothing to restart.
			return Transmit{}, false, nil
		}
		if err := e.admit(ck.peerAddrs); err != nil {
			return out(ck.peerTag, refusal(err))
		}
		cfg := e.cfg
		cfg.LocalPort = h.DstPort
		a := newServer(now, cfg, e.signer, &ck, from, to)
		a.HandlePacket(now, from, to, pkt) // the DATA bundled after the COOKIE ECHO
		return Transmit{}, false, a
	case chunk.TypeShutdownAck:
		// 8.4 rule 5.
		return out(h.VerificationTag, &chunk.ShutdownCompleteChunk{T: true})
	case chunk.TypeShutdownComplete, chunk.TypeCookieAck:
		// 8.4 rules 6 and 7.
		return Transmit{}, false, nil
	case chunk.TypeError:
		return Transmit{}, false, nil // 8.4 rule 7 (Stale Cookie), and never answer errors
	}
	// 8.4 rule 8: "the receiver SHOULD respond to the sender of the OOTB
	// packet with an ABORT chunk ... MUST fill in the Verification Tag
	// field of the outbound packet with the value found in the
	// Verification Tag field of the OOTB packet and set the T bit".
	return out(h.VerificationTag, &chunk.AbortChunk{T: true})
}

func (e *Endpoint) admit(addrs []netip.Addr) error {
	if e.cfg.Admit == nil {
		return nil
	}
	return e.cfg.Admit(addrs)
}

// refusal is the ABORT that turns a peer away, saying why.
func refusal(err error) *chunk.AbortChunk {
	return &chunk.AbortChunk{Causes: []chunk.Cause{&chunk.UserInitiatedAbortCause{Reason: []byte(err.Error())}}}
}

// SetConfig replaces the configuration of associations accepted from now
// on (a configuration reload); existing associations keep theirs. The
// cookie secret is kept, so handshakes under way complete.
func (e *Endpoint) SetConfig(cfg Config) {
	cfg = cfg.withDefaults()
	e.cfg = cfg
}
