package assoc

import (
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// The four-way handshake, RFC 9260 section 5.1, and the handling of
// unexpected INIT and COOKIE ECHO chunks of section 5.2.

// supportedAddrTypes is what our INIT says we can reach (section 3.3.2.1).
var supportedAddrTypes = []uint16{chunk.ParamIPv4Address, chunk.ParamIPv6Address}

func (a *Association) ourInit(tag, tsn uint32) *chunk.InitChunk {
	return &chunk.InitChunk{
		InitiateTag:        tag,
		AdvRecvWindow:      a.cfg.RecvWindow,
		OutboundStreams:    a.cfg.OutboundStreams,
		InboundStreams:     a.cfg.MaxInboundStreams,
		InitialTSN:         tsn,
		SupportedAddrTypes: supportedAddrTypes,
		CookiePreservative: a.preserve,
	}
}

// sendInit queues the INIT (tag 0, section 8.5.1 (A)) and arms T1-init.
func (a *Association) sendInit(now time.Time) {
	p := a.paths[a.primary]
	a.queuePacket(p, 0, a.ourInit(a.localTag, a.initialTSN))
	a.timers.start(timerInit, now, p.rto)
}

// onInitTimeout: section 5.1 (C) and 6.3.3: retransmit INIT with the timer
// backed off, until Max.Init.Retransmits.
func (a *Association) onInitTimeout(now time.Time) {
	if a.state != StateCookieWait {
		return
	}
	a.initRetries++
	if a.initRetries > a.cfg.MaxInitRetransmits {
		a.close(ErrInitTimeout)
		return
	}
	a.backoffRTO(a.paths[a.primary])
	a.sendInit(now)
}

func (a *Association) onCookieTimeout(now time.Time) {
	if a.state != StateCookieEchoed {
		return
	}
	a.initRetries++
	if a.initRetries > a.cfg.MaxInitRetransmits {
		a.close(ErrInitTimeout)
		return
	}
	p := a.paths[a.primary]
	a.backoffRTO(p)
	a.sendCookieEcho = true
	a.timers.start(timerCookie, now, p.rto)
}

// handleInitAck: section 5.1 (C) and 5.2.3.
func (a *Association) handleInitAck(now time.Time, h chunk.Header, c chunk.Raw) (stop bool) {
	if a.state != StateCookieWait {
		// 5.2.3: "If an INIT ACK is received by an endpoint in any state
		// other than the COOKIE-WAIT or CLOSED state, the endpoint SHOULD
		// discard the INIT ACK chunk."
		return false
	}
	var ia chunk.InitAckChunk
	if err := ia.Unmarshal(c); err != nil {
		if ia.InitiateTag == 0 {
			return true
		}
		a.peerTag = ia.InitiateTag
		var cause chunk.Cause = &chunk.InvalidMandatoryParamCause{}
		if errors.Is(err, chunk.ErrMissingCookie) {
			cause = &chunk.MissingMandatoryParamCause{Types: []uint16{chunk.ParamStateCookie}}
		}
		a.abortWith(now, ErrAborted, "invalid INIT ACK: "+err.Error(), cause)
		return true
	}
	a.peerTag = ia.InitiateTag
	// Section 5.1.1: the streams in use are the minimum of what one side
	// offers to send and the other accepts.
	a.outStreams = min(a.cfg.OutboundStreams, ia.InboundStreams)
	a.inStreams = min(a.cfg.MaxInboundStreams, ia.OutboundStreams)
	a.setPeerWindow(ia.AdvRecvWindow)
	a.rx.init(ia.InitialTSN, a.inStreams, a.cfg.RecvWindow)
	a.cookieEcho = clone(ia.StateCookie)
	a.peerAddrs = presented(a.paths[a.primary].addr, &ia.InitChunk)
	if len(ia.Unrecognized) > 0 {
		// Section 3.2.1: unrecognised parameters of an INIT ACK are
		// reported in an ERROR chunk bundled with the COOKIE ECHO.
		var params []byte
		for _, p := range ia.Unrecognized {
			params = p.Append(params)
		}
		a.errCauses = append(a.errCauses, &chunk.UnrecognizedParamsCause{Params: params})
	}
	a.timers.stop(timerInit)
	a.initRetries = 0
	a.state = StateCookieEchoed
	a.sendCookieEcho = true
	a.timers.start(timerCookie, now, a.paths[a.primary].rto)
	return false
}

func (a *Association) setPeerWindow(rwnd uint32) {
	a.tx.peerRwnd = rwnd
	for _, p := range a.paths {
		p.ssthresh = int(rwnd)
	}
}

func (a *Association) handleCookieAck(now time.Time) {
	if a.state != StateCookieEchoed {
		return // section 5.2.5: discard in any other state
	}
	a.timers.stop(timerCookie)
	a.established(now)
}

// established enters ESTABLISHED and reports it.
func (a *Association) established(now time.Time) {
	a.state = StateEstablished
	a.cookieEcho = nil
	a.initRetries = 0
	a.tx.limitStreams(a, a.outStreams)
	a.pushEvent(Connected{OutboundStreams: a.outStreams, InboundStreams: a.inStreams})
	for _, p := range a.paths {
		a.scheduleHeartbeat(p, now)
	}
}

// handleInit answers an INIT that reached an existing association:
// section 5.2.1 (COOKIE-WAIT, COOKIE-ECHOED: a collision) and 5.2.2 (any
// other state: a restart or a collision).
func (a *Association) handleInit(now time.Time, from, to netip.AddrPort, c chunk.Raw) {
	var in chunk.InitChunk
	if err := in.Unmarshal(c); err != nil {
		return
	}
	// 3.2.1's reports, within the INIT's own parameter bytes (see
	// reportable): the INIT ACK goes to whoever the INIT claims to be.
	in.Unrecognized = reportable(in.Unrecognized, len(c.Value)-16+reportSlack)
	switch a.state {
	case StateShutdownAckSent:
		// 9.2: "If an endpoint is in the SHUTDOWN-ACK-SENT state and
		// receives an INIT chunk (e.g., if the SHUTDOWN COMPLETE chunk was
		// lost) with source and destination transport addresses ... in
		// either the address list ... it MUST discard the INIT chunk and
		// retransmit the SHUTDOWN ACK chunk."
		a.sendShutdownAck = true
		return
	case StateCookieWait, StateCookieEchoed:
		// 5.2.1: "respond with an INIT ACK using the same parameters it
		// sent in its original INIT chunk (including its Initiate Tag,
		// unchanged)".
		a.replyInitAck(now, from, to, &in, a.localTag, a.initialTSN, a.localTag, a.peerTag)
	default:
		// 5.2.2: "the endpoint MUST respond with an INIT ACK ... with a
		// new random Initiate Tag ... and MUST copy its current
		// Verification Tag and the peer's Verification Tag into a
		// reserved place within the State Cookie".
		a.replyInitAck(now, from, to, &in, a.nonzeroRand32(), a.rand32(), a.localTag, a.peerTag)
	}
}

func (a *Association) replyInitAck(now time.Time, from, to netip.AddrPort, in *chunk.InitChunk, tag, tsn, localTie, peerTie uint32) {
	// An INIT carries no tag (8.5.1 (A)): anyone who knows the peer's
	// addresses and ports can send one to the association, and each would
	// cost an HMAC and send the peer an INIT ACK four times its size. A
	// real collision or restart needs one INIT ACK per RTO, so they get
	// the endpoint's rate for out-of-the-blue answers
	// (ReplyLimits.OOTBPerSource, default 10 a second).
	tat, ok := gcra(a.initAckTAT, now.UnixNano(), a.cfg.ReplyLimits.withDefaults().OOTBPerSource)
	if !ok {
		return
	}
	a.initAckTAT = tat
	ack := buildInitAck(now, &a.cfg, a.signer, from, in, a.localPort, a.peerPort, tag, tsn, localTie, peerTie)
	a.queuePacketTo(to.Addr(), from, in.InitiateTag, ack)
}

// buildInitAck makes the INIT ACK answering in, with a State Cookie that
// holds everything needed to create the association later.
func buildInitAck(now time.Time, cfg *Config, s *cookieSigner, from netip.AddrPort, in *chunk.InitChunk, localPort, peerPort uint16, tag, tsn, localTie, peerTie uint32) *chunk.InitAckChunk {
	life := cfg.ValidCookieLife
	if in.CookiePreservative > 0 {
		// 5.1.3: the receiver "MAY choose to increase the life-span of the
		// State Cookie"; we grant at most one extra Valid.Cookie.Life.
		life += min(time.Duration(in.CookiePreservative)*time.Millisecond, cfg.ValidCookieLife)
	}
	ck := cookie{
		created: now, life: life,
		localTag: tag, localTSN: tsn,
		localOS: cfg.OutboundStreams, localMIS: cfg.MaxInboundStreams,
		peerTag: in.InitiateTag, peerTSN: in.InitialTSN, peerRwnd: in.AdvRecvWindow,
		peerOS: in.OutboundStreams, peerMIS: in.InboundStreams,
		localTie: localTie, peerTie: peerTie,
		localPort: localPort, peerPort: peerPort,
		peerAddrs: presented(from, in),
	}
	ack := &chunk.InitAckChunk{
		InitChunk: chunk.InitChunk{
			InitiateTag:     tag,
			AdvRecvWindow:   cfg.RecvWindow,
			OutboundStreams: cfg.OutboundStreams,
			InboundStreams:  cfg.MaxInboundStreams,
			InitialTSN:      tsn,
		},
		StateCookie: s.seal(&ck),
	}
	// 3.2.1: unrecognised INIT parameters marked for reporting go back in
	// Unrecognized Parameter parameters of the INIT ACK.
	ack.UnrecognizedParams = in.Unrecognized
	return ack
}

// presented lists the addresses a peer presents in an INIT or INIT ACK: the
// packet's source and the address parameters, without duplicates, at most
// maxPeerAddrs.
func presented(from netip.AddrPort, in *chunk.InitChunk) []netip.Addr {
	out := []netip.Addr{from.Addr().Unmap()}
	for _, a := range in.Addresses {
		a = a.Unmap()
		if len(out) == maxPeerAddrs {
			break
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// handleCookieEcho processes a COOKIE ECHO that reached an existing
// association: the table of section 5.2.4.
func (a *Association) handleCookieEcho(now time.Time, h chunk.Header, from, to netip.AddrPort, c chunk.Raw) (stop bool) {
	var ce chunk.CookieEchoChunk
	if err := ce.Unmarshal(c); err != nil {
		return true
	}
	ck, err := a.signer.open(now, ce.Cookie)
	var stale staleCookieError
	switch {
	case errors.As(err, &stale):
		if ck.localTag != a.localTag || ck.peerTag != a.peerTag {
			a.queuePacketTo(to.Addr(), from, ck.peerTag,
				&chunk.ErrorChunk{Causes: []chunk.Cause{&chunk.StaleCookieCause{Staleness: uint32(stale.staleness / time.Microsecond)}}})
			return true
		}
	case err != nil:
		return true // 5.1.5 step 1: not ours, discard silently
	}
	// 5.1.5 step 2: the ports and the tag of the packet must match the
	// cookie's.
	if h.VerificationTag != ck.localTag || h.SrcPort != ck.peerPort || h.DstPort != ck.localPort {
		return true
	}
	a.accepted()
	switch {
	case ck.localTag == a.localTag && ck.peerTag == a.peerTag:
		// Case D: both tags match; a retransmitted COOKIE ECHO, or the
		// end of a collision. Enter ESTABLISHED if not yet, and ack.
		if a.state == StateCookieWait || a.state == StateCookieEchoed {
			a.timers.stop(timerInit)
			a.timers.stop(timerCookie)
			a.established(now)
		}
		a.sendCookieAck = true
	case ck.localTag == a.localTag:
		// Case B: a collision; our tag matches, the peer's is new. Adopt
		// it and enter ESTABLISHED.
		a.peerTag = ck.peerTag
		if a.state == StateCookieWait || a.state == StateCookieEchoed {
			a.outStreams = min(ck.localOS, ck.peerMIS)
			a.inStreams = min(ck.localMIS, ck.peerOS)
			a.setPeerWindow(ck.peerRwnd)
			a.rx.init(ck.peerTSN, a.inStreams, a.cfg.RecvWindow)
			a.timers.stop(timerInit)
			a.timers.stop(timerCookie)
			a.established(now)
		}
		a.sendCookieAck = true
	case ck.peerTag != a.peerTag && ck.localTie == a.localTag && ck.peerTie == a.peerTag:
		// Case A: the peer restarted.
		if a.state == StateShutdownAckSent {
			// "If the endpoint is in the SHUTDOWN-ACK-SENT state and
			// recognizes that the peer has restarted ..., it MUST NOT set
			// up a new association but instead resend the SHUTDOWN ACK and
			// send an ERROR chunk with a 'Cookie Received While Shutting
			// Down' error cause to its peer."
			a.sendShutdownAck = true
			a.errCauses = append(a.errCauses, &chunk.CookieWhileShuttingDownCause{})
			return true
		}
		a.restart(now, &ck, from, to)
		a.sendCookieAck = true
	default:
		// Case C (a late COOKIE ECHO for an earlier INIT) and anything
		// else: discard.
		return true
	}
	return false
}

// restart re-initialises the association for a peer that restarted (case A
// of section 5.2.4): new tags, new sequence numbers, in-flight data lost.
func (a *Association) restart(now time.Time, ck *cookie, from, to netip.AddrPort) {
	a.failUnsent()
	a.localTag, a.peerTag = ck.localTag, ck.peerTag
	a.outStreams = min(ck.localOS, ck.peerMIS)
	a.inStreams = min(ck.localMIS, ck.peerOS)
	a.tx.init(ck.localTSN, a.outStreams)
	a.timers = timers{}
	a.paths = []*path{nil}
	a.primary = 0
	a.errors = 0
	a.paths[0] = a.newPath(from, to.Addr(), now)
	a.setPeerWindow(ck.peerRwnd)
	a.rx.init(ck.peerTSN, a.inStreams, a.cfg.RecvWindow)
	a.peerAddrs = ck.peerAddrs
	a.state = StateEstablished
	a.pushEvent(Restarted{})
	a.established(now)
}

// newServer creates the association described by a valid cookie: the
// server side of the handshake, section 5.1 (D).
func newServer(now time.Time, cfg Config, s *cookieSigner, ck *cookie, from, to netip.AddrPort) *Association {
	a := newAssociation(cfg, s)
	a.localTag, a.peerTag = ck.localTag, ck.peerTag
	a.localPort, a.peerPort = ck.localPort, ck.peerPort
	a.initialTSN = ck.localTSN
	a.outStreams = min(ck.localOS, ck.peerMIS)
	a.inStreams = min(ck.localMIS, ck.peerOS)
	a.tx.init(ck.localTSN, a.outStreams)
	a.tx.peerRwnd = ck.peerRwnd
	a.paths = []*path{a.newPath(from, to.Addr(), now)}
	a.rx.init(ck.peerTSN, a.inStreams, a.cfg.RecvWindow)
	a.peerAddrs = ck.peerAddrs
	a.established(now)
	a.sendCookieAck = true
	return a
}
