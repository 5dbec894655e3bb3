//go:build unix

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// SIGHUP rereads pgsctp.conf: a setting that a reload applies takes effect
// for the next association (allowed_networks), one that needs a restart is
// logged as such (metrics_listen), a setting also given as a flag keeps the
// flag's value (port, from --listen), and the running server keeps serving.
// worker_threads sets the process's GOMAXPROCS (the server runs in the test
// process here): 1 by default, what the file says after the reload.
func TestBridgeReload(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	conf := filepath.Join(t.TempDir(), "pgsctp.conf")
	if err := os.WriteFile(conf, []byte("# initial\nlog_level = info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBridge(t, bridgeOpts{serverArgs: []string{"-c", conf}})
	if out, err := b.psql(t, nil, "-c", "select 1"); err != nil {
		t.Fatalf("before reload: %v %s", err, out)
	}
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS %d under the default worker_threads, want 1", n)
	}
	if err := os.WriteFile(conf, []byte("allowed_networks = '10.0.0.0/8'\nport = 6543\nmetrics_listen = '127.0.0.1:9'\nworker_threads = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	b.server.waitLog(t, "configuration reloaded")
	b.server.waitLog(t, "setting=metrics_listen")
	if n := runtime.GOMAXPROCS(0); n != 3 {
		t.Errorf("GOMAXPROCS %d after reloading worker_threads = 3", n)
	}
	if strings.Contains(b.server.log.String(), "setting=port") {
		t.Error("port is given by --listen; the file's value must not count as a change")
	}
	out, err := b.psql(t, nil, "-c", "select 1")
	if err == nil || !strings.Contains(out, "allowed_networks") {
		t.Fatalf("after reload, a peer outside allowed_networks got: %v %s", err, out)
	}
	var status bytes.Buffer
	if code := dispatch(context.Background(), []string{"status", "--admin-socket", b.serverAdm}, nil, &status, io.Discard); code != 0 ||
		!strings.Contains(status.String(), "listening: 127.0.0.1:5432") {
		t.Fatalf("server after reload (exit %d):\n%s", code, status.String())
	}
}
