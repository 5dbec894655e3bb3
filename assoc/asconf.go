package assoc

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/pgsctp/pgsctp/assoc/serial"
	"github.com/pgsctp/pgsctp/chunk"
)

// Dynamic address reconfiguration, RFC 5061: this end adds and deletes
// its own addresses with ASCONF, and applies the peer's. ASCONF and
// ASCONF-ACK travel only authenticated (auth.go), so only the two ends of
// the handshake can change an association's addresses.

// ErrNoASCONF: the association cannot change its addresses, because one
// end does not offer ASCONF and AUTH (or Config.NoASCONF is set).
var ErrNoASCONF = errors.New("sctp: the peer does not support dynamic addresses (ASCONF with AUTH)")

// AddressChange reports a change to the association's addresses: one of
// ours (Local) that the peer acknowledged or refused, or one of the peer's
// that it asked for and we applied or refused.
type AddressChange struct {
	Local  bool       // our address (else the peer's)
	Op     string     // "add", "delete" or "set-primary"
	Addr   netip.Addr //
	OK     bool       // done (acknowledged by the peer, or applied here)
	Reason string     // why not, when !OK
}

func (AddressChange) isEvent() {}

type asconfState struct {
	// Ours. locals are the addresses the peer knows as ours; ops are
	// requests not sent yet; out is the one ASCONF in flight (RFC 5061
	// section 5.1 C1: "an endpoint MUST NOT send more than one ASCONF
	// Chunk at a time").
	locals  []netip.Addr
	serial  uint32 // the next ASCONF's Sequence Number
	corr    uint32 // the next Correlation ID
	ops     []chunk.AsconfParam
	out     *chunk.AsconfChunk
	outPath *path

	// The peer's. peerSerial is the last Sequence Number processed;
	// lastAck the ASCONF-ACK sent for it, resent for a duplicate (E2).
	peerSerial uint32
	lastAck    *chunk.AsconfAckChunk
	// peerTAT paces the peer's new ASCONFs (a GCRA state, see gcra): an
	// authenticated peer still must not make us rebuild the path table
	// without end.
	peerTAT int64
}

// maxAsconfRate is how many new ASCONFs a second a peer gets processed;
// more are dropped unanswered, and the peer retransmits them later.
const maxAsconfRate = 20

// initAsconf starts the serial numbers: "the Sequence Number ... is
// initialized to the Initial TSN" of the sender (section 4.1.1).
func (a *Association) initAsconf(ourTSN, peerTSN uint32) {
	a.asconf.serial = ourTSN
	a.asconf.peerSerial = peerTSN - 1
	a.asconf.locals = nil
	for _, p := range a.paths {
		if p.local.IsValid() && !slices.Contains(a.asconf.locals, p.local) {
			a.asconf.locals = append(a.asconf.locals, p.local)
		}
	}
}

// LocalAddrs are this end's addresses the peer knows.
func (a *Association) LocalAddrs() []netip.Addr { return slices.Clone(a.asconf.locals) }

// SetLocalAddrs changes this end's addresses while the association runs
// (RFC 5061): addresses new to it are added, those gone are deleted, one
// ASCONF at a time. An added address carries data once the peer has
// acknowledged it and a HEARTBEAT has confirmed its paths; a deleted one
// stops carrying data at once, and its outstanding data goes out again
// elsewhere. The last address is never deleted. AddressChange events
// report each outcome.
func (a *Association) SetLocalAddrs(now time.Time, addrs []netip.Addr) error {
	a.inputDone()
	if a.state != StateEstablished {
		return ErrNotEstablished
	}
	if !a.auth.on {
		return ErrNoASCONF
	}
	want := cleanAddrs(addrs)
	if len(want) == 0 {
		return errors.New("sctp: an association needs at least one address")
	}
	pending := func(op uint16, ip netip.Addr) bool {
		return slices.ContainsFunc(a.asconf.ops, func(q chunk.AsconfParam) bool { return q.Type == op && q.Addr == ip }) ||
			(a.asconf.out != nil && slices.ContainsFunc(a.asconf.out.Params, func(q chunk.AsconfParam) bool { return q.Type == op && q.Addr == ip }))
	}
	for _, ip := range want {
		if !slices.Contains(a.asconf.locals, ip) && !pending(chunk.ParamAddIPAddress, ip) {
			a.queueAsconf(chunk.ParamAddIPAddress, ip)
		}
	}
	for _, ip := range slices.Clone(a.asconf.locals) {
		if !slices.Contains(want, ip) && !pending(chunk.ParamDeleteIPAddress, ip) {
			a.queueAsconf(chunk.ParamDeleteIPAddress, ip)
		}
	}
	a.sendAsconf(now)
	return nil
}

