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
//   - Flow-control messages (PPIDs PPIDStreamWindow and PPIDCredit, see
//     below) never reach the application, whether Config.StreamWindow is
//     on or not. With StreamWindow on, a PPIDStreamWindow announcement
//     makes its stream appear for AcceptStream (or OpenStream) at once,
//     before any data, and the stream's messages then go to that Stream,
//     not to the inbox.
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
// # Reusing a stream number
//
// A stream number carries one byte stream (one Stream at each end) at a
// time. Its byte stream has ended when both directions have ended: this
// end closed its Stream (Close sends the CloseWrite marker unless
// CloseWrite did) and the peer's marker has arrived. Only then may the
// number carry a new byte stream: OpenStream fails with ErrStreamInUse
// before, and a Stream is removed from the association's table at that
// moment. On the receiving side, any data, CloseWrite marker or
// PPIDStreamWindow announcement that arrives on a number after the peer's
// marker starts a new byte stream there (the old Stream stays readable up
// to its io.EOF, and may send nothing more); only credits (PPIDCredit)
// still belong to the old one, whose reader may go on reading after its
// peer's CloseWrite. Because SCTP delivers a stream's messages in order,
// a new byte stream can never receive bytes of an earlier one.
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
// Received messages are assembled in buffers from a pool of the socket's
// (Config.Assoc.Buffers). A Stream gives each back once its bytes are
// read; a message from ReceiveMessage is the caller's, who may give its
// buffer back with Recycle once done with it, so that receiving allocates
// nothing per message.
//
// SCTP has no flow control per stream: the window is the association's.
// So one Stream whose reader stops (a client that paused on a huge query
// result) would let its bytes fill the window, and every other stream of
// the association would stall behind it. Per-stream flow control prevents
// that.
//
// # Per-stream flow control
//
// With Config.StreamWindow = W > 0, each Stream limits what the peer may
// send to it and not yet have read to W bytes, with credits carried on
// the stream itself, much like HTTP/2's WINDOW_UPDATE. It is negotiated per
// stream, in band, so a peer that does not take part keeps plain streams:
//
//   - Announcement: an end with StreamWindow on sends, on a stream it
//     opens (OpenStream) and before any data of its own there, one
//     message with PPID PPIDStreamWindow (0xFFFFFFFD) whose 4-byte
//     big-endian payload is its window W: "you may send me W bytes".
//   - Answer: an end with StreamWindow on that receives an announcement
//     answers it at once, with its own announcement on the same stream,
//     before any data of its own (sent as the announcement arrives, before the
//     application has even accepted the stream). An end with
//     StreamWindow off discards the announcement and never sends one:
//     the stream stays plain in both directions.
//   - Credits are in use on a stream once an end has both sent and
//     received an announcement. Then, in each direction, the writer's data
//     bytes, counted from the stream's first data byte (all messages but
//     the control messages and the CloseWrite marker), never exceed the
//     peer's window plus the credits the peer has sent: Stream.Write waits
//     for credit (within its write deadline; Close and the end of the
//     association end the wait).
//   - Credit: a message with PPID PPIDCredit (0xFFFFFFFE) whose 4-byte
//     big-endian payload is an increment: that many more bytes may be
//     sent. The reader sends one when its application has read at least
//     half the window since the last grant, for as much as restores a
//     full window: one credit message per W/2 bytes, and a busy writer
//     always has half a window in flight while the credit travels.
//     Credits continue after the reader's own CloseWrite (it still reads).
//   - Reader gone: Close of a Stream whose peer has not ended its
//     direction sends a credit of zero: no more credit will come, and
//     the peer's Write fails with ErrPeerClosed instead of waiting (as a
//     write to a TCP connection the peer closed fails).
//
// Before the answer to its announcement arrives the opener cannot know
// whether the peer takes part, so it writes without a limit, as on a plain
// stream; bytes written meanwhile count when the answer comes. Once a peer
// has answered on an association it answers every stream (its
// configuration is fixed for the association), so on later streams the
// opener assumes the peer's last announced window from the start. A peer
// that writes more than its credit is not stopped (the association window
// still bounds memory).
//
// Choosing the windows: a stream nobody reads holds at most W bytes of the
// association's receive window. With k such streams the others share
// RecvWindow - k*W; as long as k*W stays well below RecvWindow (e.g. W =
// DefaultStreamWindow, 256 KiB, and RecvWindow = 4 MiB: up to 15 stalled
// streams leave at least one window for the rest), the other streams keep
// going. Beyond that the association window closes and every stream
// stalls until a stalled reader reads or closes its Stream (Close
// discards the unread bytes and frees their share of the window). One
// stream's throughput is at most W per round trip.
//
// Peers that do not implement this (usrsctp, programs on the message API)
// receive one 4-byte PPIDStreamWindow message at the start of every stream
// opened by an end with StreamWindow on and nothing else: leave
// StreamWindow off towards them if that message is in the way.
//
// # Goroutines
//
// An association has no goroutine of its own: its protocol state (package
// assoc, which has no goroutines, sockets or clocks of its own) is run by
// whoever has work for it, under a mutex: a writer, its timer, and the
// reader of its socket. A call blocked waiting for an association reads
// the socket itself while no other call does, so a received message is
// read on the goroutine that wants it; each UDP socket also has a
// background reader for the times no call is blocked (and a listener's
// INIT socket one of its own). They end when the socket closes. Besides
// them, goroutines live only for a moment: a timer's (time.AfterFunc), and
// one that passes a path failure to another association.
//
// # Errors
//
// Operations return *net.OpError values. Deadlines give errors for which
// errors.Is(err, os.ErrDeadlineExceeded) holds and that are net.Error with
// Timeout() true. Use after Close gives net.ErrClosed. Read returns io.EOF
// after the peer's CloseWrite or a graceful SHUTDOWN; a failed association
// gives an error wrapping assoc.ErrAborted or assoc.ErrTimeout.
package sctp
