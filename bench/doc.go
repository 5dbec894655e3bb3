// Package bench measures SCTP over UDP between two endpoints, the way iperf
// measures TCP and usrsctp's tsctp measures SCTP: bulk one-way throughput,
// and request/response latency. The same code measures plain TCP as the
// reference, so a figure for SCTP always has a TCP figure from the same
// machine and run beside it.
//
// The client (Run) and the server (Listen, Server.Serve) are functions with
// options that return a Result, so that `pgsctp bench`, tests, Go benchmarks
// and scripts share one implementation.
//
// # Protocol
//
// A session is one association (or, with Options.TCP, one TCP connection).
// Control messages are small JSON documents; data messages carry the bytes
// being measured. Over SCTP a message's kind is its PPID (PPIDControl,
// PPIDData), control always travels on stream 0 and data is spread over
// streams 0..Streams-1 in turn. Over TCP each message is framed by a 7-byte
// header: kind (1 byte), stream (2 bytes), length (4 bytes), big endian.
//
//	client                                   server
//	hello {mode, size, streams}      ->
//	                                 <-      ready
//	data ...                         ->      (counted; echoed in latency mode)
//	done {messages, bytes}           ->
//	                                 <-      report {messages, bytes, cpu, ...}
//	graceful close
//
// SCTP orders messages only within a stream, so "done" (stream 0) may
// overtake data on other streams: the server keeps receiving until it has
// counted the messages and bytes that "done" announces, then reports.
//
// # What is measured
//
// Throughput is the client's payload bytes divided by the time from its
// first send to the arrival of the server's report, that is until every
// byte was delivered to the server application, not merely queued. Latency
// is the time from sending a request to receiving its echo, one request
// outstanding at a time. CPU time comes from getrusage(2) for the whole
// process on each side (so a server serving several sessions at once, or a
// test running both ends in one process, reports the sum).
package bench
