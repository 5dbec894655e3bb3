package sctp

import (
	"math/bits"
	"sync"
)

// bufPool lends the buffers that received messages are assembled in
// (assoc.Config.Buffers) and takes them back once the bytes have been
// read or written on, so that a steady flow of messages allocates
// nothing. Buffers come in size classes, powers of two from 256 bytes to
// 64 KiB; larger messages get buffers of their own, which are not kept.
// The classes are sync.Pools, so what a burst left behind goes to the
// garbage collector rather than staying with an idle socket.
//
// A sync.Pool holds interface values, and a slice put in one would be
// boxed, an allocation per Put: the pools hold *[]byte, and the pointers
// emptied by Get wait in their own pool for the next Put.
type bufPool struct {
	classes [bufClasses]sync.Pool // *[]byte of capacity minBuf<<i
	headers sync.Pool             // empty *[]byte
}

const (
	minBufShift = 8  // 256 bytes
	maxBufShift = 16 // 64 KiB
	bufClasses  = maxBufShift - minBufShift + 1
)

// bufClass is the class of the smallest buffer that holds n bytes; it is
// bufClasses for n above 64 KiB.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufShift
}

// Get returns a buffer of length n.
func (p *bufPool) Get(n int) []byte {
	c := bufClass(n)
	if c >= bufClasses {
		return make([]byte, n)
	}
	if h, _ := p.classes[c].Get().(*[]byte); h != nil {
		b := *h
		*h = nil
		p.headers.Put(h)
		return b[:n]
	}
	return make([]byte, n, 1<<(c+minBufShift))
}

// Put takes back b, which nothing may use any more. Only buffers of a
// class's exact capacity are kept: a slice cut from the front of one, or
// one made elsewhere, is left to the garbage collector.
func (p *bufPool) Put(b []byte) {
	c := cap(b)
	if c < 1<<minBufShift || c > 1<<maxBufShift || c&(c-1) != 0 {
		return
	}
	h, _ := p.headers.Get().(*[]byte)
	if h == nil {
		h = new([]byte)
	}
	*h = b[:0]
	p.classes[bufClass(c)].Put(h)
}
