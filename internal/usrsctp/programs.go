package usrsctp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SCTP ports the servers listen on; they are compiled in and cannot be
// changed.
const (
	EchoPort         = 7    // echo_server
	DiscardPort      = 9    // discard_server
	DaytimePort      = 13   // daytime_server
	TsctpDefaultPort = 5001 // tsctp, changeable with -p
	DefaultUDPPort   = 9899 // every program's local UDP port when none is given
)

// DaytimePPID is the payload protocol identifier daytime_server sends with.
const DaytimePPID = 40

// ServerOptions configures echo_server, discard_server and daytime_server,
// whose command line is "[local_encaps_port] [remote_encaps_port]".
type ServerOptions struct {
	// Netns runs the program in that namespace; nil: the caller's.
	Netns *Netns
	// LocalUDPPort is the UDP port the program binds (IPv4 and IPv6
	// wildcard). Required.
	LocalUDPPort int
	// RemoteUDPPort, if not zero, is the UDP port the server sends every
	// association's packets to. Zero leaves it unset: the server then
	// answers to the UDP source port of the peer's packets (RFC 6951
	// section 5.1 behaviour), which is what a peer on an arbitrary port
	// needs.
	RemoteUDPPort int
}

func (o ServerOptions) args() ([]string, error) {
	if o.LocalUDPPort <= 0 || o.LocalUDPPort > 65535 {
		return nil, fmt.Errorf("usrsctp: LocalUDPPort %d out of range", o.LocalUDPPort)
	}
	a := []string{strconv.Itoa(o.LocalUDPPort)}
	if o.RemoteUDPPort != 0 {
		a = append(a, strconv.Itoa(o.RemoteUDPPort))
	}
	return a, nil
}

// StartEchoServer starts echo_server (SCTP port 7) and returns once it
// answers INIT (see WaitListening; with RemoteUDPPort set, once its UDP
// port is bound). It echoes every complete message back on the stream it came
// on, with the same PPID and unordered flag, and prints one "Msg of length
// N received from ADDR:PORT on stream S with SSN ... PPID P, context 47,
// complete C." line per read (see README.md for the 10240-byte limit).
func StartEchoServer(ctx context.Context, o ServerOptions) (*Process, error) {
	return startServer(ctx, EchoServerProgram, o)
}

// StartDiscardServer starts discard_server (SCTP port 9): it prints one
// "Msg of length ..." line per read and sends nothing back.
func StartDiscardServer(ctx context.Context, o ServerOptions) (*Process, error) {
	return startServer(ctx, DiscardServerProgram, o)
}

// StartDaytimeServer starts daytime_server (SCTP port 13): on each accepted
// association it sends one message, the ctime(3) text with its newline, on
// stream 0 with PPID 40, then closes the association (SHUTDOWN).
func StartDaytimeServer(ctx context.Context, o ServerOptions) (*Process, error) {
	return startServer(ctx, DaytimeServerProgram, o)
}

// serverPorts are the compiled-in SCTP ports of the servers.
var serverPorts = map[string]int{EchoServerProgram: EchoPort, DiscardServerProgram: DiscardPort, DaytimeServerProgram: DaytimePort}

func startServer(ctx context.Context, program string, o ServerOptions) (*Process, error) {
	args, err := o.args()
	if err != nil {
		return nil, err
	}
	p, err := start(ctx, o.Netns, program, args, false)
	if err != nil {
		return nil, err
	}
	if err := p.WaitUDPBound(ctx, o.LocalUDPPort); err != nil {
		p.Stop()
		return nil, err
	}
	if o.RemoteUDPPort == 0 {
		if err := p.WaitListening(ctx, o.Netns, o.LocalUDPPort, serverPorts[program]); err != nil {
			p.Stop()
			return nil, err
		}
	}
	return p, nil
}

