package usrsctp_test

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pgsctp/pgsctp/internal/netrelay"
	"github.com/pgsctp/pgsctp/internal/usrsctp"
)

// Parameter types (RFC 9260 section 3.3.2.1, RFC 3758, 4895, 5061, 6525).
const (
	ptIPv4              = 0x0005
	ptIPv6              = 0x0006
	ptStateCookie       = 0x0007
	ptUnrecognized      = 0x0008
	ptSupportedAddrType = 0x000C
	ptECN               = 0x8000
	ptRandom            = 0x8002
	ptChunkList         = 0x8003
	ptHMACAlgo          = 0x8004
	ptSupportedExt      = 0x8008
	ptForwardTSN        = 0xC000
)

var paramNames = map[uint16]string{
	ptIPv4: "IPv4", ptIPv6: "IPv6", ptStateCookie: "State Cookie", ptUnrecognized: "Unrecognized Parameter",
	ptSupportedAddrType: "Supported Address Types", ptECN: "ECN Capable", ptRandom: "Random",
	ptChunkList: "Chunk List", ptHMACAlgo: "HMAC Algorithms", ptSupportedExt: "Supported Extensions",
	ptForwardTSN: "Forward-TSN Supported", 0x0009: "Cookie Preservative",
}

func paramName(t uint16) string {
	if n, ok := paramNames[t]; ok {
		return fmt.Sprintf("%#04x %s", t, n)
	}
	return fmt.Sprintf("%#04x", t)
}

// initParams returns the parameters of an INIT or INIT ACK chunk value
// (after its 16 fixed bytes).
func initParams(c rawChunk) ([]tlv, error) {
	if len(c.Value) < 16 {
		return nil, fmt.Errorf("INIT value of %d bytes", len(c.Value))
	}
	// A copy: the relay reads the next datagram into the same buffer.
	return parseTLVs(bytes.Clone(c.Value[16:]))
}

func types(ps []tlv) []uint16 {
	var out []uint16
	for _, p := range ps {
		out = append(out, p.Type)
	}
	return out
}

// usrsctpExtensions are the parameters usrsctp puts in its INIT and INIT
// ACK; pgsctp implements the AUTH and ASCONF ones (authParams) and answers
// them with its own, and no others (README.md).
var usrsctpExtensions = []uint16{ptECN, ptForwardTSN, ptSupportedExt, ptRandom, ptHMACAlgo, ptChunkList}

// authParams are the parameters that offer AUTH (RFC 4895) and, through
// Supported Extensions, ASCONF (RFC 5061): pgsctp offers them too.
var authParams = []uint16{ptSupportedExt, ptRandom, ptHMACAlgo, ptChunkList}

// mustReport is the one of them whose type has the upper bits 11: RFC 9260
// section 3.2.1, "11 - Skip this parameter and continue processing but
// report the unrecognized parameter", whereas for the upper bits 10 (ECN,
// Random, Chunk List, HMAC Algorithms, Supported Extensions): "10 - Skip
// this parameter and continue processing" (no report). pgsctp has no
// PR-SCTP, so Forward-TSN Supported (RFC 3758 section 3.3.1) is
// unrecognized and reported. (It was once decoded and silently ignored;
// the Linux kernel peer showed it.)
var mustReport = []uint16{ptForwardTSN}

