package netrelay

import (
	"fmt"
	"slices"
	"strconv"
)

// CheckShutdown checks a graceful shutdown (RFC 9260 section 9.2) as a
// relay saw it. ladder holds the SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE
// and ABORT chunks that crossed, in order, each as "d:NAME" with d the
// Direction's number; initiator is the direction of the first SHUTDOWN.
//
// On a quiet machine the ladder is exactly SHUTDOWN, SHUTDOWN ACK,
// SHUTDOWN COMPLETE. A peer that stalls for a
// while makes it longer without anyone breaking the RFC: the initiator
// answers every DATA packet in SHUTDOWN-SENT with another SHUTDOWN (9.2),
// T2-shutdown repeats either side's chunk, and the peer then answers
// each queued SHUTDOWN with a SHUTDOWN ACK. What must hold whatever the
// timing, and what this checks:
//   - the initiator's SHUTDOWN comes first and nobody aborts;
//   - the initiator sends SHUTDOWN COMPLETE, and only after a SHUTDOWN
//     ACK reached it (the relay saw one cross first);
//   - after its first SHUTDOWN COMPLETE the initiator sends nothing else
//     of the shutdown but more SHUTDOWN COMPLETEs (answers to late
//     SHUTDOWN ACKs, section 8.4 rule 5).
//
// The caller waits for the initiator's SHUTDOWN COMPLETE to cross before
// it calls CheckShutdown (ShutdownDone).
//
// A longer ladder that passes comes back as a note for the test's log.
func CheckShutdown(ladder []string, initiator Direction) (note string, err error) {
	i, r := strconv.Itoa(int(initiator)), strconv.Itoa(int(1-initiator))
	shutdown, ack, complete := i+":SHUTDOWN", r+":SHUTDOWN-ACK", i+":SHUTDOWN-COMPLETE"
	if slices.Equal(ladder, []string{shutdown, ack, complete}) {
		return "", nil
	}
	if len(ladder) == 0 || ladder[0] != shutdown {
		return "", fmt.Errorf("shutdown ladder %v does not start with %s", ladder, shutdown)
	}
	acked, done := false, false
	for n, c := range ladder {
		switch {
		case c == "0:ABORT" || c == "1:ABORT" || c == "0:ABORT(T)" || c == "1:ABORT(T)":
			return "", fmt.Errorf("shutdown ladder %v: %s at %d", ladder, c, n)
		case c == ack:
			acked = true
		case c == complete:
			if !acked {
				return "", fmt.Errorf("shutdown ladder %v: %s at %d before any %s", ladder, c, n, ack)
			}
			done = true
		case done && c == complete+"(T)":
			// A late SHUTDOWN ACK after the association was gone.
		case done && c[:1] == i:
			return "", fmt.Errorf("shutdown ladder %v: %s at %d after %s", ladder, c, n, complete)
		}
	}
	if !done {
		return "", fmt.Errorf("shutdown ladder %v has no %s", ladder, complete)
	}
	return fmt.Sprintf("shutdown ladder with repeats (a slow peer or machine): %v", ladder), nil
}

// ShutdownDone reports whether the initiator's SHUTDOWN COMPLETE is in
// ladder: the point from which CheckShutdown can judge it.
func ShutdownDone(ladder []string, initiator Direction) bool {
	return slices.Contains(ladder, strconv.Itoa(int(initiator))+":SHUTDOWN-COMPLETE")
}