// SetPeerPrimary asks the peer to make ip, one of our addresses, the
// primary destination of what it sends (Set Primary Address, RFC 5061
// section 4.2.4).
func (a *Association) SetPeerPrimary(now time.Time, ip netip.Addr) error {
	a.inputDone()
	if a.state != StateEstablished {
		return ErrNotEstablished
	}
	if !a.auth.on {
		return ErrNoASCONF
	}
	if !slices.Contains(a.asconf.locals, ip.Unmap()) {
		return fmt.Errorf("sctp: %v is not an address of this association", ip)
	}
	a.queueAsconf(chunk.ParamSetPrimaryAddress, ip.Unmap())
	a.sendAsconf(now)
	return nil
}

func (a *Association) queueAsconf(op uint16, ip netip.Addr) {
	a.asconf.ops = append(a.asconf.ops, chunk.AsconfParam{Type: op, CorrelationID: a.asconf.corr, Addr: ip})
	a.asconf.corr++
}

// sendAsconf sends the queued requests in one ASCONF if none is in flight
// and a path can carry it. The ASCONF's source must be an address the
// peer knows and that the ASCONF does not delete (section 5.1), so a
// Delete of the address it would leave from waits: an association moving
// from its only address to a new one adds the new one first, and deletes
// the old one from the new one once a HEARTBEAT has confirmed it.
func (a *Association) sendAsconf(now time.Time) {
	if a.asconf.out != nil || len(a.asconf.ops) == 0 {
		return
	}
	p := a.asconfPath()
	if p == nil {
		return // retried when a path becomes active
	}
	var send, keep []chunk.AsconfParam
	for _, op := range a.asconf.ops {
		if op.Type == chunk.ParamDeleteIPAddress && op.Addr == p.local {
			keep = append(keep, op)
		} else {
			send = append(send, op)
		}
	}
	if len(send) == 0 {
		return
	}
	a.asconf.out = &chunk.AsconfChunk{Serial: a.asconf.serial, Address: p.local, Params: send}
	a.asconf.ops = keep
	a.asconf.serial++
	for _, op := range send {
		if op.Type == chunk.ParamDeleteIPAddress {
			// The address stops carrying data now: the host may have
			// lost it already.
			for _, q := range a.paths {
				if q.local == op.Addr {
					a.retirePath(now, q, "local address being deleted")
				}
			}
		}
	}
	a.transmitAsconf(now, p)
}

// asconfPath is the path an ASCONF goes on: usable, from an address the
// peer knows that no ASCONF in flight deletes; preferably one that no
// queued request deletes either, then the data path.
func (a *Association) asconfPath() *path {
	var best *path
	score := func(p *path) int {
		if !p.usable() || !slices.Contains(a.asconf.locals, p.local) || a.deletingOut(p.local) {
			return -1
		}
		s := 1
		if !a.deletingQueued(p.local) {
			s += 2
		}
		if p == a.dataPath() {
			s++
		}
		return s
	}
	for _, p := range a.paths {
		if s := score(p); s >= 0 && (best == nil || s > score(best)) {
			best = p
		}
	}
	return best
}

func isDelete(ip netip.Addr) func(chunk.AsconfParam) bool {
	return func(q chunk.AsconfParam) bool { return q.Type == chunk.ParamDeleteIPAddress && q.Addr == ip }
}

// deletingOut reports whether the ASCONF in flight deletes ip.
func (a *Association) deletingOut(ip netip.Addr) bool {
	return a.asconf.out != nil && slices.ContainsFunc(a.asconf.out.Params, isDelete(ip))
}

