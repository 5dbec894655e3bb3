// Command quicbench measures bulk throughput of quic-go over loopback in the
// same shape as `pgsctp bench` in throughput mode (64 KiB messages, one
// stream, client to server), so that scripts/bench-sctp.sh can put a QUIC
// figure beside pgsctp's and TCP's from the same run.
//
// It lives in its own Go module so that pgsctp's module does not depend on
// quic-go: a benchmark reference must not become a product dependency.
//
// Usage:
//
//	quicbench -server -listen 127.0.0.1:4433      # serves until SIGINT/SIGTERM
//	quicbench -duration 5s -json 127.0.0.1:4433   # one run, prints a Result
//
// A run is one QUIC connection with one bidirectional stream. The client
// writes messages of -size bytes for -duration, then closes its side of the
// stream; the server counts every byte up to that end of stream and answers
// on the same stream with a JSON report of its counts and CPU time, then the
// client closes the connection. Throughput is the client's bytes over the
// time from its first write to the report's arrival, so every byte reached
// the server application, as `pgsctp bench` measures. QUIC is a byte stream:
// "messages" are the client's writes of -size bytes, and the server's
// message count is its bytes divided by -size.
//
// The JSON has the fields of `pgsctp bench --json` that the script reads
// (mb_per_s, messages_per_s, client and server with messages, bytes, CPU
// seconds and CPU seconds per GB), so one report function formats both.
// "retransmissions" is quic-go's count of packets declared lost: QUIC sends
// lost data again in new packets, so this is the nearest figure.
//
// The server generates a self-signed certificate at start and the client
// does not verify it: the benchmark runs on loopback only and measures the
// cost of QUIC's packet protection, not of a PKI. quic-go encrypts every
// packet (TLS 1.3, AES-GCM) where pgsctp does not: the comparison is of
// transports as shipped.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
)

// alpn names the benchmark's application protocol; quic-go requires one.
const alpn = "pgsctp-quicbench"

// Result is one run, as the client prints it with -json. Field names match
// `pgsctp bench --json` where the meaning is the same.
type Result struct {
	Transport         string  `json:"transport"` // "quic"
	Mode              string  `json:"mode"`      // "throughput"
	Server            string  `json:"server_addr"`
	MessageSize       int     `json:"message_size"`
	Streams           int     `json:"streams"`
	Seconds           float64 `json:"seconds"`
	MBPerSecond       float64 `json:"mb_per_s"`
	MessagesPerSecond float64 `json:"messages_per_s"`
	SRTTMicros        float64 `json:"srtt_us"`
	ClientSide        Side    `json:"client"`
	ServerSide        Side    `json:"server"`
}

// Side is one end's counts and costs over the run.
type Side struct {
	Messages        uint64  `json:"messages"`
	Bytes           uint64  `json:"bytes"`
	Seconds         float64 `json:"seconds"`
	Retransmissions uint64  `json:"retransmissions"` // packets declared lost
	PacketsSent     uint64  `json:"packets_sent"`
	PacketsReceived uint64  `json:"packets_received"`
	CPUMeasured     bool    `json:"cpu_measured"`
	CPUUserSecs     float64 `json:"cpu_user_s"`
	CPUSystemSecs   float64 `json:"cpu_system_s"`
	CPUSecsPerGB    float64 `json:"cpu_s_per_gb"`
}

func main() {
	var (
		server   = flag.Bool("server", false, "serve runs until SIGINT or SIGTERM")
		listen   = flag.String("listen", "127.0.0.1:4433", "server: UDP `address` to listen on")
		duration = flag.Duration("duration", 5*time.Second, "client: how long to send")
		size     = flag.Int("size", 64<<10, "client: message size in `bytes`")
		asJSON   = flag.Bool("json", false, "client: print the result as JSON")
	)
	flag.Parse()
	if *server {
		if err := serve(*listen); err != nil {
			fmt.Fprintln(os.Stderr, "quicbench:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() != 1 || *size <= 0 {
		fmt.Fprintln(os.Stderr, "usage: quicbench [-duration d] [-size n] [-json] host:port | quicbench -server [-listen addr]")
		os.Exit(2)
	}
	res, err := run(flag.Arg(0), *duration, *size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "quicbench:", err)
		os.Exit(1)
	}
	if *asJSON {
		if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, "quicbench:", err)
			os.Exit(1)
		}
		return
	}
	fmt.Printf("%.1f MB/s, %.0f messages/s, CPU s/GB client %.2f server %.2f\n",
		res.MBPerSecond, res.MessagesPerSecond, res.ClientSide.CPUSecsPerGB, res.ServerSide.CPUSecsPerGB)
}

