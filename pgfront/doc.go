// Package pgfront carries PostgreSQL sessions over a stream transport: the
// relay that runs beside the postmaster (pgsctp server), the local endpoint
// for libpq programs (pgsctp proxy), and, in the subpackage pgdial, the
// dialer for Go drivers (pgx, database/sql, lib/pq).
//
// # One engine, two roles
//
// Both ends are a Relay: it accepts sessions from a net.Listener, looks at
// the first message of each one, dials its Dial function and then copies
// bytes both ways until both sides are done. Only the two ends differ:
//
//	pgsctp server:  Listener = SCTP streams         Dial = PostgreSQL (DialPostgres)
//	pgsctp proxy:   Listener = ListenUnix / TCP     Dial = an SCTP stream to the server
//
// The relay is byte-transparent: the first message is decoded with pgproto3
// only to reject what is not a PostgreSQL startup packet (with an
// ErrorResponse, SQLSTATE 08P01) and to name the session in logs (user,
// database, or "ssl request", "gssenc request", "cancel request"); the
// original bytes are then passed on unchanged and nothing after them is
// parsed. So SSLRequest followed by TLS, GSSENCRequest, CancelRequest, COPY,
// LISTEN/NOTIFY and replication work exactly as over a direct connection,
// and TLS stays end to end between the client and PostgreSQL.
//
// # Reaching PostgreSQL: socket or TCP
//
// The server relay can reach PostgreSQL on its Unix socket or over TCP
// (PostgresAddr, DialNet). The choice matters to PostgreSQL's
// authentication, because PostgreSQL sees the relay, not the remote client:
//
//   - Over the Unix socket every session matches pg_hba.conf "local" lines.
//     "peer" authentication there would log remote clients in as the OS user
//     the relay runs as (Debian's default pg_hba.conf has "local all all
//     peer"), and "trust" would let them in unchecked. Only use the socket
//     with "local" lines that ask for a password (scram-sha-256) or when
//     every client of the SCTP side is trusted anyway. PostgreSQL also
//     never offers TLS on a socket: it answers an SSLRequest with 'N'.
//   - Over TCP (e.g. 127.0.0.1) sessions match "host"/"hostssl" lines for the
//     relay's address, TLS works end to end (the client verifies
//     PostgreSQL's certificate through both relays), and client
//     certificates authenticate as usual.
//
// Either way inet_client_addr() shows the relay, not the client; the relay
// logs the client's addresses with the session's user and database.
//
// # Transport contract
//
// A transport is anything that yields net.Conn values: the relay needs
// nothing else. Of each conn it relies on what net.Conn promises: Read and
// Write run at once on two goroutines; Close unblocks both and may be
// called while they run; SetReadDeadline bounds the wait for the first
// message (Relay.StartupTimeout) and SetWriteDeadline that of refusals; a
// deadline that passes makes the blocked call return an error whose
// Timeout() is true. What it uses when present:
//
//   - CloseWrite() error (as on *net.TCPConn and *net.UnixConn): half-close.
//     When one side finishes sending, the relay half-closes the other side
//     so the end of the stream travels through; without CloseWrite it
//     closes that conn fully.
//   - RemoteAddrs() []net.Addr: every address of the peer (SCTP
//     multihoming), for logs and Relay.Allow. Without it RemoteAddr is used.
//   - Errors from Accept that wrap net.ErrClosed end Serve quietly.
//
// # Sessions on streams of one association (multiplexed mode)
//
// A client may carry many PostgreSQL sessions as separate streams of one
// SCTP association instead of one association per session. The contract,
// which the sctp package's Stream implements and the relay relies on:
//
//   - A session opens when the client opens a new stream
//     (Association.OpenStream). Its first message is the flow-control
//     announcement (PPID 0xFFFFFFFD, the client's stream window, below);
//     the server answers it on the same stream with its own. The
//     session's bytes follow the announcement without waiting for the
//     answer, the startup packet first. The server side's
//     listener returns the stream from Accept as a new net.Conn, so the
//     relay does not know or care whether two sessions share an
//     association.
//   - Each direction of a session ends with a half-close of the stream
//     (CloseWrite: a one-byte message with PPID 0xFFFFFFFF), which the
//     peer reads as io.EOF; the session is over when both directions have
//     ended, and Close ends both at once. The stream's number may carry a
//     later session once this end has closed its stream and the peer's
//     half-close has arrived (OpenStream returns sctp.ErrStreamInUse
//     before; the proxy then takes the next number). SCTP delivers a
//     stream's messages in order, so whatever arrives on the number after
//     the peer's half-close belongs to the new session: a reused stream
//     never delivers bytes of an earlier session.
//   - Flow control is per session: SCTP's receive window belongs to the
//     association, so bytes a client does not read (psql paused on a
//     huge result) would otherwise fill it and stall every session. Both
//     ends turn on the sctp package's per-stream flow control
//     (sctp.Config.StreamWindow, negotiated per stream by the
//     announcements above): a writer may have at most the reader's window
//     (sctp.DefaultStreamWindow, 256 KiB) of unread bytes on a stream, and
//     the reader returns credit (messages with PPID 0xFFFFFFFE carrying a
//     4-byte increment) as its relay takes the bytes; a credit of zero
//     says the reader closed the stream, so a relay blocked writing to a
//     session whose client went away fails at once and ends the session
//     (and its PostgreSQL connection) instead of waiting. A multiplexing
//     proxy's association gets a receive window of at least 16 stream
//     windows (4 MiB), so up to 15 sessions whose clients stopped reading
//     leave the others a full window; beyond that every session waits
//     until one of the stalled clients reads or goes away. The server
//     enables flow control for every association; towards a client that
//     does not announce it (one session per association, older clients)
//     streams stay plain. Its receive window (sctp_receive_window) bounds
//     the sessions' uploads the same way.
//   - One session's failure (an error or Close on its stream) ends only
//     that session; losing the association ends every session on it, each
//     with an error (one that wraps net.ErrClosed from OpenStream), and
//     MuxDialer then opens a new association for later sessions.
//   - Streams are ordered byte streams: message boundaries of SCTP are not
//     relied on, so a Stream may split and join writes as it likes.
//
// MuxDialer turns such an association into the DialFunc the proxy and
// pgdial use, so multiplexed and one-association-per-session transports
// plug in the same way.
package pgfront