// ClientOptions configures client, whose command line is "remote_addr
// remote_port [local_port] [local_encaps_port] [remote_encaps_port]".
type ClientOptions struct {
	Netns      *Netns
	RemoteAddr string // IPv4 or IPv6 literal, e.g. "127.0.0.1" or "::1"
	RemotePort int    // the server's SCTP port
	LocalPort  int    // SCTP port to bind; 0: an ephemeral one
	// LocalUDPPort is the UDP port the client binds. Required.
	LocalUDPPort int
	// RemoteUDPPort is the server's UDP port. Required: zero would make
	// usrsctp send raw SCTP over IP instead of UDP.
	RemoteUDPPort int
}

// StartClient starts client. It connects at once; every line written to
// the Process (Write) is sent as one message on stream 0 with PPID 0 (lines
// longer than 79 bytes are sent as several messages), and every message
// received is written to the output as is. CloseStdin makes it shut the
// association down; it exits when the association ends, always with status
// 0, so read its output ("Association change SCTP_COMM_UP", ...
// "SCTP_SHUTDOWN_COMP", "SCTP_COMM_LOST", "SCTP_CANT_STR_ASSOC") to learn
// what happened.
func StartClient(ctx context.Context, o ClientOptions) (*Process, error) {
	if o.LocalUDPPort <= 0 || o.LocalUDPPort > 65535 || o.RemoteUDPPort <= 0 || o.RemoteUDPPort > 65535 {
		return nil, fmt.Errorf("usrsctp: client needs both UDP ports (local %d, remote %d)", o.LocalUDPPort, o.RemoteUDPPort)
	}
	if net.ParseIP(o.RemoteAddr) == nil {
		return nil, fmt.Errorf("usrsctp: client needs an IP literal, not %q", o.RemoteAddr)
	}
	args := []string{o.RemoteAddr, strconv.Itoa(o.RemotePort), strconv.Itoa(o.LocalPort), strconv.Itoa(o.LocalUDPPort), strconv.Itoa(o.RemoteUDPPort)}
	return start(ctx, o.Netns, ClientProgram, args, true)
}

// Lines the client prints about its association.
var (
	ClientUp           = regexp.MustCompile(`^Association change SCTP_COMM_UP`)
	ClientShutdownDone = regexp.MustCompile(`Association change SCTP_SHUTDOWN_COMP`)
	ClientEnded        = regexp.MustCompile(`Association change (SCTP_SHUTDOWN_COMP|SCTP_COMM_LOST|SCTP_CANT_STR_ASSOC)`)
)

// TsctpServerOptions configures tsctp in receiver mode (no address
// argument).
type TsctpServerOptions struct {
	Netns        *Netns
	LocalUDPPort int    // -E; required
	Port         int    // -p SCTP port; 0: 5001
	LocalAddr    string // -L IPv4 address to bind; "": INADDR_ANY
	RecvBuffer   int    // -R SO_RCVBUF; 0: usrsctp's default
	Callback     bool   // -c: callback API (prints a 5-field result line)
	Verbose      bool   // -v: "Connection accepted from A:P" per association
}

// StartTsctpServer starts a tsctp receiver and returns once it answers INIT
// on 127.0.0.1 (WaitListening; with another LocalAddr, once its UDP port is
// bound). It accepts associations forever, counting what it receives; when
// an association ends it prints one result line (ParseTsctpReceiver).
func StartTsctpServer(ctx context.Context, o TsctpServerOptions) (*Process, error) {
	if o.LocalUDPPort <= 0 || o.LocalUDPPort > 65535 {
		return nil, fmt.Errorf("usrsctp: tsctp server needs LocalUDPPort")
	}
	args := []string{"-E", strconv.Itoa(o.LocalUDPPort)}
	if o.Port != 0 {
		args = append(args, "-p", strconv.Itoa(o.Port))
	}
	if o.LocalAddr != "" {
		args = append(args, "-L", o.LocalAddr)
	}
	if o.RecvBuffer != 0 {
		args = append(args, "-R", strconv.Itoa(o.RecvBuffer))
	}
	if o.Callback {
		args = append(args, "-c")
	}
	if o.Verbose {
		args = append(args, "-v")
	}
	p, err := start(ctx, o.Netns, TsctpProgram, args, false)
	if err != nil {
		return nil, err
	}
	if err := p.WaitUDPBound(ctx, o.LocalUDPPort); err != nil {
		p.Stop()
		return nil, err
	}
	if o.LocalAddr == "" || o.LocalAddr == "127.0.0.1" {
		port := o.Port
		if port == 0 {
			port = TsctpDefaultPort
		}
		if err := p.WaitListening(ctx, o.Netns, o.LocalUDPPort, port); err != nil {
			p.Stop()
			return nil, err
		}
	}
	return p, nil
}

