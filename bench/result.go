package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Result is the outcome of one run, as the client saw it plus the figures
// the server reported. Units are in the field names; JSON gives exactly
// these fields.
type Result struct {
	Transport   string `json:"transport"` // "sctp" or "tcp"
	Mode        Mode   `json:"mode"`
	Server      string `json:"server_addr"` // host:port dialed
	MessageSize int    `json:"message_size"`
	Streams     int    `json:"streams"`

	// Seconds is the client's measuring interval: from its first send
	// until the server's report arrived.
	Seconds float64 `json:"seconds"`
	// MBPerSecond is the client's payload bytes per second in units of
	// 10^6 bytes, over Seconds. In latency mode the same bytes also came
	// back.
	MBPerSecond       float64 `json:"mb_per_s"`
	MessagesPerSecond float64 `json:"messages_per_s"`
	// Latency is set in latency mode: round-trip times of one request and
	// its echo.
	Latency *LatencyStats `json:"latency,omitempty"`
	// SRTTMicros is the transport's smoothed RTT at the end of the run
	// (SCTP: the primary path's SRTT; TCP: the kernel's tcpi_rtt).
	SRTTMicros float64 `json:"srtt_us"`

	// ClientSide and ServerSide are each end's own counts and costs.
	ClientSide Side `json:"client"`
	ServerSide Side `json:"server"`
}

// Side is one end's view of a run.
type Side struct {
	// Messages and Bytes are the data messages and payload bytes this
	// side sent (client) or received (server).
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	// Seconds is this side's measuring interval (server: from "ready" to
	// the last data message).
	Seconds float64 `json:"seconds"`
	// Retransmissions counts data this side sent again (SCTP: DATA chunks
	// by T3 and fast retransmit; TCP: the kernel's segments).
	Retransmissions uint64 `json:"retransmissions"`
	// T3Expiries and FastRetransmits say which kind (SCTP only): on a
	// lossless link a T3 expiry means a late timer or acknowledgement, a
	// fast retransmit means packets arrived out of order.
	T3Expiries      uint64 `json:"t3_expiries,omitempty"`
	FastRetransmits uint64 `json:"fast_retransmits,omitempty"`
	// PacketsSent and PacketsReceived are this side's SCTP packets (TCP:
	// segments, Linux only) over the whole association or connection,
	// handshake included: with Messages they show how many packets a
	// message took and how often the receiver acknowledged.
	PacketsSent     uint64 `json:"packets_sent"`
	PacketsReceived uint64 `json:"packets_received"`
	// CPUMeasured says whether the CPU fields hold figures (getrusage is
	// not available everywhere).
	CPUMeasured   bool    `json:"cpu_measured"`
	CPUUserSecs   float64 `json:"cpu_user_s"`
	CPUSystemSecs float64 `json:"cpu_system_s"`
	// CPUSecsPerGB is user plus system CPU seconds per 10^9 payload bytes
	// of the run (Bytes; in latency mode the bytes went both ways).
	CPUSecsPerGB float64 `json:"cpu_s_per_gb"`
}

// LatencyStats summarises round-trip times, in microseconds.
type LatencyStats struct {
	Samples    int     `json:"samples"`
	MeanMicros float64 `json:"mean_us"`
	MinMicros  float64 `json:"min_us"`
	P50Micros  float64 `json:"p50_us"`
	P99Micros  float64 `json:"p99_us"`
	MaxMicros  float64 `json:"max_us"`
}

// ServerSession is the server's view of one session, given to
// ServerOptions.OnSession.
type ServerSession struct {
	Transport   string `json:"transport"`
	Remote      string `json:"remote"`
	Mode        Mode   `json:"mode"`
	MessageSize int    `json:"message_size"`
	Streams     int    `json:"streams"`
	Side        Side   `json:"server"`
	// Err is why the session failed, empty if it did not.
	Err string `json:"error,omitempty"`
}

// Control messages (JSON).
type helloMsg struct {
	Version int  `json:"version"`
	Mode    Mode `json:"mode"`
	Size    int  `json:"size"`
	Streams int  `json:"streams"`
}

type readyMsg struct {
	Version int    `json:"version"`
	Err     string `json:"error,omitempty"`
}

