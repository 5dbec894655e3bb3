package bench

import (
	"context"
	"encoding/json"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/sctp"
)

// testTimeout bounds a test so a broken stack fails instead of hanging; it
// is not a timing assertion.
const testTimeout = 60 * time.Second

// startServer runs a Server on loopback (SCTP on a free UDP port, TCP on a
// free TCP port) until the test ends, and collects its sessions.
func startServer(t testing.TB) (*Server, *sessions) {
	return startServerWith(t, ServerOptions{})
}

// startServerWith is startServer with o's other fields.
func startServerWith(t testing.TB, o ServerOptions) (*Server, *sessions) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := &sessions{}
	o.Listen, o.UDPPort, o.TCP, o.OnSession = "127.0.0.1:0", -1, true, got.add
	s, err := Listen(ctx, o)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, got
}

type sessions struct {
	mu   sync.Mutex
	list []ServerSession
}

func (s *sessions) add(x ServerSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, x)
}

func (s *sessions) get() []ServerSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ServerSession(nil), s.list...)
}

// clientOptions points o at s over SCTP, or TCP if o.TCP.
func target(s *Server, o Options) (string, Options) {
	if o.TCP {
		return s.TCPAddr().String(), o
	}
	o.PeerUDPPort = int(s.Addr().UDPPort)
	return s.Addr().String(), o
}

func run(t *testing.T, s *Server, o Options) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	addr, o := target(s, o)
	res, err := Run(ctx, addr, o)
	if err != nil {
		t.Fatalf("Run(%+v): %v", o, err)
	}
	return res
}

// checkSane asserts what must hold of any successful run, whatever the
// speed: the server received exactly what the client sent, the figures
// are consistent with the counts, and JSON round-trips.
func checkSane(t *testing.T, r Result, o Options) {
	t.Helper()
	var b strings.Builder
	r.WriteText(&b)
	t.Logf("\n%s", b.String())
	if r.ClientSide.Messages == 0 || r.ClientSide.Bytes != r.ClientSide.Messages*uint64(r.MessageSize) {
		t.Errorf("client sent %d messages, %d bytes, of size %d", r.ClientSide.Messages, r.ClientSide.Bytes, r.MessageSize)
	}
	if r.ServerSide.Messages != r.ClientSide.Messages || r.ServerSide.Bytes != r.ClientSide.Bytes {
		t.Errorf("server received %d messages, %d bytes; client sent %d, %d",
			r.ServerSide.Messages, r.ServerSide.Bytes, r.ClientSide.Messages, r.ClientSide.Bytes)
	}
	if o.Messages > 0 && r.ClientSide.Messages != uint64(o.Messages) {
		t.Errorf("sent %d messages, asked for %d", r.ClientSide.Messages, o.Messages)
	}
	if r.Seconds <= 0 || r.MBPerSecond <= 0 || r.MessagesPerSecond <= 0 {
		t.Errorf("seconds %v, MB/s %v, messages/s %v: want positive", r.Seconds, r.MBPerSecond, r.MessagesPerSecond)
	}
	if got := r.MBPerSecond * 1e6 * r.Seconds; got < 0.999*float64(r.ClientSide.Bytes) || got > 1.001*float64(r.ClientSide.Bytes) {
		t.Errorf("MB/s %v over %v s is %v bytes, client sent %d", r.MBPerSecond, r.Seconds, got, r.ClientSide.Bytes)
	}
	wantLatency := r.Mode == Latency
	if (r.Latency != nil) != wantLatency {
		t.Errorf("latency stats %v in mode %s", r.Latency, r.Mode)
	}
	if l := r.Latency; l != nil {
		if uint64(l.Samples) != r.ClientSide.Messages {
			t.Errorf("%d RTT samples for %d round trips", l.Samples, r.ClientSide.Messages)
		}
		if !(0 < l.MinMicros && l.MinMicros <= l.P50Micros && l.P50Micros <= l.P99Micros && l.P99Micros <= l.MaxMicros) {
			t.Errorf("RTTs out of order: %+v", l)
		}
		if l.MeanMicros < l.MinMicros || l.MeanMicros > l.MaxMicros {
			t.Errorf("mean RTT %v outside [min, max]: %+v", l.MeanMicros, l)
		}
	}
	for _, side := range []Side{r.ClientSide, r.ServerSide} {
		if side.CPUMeasured && (side.CPUUserSecs < 0 || side.CPUSystemSecs < 0 || side.CPUSecsPerGB < 0) {
			t.Errorf("negative CPU figures: %+v", side)
		}
	}

	data, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var back Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v\n%s", back, r, data)
	}
}