// TsctpClientOptions configures tsctp in sender mode.
type TsctpClientOptions struct {
	Netns         *Netns
	RemoteAddr    string        // IPv4 literal only (tsctp parses it with inet_pton(AF_INET))
	Port          int           // -p the receiver's SCTP port; 0: 5001
	LocalUDPPort  int           // -E; required
	RemoteUDPPort int           // -U; required (0 would mean raw IP)
	Length        int           // -l message length in bytes; 0: 1024
	Messages      int           // -n messages to send; 0: tsctp's default of 1024 (unless Duration)
	Duration      time.Duration // -T send for this long (whole seconds, at least 1); overrides Messages
	Unordered     bool          // -u
	NoDelay       bool          // -D: Nagle off
	FragmentPoint int           // -f SCTP_MAXSEG
	SendBuffer    int           // -S SO_SNDBUF
	PRPolicy      int           // -P 0 none, 1 ttl, 2 rtx, 3 buf
	PRValue       int           // -t value for PRPolicy
	Callback      bool          // -c
	Verbose       bool          // -v
}

// StartTsctpClient starts a tsctp sender. It sends Messages messages of
// Length bytes of 'b' on stream 0 with PPID 0, the last one with SCTP_EOF
// (which shuts the association down), then prints "Sending of N messages
// of length L took S seconds." and "Throughput was T Byte/sec." and exits
// (ParseTsctpSender).
func StartTsctpClient(ctx context.Context, o TsctpClientOptions) (*Process, error) {
	if o.LocalUDPPort <= 0 || o.LocalUDPPort > 65535 || o.RemoteUDPPort <= 0 || o.RemoteUDPPort > 65535 {
		return nil, fmt.Errorf("usrsctp: tsctp client needs both UDP ports (local %d, remote %d)", o.LocalUDPPort, o.RemoteUDPPort)
	}
	ip := net.ParseIP(o.RemoteAddr)
	if ip == nil || ip.To4() == nil {
		return nil, fmt.Errorf("usrsctp: tsctp needs an IPv4 literal, not %q", o.RemoteAddr)
	}
	args := []string{"-E", strconv.Itoa(o.LocalUDPPort), "-U", strconv.Itoa(o.RemoteUDPPort)}
	add := func(flag string, v int) {
		if v != 0 {
			args = append(args, flag, strconv.Itoa(v))
		}
	}
	add("-p", o.Port)
	add("-l", o.Length)
	if o.Duration > 0 {
		secs := int((o.Duration + time.Second - 1) / time.Second)
		args = append(args, "-T", strconv.Itoa(secs))
	} else {
		add("-n", o.Messages)
	}
	add("-f", o.FragmentPoint)
	add("-S", o.SendBuffer)
	add("-P", o.PRPolicy)
	add("-t", o.PRValue)
	for _, f := range []struct {
		on   bool
		flag string
	}{{o.Unordered, "-u"}, {o.NoDelay, "-D"}, {o.Callback, "-c"}, {o.Verbose, "-v"}} {
		if f.on {
			args = append(args, f.flag)
		}
	}
	args = append(args, o.RemoteAddr)
	return start(ctx, o.Netns, TsctpProgram, args, false)
}

// TsctpSenderResult is what a tsctp sender reports at exit.
type TsctpSenderResult struct {
	Messages   int
	Length     int
	Seconds    float64 // from connect to close
	Throughput float64 // bytes per second: Messages*Length/Seconds
}

