package assoc

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Graceful shutdown (RFC 9260 section 9.2), ABORT (9.1) and ERROR.

// shutdownProgress moves a shutdown on once nothing is left to send.
func (a *Association) shutdownProgress(now time.Time) {
	if len(a.tx.outstanding) > 0 || a.tx.queued() > 0 {
		return
	}
	p := a.dataPath()
	switch a.state {
	case StateShutdownPending:
		// "Once all its outstanding data has been acknowledged, the
		// endpoint MUST send a SHUTDOWN chunk to its peer ... start the
		// T2-shutdown timer and enter the SHUTDOWN-SENT state." T5 guards
		// the whole procedure.
		a.state = StateShutdownSent
		a.sendShutdown = true
		a.timers.start(timerShutdown, now, p.rto)
		a.timers.start(timerGuard, now, a.cfg.ShutdownGuard)
	case StateShutdownReceived:
		// "the SHUTDOWN receiver MUST send a SHUTDOWN ACK chunk and start
		// a T2-shutdown timer of its own, entering the SHUTDOWN-ACK-SENT
		// state."
		a.state = StateShutdownAckSent
		a.sendShutdownAck = true
		a.timers.start(timerShutdown, now, p.rto)
	}
}

func (a *Association) onShutdownTimeout(now time.Time) {
	p := a.dataPath()
	if a.pathError(now, p, "T2-shutdown expired") {
		a.abortWith(now, ErrTimeout, "peer unreachable during shutdown", nil)
		return
	}
	a.backoffRTO(p)
	switch a.state {
	case StateShutdownSent:
		a.sendShutdown = true
	case StateShutdownAckSent:
		a.sendShutdownAck = true
	default:
		return
	}
	a.timers.start(timerShutdown, now, p.rto)
}

func (a *Association) handleShutdown(now time.Time, c chunk.Raw) {
	var s chunk.ShutdownChunk
	if err := s.Unmarshal(c); err != nil {
		return
	}
	switch a.state {
	case StateEstablished, StateShutdownPending, StateShutdownReceived:
		// "Upon reception of the SHUTDOWN chunk, the peer endpoint MUST
		// enter the SHUTDOWN-RECEIVED state, MUST stop accepting new data
		// from its SCTP user, and MUST verify, by checking the Cumulative
		// TSN Ack field of the chunk, that all its outstanding DATA chunks
		// have been received by the SHUTDOWN sender."
		a.state = StateShutdownReceived
		a.ackCumulative(now, s.CumTSNAck)
		a.shutdownProgress(now)
	case StateShutdownSent:
		// Both ends shut down at once: "If an endpoint is in the
		// SHUTDOWN-SENT state and receives a SHUTDOWN chunk from its peer,
		// the endpoint MUST respond immediately with a SHUTDOWN ACK to its
		// peer, and move into the SHUTDOWN-ACK-SENT state restarting its
		// T2-shutdown timer."
		a.state = StateShutdownAckSent
		a.sendShutdown = false
		a.sendShutdownAck = true
		a.timers.start(timerShutdown, now, a.dataPath().rto)
	case StateShutdownAckSent:
		a.sendShutdownAck = true
	}
}

// ackCumulative applies a Cumulative TSN Ack that came without gap blocks
// (in a SHUTDOWN), as a SACK that keeps the peer's window.
func (a *Association) ackCumulative(now time.Time, cum uint32) {
	s := &chunk.SackChunk{CumTSNAck: cum, AdvRecvWindow: a.tx.peerRwnd + uint32(a.flight())}
	for _, ch := range a.tx.outstanding {
		if ch.gapAcked {
			// Keep what gap blocks said: a SHUTDOWN is not a renege.
			off := ch.d.TSN - cum
			if off > 0 && off < 1<<16 {
				s.GapBlocks = append(s.GapBlocks, chunk.GapBlock{Start: uint16(off), End: uint16(off)})
			}
		}
	}
	a.processSack(now, s)
}