// deletingQueued reports whether a queued request deletes ip.
func (a *Association) deletingQueued(ip netip.Addr) bool {
	return slices.ContainsFunc(a.asconf.ops, isDelete(ip))
}

func (a *Association) transmitAsconf(now time.Time, p *path) {
	a.asconf.outPath = p
	a.asconf.out.Address = p.local
	a.queuePacket(p, a.peerTag, a.asconf.out)
	// Section 5.1 A4: "Start a T-4 RTO timer, using the RTO value of the
	// selected destination address".
	a.timers.start(timerAsconf, now, p.rto)
}

// onAsconfTimeout: T4-RTO expired (section 5.1, B1 to B5): count the error
// on the path and the association, back off, and send the same ASCONF
// again, to another path if there is one.
func (a *Association) onAsconfTimeout(now time.Time) {
	if a.asconf.out == nil {
		return
	}
	p := a.asconf.outPath
	if slices.Contains(a.paths, p) {
		if a.pathError(now, p, "ASCONF unanswered") {
			a.abortWith(now, ErrTimeout, "peer unreachable: ASCONF unanswered", nil)
			return
		}
		a.backoffRTO(p)
	}
	next := a.asconfPath()
	if alt := a.alternatePath(p); alt != nil && slices.Contains(a.asconf.locals, alt.local) && !a.deletingOut(alt.local) {
		next = alt
	}
	if next == nil {
		a.timers.start(timerAsconf, now, a.cfg.RTOMax)
		return
	}
	a.transmitAsconf(now, next)
}

// handleAsconfAck applies the peer's answer to our ASCONF (section 5.3 and
// 5.4).
func (a *Association) handleAsconfAck(now time.Time, c chunk.Raw) {
	var ack chunk.AsconfAckChunk
	if err := ack.Unmarshal(c); err != nil {
		return
	}
	out := a.asconf.out
	if out == nil || ack.Serial != out.Serial {
		if out == nil && serial.LessEq32(a.asconf.serial, ack.Serial) {
			// F0: "If an endpoint receives an ASCONF-ACK that is greater
			// than or equal to the next sequence number to be used but no
			// ASCONF chunk is outstanding, the endpoint MUST ABORT the
			// association."
			a.abortWith(now, ErrAborted, "ASCONF-ACK for no ASCONF", &chunk.UnknownCause{Code: chunk.CauseIllegalAsconfAck})
		}
		return
	}
	a.timers.stop(timerAsconf)
	a.asconf.out = nil
	if p := a.asconf.outPath; slices.Contains(a.paths, p) {
		a.pathHeard(now, p, "ASCONF acknowledged")
	}
	for _, req := range out.Params {
		// Section 5.3: a request with no result in the ACK succeeded.
		why := ""
		for _, res := range ack.Results {
			if res.CorrelationID == req.CorrelationID && res.Type == chunk.ParamErrorCauseInd {
				why = describeCauses(res.Causes)
			}
		}
		a.applyOwn(now, req, why)
	}
	a.sendAsconf(now)
}

// applyOwn applies the outcome of one of our requests.
func (a *Association) applyOwn(now time.Time, req chunk.AsconfParam, refused string) {
	ev := AddressChange{Local: true, Op: opName(req.Type), Addr: req.Addr, OK: refused == "", Reason: refused}
	switch req.Type {
	case chunk.ParamAddIPAddress:
		if refused == "" && !slices.Contains(a.asconf.locals, req.Addr) {
			a.asconf.locals = append(a.asconf.locals, req.Addr)
			a.addPaths(now, []netip.Addr{req.Addr}, nil)
		}
	case chunk.ParamDeleteIPAddress:
		if refused == "" {
			a.asconf.locals = slices.DeleteFunc(a.asconf.locals, func(ip netip.Addr) bool { return ip == req.Addr })
			a.removePaths(now, func(p *path) bool { return p.local == req.Addr })
		} else {
			// The peer keeps the address; so do we.
			for _, p := range a.paths {
				if p.local == req.Addr && p.gone {
					p.gone = false
					a.setPathState(now, p, PathUnconfirmed, "delete refused: "+refused)
					p.hbDeadline = now
				}
			}
		}
	}
	a.pushEvent(ev)
}

