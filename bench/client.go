package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pgsctp/pgsctp/sctp"
)

// closeTimeout bounds the graceful close after a run, and handshakeTimeout
// the wait for the server's answers to hello and done beyond the run itself.
const (
	closeTimeout     = 10 * time.Second
	handshakeTimeout = 30 * time.Second
)

// Run connects to a bench server at addr ("host:port": the SCTP port, or
// the TCP port with o.TCP), runs one session as o says and returns what it
// measured. ctx bounds the whole run; a run ended by ctx returns ctx's
// error, not a partial Result.
func Run(ctx context.Context, addr string, o Options) (Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Result{}, err
	}
	c, err := dial(ctx, addr, o)
	if err != nil {
		return Result{}, err
	}
	res, err := runSession(ctx, c, addr, o)
	if err != nil {
		c.abort()
		return Result{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	if err := c.finish(cctx); err != nil {
		return res, err
	}
	return res, nil
}

func dial(ctx context.Context, addr string, o Options) (conn, error) {
	if o.TCP {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		return newTCPConn(ctx, nc.(*net.TCPConn)), nil
	}
	a, err := sctp.Dial(ctx, addr, o.sctpConfig())
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &sctpConn{a: a}, nil
}

func runSession(ctx context.Context, c conn, addr string, o Options) (Result, error) {
	res := Result{
		Transport:   "sctp",
		Mode:        o.Mode,
		Server:      addr,
		MessageSize: o.Size,
		Streams:     o.Streams,
	}
	if o.TCP {
		res.Transport = "tcp"
	}

	hello, _ := json.Marshal(helloMsg{Version: protocolVersion, Mode: o.Mode, Size: o.Size, Streams: o.Streams})
	if err := c.send(ctx, 0, true, hello); err != nil {
		return res, fmt.Errorf("bench: sending hello: %w", err)
	}
	var ready readyMsg
	if err := recvControl(ctx, c, handshakeTimeout, &ready); err != nil {
		return res, fmt.Errorf("bench: waiting for the server to get ready: %w", err)
	}
	if ready.Err != "" {
		return res, fmt.Errorf("bench: server refused the session: %s", ready.Err)
	}

	cpu := startCPU()
	start := time.Now()
	var rtts *rttRecorder
	var err error
	switch o.Mode {
	case Throughput:
		err = sendBulk(ctx, c, o, start, &res.ClientSide)
	case Latency:
		rtts = &rttRecorder{}
		err = pingPong(ctx, c, o, start, &res.ClientSide, rtts)
	}
	if err != nil {
		return res, err
	}

	done, _ := json.Marshal(doneMsg{Messages: res.ClientSide.Messages, Bytes: res.ClientSide.Bytes})
	if err := c.send(ctx, 0, true, done); err != nil {
		return res, fmt.Errorf("bench: sending done: %w", err)
	}
	var report reportMsg
	if err := recvControl(ctx, c, handshakeTimeout, &report); err != nil {
		return res, fmt.Errorf("bench: waiting for the server's report: %w", err)
	}
	elapsed := time.Since(start)
	if report.Err != "" {
		return res, fmt.Errorf("bench: server: %s", report.Err)
	}

	res.ClientSide.Seconds = elapsed.Seconds()
	ts := c.stats()
	res.ClientSide.Retransmissions = ts.retransmissions
	res.ClientSide.T3Expiries, res.ClientSide.FastRetransmits = ts.t3Expiries, ts.fastRetransmits
	res.ClientSide.PacketsSent, res.ClientSide.PacketsReceived = ts.packetsSent, ts.packetsReceived
	cpu.fill(&res.ClientSide)
	res.ServerSide = report.Side
	res.Seconds = elapsed.Seconds()
	res.MBPerSecond = float64(res.ClientSide.Bytes) / 1e6 / res.Seconds
	res.MessagesPerSecond = float64(res.ClientSide.Messages) / res.Seconds
	res.SRTTMicros = float64(ts.srtt) / float64(time.Microsecond)
	if rtts != nil {
		res.Latency = rtts.stats()
	}
	if res.ServerSide.Messages != res.ClientSide.Messages || res.ServerSide.Bytes != res.ClientSide.Bytes {
		return res, fmt.Errorf("bench: server counted %d messages, %d bytes; client sent %d, %d",
			res.ServerSide.Messages, res.ServerSide.Bytes, res.ClientSide.Messages, res.ClientSide.Bytes)
	}
	return res, nil
}

// more says whether another message is due: a count, or time left.
func more(o Options, sent uint64, start time.Time) bool {
	if o.Messages > 0 {
		return sent < uint64(o.Messages)
	}
	return time.Since(start) < o.Duration
}

// payload is the data message content: a pattern rather than zeros, in
// case anything on the path ever compresses or special-cases zeros.
func payload(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}

func sendBulk(ctx context.Context, c conn, o Options, start time.Time, side *Side) error {
	p := payload(o.Size)
	for more(o, side.Messages, start) {
		stream := uint16(side.Messages % uint64(o.Streams))
		if err := c.send(ctx, stream, false, p); err != nil {
			return fmt.Errorf("bench: sending message %d: %w", side.Messages, err)
		}
		side.Messages++
		side.Bytes += uint64(len(p))
	}
	return nil
}

func pingPong(ctx context.Context, c conn, o Options, start time.Time, side *Side, rtts *rttRecorder) error {
	p := payload(o.Size)
	for more(o, side.Messages, start) {
		stream := uint16(side.Messages % uint64(o.Streams))
		t0 := time.Now()
		if err := c.send(ctx, stream, false, p); err != nil {
			return fmt.Errorf("bench: sending request %d: %w", side.Messages, err)
		}
		m, err := c.recv(ctx)
		if err != nil {
			return fmt.Errorf("bench: waiting for response %d: %w", side.Messages, err)
		}
		rtts.add(time.Since(t0))
		if m.control {
			return fmt.Errorf("bench: control message %q instead of response %d", m.data, side.Messages)
		}
		if m.stream != stream || len(m.data) != len(p) {
			return fmt.Errorf("bench: response %d has %d bytes on stream %d, want %d on %d",
				side.Messages, len(m.data), m.stream, len(p), stream)
		}
		side.Messages++
		side.Bytes += uint64(len(p))
	}
	return nil
}

// recvControl receives the next message, which must be a control message,
// into v, waiting at most timeout.
func recvControl(ctx context.Context, c conn, timeout time.Duration, v any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := c.recv(ctx)
	if err != nil {
		return err
	}
	if !m.control {
		return errors.New("data message where a control message was due")
	}
	if err := json.Unmarshal(m.data, v); err != nil {
		return fmt.Errorf("control message: %w", err)
	}
	return nil
}
