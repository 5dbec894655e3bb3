package pgfront

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

func encode(t testing.TB, m pgproto3.FrontendMessage) []byte {
	b, err := m.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzReadFirst: whatever a client sends first, readFirst neither panics
// nor keeps more than it read, and what it accepts it describes.
func FuzzReadFirst(f *testing.F) {
	f.Add(encode(f, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "u", "database": "d", "application_name": "a"}}))
	f.Add(encode(f, &pgproto3.SSLRequest{}))
	f.Add(encode(f, &pgproto3.GSSEncRequest{}))
	f.Add(encode(f, &pgproto3.CancelRequest{ProcessID: 7, SecretKey: []byte{1, 2, 3, 4}}))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0, 0, 0, 8, 0, 3, 0, 0})
	f.Add([]byte{})
	f.Add([]byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"))
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			client.Write(data)
			client.Close() // the end of a short message reads as EOF, not a timeout
		}()
		var info SessionInfo
		got, err := readFirst(server, time.Second, &info)
		server.Close()
		<-done
		if !bytes.HasPrefix(data, got) {
			t.Fatalf("kept %d bytes that are not a prefix of the %d sent", len(got), len(data))
		}
		if err == nil && info.Kind == "" {
			t.Fatal("accepted a first message without naming its kind")
		}
		if err == nil && info.Kind == KindDirectTLS {
			if !isDirectTLS(got) {
				t.Fatalf("direct TLS accepted for %x", got)
			}
			return
		}
		if err == nil && len(got) < 8 {
			t.Fatalf("accepted %d bytes as a first message", len(got))
		}
	})
}

func TestReadFirstDescribes(t *testing.T) {
	for _, tc := range []struct {
		msg  pgproto3.FrontendMessage
		want SessionInfo
	}{
		{&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "alice"}},
			SessionInfo{Kind: KindStartup, ProtocolVersion: "3.0", User: "alice", Database: "alice"}},
		{&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "bob", "database": "db", "replication": "database"}},
			SessionInfo{Kind: KindStartup, ProtocolVersion: "3.0", User: "bob", Database: "db", Replication: "database"}},
		{&pgproto3.SSLRequest{}, SessionInfo{Kind: KindSSL}},
		{&pgproto3.GSSEncRequest{}, SessionInfo{Kind: KindGSSEnc}},
		{&pgproto3.CancelRequest{ProcessID: 4242, SecretKey: []byte{1, 2, 3, 4}}, SessionInfo{Kind: KindCancel, CancelPID: 4242}},
	} {
		client, server := net.Pipe()
		raw := encode(t, tc.msg)
		go func() { client.Write(raw) }()
		var info SessionInfo
		got, err := readFirst(server, 10*time.Second, &info)
		client.Close()
		server.Close()
		if err != nil {
			t.Errorf("%T: %v", tc.msg, err)
			continue
		}
		if !bytes.Equal(got, raw) {
			t.Errorf("%T: kept %x, sent %x", tc.msg, got, raw)
		}
		if info.Kind != tc.want.Kind || info.User != tc.want.User || info.Database != tc.want.Database ||
			info.Replication != tc.want.Replication || info.CancelPID != tc.want.CancelPID || info.ProtocolVersion != tc.want.ProtocolVersion {
			t.Errorf("%T: described as %+v, want %+v", tc.msg, info, tc.want)
		}
	}
}
