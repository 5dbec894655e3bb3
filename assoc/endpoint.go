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
// creates share only its immutable cookie signer (shared).
//
// Anyone can send it anything from any claimed source address, so its
// answers are bounded twice (docs/security.md):
//
//   - in size: no answer is larger than the packet that provoked it,
//     except the INIT ACK (128 bytes for a minimal 32-byte INIT; at most
//     the INIT's length plus maxInitAckGrowth) and the ABORT that refuses
//     an INIT, which is never larger than that INIT ACK would have been;
//   - in rate: Config.ReplyLimits, per source address and globally, in
//     the caller's time (now).
//
// Beyond its configuration, an Endpoint keeps only the three limiters'
// tables (8 KiB each), fixed at creation, whatever arrives.
type Endpoint struct {
	cfg    Config
	limits ReplyLimits   // cfg.ReplyLimits with defaults
	signer *cookieSigner // shared's private copy, its HMACs kept ready
	shared *cookieSigner
	accept bool

	ootb, initAck *replyLimiter
	initAckPort   *replyLimiter // keyed by address and port (InitAckPerPort)
	stats         EndpointStats
}

// EndpointStats counts what an Endpoint did with the packets that reached
// it: Packets counts every one, and each also counts in exactly one of the
// other fields.
type EndpointStats struct {
	Packets       uint64 // packets handed to HandlePacket
	Discarded     uint64 // dropped without an answer as the RFC says: malformed, bad checksum, 8.4 rules 2, 6, 7, 8.5.1 (A)
	ForgedCookies uint64 // COOKIE ECHOs whose cookie we did not sign (or signed for other ports or tag): dropped, section 5.1.5
	InitAcks      uint64 // INIT ACKs sent
	Replies       uint64 // other answers sent: ABORT, ERROR (Stale Cookie), SHUTDOWN COMPLETE
	RateLimited   uint64 // answers not sent because of ReplyLimits
	Accepted      uint64 // associations created from valid COOKIE ECHOs
}

// maxInitAckGrowth is how many bytes an INIT ACK may have beyond the INIT
// it answers: the State Cookie parameter, that is its header, the fixed
// part of the cookie (cookieFixedLen), up to maxPeerAddrs addresses of 17
// bytes, the MAC and padding. The rest of an INIT ACK is as long as the
// INIT's common header, chunk header and fixed part, plus the unrecognised
// parameters it reports (section 3.2.1), which reportable keeps within the
// INIT's own parameter bytes and reportSlack. So a minimal 32-byte INIT
// gets 128 bytes, 4 times its size, and no INIT gets more than its own
// size plus 397 bytes.
const maxInitAckGrowth = 4 + cookieFixedLen + maxPeerAddrs*17 + 32 + 3 + reportSlack

// reportSlack lets an INIT ACK report a few unrecognised parameters more
// than their own bytes (each report is 4 bytes longer than the parameter),
// so that an INIT whose only parameters are unknown ones gets them all
// reported.
const reportSlack = 32

// maxRefusal is the largest ABORT that refuses an INIT: no larger than the
// INIT ACK a minimal INIT would have earned, so refusing a peer reflects no
// more than accepting it.
const maxRefusal = 128

// NewEndpoint returns an endpoint whose accepted associations use cfg.
// With accept false (a client's socket) INITs are treated as out of the
// blue and answered with ABORT.
func NewEndpoint(now time.Time, cfg Config, accept bool) (*Endpoint, error) {
	cfg = cfg.withDefaults()
	s, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	return &Endpoint{
		cfg: cfg, limits: cfg.ReplyLimits.withDefaults(), signer: s.private(), shared: s, accept: accept,
		ootb: newReplyLimiter(s), initAck: newReplyLimiter(s), initAckPort: newReplyLimiter(s),
	}, nil
}

// initAckAllowed takes the tokens of an INIT ACK to from: its address's,
// or once they are used up, its socket's (ReplyLimits.InitAckPerPort).
func (e *Endpoint) initAckAllowed(now time.Time, from netip.AddrPort) bool {
	l := &e.limits
	switch e.initAck.take(now, from.Addr(), 0, l.InitAckPerSource, l.InitAckGlobal) {
	case taken:
		return true
	case globalFull:
		return false
	}
	if l.InitAckPerPort < 0 || e.initAckPort.take(now, from.Addr(), from.Port(), l.InitAckPerPort, l.InitAckPortGlobal) != taken {
		return false
	}
	e.initAck.takeGlobal(now, l.InitAckGlobal) // a global cap counts every INIT ACK
	return true
}

// Stats returns the endpoint's counters since it was created.
func (e *Endpoint) Stats() EndpointStats { return e.stats }