var (
	tsctpSent       = regexp.MustCompile(`^Sending of ([0-9]+) messages of length ([0-9]+) took ([0-9.]+) seconds\.$`)
	tsctpThroughput = regexp.MustCompile(`^Throughput was ([0-9.]+) Byte/sec\.$`)
	tsctpReceived   = regexp.MustCompile(`^([0-9]+), ([0-9]+), (?:([0-9]+), )?([0-9]+), ([0-9.]+), ([0-9.]+)(?:, ([0-9]+))?$`)
)

// ParseTsctpSender reads a tsctp sender's result from its output lines.
func ParseTsctpSender(lines []string) (TsctpSenderResult, error) {
	var r TsctpSenderResult
	var sent, tp bool
	for _, l := range lines {
		if m := tsctpSent.FindStringSubmatch(l); m != nil {
			r.Messages, _ = strconv.Atoi(m[1])
			r.Length, _ = strconv.Atoi(m[2])
			r.Seconds, _ = strconv.ParseFloat(m[3], 64)
			sent = true
		} else if m := tsctpThroughput.FindStringSubmatch(l); m != nil {
			r.Throughput, _ = strconv.ParseFloat(m[1], 64)
			tp = true
		}
	}
	if !sent || !tp {
		return r, errors.New("usrsctp: no tsctp sender result in output")
	}
	return r, nil
}

// TsctpReceiverResult is the line a tsctp receiver prints when an
// association ends: "first_length, messages, recv_calls, bytes, seconds,
// throughput, notifications" (the callback mode, -c, prints only
// "first_length, messages, bytes, seconds, throughput"; RecvCalls and
// Notifications are then zero).
type TsctpReceiverResult struct {
	FirstLength   uint64  // length of the first complete message
	Messages      uint64  // complete messages (MSG_EOR) received
	RecvCalls     uint64  // reads, notifications included
	Bytes         uint64  // user data bytes received
	Seconds       float64 // from the first read to the end of the association
	Throughput    float64 // FirstLength*Messages/Seconds, bytes per second
	Notifications uint64
}

// ParseTsctpReceiver returns one result per association the receiver saw
// end, in order.
func ParseTsctpReceiver(lines []string) []TsctpReceiverResult {
	var rs []TsctpReceiverResult
	for _, l := range lines {
		m := tsctpReceived.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		u := func(s string) uint64 { v, _ := strconv.ParseUint(s, 10, 64); return v }
		f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
		rs = append(rs, TsctpReceiverResult{
			FirstLength: u(m[1]), Messages: u(m[2]), RecvCalls: u(m[3]), Bytes: u(m[4]),
			Seconds: f(m[5]), Throughput: f(m[6]), Notifications: u(m[7]),
		})
	}
	return rs
}

// WaitUDPBound waits until the program has bound UDP port (IPv4 or IPv6),
// reading the socket tables of its network namespace in /proc: usrsctp
// binds its UDP port in usrsctp_init, a few calls before the program's
// listen, so a peer can start its handshake right after.
func (p *Process) WaitUDPBound(ctx context.Context, port int) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		// Until the program itself runs (stdbuf and nsenter exec it), the
		// pid's tables may be another namespace's.
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.Pid()))
		ok, err := false, error(nil)
		if strings.TrimSpace(string(comm)) == p.Name {
			ok, err = udpBound(p.Pid(), port)
		}
		if err != nil {
			return fmt.Errorf("usrsctp: %s: %w", p.Name, err)
		}
		if ok {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("usrsctp: %s exited (%v) before binding UDP port %d; output:\n%s", p.Name, p.ExitErr(), port, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("usrsctp: waiting for %s to bind UDP port %d: %w", p.Name, port, ctx.Err())
		case <-t.C:
		}
	}
}

// udpBound looks for a socket with local port in /proc/PID/net/udp{,6}.
func udpBound(pid, port int) (bool, error) {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"udp", "udp6"} {
		fh, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && f == "udp6" {
				continue
			}
			return false, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 1 && strings.HasSuffix(fields[1], want) {
				fh.Close()
				return true, nil
			}
		}
		fh.Close()
	}
	return false, nil
}
