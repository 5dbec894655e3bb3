package recvq

import (
	"errors"
	"fmt"

	"github.com/pgsctp/pgsctp/assoc/serial"
	"github.com/pgsctp/pgsctp/chunk"
)

// Errors of Reassembler.Add. The chunk is dropped in every case; what to
// tell the peer is the caller's decision. For an invalid stream RFC 9260
// section 6.5 has the receiver acknowledge the DATA chunk as usual (the
// Tracker has already counted it), send an ERROR with an Invalid Stream
// Identifier cause, and discard the chunk. The other errors can only come
// from a peer that breaks section 6.5 or 6.9, or from a caller that
// skipped the Tracker.
var (
	// ErrInvalidStream: the stream identifier is not below the number of
	// inbound streams.
	ErrInvalidStream = errors.New("recvq: invalid stream identifier")
	// ErrNoUserData: a DATA chunk without user data, for which RFC 9260
	// section 6.2 has the receiver ABORT with a No User Data cause.
	// Refusing it here also means every held entry costs at least one
	// byte of Buffered, so bookkeeping stays proportional to the window.
	ErrNoUserData = errors.New("recvq: DATA chunk without user data")
	// ErrDuplicateTSN: a fragment with this TSN is already held.
	ErrDuplicateTSN = errors.New("recvq: duplicate TSN")
	// ErrDuplicateSSN: a complete ordered message with this SSN is already
	// waiting for delivery on the stream.
	ErrDuplicateSSN = errors.New("recvq: duplicate stream sequence number")
	// ErrStaleSSN: an ordered message whose SSN was already delivered (or
	// lies 2^15 or more ahead of the next expected one).
	ErrStaleSSN = errors.New("recvq: stale stream sequence number")
)

// Message is a complete user message, ready for the upper layer.
type Message struct {
	StreamID  uint16
	PPID      uint32 // the Payload Protocol Identifier of its first fragment
	Unordered bool
	// Data is owned by the receiver of the Message: the Reassembler keeps
	// no reference to it.
	Data []byte
}

// fragment is a DATA chunk that does not hold a whole message, waiting for
// the rest of it.
//
// Fragments with consecutive TSNs that can belong to the same message form
// a run; runs are tracked by their ends: first, last and size are valid
// only in the run's first and last fragment.
type fragment struct {
	data      []byte // a copy, owned by the Reassembler
	ppid      uint32
	sid       uint16
	ssn       uint16
	unordered bool
	beginning bool
	ending    bool

	first, last uint32 // TSNs of the run's first and last fragment
	size        int    // user bytes in the run
}

// sameMessage reports whether a (at TSN n) and b (at TSN n+1) can be
// fragments of the same user message. RFC 9260 section 6.9 gives the
// fragments of a message the same stream, the same U flag and consecutive
// TSNs, B on the first and E on the last, so a message never continues
// past an E fragment nor before a B one. The SSN is compared for ordered
// chunks only: for unordered ones "the receiver MUST ignore the Stream
// Sequence Number field" (section 3.3.1).
func sameMessage(a, b *fragment) bool {
	return !a.ending && !b.beginning &&
		a.sid == b.sid && a.unordered == b.unordered &&
		(a.unordered || a.ssn == b.ssn)
}

// Reassembler turns DATA chunks with new TSNs into complete user messages
// (RFC 9260 section 6.9) and releases them in the order the upper layer
// may see them: ordered messages of a stream in Stream Sequence Number
// order (section 6.5), unordered ones as soon as they are complete
// (section 6.6).
//
// Memory: every byte held was handed in by Add and is counted by Buffered
// until Pop hands it out; the bookkeeping is one map entry per held
// fragment or waiting message (each at least one byte, empty chunks being
// refused), plus two bytes per inbound stream. The caller bounds the total
// by its receive window (a_rwnd minus Buffered).
//
// There is no partial delivery API: section 6.9 says a receiver that runs
// out of buffer space while waiting for fragments SHOULD hand part of the
// message up through one. Without it a message larger than the receive
// window can never complete, so the caller must advertise a window at
// least as large as the largest message it accepts.
type Reassembler struct {
	// Buffers, if set, supplies the copies of user data and takes back
	// the fragments' copies once their message is assembled; the
	// messages' own buffers go to whoever Pop hands them to. Nil: make,
	// and the garbage collector takes them back.
	Buffers Buffers

	// nextSSN is, per inbound stream, the SSN of the next ordered message
	// to deliver. "The Stream Sequence Number in all the outgoing streams
	// MUST start from 0 when the association is established" (section 6.5),
	// and wraps from 65535 to 0.
	nextSSN []uint16
	// frags are the fragments of incomplete messages, by TSN.
	frags map[uint32]fragment
	// waiting are complete ordered messages that arrived ahead of their
	// turn, by stream<<16 | SSN.
	waiting map[uint32]Message
	// ready[head:] are deliverable messages, oldest first.
	ready []Message
	head  int
	// buffered counts the user bytes in frags, waiting and ready[head:].
	buffered int
}