// HandlePacket processes a packet that no association claimed. It may
// write a reply into buf, and may return a new association created from a
// valid COOKIE ECHO; that association has processed the whole packet and
// has its COOKIE ACK (and anything else) waiting in PollTransmit. pkt is
// not retained.
func (e *Endpoint) HandlePacket(now time.Time, from, to netip.AddrPort, pkt []byte, buf []byte) (reply Transmit, ok bool, a *Association) {
	e.stats.Packets++
	discard := func() (Transmit, bool, *Association) {
		e.stats.Discarded++
		return Transmit{}, false, nil
	}
	h, chunks, err := chunk.ParseHeader(pkt)
	if err != nil || !chunk.VerifyChecksum(pkt) {
		return discard()
	}
	// 8.4 rule 1: only unicast sources get answers.
	if !from.Addr().IsValid() || from.Addr().IsMulticast() || from.Port() == 0 {
		return discard()
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
			return discard()
		}
	}
	if n == 0 || r.Err() != nil {
		return discard()
	}
	if h.VerificationTag == 0 && first.Type != chunk.TypeInit {
		// 8.5.1 (A): "When an endpoint receives an SCTP packet with the
		// Verification Tag set to 0, it SHOULD verify that the packet
		// contains only an INIT chunk. Otherwise, the receiver MUST
		// silently discard the packet."
		return discard()
	}
	portOK := e.cfg.LocalPort == 0 || h.DstPort == e.cfg.LocalPort
	// out sends an out-of-the-blue answer of one chunk, if the limits
	// allow. Each caller below says why its answer is no longer than pkt
	// (the refusal of an INIT: than maxRefusal): an endpoint must not
	// amplify what a forged source sends it.
	out := func(vtag uint32, c chunk.Chunk) (Transmit, bool, *Association) {
		if !e.ootb.allow(now, from.Addr(), e.limits.OOTBPerSource, e.limits.OOTBGlobal) {
			e.stats.RateLimited++
			return Transmit{}, false, nil
		}
		b := chunk.AppendHeader(buf[:0], chunk.Header{SrcPort: h.DstPort, DstPort: h.SrcPort, VerificationTag: vtag})
		b = c.Append(b)
		chunk.SetChecksum(b)
		e.stats.Replies++
		return Transmit{From: to.Addr(), To: from, Packet: b}, true, nil
	}
	switch first.Type {
	case chunk.TypeInit:
		// 8.5.1 (A) and 6.10: tag 0, alone in its packet.
		if h.VerificationTag != 0 || n != 1 {
			return discard()
		}
		var in chunk.InitChunk
		if err := in.Unmarshal(first); err != nil {
			if in.InitiateTag == 0 {
				// 3.3.2: "If the value of the Initiate Tag in a received
				// INIT chunk is found to be 0, the receiver MUST silently
				// discard the packet."
				return discard()
			}
			// 20 bytes: never more than the 32 bytes of the smallest INIT.
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
			return out(in.InitiateTag, refusal(err, max(len(pkt), maxRefusal)))
		}
		// Take the INIT ACK's token before signing: a flood from one
		// source then costs a checksum and a parse per packet, not an
		// HMAC.
		if !e.initAckAllowed(now, from) {
			e.stats.RateLimited++
			return Transmit{}, false, nil
		}
		in.Unrecognized = reportable(in.Unrecognized, len(pkt)-chunk.HeaderLen-chunk.ChunkHeaderLen-16+reportSlack)
		ack := buildInitAck(now, &e.cfg, e.signer, from, &in, h.DstPort, h.SrcPort,
			nonzeroRand32(e.cfg.Rand), rand32(e.cfg.Rand), 0, 0)
		b := chunk.AppendHeader(buf[:0], chunk.Header{SrcPort: h.DstPort, DstPort: h.SrcPort, VerificationTag: in.InitiateTag})
		b = ack.Append(b)
		chunk.SetChecksum(b)
		e.stats.InitAcks++
		return Transmit{From: to.Addr(), To: from, Packet: b}, true, nil
	case chunk.TypeCookieEcho:
		if !e.accept || !portOK {
			// 8.4 rule 8 (a COOKIE ECHO nobody here will accept): 16
			// bytes, no more than the smallest COOKIE ECHO packet.
			return out(h.VerificationTag, &chunk.AbortChunk{T: true})
		}
		var ce chunk.CookieEchoChunk
		if err := ce.Unmarshal(first); err != nil {
			return discard()
		}
		ck, err := e.signer.open(now, ce.Cookie)
		var stale staleCookieError
		if errors.As(err, &stale) {
			// 5.1.5 step 3; 24 bytes, while a cookie we signed is at
			// least cookieFixedLen+32. Only a cookie we signed gets here,
			// so the answer goes to a peer we once answered.
			return out(ck.peerTag, &chunk.ErrorChunk{Causes: []chunk.Cause{
				&chunk.StaleCookieCause{Staleness: uint32(min(stale.staleness/time.Microsecond, 1<<32-1))}}})
		}
		if err != nil || h.VerificationTag != ck.localTag || h.SrcPort != ck.peerPort || h.DstPort != ck.localPort {
			// 5.1.5 steps 1 and 2: discard silently.
			e.stats.ForgedCookies++
			return Transmit{}, false, nil
		}
		if ck.localTie != 0 || ck.peerTie != 0 {
			// A cookie from a restart or collision INIT ACK whose
			// association is gone: nothing to restart.
			return discard()
		}
		if err := e.admit(ck.peerAddrs); err != nil {
			return out(ck.peerTag, refusal(err, len(pkt)))
		}
		cfg := e.cfg
		cfg.LocalPort = h.DstPort
		a := newServer(now, cfg, e.shared, &ck, from, to)
		a.HandlePacket(now, from, to, pkt) // the DATA bundled after the COOKIE ECHO
		e.stats.Accepted++
		return Transmit{}, false, a
	case chunk.TypeShutdownAck:
		// 8.4 rule 5: "If the packet contains a SHUTDOWN ACK chunk, the
		// receiver SHOULD respond to the sender of the OOTB packet with a
		// SHUTDOWN COMPLETE chunk"; 16 bytes, as long as the smallest
		// SHUTDOWN ACK packet.
		return out(h.VerificationTag, &chunk.ShutdownCompleteChunk{T: true})
	case chunk.TypeShutdownComplete, chunk.TypeCookieAck:
		// 8.4 rules 6 and 7.
		return discard()
	case chunk.TypeError:
		return discard() // 8.4 rule 7 (Stale Cookie), and never answer errors
	}
	// 8.4 rule 8: "the receiver SHOULD respond to the sender of the OOTB
	// packet with an ABORT chunk ... MUST fill in the Verification Tag
	// field of the outbound packet with the value found in the
	// Verification Tag field of the OOTB packet and set the T bit". 16
	// bytes, and pkt holds at least one chunk: never larger.
	return out(h.VerificationTag, &chunk.AbortChunk{T: true})
}

