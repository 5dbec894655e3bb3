package pcapwriter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TsharkReport is what tshark (Wireshark's command-line decoder) made of a
// capture.
type TsharkReport struct {
	Frames int // records in the file
	SCTP   int // records decoded as SCTP
	// Problems lists, one line each, the records that tshark found
	// malformed, whose CRC32c it found wrong, or that it did not decode as
	// SCTP at all: tshark's own summary of the record and the expert
	// messages.
	Problems []string
}

// Tshark decodes the pcap file name with tshark, treating the given UDP
// ports as SCTP over UDP (RFC 6951; "-d udp.port==N,sctp") and checking
// every CRC32c (RFC 9260 section 6.8; Wireshark does not by default). It
// fails when tshark is missing or cannot read the file; the caller judges
// the report.
//
// This is the check that a capture is usable by a network engineer: a UDP
// GSO super-datagram, a truncated record or a bad framing shows up as a
// malformed packet or a bad checksum.
func Tshark(ctx context.Context, name string, udpPorts ...int) (TsharkReport, error) {
	var rep TsharkReport
	bin, err := exec.LookPath("tshark")
	if err != nil {
		return rep, fmt.Errorf("pcapwriter: %w (Debian package tshark)", err)
	}
	args := []string{"-r", name, "-n", "-o", "sctp.checksum:CRC 32c"}
	dissectors.once.Do(func() { dissectors.args, dissectors.err = payloadDissectors(ctx, bin) })
	off, err := dissectors.args, dissectors.err
	if err != nil {
		return rep, err
	}
	args = append(args, off...)
	for _, p := range udpPorts {
		args = append(args, "-d", "udp.port=="+strconv.Itoa(p)+",sctp")
	}
	run := func(extra ...string) ([]string, error) {
		cmd := exec.CommandContext(ctx, bin, append(append([]string(nil), args...), extra...)...)
		// tshark writes a warning about running as root to stderr; keep
		// it apart from the decoded lines.
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("pcapwriter: tshark %s: %w: %s", strings.Join(cmd.Args[1:], " "), err, stderr.String())
		}
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.TrimSpace(l) != "" {
				lines = append(lines, l)
			}
		}
		return lines, nil
	}
	// One line per record: number, whether SCTP, checksum status (0 bad,
	// 1 good, 2 unverified), malformed marker, expert messages.
	lines, err := run("-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;",
		"-e", "frame.number", "-e", "sctp.srcport", "-e", "sctp.checksum.status", "-e", "_ws.malformed", "-e", "_ws.expert.message")
	if err != nil {
		return rep, err
	}
	var bad []string // frame numbers
	for _, l := range lines {
		f := strings.Split(l, "\t")
		for len(f) < 5 {
			f = append(f, "")
		}
		rep.Frames++
		isSCTP := f[1] != ""
		if isSCTP {
			rep.SCTP++
		}
		var why []string
		if !isSCTP {
			why = append(why, "not decoded as SCTP")
		}
		if strings.Contains(";"+f[2]+";", ";0;") {
			why = append(why, "bad CRC32c")
		}
		if f[3] != "" {
			why = append(why, "malformed")
		}
		if len(why) > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("frame %s: %s (%s)", f[0], strings.Join(why, ", "), f[4]))
			bad = append(bad, f[0])
		}
	}
	if len(bad) > 0 {
		// Add tshark's own one-line summaries of the first few.
		if len(bad) > 10 {
			bad = bad[:10]
		}
		sum, err := run("-Y", "frame.number in {"+strings.Join(bad, ",")+"}")
		if err == nil {
			rep.Problems = append(rep.Problems, sum...)
		}
	}
	if rep.Frames == 0 {
		return rep, errors.New("pcapwriter: tshark found no record in " + name)
	}
	return rep, nil
}

// dissectors holds payloadDissectors' answer: it asks tshark twice, and a
// test binary checks many captures.
var dissectors struct {
	once sync.Once
	args []string
	err  error
}

// payloadDissectors returns tshark options that turn off every dissector
// SCTP hands user data to (by PPID, by SCTP port, or by heuristics).
// Test traffic is opaque bytes under PPIDs such as 1 or 3, which Wireshark
// would hand to IUA or M3UA and then report as malformed; the check is
// about the capture's framing (IP, UDP, SCTP), not about those protocols.
func payloadDissectors(ctx context.Context, bin string) ([]string, error) {
	var args []string
	seen := map[string]bool{}
	// A heuristic's protocol is turned off as a whole: --disable-heuristic
	// wants names like "sip_sctp" that -G does not list.
	for _, q := range []struct{ what, flag string }{{"decodes", "--disable-protocol"}, {"heuristic-decodes", "--disable-protocol"}} {
		out, err := exec.CommandContext(ctx, bin, "-G", q.what).Output()
		if err != nil {
			return nil, fmt.Errorf("pcapwriter: tshark -G %s: %w", q.what, err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Split(l, "\t")
			var name string
			switch {
			case q.what == "decodes" && len(f) == 3 && (f[0] == "sctp.ppi" || f[0] == "sctp.port"):
				name = f[2]
			case q.what == "heuristic-decodes" && len(f) == 3 && f[0] == "sctp":
				name = f[1]
			}
			if name != "" && !seen[name] {
				seen[name] = true
				args = append(args, q.flag, name)
			}
		}
	}
	return args, nil
}

// Check is the capture check of the interop tests: tshark must decode
// every record of the pcap file name as SCTP (the given UDP ports carry
// it), with no malformed SCTP and no bad CRC32c; failures are reported
// with t.Errorf. Without tshark it does nothing, except on CI (the
// environment variable CI is set, as .ci/run does), where that is an error:
// scripts/install-deps.sh installs tshark.
func Check(t testing.TB, name string, udpPorts ...int) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") != "" {
			t.Errorf("tshark missing on CI (scripts/install-deps.sh installs it): %v", err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Tshark(ctx, name, udpPorts...)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if len(rep.Problems) > 0 || rep.SCTP != rep.Frames {
		t.Errorf("tshark on %s: %d records, %d decoded as SCTP; problems:\n%s", name, rep.Frames, rep.SCTP, strings.Join(rep.Problems, "\n"))
	}
}
