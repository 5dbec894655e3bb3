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

var (
	bothAddrTypes = []uint16{chunk.ParamIPv4Address, chunk.ParamIPv6Address}
	ipv4Only      = []uint16{chunk.ParamIPv4Address}
	ipv6Only      = []uint16{chunk.ParamIPv6Address}
)

// supportedAddrTypes is what our INIT says we can reach (section 3.3.2.1):
// both families, unless every local address is of one.
func supportedAddrTypes(local []netip.Addr) []uint16 {
	v4, v6 := len(local) == 0, len(local) == 0
	for _, ip := range local {
		v4 = v4 || ip.Is4()
		v6 = v6 || ip.Is6()
	}
	switch {
	case v4 && v6:
		return bothAddrTypes
	case v4:
		return ipv4Only
	}
	return ipv6Only
}

// listedAddrs are the addresses an INIT or INIT ACK lists: all of ours when
// there are two or more (one is the packet's source anyway), of the types
// the peer supports (section 5.1.2: "the receiver of the INIT ... MUST
// use only addresses of the types listed" when the parameter is present).
func listedAddrs(local []netip.Addr, peerTypes []uint16) []netip.Addr {
	if len(local) < 2 {
		return nil
	}
	var out []netip.Addr
	for _, ip := range local {
		t := uint16(chunk.ParamIPv4Address)
		if ip.Is6() {
			t = chunk.ParamIPv6Address
		}
		if len(peerTypes) == 0 || slices.Contains(peerTypes, t) {
			out = append(out, ip)
		}
	}
	return out
}

func (a *Association) ourInit(tag, tsn uint32) *chunk.InitChunk {
	in := &chunk.InitChunk{
		InitiateTag:        tag,
		AdvRecvWindow:      a.cfg.RecvWindow,
		OutboundStreams:    a.cfg.OutboundStreams,
		InboundStreams:     a.cfg.MaxInboundStreams,
		InitialTSN:         tsn,
		Addresses:          listedAddrs(a.cfg.LocalAddrs, nil),
		SupportedAddrTypes: supportedAddrTypes(a.cfg.LocalAddrs),
		CookiePreservative: a.preserve,
	}
	if a.ourRandom != nil {
		offerAuth(in, a.ourRandom)
	}
	return in
}

// sendInit queues the INIT (tag 0, section 8.5.1 (A)) to the current INIT
// address and arms T1-init.
func (a *Association) sendInit(now time.Time) {
	p := a.paths[a.initPath]
	a.queuePacket(p, 0, a.ourInit(a.localTag, a.initialTSN))
	a.timers.start(timerInit, now, p.rto)
}