// config is quic-go's defaults except for the idle timeout, long enough
// that a slow shared machine does not end a run. Flow-control windows
// auto-tune (up to quic-go's defaults) as they do for any quic-go user.
func config() *quic.Config {
	return &quic.Config{MaxIdleTimeout: 30 * time.Second}
}

// serve accepts connections on addr and measures each in its own goroutine
// until SIGINT or SIGTERM; it then closes the listener and waits for the
// runs in progress.
func serve(addr string) error {
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn}}
	ln, err := quic.ListenAddr(addr, tlsConf, config())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	fmt.Fprintf(os.Stderr, "quicbench: serving on %s\n", ln.Addr())

	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, quic.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Go(func() {
			if err := handle(ctx, conn); err != nil {
				fmt.Fprintf(os.Stderr, "quicbench: %s: %v\n", conn.RemoteAddr(), err)
				conn.CloseWithError(1, err.Error())
			}
		})
	}
}

// handle measures one run: it reads the stream to its end, then writes
// the report and waits for the client to close the connection (bounded, so
// that a vanished client does not keep the goroutine).
func handle(ctx context.Context, conn *quic.Conn) error {
	str, err := conn.AcceptStream(ctx)
	if err != nil {
		return fmt.Errorf("accept stream: %w", err)
	}
	var side Side
	buf := make([]byte, 64<<10)
	cpu := startCPU()
	start := time.Now()
	for {
		n, err := str.Read(buf)
		side.Bytes += uint64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read after %d bytes: %w", side.Bytes, err)
		}
	}
	side.Seconds = time.Since(start).Seconds()
	cpu.fill(&side)
	stats := conn.ConnectionStats()
	side.Retransmissions = stats.PacketsLost
	side.PacketsSent, side.PacketsReceived = stats.PacketsSent, stats.PacketsReceived
	if err := json.NewEncoder(str).Encode(side); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := str.Close(); err != nil {
		return fmt.Errorf("close stream: %w", err)
	}
	select {
	case <-conn.Context().Done():
	case <-ctx.Done():
		conn.CloseWithError(0, "server stopping")
	case <-time.After(10 * time.Second):
		conn.CloseWithError(0, "client did not close")
	}
	return nil
}

// run is one client run against addr.
func run(addr string, duration time.Duration, size int) (*Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), duration+60*time.Second)
	defer cancel()
	tlsConf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}} // loopback benchmark; see the package doc
	conn, err := quic.DialAddr(ctx, addr, tlsConf, config())
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.CloseWithError(0, "done")
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}

	msg := make([]byte, size)
	res := &Result{Transport: "quic", Mode: "throughput", Server: addr, MessageSize: size, Streams: 1}
	c := &res.ClientSide
	cpu := startCPU()
	start := time.Now()
	for deadline := start.Add(duration); time.Now().Before(deadline); {
		if _, err := str.Write(msg); err != nil {
			return nil, fmt.Errorf("write after %d messages: %w", c.Messages, err)
		}
		c.Messages++
		c.Bytes += uint64(size)
	}
	if err := str.Close(); err != nil {
		return nil, fmt.Errorf("close stream: %w", err)
	}
	report, err := io.ReadAll(str)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	elapsed := time.Since(start)
	cpu.fill(c)
	if err := json.Unmarshal(report, &res.ServerSide); err != nil {
		return nil, fmt.Errorf("decode report %q: %w", report, err)
	}
	if res.ServerSide.Bytes != c.Bytes {
		return nil, fmt.Errorf("server counted %d bytes, client sent %d", res.ServerSide.Bytes, c.Bytes)
	}
	res.ServerSide.Messages = res.ServerSide.Bytes / uint64(size)
	stats := conn.ConnectionStats()
	c.Retransmissions = stats.PacketsLost
	c.PacketsSent, c.PacketsReceived = stats.PacketsSent, stats.PacketsReceived
	c.Seconds = elapsed.Seconds()
	res.Seconds = c.Seconds
	res.MBPerSecond = float64(c.Bytes) / 1e6 / res.Seconds
	res.MessagesPerSecond = float64(c.Messages) / res.Seconds
	res.SRTTMicros = float64(stats.SmoothedRTT) / float64(time.Microsecond)
	return res, nil
}

// selfSigned makes a throwaway ECDSA P-256 certificate for 127.0.0.1 and
// localhost, valid for a day.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "quicbench"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// cpuMeter measures this process's CPU time (getrusage) over an interval.
type cpuMeter struct {
	user, sys time.Duration
	ok        bool
}

func processCPU() (user, sys time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), true
}

func startCPU() cpuMeter {
	u, s, ok := processCPU()
	return cpuMeter{u, s, ok}
}

// fill sets side's CPU fields for the interval since m started, per GB of
// side.Bytes.
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