// handleAsconf processes the peer's ASCONF (section 5.2) and answers it.
func (a *Association) handleAsconf(now time.Time, from, to netip.AddrPort, c chunk.Raw) {
	var req chunk.AsconfChunk
	if err := req.Unmarshal(c); err != nil {
		return
	}
	st := &a.asconf
	switch {
	case req.Serial == st.peerSerial+1:
		// E1: the next one, within the rate.
		tat, ok := gcra(st.peerTAT, now.UnixNano(), maxAsconfRate)
		if !ok {
			return
		}
		st.peerTAT = tat
	case req.Serial == st.peerSerial && st.lastAck != nil:
		// E2: a retransmission (our ACK was lost): answer it again.
		a.queuePacketTo(to.Addr(), from, a.peerTag, st.lastAck)
		return
	default:
		// E2 (older), E5: "a stale packet or from an attacker".
		return
	}
	ack := &chunk.AsconfAckChunk{Serial: req.Serial}
	for _, r := range req.Params {
		ip := r.Addr
		if ip.IsUnspecified() {
			// Section 4.2.1 and following: the wildcard address means
			// the packet's source.
			ip = from.Addr().Unmap()
		}
		if cause := a.applyPeer(now, r.Type, ip.Unmap(), from.Addr().Unmap()); cause != nil {
			ack.Results = append(ack.Results, chunk.AsconfResult{Type: chunk.ParamErrorCauseInd, CorrelationID: r.CorrelationID, Causes: []chunk.Cause{cause}})
			a.pushEvent(AddressChange{Op: opName(r.Type), Addr: ip, Reason: describeCauses([]chunk.Cause{cause})})
			continue
		}
		ack.Results = append(ack.Results, chunk.AsconfResult{Type: chunk.ParamSuccessInd, CorrelationID: r.CorrelationID})
		a.pushEvent(AddressChange{Op: opName(r.Type), Addr: ip, OK: true})
	}
	st.peerSerial = req.Serial
	st.lastAck = ack
	// Section 5.2: the ASCONF-ACK goes back to the source of the ASCONF.
	a.queuePacketTo(to.Addr(), from, a.peerTag, ack)
}

// applyPeer applies one of the peer's requests, or returns the cause that
// refuses it.
func (a *Association) applyPeer(now time.Time, op uint16, ip, src netip.Addr) chunk.Cause {
	quote := func(code chunk.CauseCode) chunk.Cause {
		return &chunk.UnknownCause{Code: code, Info: appendAddrParam(nil, ip)}
	}
	switch op {
	case chunk.ParamAddIPAddress:
		if slices.Contains(a.peerAddrs, ip) {
			return nil
		}
		if !usablePeerAddr(ip, src) {
			return quote(chunk.CauseNoAuthorization)
		}
		if a.cfg.AdmitAddr != nil {
			if err := a.cfg.AdmitAddr(ip); err != nil {
				// The rule: no packet goes to an address outside
				// allowed_networks, "Request Refused - No Authorization".
				return quote(chunk.CauseNoAuthorization)
			}
		}
		if len(a.peerAddrs) >= maxPeerAddrs || len(a.paths) >= maxPaths {
			return quote(chunk.CauseResourceShortage)
		}
		a.peerAddrs = append(a.peerAddrs, ip)
		a.addPaths(now, nil, []netip.Addr{ip})
	case chunk.ParamDeleteIPAddress:
		if !slices.Contains(a.peerAddrs, ip) {
			return nil
		}
		if len(a.peerAddrs) == 1 {
			// Section 5.2: "the receiver MUST NOT delete the last
			// remaining address".
			return quote(chunk.CauseDeleteLastAddress)
		}
		if ip == src {
			return quote(chunk.CauseDeleteSourceAddress)
		}
		a.peerAddrs = slices.DeleteFunc(a.peerAddrs, func(x netip.Addr) bool { return x == ip })
		a.removePaths(now, func(p *path) bool { return p.addr.Addr() == ip })
	case chunk.ParamSetPrimaryAddress:
		best := -1
		for i, p := range a.paths {
			if p.addr.Addr() == ip && (best < 0 || p.local == a.paths[a.primary].local) {
				best = i
			}
		}
		if best < 0 {
			return quote(chunk.CauseUnresolvableAddress)
		}
		a.primary = best
	}
	return nil
}