func TestThroughputSCTP(t *testing.T) {
	s, got := startServer(t)
	o := Options{Duration: time.Second, Size: 8 << 10, Streams: 3}
	r := run(t, s, o)
	checkSane(t, r, o)
	if r.Transport != "sctp" || r.Mode != Throughput || r.Streams != 3 || r.MessageSize != 8<<10 {
		t.Errorf("result describes %s %s, %d streams, size %d", r.Transport, r.Mode, r.Streams, r.MessageSize)
	}
	waitSessions(t, got, 1)
	ss := got.get()[0]
	if ss.Err != "" || ss.Transport != "sctp" || ss.Side.Bytes != r.ClientSide.Bytes || ss.Streams != 3 {
		t.Errorf("server session %+v; client sent %d bytes", ss, r.ClientSide.Bytes)
	}
}

func TestThroughputTCP(t *testing.T) {
	s, _ := startServer(t)
	o := Options{Duration: time.Second, Size: 8 << 10, TCP: true}
	r := run(t, s, o)
	checkSane(t, r, o)
	if r.Transport != "tcp" {
		t.Errorf("transport %q, want tcp", r.Transport)
	}
}

func TestLatencySCTP(t *testing.T) {
	s, _ := startServer(t)
	o := Options{Mode: Latency, Duration: time.Second, Streams: 4}
	r := run(t, s, o)
	checkSane(t, r, o)
	if r.MessageSize != DefaultLatencySize {
		t.Errorf("message size %d, want the latency default %d", r.MessageSize, DefaultLatencySize)
	}
}

func TestLatencyTCP(t *testing.T) {
	s, _ := startServer(t)
	o := Options{Mode: Latency, Messages: 500, TCP: true}
	r := run(t, s, o)
	checkSane(t, r, o)
}

// TestMessageCount sends an exact number of odd-sized messages, larger
// than one packet, over many streams, so that they fragment and the "done"
// marker on stream 0 can overtake data on other streams.
func TestMessageCount(t *testing.T) {
	s, _ := startServer(t)
	o := Options{Messages: 300, Size: 3001, Streams: 20}
	r := run(t, s, o)
	checkSane(t, r, o)
}

