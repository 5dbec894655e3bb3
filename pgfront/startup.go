package pgfront

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Kinds of first message, as SessionInfo.Kind reports them.
const (
	KindStartup = "startup"
	KindSSL     = "ssl request"
	KindGSSEnc  = "gssenc request"
	KindCancel  = "cancel request"
	// KindDirectTLS is a session that starts with a TLS handshake instead
	// of an SSLRequest (libpq's sslnegotiation=direct, PostgreSQL 17 and
	// later). It is passed on like any other; a PostgreSQL that does not
	// know direct TLS refuses it itself.
	KindDirectTLS = "direct tls"
)

// isDirectTLS reports whether b starts like a TLS handshake record: content
// type 22 (handshake) and major version 3 (RFC 8446 section 5.1). A
// startup packet never does: its length would exceed 10,000 bytes.
func isDirectTLS(b []byte) bool {
	return len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03
}

// recorder keeps every byte read through it, so the first message can be
// decoded by pgproto3 and still be forwarded exactly as the client sent it
// (including any bytes pgproto3's reader fetched beyond it).
type recorder struct {
	r   io.Reader
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

// readFirst reads the first message of a session from c and describes it
// in info. It returns the raw bytes read, which the caller forwards. At
// most pgproto3's startup packet limit (10,000 bytes, PostgreSQL's
// MAX_STARTUP_PACKET_LENGTH) plus one read buffer is kept.
func readFirst(c net.Conn, timeout time.Duration, info *SessionInfo) ([]byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("setting startup deadline: %w", err)
	}
	rec := &recorder{r: c}
	msg, err := pgproto3.NewBackend(rec, io.Discard).ReceiveStartupMessage()
	if err != nil {
		if isDirectTLS(rec.buf) {
			info.Kind = KindDirectTLS
			if err := c.SetReadDeadline(time.Time{}); err != nil {
				return nil, fmt.Errorf("clearing startup deadline: %w", err)
			}
			return rec.buf, nil
		}
		return rec.buf, err
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("clearing startup deadline: %w", err)
	}
	switch m := msg.(type) {
	case *pgproto3.StartupMessage:
		info.Kind = KindStartup
		info.ProtocolVersion = fmt.Sprintf("%d.%d", m.ProtocolVersion>>16, m.ProtocolVersion&0xffff)
		info.User = m.Parameters["user"]
		info.Database = m.Parameters["database"]
		if info.Database == "" {
			info.Database = info.User // PostgreSQL's default
		}
		info.Application = m.Parameters["application_name"]
		info.Replication = m.Parameters["replication"]
	case *pgproto3.SSLRequest:
		info.Kind = KindSSL
	case *pgproto3.GSSEncRequest:
		info.Kind = KindGSSEnc
	case *pgproto3.CancelRequest:
		info.Kind = KindCancel
		info.CancelPID = m.ProcessID
	default:
		return rec.buf, fmt.Errorf("unexpected first message %T", msg)
	}
	return rec.buf, nil
}

// errorResponse encodes a FATAL ErrorResponse, the message PostgreSQL
// itself sends when it refuses a session.
func errorResponse(code, message string) []byte {
	// Encode fails only for a message over 1 GiB; ours are short.
	b, _ := (&pgproto3.ErrorResponse{
		Severity:            "FATAL",
		SeverityUnlocalized: "FATAL",
		Code:                code,
		Message:             message,
	}).Encode(nil)
	return b
}

// SQLSTATEs of the errors the relay sends itself.
const (
	codeProtocolViolation = "08P01" // protocol_violation
	codeCannotConnect     = "08001" // sqlclient_unable_to_establish_sqlconnection
	codeTooManySessions   = "53300" // too_many_connections
	codeRefused           = "28000" // invalid_authorization_specification (as pg_hba "reject")
)

// refuse ends a session the relay will not carry: it sends an ErrorResponse,
// half-closes, and reads (and drops) what the client still sends for a
// moment before closing, so that closing with unread bytes does not reset
// the connection before the client has read the error.
func refuse(c net.Conn, code, message string) {
	defer c.Close()
	now := time.Now()
	c.SetWriteDeadline(now.Add(5 * time.Second))
	if _, err := c.Write(errorResponse(code, message)); err != nil {
		return
	}
	closeWrite(c)
	c.SetReadDeadline(now.Add(2 * time.Second))
	io.CopyN(io.Discard, c, 64<<10)
}

// closeWrite half-closes c, or closes it when it cannot half-close.
func closeWrite(c net.Conn) error {
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return c.Close()
}

// isEOF reports an orderly end of stream.
func isEOF(err error) bool { return errors.Is(err, io.EOF) }