// TestInteropInitParamsListen: usrsctp's client sends an INIT full of
// extension parameters to a pgsctp listener. The handshake completes, and
// pgsctp's INIT ACK claims none of the extensions, reports Forward-TSN
// Supported and none of the skip-only ones, and carries a State Cookie.
//
// RFC 9260 section 3.2.1 (the upper two bits of a parameter type say what
// to do with it when not recognized) and section 3.2.2: "If the receiver of
// an INIT chunk detects unrecognized parameters and has to report them
// according to Section 3.2.1, it MUST put the 'Unrecognized Parameter'
// parameter(s) in the INIT ACK chunk sent in response to the INIT chunk."
// RFC 4895 section 6.1 (AUTH is used only if both ends send Random, HMAC
// Algorithms and Chunk List) and RFC 3758 section 3.3.1 (an INIT ACK without
// Forward-TSN Supported means no PR-SCTP).
func TestInteropInitParamsListen(t *testing.T) {
	e := newEnv(t)
	l := e.listen(e.config())
	var mu sync.Mutex
	var inits, initAcks [][]tlv
	f := &filter{Seen: func(d netrelay.Direction, p rawPacket, raw []byte) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := p.First(ctInit); ok && d == netrelay.ToServer {
			ps, err := initParams(c)
			if err != nil {
				t.Errorf("usrsctp INIT: %v", err)
			}
			inits = append(inits, ps)
		}
		if c, ok := p.First(ctInitAck); ok && d == netrelay.ToClient {
			ps, err := initParams(c)
			if err != nil {
				t.Errorf("pgsctp INIT ACK: %v", err)
			}
			initAcks = append(initAcks, ps)
		}
	}}
	e.relay(ourUDP, f)
	cl := e.must(usrsctp.StartClient(e.ctx, usrsctp.ClientOptions{Netns: e.ns, RemoteAddr: "127.0.0.1", RemotePort: ourPort,
		LocalUDPPort: peerUDP, RemoteUDPPort: relayFront}))
	a, err := l.Accept(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	up, err := cl.WaitLine(e.ctx, clientCommUp)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("usrsctp: %s", up)
	cl.CloseStdin()
	if _, err := cl.WaitLine(e.ctx, usrsctp.ClientShutdownDone); err != nil {
		t.Fatal(err)
	}
	<-a.Done()
	if err := a.Err(); err != nil {
		t.Errorf("Err: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(inits) != 1 || len(initAcks) != 1 {
		t.Fatalf("saw %d INITs and %d INIT ACKs; want one each", len(inits), len(initAcks))
	}
	in, ack := inits[0], initAcks[0]
	for _, pt := range usrsctpExtensions {
		if !slices.Contains(types(in), pt) {
			t.Errorf("usrsctp's INIT lacks %s: the test no longer covers it", paramName(pt))
		}
	}
	var names []string
	for _, p := range ack {
		names = append(names, paramName(p.Type))
	}
	t.Logf("usrsctp INIT parameters: %v", pnames(in))
	t.Logf("pgsctp INIT ACK parameters: %v", names)

	var reported []uint16
	for _, p := range ack {
		switch p.Type {
		case ptStateCookie, ptIPv4, ptIPv6, ptSupportedExt, ptRandom, ptHMACAlgo, ptChunkList:
		case ptUnrecognized:
			// Section 3.3.3: "Unrecognized Parameter ... This field
			// contains the unrecognized parameter copied from the INIT
			// chunk complete with Parameter Type, Length, and Value
			// fields."
			inner, err := parseTLVs(p.Value)
			if err != nil || len(inner) != 1 {
				t.Errorf("Unrecognized Parameter holds %x: want one whole parameter (%v)", p.Value, err)
				continue
			}
			orig := in[slices.IndexFunc(in, func(x tlv) bool { return x.Type == inner[0].Type })]
			if !slices.Equal(orig.Value, inner[0].Value) {
				t.Errorf("Unrecognized Parameter %s: value differs from the INIT's", paramName(inner[0].Type))
			}
			reported = append(reported, inner[0].Type)
		default:
			// Anything else would claim a feature pgsctp lacks:
			// Forward-TSN (PR-SCTP), ECN.
			t.Errorf("pgsctp's INIT ACK carries %s, a feature it does not implement", paramName(p.Type))
		}
	}
	if !slices.Contains(types(ack), ptStateCookie) {
		t.Error("pgsctp's INIT ACK has no State Cookie")
	}
	if !slices.Equal(reported, mustReport) {
		t.Errorf("INIT ACK reports %v as unrecognized; want exactly %v (3.2.1: upper bits 11 report, 10 skip silently)", pnamesT(reported), pnamesT(mustReport))
	}
}

// TestInteropInitParamsDial: pgsctp dials echo_server, whose INIT ACK
// carries the same extension parameters; pgsctp completes the handshake,
// claims none of them in its INIT, and reports in an ERROR chunk with the
// COOKIE ECHO exactly the one whose type asks for a report.
//
// RFC 9260 section 3.2.2: "If the receiver of an INIT ACK chunk detects
// unrecognized parameters and has to report them according to Section
// 3.2.1, it SHOULD bundle the ERROR chunk containing the 'Unrecognized
// Parameters' error cause with the COOKIE ECHO chunk sent in response to
// the INIT ACK chunk."
func TestInteropInitParamsDial(t *testing.T) {
	e := newEnv(t)
	e.must(usrsctp.StartEchoServer(e.ctx, usrsctp.ServerOptions{Netns: e.ns, LocalUDPPort: peerUDP}))
	var mu sync.Mutex
	var initParamsSent, initAckParams []tlv
	var cookieEchoPacket *rawPacket
	f := &filter{Seen: func(d netrelay.Direction, p rawPacket, raw []byte) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := p.First(ctInit); ok && d == netrelay.ToServer {
			initParamsSent, _ = initParams(c)
		}
		if c, ok := p.First(ctInitAck); ok && d == netrelay.ToClient {
			initAckParams, _ = initParams(c)
		}
		if p.Has(ctCookieEcho) && d == netrelay.ToServer && cookieEchoPacket == nil {
			cookieEchoPacket = &p
		}
	}}
	e.relay(peerUDP, f)
	a := e.dial(usrsctp.EchoPort, relayFront, e.config())
	if err := a.SendMessage(e.ctx, 0, 0, []byte("ping"), false); err != nil {
		t.Fatal(err)
	}
	if m, err := a.ReceiveMessage(e.ctx); err != nil || string(m.Data) != "ping" {
		t.Fatalf("echo %q, %v", m.Data, err)
	}
	if err := a.Shutdown(e.ctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	t.Logf("pgsctp INIT parameters: %v", pnames(initParamsSent))
	t.Logf("usrsctp INIT ACK parameters: %v", pnames(initAckParams))
	for _, pt := range authParams {
		if !slices.Contains(types(initParamsSent), pt) {
			t.Errorf("pgsctp's INIT lacks %s: it offers AUTH and ASCONF", paramName(pt))
		}
	}
	for _, p := range initParamsSent {
		if slices.Contains(usrsctpExtensions, p.Type) && !slices.Contains(authParams, p.Type) {
			t.Errorf("pgsctp's INIT carries %s, a feature it does not implement", paramName(p.Type))
		}
	}
	for _, pt := range usrsctpExtensions {
		if !slices.Contains(types(initAckParams), pt) {
			t.Errorf("usrsctp's INIT ACK lacks %s: the test no longer covers it", paramName(pt))
		}
	}
	if cookieEchoPacket == nil {
		t.Fatal("no COOKIE ECHO seen")
	}
	t.Logf("COOKIE ECHO packet: %v", cookieEchoPacket.Chunks)
	// Section 6.10: "the COOKIE ECHO chunk MUST be the first chunk" in the
	// packet when bundled.
	if cookieEchoPacket.Chunks[0].Type != ctCookieEcho {
		t.Errorf("COOKIE ECHO is not the first chunk of its packet: %v", cookieEchoPacket.Chunks)
	}
	errChunk, ok := cookieEchoPacket.First(ctError)
	if !ok {
		t.Fatalf("no ERROR bundled with the COOKIE ECHO: Forward-TSN Supported (0xC000) not reported")
	}
	causes, err := parseTLVs(errChunk.Value)
	if err != nil || len(causes) != 1 || causes[0].Type != 8 {
		t.Fatalf("ERROR causes %+v (%v); want one Unrecognized Parameters (8)", causes, err)
	}
	params, err := parseTLVs(causes[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if got := types(params); !slices.Equal(got, mustReport) {
		t.Errorf("ERROR reports %v as unrecognized; want exactly %v", pnamesT(got), pnamesT(mustReport))
	}
}

func pnames(ps []tlv) []string { return pnamesT(types(ps)) }

func pnamesT(ts []uint16) []string {
	var out []string
	for _, t := range ts {
		out = append(out, paramName(t))
	}
	return out
}