// Buffers lends memory for user data: Get(n) returns a slice of length n
// whose contents are to be overwritten, Put takes back one that nothing
// refers to any more. It must be safe for concurrent use when the
// messages are read on other goroutines.
type Buffers interface {
	Get(n int) []byte
	Put(b []byte)
}

// NewReassembler returns a Reassembler for an association with
// inboundStreams inbound streams (the smaller of our MIS and the peer's
// OS, RFC 9260 section 5.1.1).
func NewReassembler(inboundStreams uint16) *Reassembler {
	return &Reassembler{
		nextSSN: make([]uint16, inboundStreams),
		frags:   make(map[uint32]fragment),
		waiting: make(map[uint32]Message),
	}
}

// Add takes a DATA chunk whose TSN the Tracker reported as new. It copies
// d.UserData (which aliases a packet buffer reused after the call) and
// keeps no reference to d.
//
// A chunk with both B and E set is a whole message and costs one copy. A
// fragment is copied on arrival and the message is assembled into one
// allocation of its final size when its last missing fragment arrives.
//
// Add returns an error, wrapping one of the Err values, for a stream
// identifier not below the number of inbound streams, for a chunk without
// user data, for a TSN already held as a fragment, and for a completed
// ordered message whose SSN was already delivered or is already waiting;
// the chunk, or the completed message, is then dropped and Buffered does
// not count it.
func (r *Reassembler) Add(d *chunk.DataChunk) error {
	if int(d.StreamID) >= len(r.nextSSN) {
		return fmt.Errorf("DATA TSN %d on stream %d of %d inbound: %w",
			d.TSN, d.StreamID, len(r.nextSSN), ErrInvalidStream)
	}
	if len(d.UserData) == 0 {
		return fmt.Errorf("DATA TSN %d on stream %d: %w", d.TSN, d.StreamID, ErrNoUserData)
	}
	if _, ok := r.frags[d.TSN]; ok {
		return fmt.Errorf("DATA TSN %d on stream %d: %w", d.TSN, d.StreamID, ErrDuplicateTSN)
	}
	if d.Beginning && d.Ending {
		m := Message{
			StreamID:  d.StreamID,
			PPID:      d.PPID,
			Unordered: d.Unordered,
			Data:      r.clone(d.UserData),
		}
		r.buffered += len(m.Data)
		return r.complete(m, d.SSN, d.TSN)
	}

	tsn := d.TSN
	f := fragment{
		data:      r.clone(d.UserData),
		ppid:      d.PPID,
		sid:       d.StreamID,
		ssn:       d.SSN,
		unordered: d.Unordered,
		beginning: d.Beginning,
		ending:    d.Ending,
		first:     tsn,
		last:      tsn,
	}
	f.size = len(f.data)
	r.buffered += len(f.data)

	// Join the run ending just below (its last fragment is tsn-1, since
	// tsn was not held) and the run starting just above.
	if left, ok := r.frags[tsn-1]; ok && sameMessage(&left, &f) {
		f.first = left.first
		f.size += left.size
	}
	if right, ok := r.frags[tsn+1]; ok && sameMessage(&f, &right) {
		f.last = right.last
		f.size += right.size
	}
	r.frags[tsn] = f
	// Refresh the run's ends (f itself is already up to date).
	if f.first != tsn {
		e := r.frags[f.first]
		e.last, e.size = f.last, f.size
		r.frags[f.first] = e
	}
	if f.last != tsn {
		e := r.frags[f.last]
		e.first, e.size = f.first, f.size
		r.frags[f.last] = e
	}

	head, tail := r.frags[f.first], r.frags[f.last]
	if !head.beginning || !tail.ending {
		return nil
	}
	// The run is a whole message: B ... E with nothing missing.
	m := Message{
		StreamID:  head.sid,
		PPID:      head.ppid,
		Unordered: head.unordered,
		Data:      r.get(f.size)[:0],
	}
	for t := f.first; ; t++ {
		frag := r.frags[t].data
		m.Data = append(m.Data, frag...)
		delete(r.frags, t)
		if r.Buffers != nil {
			r.Buffers.Put(frag)
		}
		if t == f.last {
			break
		}
	}
	return r.complete(m, head.ssn, f.first)
}