// reportable keeps the unrecognised INIT parameters the INIT ACK reports
// (RFC 9260 section 3.2.1: "report the unrecognized parameter") within
// budget bytes, the INIT's own parameter bytes and reportSlack. Each report
// wraps the parameter in an Unrecognized Parameter parameter, 4 bytes more
// than the parameter itself, so an INIT of nothing but empty unknown
// parameters would otherwise be answered with twice its size; such an INIT
// gets its first reports only. A real INIT, with a few unknown parameters
// among known ones, gets all of them.
func reportable(ps []chunk.RawParam, budget int) []chunk.RawParam {
	used := 0
	for i, p := range ps {
		used += 4 + (p.Len()+3)&^3
		if used > budget {
			return ps[:i]
		}
	}
	return ps
}

func (e *Endpoint) admit(addrs []netip.Addr) error {
	if e.cfg.Admit == nil {
		return nil
	}
	return e.cfg.Admit(addrs)
}

// refusal is the ABORT that turns a peer away, saying why, in a packet of
// at most limit bytes: the reason is cut to fit (a refused source may be
// forged, and must not be sent more than it sent).
func refusal(err error, limit int) *chunk.AbortChunk {
	const overhead = chunk.HeaderLen + chunk.ChunkHeaderLen + 4 // common header, ABORT, cause header
	reason := err.Error()
	room := limit - overhead
	room -= room % 4 // the cause is padded to 4 bytes
	if room <= 0 {
		return &chunk.AbortChunk{}
	}
	if len(reason) > room {
		reason = reason[:room]
	}
	return &chunk.AbortChunk{Causes: []chunk.Cause{&chunk.UserInitiatedAbortCause{Reason: []byte(reason)}}}
}

// SetConfig replaces the configuration of associations accepted from now
// on (a configuration reload); existing associations keep theirs. The
// cookie secret is kept, so handshakes under way complete, and so are the
// rate limiters' buckets (the new rates apply to them at once).
func (e *Endpoint) SetConfig(cfg Config) {
	cfg = cfg.withDefaults()
	e.cfg = cfg
	e.limits = cfg.ReplyLimits.withDefaults()
}

// SetLocalAddrs replaces the addresses the INIT ACKs list (and the
// associations accepted from now on use), keeping the rest of the
// configuration.
func (e *Endpoint) SetLocalAddrs(addrs []netip.Addr) {
	e.cfg.LocalAddrs = cleanAddrs(addrs)
}