// TestSessionsInSequence runs several sessions against one server, over
// both transports, and checks the server's view of each.
func TestSessionsInSequence(t *testing.T) {
	s, got := startServer(t)
	var sent []uint64
	for i, o := range []Options{
		{Messages: 50, Size: 100},
		{Messages: 60, Size: 100, TCP: true},
		{Mode: Latency, Messages: 70},
	} {
		r := run(t, s, o)
		checkSane(t, r, o)
		sent = append(sent, r.ClientSide.Bytes)
		waitSessions(t, got, i+1)
	}
	for i, ss := range got.get() {
		if ss.Err != "" || ss.Side.Bytes != sent[i] {
			t.Errorf("session %d: %+v, client sent %d bytes", i, ss, sent[i])
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, o := range []Options{
		{Mode: "bulk"},
		{Size: MaxSize + 1},
		{Size: -1},
		{Streams: MaxStreams + 1},
		{Messages: -1},
		{Duration: -time.Second},
	} {
		if _, err := Run(context.Background(), "127.0.0.1:1", o); err == nil || !strings.Contains(err.Error(), "bench:") {
			t.Errorf("Run(%+v) = %v, want an option error", o, err)
		}
	}
}

// TestServerRefusesBadHello speaks the protocol by hand to check that the
// server validates the client's hello as the client does its options.
func TestServerRefusesBadHello(t *testing.T) {
	s, got := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	a, err := sctp.Dial(ctx, s.Addr().String(), &sctp.Config{PeerUDPPort: int(s.Addr().UDPPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Abort("test over")
	c := &sctpConn{a: a}
	hello, _ := json.Marshal(helloMsg{Version: protocolVersion, Mode: Throughput, Size: MaxSize * 2, Streams: 1})
	if err := c.send(ctx, 0, true, hello); err != nil {
		t.Fatal(err)
	}
	var ready readyMsg
	if err := recvControl(ctx, c, testTimeout, &ready); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ready.Err, "size") {
		t.Errorf("ready = %+v, want a refusal naming the size", ready)
	}
	waitSessions(t, got, 1)
	if ss := got.get()[0]; ss.Err == "" {
		t.Errorf("server session %+v has no error", ss)
	}
}

// TestServerRejectsForeignPPID checks that a message outside the bench
// protocol fails the session instead of being counted.
func TestServerRejectsForeignPPID(t *testing.T) {
	s, got := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	a, err := sctp.Dial(ctx, s.Addr().String(), &sctp.Config{PeerUDPPort: int(s.Addr().UDPPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Abort("test over")
	if err := a.SendMessage(ctx, 0, 51, []byte("hello?"), false); err != nil {
		t.Fatal(err)
	}
	waitSessions(t, got, 1)
	if ss := got.get()[0]; !strings.Contains(ss.Err, "PPID") {
		t.Errorf("server session error %q, want one about the PPID", ss.Err)
	}
}

// TestIdleClientCutOff checks that a client that goes quiet after the
// handshake loses its session instead of holding it for ever.
func TestIdleClientCutOff(t *testing.T) {
	s, got := startServerWith(t, ServerOptions{IdleTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	a, err := sctp.Dial(ctx, s.Addr().String(), &sctp.Config{PeerUDPPort: int(s.Addr().UDPPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Abort("test over")
	c := &sctpConn{a: a}
	hello, _ := json.Marshal(helloMsg{Version: protocolVersion, Mode: Throughput, Size: 100, Streams: 1})
	if err := c.send(ctx, 0, true, hello); err != nil {
		t.Fatal(err)
	}
	var ready readyMsg
	if err := recvControl(ctx, c, testTimeout, &ready); err != nil || ready.Err != "" {
		t.Fatalf("ready %+v, %v", ready, err)
	}
	if err := c.send(ctx, 0, false, []byte("one message, then silence")); err != nil {
		t.Fatal(err)
	}
	waitSessions(t, got, 1)
	ss := got.get()[0]
	if !strings.Contains(ss.Err, "idle") || ss.Side.Messages != 1 {
		t.Errorf("server session %+v, want an idle error after 1 message", ss)
	}
	// The server aborted the association.
	select {
	case <-a.Done():
	case <-ctx.Done():
		t.Fatal("association still up after the server gave up on it")
	}
}

func TestTCPFramingRejectsOversizedMessage(t *testing.T) {
	s, got := startServer(t)
	nc, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// A control header announcing 1 GB.
	if _, err := nc.Write([]byte{tcpKindControl, 0, 0, 0x40, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	waitSessions(t, got, 1)
	if ss := got.get()[0]; !strings.Contains(ss.Err, "control message of") {
		t.Errorf("server session error %q, want one about the size", ss.Err)
	}
}

func TestWriteText(t *testing.T) {
	r := Result{
		Transport: "sctp", Mode: Latency, Server: "127.0.0.1:5001", MessageSize: 64, Streams: 2,
		Seconds: 1, MBPerSecond: 1.5, MessagesPerSecond: 23437,
		Latency:    &LatencyStats{Samples: 23437, MeanMicros: 42, MinMicros: 30, P50Micros: 40, P99Micros: 90, MaxMicros: 900},
		ClientSide: Side{Messages: 23437, Bytes: 1499968, CPUMeasured: true, CPUUserSecs: 0.5, CPUSystemSecs: 0.25, CPUSecsPerGB: 500},
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sctp latency to 127.0.0.1:5001: 64 B messages on 2 streams", "1.5 MB/s", "p99 90.0 us", "500.00 s/GB", "server not measured"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

func waitSessions(t testing.TB, got *sessions, n int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for len(got.get()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d server sessions ended, want %d", len(got.get()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// benchmarkThroughput measures one transport over loopback: b.N messages
// of size bytes, client and server in this process.
func benchmarkThroughput(b *testing.B, tcp bool, size int) {
	s, _ := startServer(b)
	o := Options{Messages: b.N, Size: size, TCP: tcp}
	addr, o := target(s, o)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	r, err := Run(context.Background(), addr, o)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(r.ClientSide.Retransmissions), "retrans")
	if r.ClientSide.CPUMeasured {
		// Both ends run in this process: this is their sum.
		b.ReportMetric(r.ClientSide.CPUSecsPerGB, "cpu-s/GB")
	}
}

func BenchmarkThroughput(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, tcp := range []bool{false, true} {
			name := "sctp"
			if tcp {
				name = "tcp"
			}
			b.Run(name+"/"+strconv.Itoa(size), func(b *testing.B) { benchmarkThroughput(b, tcp, size) })
		}
	}
}

func BenchmarkLatency(b *testing.B) {
	for _, tcp := range []bool{false, true} {
		name := "sctp"
		if tcp {
			name = "tcp"
		}
		b.Run(name, func(b *testing.B) {
			s, _ := startServer(b)
			addr, o := target(s, Options{Mode: Latency, Messages: b.N, TCP: tcp})
			b.ResetTimer()
			r, err := Run(context.Background(), addr, o)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(r.Latency.P50Micros, "p50-us")
			b.ReportMetric(r.Latency.P99Micros, "p99-us")
		})
	}
}
