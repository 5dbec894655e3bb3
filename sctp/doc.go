// Package sctp is pgsctp's public Go API: SCTP associations (RFC 9260)
// carried over UDP (RFC 6951), with a message API and net.Conn streams.
//
//	l, _ := sctp.Listen(ctx, "127.0.0.1:5000", &sctp.Config{})   // UDP port 9899
//	a, _ := l.Accept(ctx)
//
//	c, _ := sctp.Dial(ctx, "127.0.0.1:5000", &sctp.Config{})
//	st, _ := c.OpenStream(0)   // a net.Conn
//	st.Write([]byte("hello"))
//
// # Ports
//
// An address "host:port" names an SCTP port. The UDP encapsulation ports
// are separate: Config.UDPPort is the local one (Listen: default 9899;
// Dial: default any free port) and Config.PeerUDPPort the peer's (default
// 9899). One UDP socket carries any number of associations; a Listener's
// socket demultiplexes them by verification tag and by (peer address, peer
// SCTP port, local SCTP port).
//
// # Messages and streams
//
// An association has up to 65535 streams in each direction. It can be used
// as a message transport (SendMessage, ReceiveMessage) or through Streams,
// each a net.Conn carrying a byte stream over one ordered SCTP stream, or
// both at once. Received messages are routed like this:
//
//   - A message on a stream for which a *Stream exists (returned by
//     OpenStream or AcceptStream) goes to that Stream, and is read as bytes
//     with Stream.Read. Message boundaries and PPIDs are not visible there.
//   - Any other message waits in the association's inbox, in arrival
//     order. ReceiveMessage returns the next inbox message, whatever its
//     stream. AcceptStream returns a new Stream for the first inbox message
//     whose stream has no Stream yet, and moves every inbox message of that
//     stream into it: "a stream appears when the peer first sends on it".
//
// So a program that only uses streams calls AcceptStream, one that only
// uses messages calls ReceiveMessage, and one that opens a Stream for
// stream 0 and reads the rest as messages can do that too.
//
// # Half-close
//
// SCTP has no per-stream FIN, and a DATA chunk must carry at least one byte
// (RFC 9260 section 3.3.10.9, No User Data: "This error cause is returned
// to the originator of a DATA chunk if a received DATA chunk has no user
// data."). Stream.CloseWrite therefore sends a one-byte message with PPID
// PPIDCloseWrite on the stream. A Stream that receives it returns io.EOF
// from Read once the bytes before it are read. A peer using the message
// API sees it as an ordinary message with that PPID.
//
// # Flow control and memory
//
// Received data counts against the receive window (Config.Assoc.RecvWindow)
// until the application takes it: ReceiveMessage releases a message's bytes
// when it returns it, Stream.Read releases the bytes it copies out. The
// memory held per association is thus bounded by the advertised window plus
// a bounded queue of undelivered packets. A sender blocks in SendMessage or
// Stream.Write while the send buffer (Config.Assoc.SendBuffer) is full.
//
// # Goroutines
//
// Each association runs one goroutine that owns its protocol state
// (package assoc, which has no goroutines, sockets or clocks of its own):
// it waits for datagrams, one timer and user operations, and after each
// drains the packets to send (in batches) and the events. Each UDP socket
// has one reader goroutine. Both end when the association or socket
// closes; nothing else is started.
//
// # Errors
//
// Operations return *net.OpError values. Deadlines give errors for which
// errors.Is(err, os.ErrDeadlineExceeded) holds and that are net.Error with
// Timeout() true. Use after Close gives net.ErrClosed. Read returns io.EOF
// after the peer's CloseWrite or a graceful SHUTDOWN; a failed association
// gives an error wrapping assoc.ErrAborted or assoc.ErrTimeout.
package sctp