// complete hands on a whole message, already counted in buffered; tsn,
// its first TSN, only serves to name it in errors.
func (r *Reassembler) complete(m Message, ssn uint16, tsn uint32) error {
	if m.Unordered {
		// Section 6.6: unordered data bypasses the ordering mechanism
		// and goes to the upper layer as soon as it is reassembled.
		r.push(m)
		return nil
	}
	sid := m.StreamID
	next := r.nextSSN[sid]
	switch {
	case ssn == next:
		r.push(m)
		next++
		// Release the messages that were waiting for this one.
		for {
			w, ok := r.waiting[key(sid, next)]
			if !ok {
				break
			}
			delete(r.waiting, key(sid, next))
			r.push(w)
			next++
		}
		r.nextSSN[sid] = next
		return nil
	case serial.Less16(next, ssn):
		// Section 6.5: ordered data that arrives ahead of its SSN is
		// held until the messages before it have been delivered.
		k := key(sid, ssn)
		if _, dup := r.waiting[k]; dup {
			r.buffered -= len(m.Data)
			return fmt.Errorf("DATA TSN %d on stream %d, SSN %d: %w", tsn, sid, ssn, ErrDuplicateSSN)
		}
		r.waiting[k] = m
		return nil
	default:
		r.buffered -= len(m.Data)
		return fmt.Errorf("DATA TSN %d on stream %d, SSN %d, expected SSN %d: %w",
			tsn, sid, ssn, next, ErrStaleSSN)
	}
}

func key(sid, ssn uint16) uint32 { return uint32(sid)<<16 | uint32(ssn) }

// push appends m to the ready queue, reusing the space of popped entries.
func (r *Reassembler) push(m Message) {
	if r.head > 0 && len(r.ready) == cap(r.ready) {
		n := copy(r.ready, r.ready[r.head:])
		clear(r.ready[n:])
		r.ready = r.ready[:n]
		r.head = 0
	}
	r.ready = append(r.ready, m)
}

// Pop returns the next deliverable message, if any. Messages come out in
// the order they became deliverable; the ordered ones of each stream in
// SSN order.
func (r *Reassembler) Pop() (Message, bool) {
	if r.head == len(r.ready) {
		return Message{}, false
	}
	m := r.ready[r.head]
	r.ready[r.head] = Message{}
	r.head++
	if r.head == len(r.ready) {
		r.ready = r.ready[:0]
		r.head = 0
	}
	r.buffered -= len(m.Data)
	return m, true
}

// Buffered returns the user bytes held: fragments of incomplete messages,
// complete messages waiting for their turn, and messages not yet popped.
// They count against the receive window (RFC 9260 section 6.2: a_rwnd is
// the buffer space left).
func (r *Reassembler) Buffered() int { return r.buffered }

// get returns a buffer of length n from Buffers, or a new one.
func (r *Reassembler) get(n int) []byte {
	if r.Buffers != nil {
		return r.Buffers.Get(n)
	}
	return make([]byte, n)
}

// clone copies b into a buffer of exactly its length.
func (r *Reassembler) clone(b []byte) []byte {
	c := r.get(len(b))
	copy(c, b)
	return c
}
