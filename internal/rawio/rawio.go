// Package rawio reads and writes sockets with raw read(2) and write(2)
// system calls where the system allows it.
//
// Go's net.Conn.Read enters the runtime's system-call path
// (entersyscall/exitsyscall) for every read. On a relay that goes idle
// between messages that path wakes the runtime's sysmon thread, which then
// polls every 20 µs for a while: thread wake-ups that cost a relay on a
// small machine more than its reads (issue 7). A socket from package net
// is non-blocking, so a read never waits in the kernel and can be a raw
// call; the runtime's poller still waits for readability, and deadlines
// and Close still end a blocked Read.
package rawio

import (
	"io"
	"net"
	"syscall"
)

// CanWrite reports whether TryWrite works here: a socket that takes a
// write at once can then be written from any goroutine without waiting.
const CanWrite = canRaw

// Reader reads one socket with raw system calls. It is not safe for
// concurrent use.
type Reader struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool
	buf []byte
	n   int
	err error
}

// NewReader returns a Reader for c when c is a TCP or Unix connection of
// package net and the system has raw reads, and nil otherwise (read c
// itself then). Only those two types qualify: a wrapper that embeds one
// may hold bytes of its own that a raw read would skip.
func NewReader(c net.Conn) *Reader {
	if !canRaw {
		return nil
	}
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &Reader{rc: rc}
	r.fn = func(fd uintptr) bool {
		var ok bool
		r.n, ok, r.err = read(fd, r.buf)
		return ok
	}
	return r
}

// Read reads what the socket holds, up to len(p), waiting in the
// runtime's poller while it holds nothing. At the end of the stream it
// returns io.EOF; a deadline or Close gives the errors net.Conn.Read
// gives.
//
// Every Read starts with a read(2), also after a short one: skipping the
// read that meets an empty socket and waiting at once would save a system
// call per message, but a short read does not mean the socket is drained.
// A FIN or RST that arrived with the data is reported by the next read(2)
// only, and its readiness edge may have merged with the data's, which the
// wait has already used up: the wait would never end.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.buf = p
	err := r.rc.Read(r.fn)
	r.buf = nil
	switch {
	case err != nil:
		return 0, err
	case r.err != nil:
		return 0, r.err
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}
