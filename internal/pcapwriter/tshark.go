package pcapwriter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// malformedIn finds the protocol names in tshark's malformation markers,
// e.g. "[Malformed Packet: SCTP]" or "[Malformed Packet: M2UA: length of
// contained item exceeds length of containing item]".
var malformedIn = regexp.MustCompile(`Malformed Packet: ([^:\]]+)`)

// framingMalformed says whether a malformation is in the layers a capture
// is responsible for (IP, UDP, SCTP) rather than in a payload dissector.
func framingMalformed(field string) bool {
	names := malformedIn.FindAllStringSubmatch(field, -1)
	if len(names) == 0 {
		return true // no dissector named: count it
	}
	for _, m := range names {
		switch strings.TrimSpace(m[1]) {
		case "SCTP", "UDP", "IPv4", "IPv6", "Raw packet data", "Frame":
			return true
		}
	}
	return false
}

// TsharkReport is what tshark (Wireshark's command-line decoder) made of a
// capture.
type TsharkReport struct {
	Frames int // records in the file
	SCTP   int // records decoded as SCTP
	// PayloadMalformed counts records whose SCTP framing decoded but
	// whose user data another dissector, chosen by the PPID, could not
	// parse: test data is opaque bytes under PPIDs that Wireshark maps to
	// protocols such as IUA (1) or M3UA (3). Not a problem of the capture.
	PayloadMalformed int
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
			if framingMalformed(f[3]) {
				why = append(why, "malformed")
			} else {
				rep.PayloadMalformed++
			}
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