// addPaths adds paths for new local addresses (to every peer address) or
// new peer addresses (from every local address), unconfirmed, with a
// HEARTBEAT at once (RFC 9260 section 5.4).
func (a *Association) addPaths(now time.Time, locals, peers []netip.Addr) {
	port := a.paths[a.primary].addr.Port()
	if locals == nil {
		locals = a.asconf.locals
		if len(locals) == 0 {
			locals = []netip.Addr{a.paths[a.primary].local}
		}
	}
	if peers == nil {
		peers = a.peerAddrs
	}
	for _, peer := range peers {
		for _, local := range locals {
			if len(a.paths) >= maxPaths || !pairable(local, peer) || slices.ContainsFunc(a.paths, func(p *path) bool {
				return p.local == local && p.addr.Addr() == peer
			}) {
				continue
			}
			p := a.newPath(netip.AddrPortFrom(peer, port), local, PathUnconfirmed, now)
			p.hbDeadline = now
			a.paths = append(a.paths, p)
		}
	}
}

// retirePath takes a path out of use for good (its local address is
// being deleted): no data, no HEARTBEATs; what was outstanding on it goes
// out again elsewhere.
func (a *Association) retirePath(now time.Time, p *path, why string) {
	if p.gone {
		return
	}
	p.gone = true
	p.hbDeadline, p.hbOutstanding = time.Time{}, false
	a.moveOutstanding(p)
	a.setPathState(now, p, PathInactive, why)
}

// moveOutstanding marks the DATA outstanding on p for retransmission.
func (a *Association) moveOutstanding(p *path) {
	for _, ch := range a.tx.outstanding {
		if ch.path == p && !ch.gapAcked && !ch.retransmit {
			ch.retransmit = true
			a.unprobe(ch)
			a.tx.rtxPending++
			a.takeOutOfFlight(ch)
		}
	}
	p.t3 = time.Time{}
}

// removePaths drops the paths that match, moving what was outstanding on
// them to the others; the primary and every reference follow.
func (a *Association) removePaths(now time.Time, match func(*path) bool) {
	prim := a.paths[a.primary]
	var keep []*path
	var gone []*path
	for _, p := range a.paths {
		if match(p) {
			gone = append(gone, p)
		} else {
			keep = append(keep, p)
		}
	}
	if len(gone) == 0 || len(keep) == 0 {
		return
	}
	for _, p := range gone {
		a.moveOutstanding(p)
	}
	// Every reference to a removed path goes before the rest looks for
	// paths (dataPath follows peerPath).
	if slices.Contains(gone, a.peerPath) {
		a.peerPath = nil
	}
	if slices.Contains(gone, a.rx.sackPath) {
		a.rx.sackPath = nil
	}
	if slices.Contains(gone, a.rx.lastPath) {
		a.rx.lastPath = nil
	}
	if slices.Contains(gone, a.asconf.outPath) {
		a.asconf.outPath = nil
	}
	a.paths = keep
	a.primary = max(slices.Index(keep, prim), 0)
	if match(prim) {
		a.primary = max(slices.Index(keep, a.dataPath()), 0)
	}
	to := a.dataPath()
	if to.state == PathUnconfirmed && !to.hbOutstanding {
		// Nothing confirmed is left: confirm this one now rather than
		// at its next HEARTBEAT, since the data waits for it (5.4).
		to.hbDeadline = now
	}
	for _, ch := range a.tx.outstanding {
		if ch.path != nil && slices.Contains(gone, ch.path) {
			ch.path = to // not in flight (moveOutstanding or acked): only a label
		}
	}
	for _, p := range gone {
		a.pushEvent(PathChange{ID: p.id, Local: p.local, Addr: p.addr, Old: p.state, State: PathInactive, Reason: "address deleted"})
	}
}

func opName(op uint16) string {
	switch op {
	case chunk.ParamAddIPAddress:
		return "add"
	case chunk.ParamDeleteIPAddress:
		return "delete"
	case chunk.ParamSetPrimaryAddress:
		return "set-primary"
	}
	return fmt.Sprintf("%#04x", op)
}