// onInitTimeout: section 5.1 (C) and 6.3.3: retransmit INIT with the timer
// backed off, until Max.Init.Retransmits. A peer known by several
// addresses gets each retransmission at the next one (section 6.4: "the
// endpoint SHOULD try to retransmit ... to an active destination
// transport address that is different from the last").
func (a *Association) onInitTimeout(now time.Time) {
	if a.state != StateCookieWait {
		return
	}
	a.initRetries++
	if a.initRetries > a.cfg.MaxInitRetransmits {
		a.close(ErrInitTimeout)
		return
	}
	last := a.paths[a.initPath]
	a.backoffRTO(last)
	a.initPath = (a.initPath + 1) % len(a.paths)
	next := a.paths[a.initPath]
	next.rto = max(next.rto, last.rto)
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
func (a *Association) handleInitAck(now time.Time, h chunk.Header, from, to netip.AddrPort, c chunk.Raw) (stop bool) {
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
	a.rx.init(ia.InitialTSN, a.inStreams, a.cfg.RecvWindow, a.cfg.Buffers)
	a.cookieEcho = clone(ia.StateCookie)
	a.setupAuth(a.ourRandom, &ia.InitChunk)
	a.peerAddrs = presented(from, &ia.InitChunk, a.cfg.LocalAddrs)
	// The INIT ACK's source is where the peer answers from: the handshake
	// path, and the primary (section 5.1.2 lets every address it listed be
	// used too; they are confirmed with HEARTBEAT first, section 5.4).
	hs := a.pathFor(from.Addr(), netip.Addr{})
	if hs == nil {
		hs = a.newPath(from, netip.Addr{}, PathActive, now)
	}
	hs.addr = netip.AddrPortFrom(hs.addr.Addr(), from.Port())
	if to.Addr().IsValid() && !to.Addr().IsUnspecified() {
		hs.local = to.Addr().Unmap()
	}
	a.setupPaths(now, hs, from.Port())
	a.initAsconf(a.initialTSN, ia.InitialTSN)
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
		if p.state == PathUnconfirmed {
			// 5.4: the other addresses are confirmed by HEARTBEAT, as
			// soon as the association is up, so that they are ready
			// before a path fails.
			p.hbDeadline = now
			continue
		}
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
	if a.state != StateCookieWait {
		// 5.2.1 (COOKIE-ECHOED): "provided that no NEW address has been
		// added to the forming association. If the INIT message indicates
		// that a new address has been added to the association, then the
		// entire INIT MUST be discarded, and NO changes should be made to
		// the existing association. An ABORT SHOULD be sent in response
		// that MAY include the error 'Restart of an association with new
		// addresses'." 5.2.2 says the same of a restart: an attacker must
		// not bring its own address into an association by restarting it.
		// The ABORT goes to whoever the INIT claims to be: it is rate
		// limited with the INIT ACKs (see replyInitAck) and quotes no
		// more addresses than keep it within the INIT's size.
		var fresh []byte
		for _, ip := range presented(from, &in, a.cfg.LocalAddrs) {
			if !slices.Contains(a.peerAddrs, ip) {
				if more := appendAddrParam(fresh, ip); len(more) <= len(c.Value)-4 {
					fresh = more
				}
			}
		}
		if fresh != nil {
			if tat, ok := gcra(a.initAckTAT, now.UnixNano(), a.cfg.ReplyLimits.withDefaults().OOTBPerSource); ok {
				a.initAckTAT = tat
				a.queuePacketTo(to.Addr(), from, in.InitiateTag,
					&chunk.AbortChunk{Causes: []chunk.Cause{&chunk.RestartWithNewAddressesCause{Addresses: fresh}}})
			}
			return
		}
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
		peerAddrs: presented(from, in, cfg.LocalAddrs),
	}
	// AUTH and ASCONF are offered back only to an INIT that offered them
	// (so a minimal INIT still gets a minimal INIT ACK), and only with a
	// peer offer small enough to keep in the cookie.
	var random []byte
	if !cfg.NoASCONF && peerOffers(in) && len(in.Random) <= maxPeerRandom &&
		len(in.AuthChunks) <= maxPeerAuthList && len(in.HMACAlgos) <= maxPeerAuthList {
		random = authRandom(cfg.Rand)
		ck.auth = &cookieAuth{ourRandom: random, peerRandom: in.Random, peerChunks: in.AuthChunks, peerHMACs: in.HMACAlgos}
	}
	ack := &chunk.InitAckChunk{
		InitChunk: chunk.InitChunk{
			InitiateTag:     tag,
			AdvRecvWindow:   cfg.RecvWindow,
			OutboundStreams: cfg.OutboundStreams,
			InboundStreams:  cfg.MaxInboundStreams,
			InitialTSN:      tsn,
			Addresses:       listedAddrs(cfg.LocalAddrs, in.SupportedAddrTypes),
		},
		StateCookie: s.seal(&ck),
	}
	if random != nil {
		offerAuth(&ack.InitChunk, random)
	}
	// 3.2.1: unrecognised INIT parameters marked for reporting go back in
	// Unrecognized Parameter parameters of the INIT ACK.
	ack.UnrecognizedParams = in.Unrecognized
	return ack
}

// presented lists the addresses a peer presents in an INIT or INIT ACK: the
// packet's source, then the address parameters that can be used, without
// duplicates, at most maxPeerAddrs. local is our address set, which says
// what address types we offered.
//
// Section 5.1.2: "If there are only IPv4/IPv6 addresses present in the
// received INIT or INIT ACK chunk, the receiver MUST derive and record all
// the transport addresses from the received chunk AND the source IP
// address that sent the INIT or INIT ACK chunk." Addresses that cannot be
// a peer's are left out: unspecified, multicast and broadcast addresses,
// IPv6 link-local addresses (they need a zone the wire does not carry),
// loopback addresses from a peer that is not on loopback (they would point
// our traffic at ourselves) and addresses of a type we did not offer.
func presented(from netip.AddrPort, in *chunk.InitChunk, local []netip.Addr) []netip.Addr {
	src := from.Addr().Unmap()
	out := []netip.Addr{src}
	offered := supportedAddrTypes(local)
	for _, ip := range in.Addresses {
		if len(out) == maxPeerAddrs {
			break
		}
		ip = ip.Unmap()
		t := uint16(chunk.ParamIPv4Address)
		if ip.Is6() {
			t = chunk.ParamIPv6Address
		}
		if usablePeerAddr(ip, src) && slices.Contains(offered, t) && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}

var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// usablePeerAddr reports whether ip, listed by a peer whose packet came
// from src, may become a destination (section 5.1.2; see presented).
func usablePeerAddr(ip, src netip.Addr) bool {
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsMulticast(), ip == broadcast4:
		return false
	case ip.Is6() && ip.IsLinkLocalUnicast():
		return false
	case ip.IsLoopback() != src.IsLoopback():
		return false
	}
	return true
}

// appendAddrParam appends ip as an IPv4 or IPv6 Address parameter (section
// 3.3.2.1), the form error causes quote addresses in.
func appendAddrParam(b []byte, ip netip.Addr) []byte {
	if ip.Is4() {
		v := ip.As4()
		return append(append(b, 0, byte(chunk.ParamIPv4Address), 0, 8), v[:]...)
	}
	v := ip.As16()
	return append(append(b, 0, byte(chunk.ParamIPv6Address), 0, 20), v[:]...)
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
			a.rx.init(ck.peerTSN, a.inStreams, a.cfg.RecvWindow, a.cfg.Buffers)
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
	a.tx.init(ck.localTSN, a.outStreams, a.cfg.Buffers)
	a.timers = timers{}
	a.errors = 0
	a.peerAddrs = ck.peerAddrs
	a.setupAuthFromCookie(ck)
	a.setupPaths(now, a.newPath(from, to.Addr(), PathActive, now), from.Port())
	a.initAsconf(ck.localTSN, ck.peerTSN)
	a.setPeerWindow(ck.peerRwnd)
	a.rx.init(ck.peerTSN, a.inStreams, a.cfg.RecvWindow, a.cfg.Buffers)
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
	a.tx.init(ck.localTSN, a.outStreams, a.cfg.Buffers)
	a.tx.peerRwnd = ck.peerRwnd
	a.peerAddrs = ck.peerAddrs
	a.setupAuthFromCookie(ck)
	a.setupPaths(now, a.newPath(from, to.Addr(), PathActive, now), from.Port())
	a.initAsconf(ck.localTSN, ck.peerTSN)
	a.rx.init(ck.peerTSN, a.inStreams, a.cfg.RecvWindow, a.cfg.Buffers)
	a.established(now)
	a.sendCookieAck = true
	return a
}