type doneMsg struct {
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

type reportMsg struct {
	Side Side   `json:"side"`
	Err  string `json:"error,omitempty"`
}

// protocolVersion is carried in hello and ready; a server refuses other
// versions.
const protocolVersion = 1

// cpuMeter measures one side's CPU use over an interval.
type cpuMeter struct {
	user, sys time.Duration
	ok        bool
}

func startCPU() cpuMeter {
	u, s, ok := processCPU()
	return cpuMeter{u, s, ok}
}

// fill sets the CPU fields of side for the interval since m started, per
// GB of side.Bytes.
func (m cpuMeter) fill(side *Side) {
	u, s, ok := processCPU()
	if !ok || !m.ok {
		return
	}
	side.CPUMeasured = true
	side.CPUUserSecs = (u - m.user).Seconds()
	side.CPUSystemSecs = (s - m.sys).Seconds()
	if side.Bytes > 0 {
		side.CPUSecsPerGB = (side.CPUUserSecs + side.CPUSystemSecs) / (float64(side.Bytes) / 1e9)
	}
}

// maxSamples bounds the RTTs kept for percentiles (32 MiB); later round
// trips count towards mean, min and max only.
const maxSamples = 4 << 20

// rttRecorder collects round-trip times.
type rttRecorder struct {
	samples       []time.Duration
	n             int
	sum, min, max time.Duration
}

func (r *rttRecorder) add(d time.Duration) {
	if r.n == 0 || d < r.min {
		r.min = d
	}
	if d > r.max {
		r.max = d
	}
	r.n++
	r.sum += d
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, d)
	}
}

func (r *rttRecorder) stats() *LatencyStats {
	if r.n == 0 {
		return &LatencyStats{}
	}
	slices.Sort(r.samples)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	pct := func(p float64) time.Duration {
		i := int(p * float64(len(r.samples)-1))
		return r.samples[i]
	}
	return &LatencyStats{
		Samples:    r.n,
		MeanMicros: us(r.sum) / float64(r.n),
		MinMicros:  us(r.min),
		P50Micros:  us(pct(0.50)),
		P99Micros:  us(pct(0.99)),
		MaxMicros:  us(r.max),
	}
}

// WriteText writes r for people, a few aligned lines.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s to %s: %s messages on %s, %.2f s\n",
		r.Transport, r.Mode, r.Server, sizeText(r.MessageSize), streamsText(r.Streams), r.Seconds)
	fmt.Fprintf(&b, "  throughput       %.1f MB/s, %.0f messages/s (%s in %d messages)\n",
		r.MBPerSecond, r.MessagesPerSecond, bytesText(r.ClientSide.Bytes), r.ClientSide.Messages)
	if l := r.Latency; l != nil {
		fmt.Fprintf(&b, "  round trip       mean %.1f us, p50 %.1f us, p99 %.1f us (min %.1f, max %.1f, %d samples)\n",
			l.MeanMicros, l.P50Micros, l.P99Micros, l.MinMicros, l.MaxMicros, l.Samples)
	}
	fmt.Fprintf(&b, "  retransmissions  client %d, server %d; SRTT %.1f us\n",
		r.ClientSide.Retransmissions, r.ServerSide.Retransmissions, r.SRTTMicros)
	fmt.Fprintf(&b, "  packets          client sent %d, received %d; server sent %d, received %d\n",
		r.ClientSide.PacketsSent, r.ClientSide.PacketsReceived, r.ServerSide.PacketsSent, r.ServerSide.PacketsReceived)
	fmt.Fprintf(&b, "  CPU              client %s\n", cpuText(r.ClientSide))
	fmt.Fprintf(&b, "                   server %s\n", cpuText(r.ServerSide))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes s for people, one line.
func (s *ServerSession) WriteText(w io.Writer) error {
	status := "ok"
	if s.Err != "" {
		status = "failed: " + s.Err
	}
	_, err := fmt.Fprintf(w, "%s %s from %s: %s messages on %s; received %s in %d messages, %.2f s, %d retransmissions; CPU %s; %s\n",
		s.Transport, s.Mode, s.Remote, sizeText(s.MessageSize), streamsText(s.Streams),
		bytesText(s.Side.Bytes), s.Side.Messages, s.Side.Seconds, s.Side.Retransmissions, cpuText(s.Side), status)
	return err
}

func cpuText(s Side) string {
	if !s.CPUMeasured {
		return "not measured"
	}
	return fmt.Sprintf("%.2f s/GB (user %.2f s, system %.2f s)", s.CPUSecsPerGB, s.CPUUserSecs, s.CPUSystemSecs)
}

func streamsText(n int) string {
	if n == 1 {
		return "1 stream"
	}
	return fmt.Sprintf("%d streams", n)
}

func sizeText(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

func bytesText(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d bytes", n)
}
