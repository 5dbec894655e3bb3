package assoc

import "testing"

// TestTxQueuesReuse: a sender that always has data queued and outstanding
// (a bulk sender) moves chunks through the queue, outstanding and spare
// without allocating and without growing the arrays; once idle, the
// heartbeat's trimSpare gives back what it kept beyond maxSpare.
func TestTxQueuesReuse(t *testing.T) {
	var tx txState
	tx.init(1, 1, &smallCopies{})
	msg := make([]byte, 200) // 4 chunks of 50
	send := func() {
		tx.enqueue(0, 0, msg, false)
		for tx.queued() > 0 {
			tx.pushOutstanding(tx.popChunk(50))
		}
	}
	ack := func(n int) { // as processSack does for a cumulative ack
		for i := range n {
			tx.recycle(tx.outstanding[i])
			tx.outstanding[i] = nil
		}
		tx.outstanding = tx.outstanding[n:]
	}
	for range 25 { // 100 outstanding: more than maxSpare
		send()
	}
	for range 200 {
		send()
		ack(4)
	}
	arr := len(tx.outArr)
	if n := testing.AllocsPerRun(1000, func() { send(); ack(4) }); n != 0 {
		t.Errorf("%v allocations per message in a steady flow, want 0", n)
	}
	if len(tx.outArr) != arr || arr > 256 {
		t.Errorf("outstanding's array went from %d to %d entries, holding 100", arr, len(tx.outArr))
	}
	ack(len(tx.outstanding))
	if len(tx.spare) <= maxSpare {
		t.Fatalf("%d spare entries after 100 were acknowledged: the bulk flow would allocate", len(tx.spare))
	}
	tx.trimSpare()
	if len(tx.spare) != maxSpare || tx.inUse != 0 {
		t.Errorf("idle: %d spare entries (inUse %d), want %d", len(tx.spare), tx.inUse, maxSpare)
	}
}
