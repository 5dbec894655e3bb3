package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/bench"
)

func TestBenchUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runBench(context.Background(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, want := range []string{"pgsctp bench --server", "-mode", "-peer-udp-port", "-json"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	for _, args := range [][]string{
		{},                             // no HOST:PORT
		{"a:1", "b:2"},                 // two
		{"--server", "a:1"},            // server with HOST:PORT
		{"--server", "--mode=latency"}, // client flag on the server
		{"--listen", ":1", "a:1"},      // server flag on the client
		{"--tcp", "--mtu", "9000", "a:1"},
		{"--mtu", "100000", "a:1"},
		{"--bogus"},
	} {
		var out, errb bytes.Buffer
		if code := runBench(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("runBench %q = %d, want 2 (usage); stderr %q", args, code, errb.String())
		}
	}
}

// TestBenchClientJSON runs the command's client against an in-process
// server, flags after HOST:PORT included, and reads its JSON.
func TestBenchClientJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := bench.Listen(ctx, bench.ServerOptions{Listen: "127.0.0.1:5001", UDPPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	defer func() { s.Close(); <-served }()

	var out, errb bytes.Buffer
	args := []string{"--mode", "latency", s.Addr().String(), "--messages", "20", "--peer-udp-port", strconv.Itoa(int(s.Addr().UDPPort)), "--json"}
	if code := runBench(ctx, args, &out, &errb); code != 0 {
		t.Fatalf("runBench %q = %d; stderr %s", args, code, errb.String())
	}
	var r bench.Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output is not a Result: %v\n%s", err, out.String())
	}
	if r.Mode != bench.Latency || r.ClientSide.Messages != 20 || r.ServerSide.Messages != 20 || r.Latency == nil {
		t.Errorf("result %+v", r)
	}
}