func (a *Association) handleShutdownAck(now time.Time, h chunk.Header, from, to netip.AddrPort) {
	switch a.state {
	case StateShutdownSent, StateShutdownAckSent:
		// "Upon the receipt of the SHUTDOWN ACK chunk, the SHUTDOWN sender
		// MUST stop the T2-shutdown timer, send a SHUTDOWN COMPLETE chunk
		// to its peer, and remove all record of the association."
		a.queuePacket(a.dataPath(), a.peerTag, &chunk.ShutdownCompleteChunk{})
		a.answerLate = true
		a.close(nil)
	case StateCookieWait, StateCookieEchoed:
		// 8.4 rule 5 / 8.5.1 (E): treat as out of the blue; answer with a
		// SHUTDOWN COMPLETE with the T bit set.
		a.queuePacketTo(to.Addr(), from, h.VerificationTag, &chunk.ShutdownCompleteChunk{T: true})
	}
}

func (a *Association) handleShutdownComplete() {
	if a.state == StateShutdownAckSent {
		// "Upon reception of the SHUTDOWN COMPLETE chunk, the endpoint
		// will verify that it is in the SHUTDOWN-ACK-SENT state; if it is
		// not, the chunk SHOULD be discarded."
		a.close(nil)
	}
}

func (a *Association) handleAbort(c chunk.Raw) {
	var ab chunk.AbortChunk
	reason := "no cause given"
	err := ab.Unmarshal(c)
	if err == nil && len(ab.Causes) > 0 {
		reason = describeCauses(ab.Causes)
	}
	if err == nil && a.state == StateShutdownAckSent && ab.T && len(ab.Causes) == 0 {
		// The peer sent SHUTDOWN ACK's answer and forgot the association;
		// a late packet of ours then met its out-of-the-blue handling
		// (8.4 rule 8) and this ABORT overtook the SHUTDOWN COMPLETE.
		// Everything was acknowledged before SHUTDOWN-ACK-SENT, so the
		// shutdown did complete.
		a.close(nil)
		return
	}
	// 9.1: "Upon receipt of the ABORT chunk, the receiving endpoint MUST
	// NOT send any other chunk in response; it MUST report... and remove
	// the association".
	a.close(fmt.Errorf("%w by peer: %s", ErrAborted, reason))
}

func (a *Association) handleError(now time.Time, c chunk.Raw) {
	var e chunk.ErrorChunk
	if err := e.Unmarshal(c); err != nil {
		return
	}
	for _, cause := range e.Causes {
		if st, ok := cause.(chunk.StaleCookieCause); ok && a.state == StateCookieEchoed {
			a.staleCookie(now, time.Duration(st.Staleness)*time.Microsecond)
			return
		}
	}
	a.log.Debug("sctp: peer reported an error", "causes", describeCauses(e.Causes))
}

// staleCookie: section 5.2.6. We start over with a new INIT that asks for
// a longer cookie life ("Cookie Preservative"), counted against
// Max.Init.Retransmits.
func (a *Association) staleCookie(now time.Time, staleness time.Duration) {
	a.initRetries++
	if a.initRetries > a.cfg.MaxInitRetransmits {
		a.close(fmt.Errorf("%w: state cookies kept going stale", ErrInitTimeout))
		return
	}
	a.timers.stop(timerCookie)
	a.preserve = uint32(max(2*staleness/time.Millisecond, 1))
	a.peerTag = 0
	a.cookieEcho = nil
	a.state = StateCookieWait
	a.sendInit(now)
}

func describeCauses(cs []chunk.Cause) string {
	var parts []string
	for _, c := range cs {
		switch v := c.(type) {
		case chunk.UserInitiatedAbortCause:
			parts = append(parts, "user abort: "+string(v.Reason))
		case chunk.ProtocolViolationCause:
			parts = append(parts, "protocol violation: "+string(v.Info))
		default:
			parts = append(parts, c.CauseCode().String())
		}
	}
	return strings.Join(parts, "; ")
}
