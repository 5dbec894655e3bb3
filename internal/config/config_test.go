package config

import (
	"bytes"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// write creates the named files (relative to a new temporary directory)
// and returns the directory.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func parse(t *testing.T, s *Set, text string) (*Values, error) {
	t.Helper()
	dir := write(t, map[string]string{"pgsctp.conf": text})
	return s.Parse(filepath.Join(dir, "pgsctp.conf"))
}

func mustParse(t *testing.T, s *Set, text string) *Values {
	t.Helper()
	v, err := parse(t, s, text)
	if err != nil {
		t.Fatalf("parse:\n%s\nerror: %v", text, err)
	}
	return v
}

func TestDefaults(t *testing.T) {
	v := Server().Defaults()
	if got := v.List("listen_addresses"); !reflect.DeepEqual(got, []string{"127.0.0.1"}) {
		t.Errorf("listen_addresses = %q", got)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"port", v.Int("port"), int64(5432)},
		{"udp_port", v.Int("udp_port"), int64(9899)},
		{"upstream", v.String("upstream"), "/var/run/postgresql"},
		{"max_associations", v.Int("max_associations"), int64(100)},
		{"sctp_rto_initial", v.Duration("sctp_rto_initial"), time.Second},
		{"sctp_rto_max", v.Duration("sctp_rto_max"), 60 * time.Second},
		{"sctp_delayed_ack", v.Duration("sctp_delayed_ack"), 20 * time.Millisecond},
		{"sctp_rto_min", v.Duration("sctp_rto_min"), 100 * time.Millisecond},
		{"sctp_heartbeat_interval", v.Duration("sctp_heartbeat_interval"), 5 * time.Second},
		{"sctp_path_max_retrans", v.Int("sctp_path_max_retrans"), int64(8)},
		{"sctp_pf_retrans", v.Int("sctp_pf_retrans"), int64(0)},
		{"sctp_receive_window", v.Int("sctp_receive_window"), int64(1 << 20)},
		{"sctp_mtu", v.Int("sctp_mtu"), int64(1200)},
		{"sctp_max_mtu", v.Int("sctp_max_mtu"), int64(0)},
		{"sctp_max_inbound_streams", v.Int("sctp_max_inbound_streams"), int64(65535)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(v.Prefixes("allowed_networks")) != 0 {
		t.Errorf("allowed_networks default not empty")
	}
	if v.Source("port") != "default" {
		t.Errorf("source %q", v.Source("port"))
	}
	p := Proxy().Defaults()
	if p.Bool("multiplex") || p.Int("peer_udp_port") != 9899 || p.Int("udp_port") != 0 {
		t.Errorf("proxy defaults: multiplex %v peer_udp_port %d udp_port %d", p.Bool("multiplex"), p.Int("peer_udp_port"), p.Int("udp_port"))
	}
	// Every default survives format -> parse unchanged.
	for _, s := range []*Set{Server(), Proxy()} {
		d := s.Defaults()
		for _, st := range s.Settings() {
			x, err := st.parse(d.Text(st.Name))
			if err != nil || !st.equal(x, d.Get(st.Name)) {
				t.Errorf("%s %s: %q reparses as %v, %v", s.Program(), st.Name, d.Text(st.Name), x, err)
			}
		}
	}
}

func TestSyntaxForms(t *testing.T) {
	v := mustParse(t, Server(), `
# a comment line
   # an indented comment

port = 6000
udp_port 9000            # no equal sign, trailing comment
Max_Associations=7       # names are case-insensitive, no blanks needed
upstream = '/run/pg ''quoted'' dir\\x'   # '' and backslash escapes
log_level = 'debug'#comment right after the quote
listen_addresses = '127.0.0.1, ::1'
allowed_networks = '10.0.0.0/8,192.0.2.1, 2001:db8::/32'
sctp_rto_min = 200ms
sctp_rto_initial = '1.5 s'
sctp_rto_max 2min
sctp_delayed_ack = 0
sctp_receive_window = 4MB
sctp_send_buffer = '512 kB'
sctp_mtu = 0x500
max_sessions_per_association = 010
port = 6001              # the last entry wins
`)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"port", v.Int("port"), int64(6001)},
		{"udp_port", v.Int("udp_port"), int64(9000)},
		{"max_associations", v.Int("max_associations"), int64(7)},
		{"upstream", v.String("upstream"), `/run/pg 'quoted' dir\x`},
		{"log_level", v.String("log_level"), "debug"},
		{"sctp_rto_min", v.Duration("sctp_rto_min"), 200 * time.Millisecond},
		{"sctp_rto_initial", v.Duration("sctp_rto_initial"), 1500 * time.Millisecond},
		{"sctp_rto_max", v.Duration("sctp_rto_max"), 2 * time.Minute},
		{"sctp_delayed_ack", v.Duration("sctp_delayed_ack"), time.Duration(0)},
		{"sctp_receive_window", v.Int("sctp_receive_window"), int64(4 << 20)},
		{"sctp_send_buffer", v.Int("sctp_send_buffer"), int64(512 << 10)},
		{"sctp_mtu", v.Int("sctp_mtu"), int64(0x500)},
		{"max_sessions_per_association", v.Int("max_sessions_per_association"), int64(8)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := v.List("listen_addresses"); !reflect.DeepEqual(got, []string{"127.0.0.1", "::1"}) {
		t.Errorf("listen_addresses = %q", got)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32")}
	if got := v.Prefixes("allowed_networks"); !reflect.DeepEqual(got, want) {
		t.Errorf("allowed_networks = %v", got)
	}
	if src := v.Source("port"); !strings.HasSuffix(src, "pgsctp.conf:20") {
		t.Errorf("source of port = %q, want .../pgsctp.conf:20", src)
	}
}

func TestUnits(t *testing.T) {
	st := func(s *Set, n string) *Setting { x, _ := s.Lookup(n); return x }
	srv := Server()
	durations := []struct {
		setting, in string
		want        time.Duration
	}{
		{"sctp_rto_min", "250", 250 * time.Millisecond}, // bare number: the setting's unit, ms
		{"sctp_cookie_secret_rotation", "90", 90 * time.Second},
		{"sctp_rto_min", "1500us", 1500 * time.Microsecond},
		{"sctp_rto_min", "2s", 2 * time.Second},
		{"sctp_rto_min", "1 min", time.Minute},
		{"sctp_rto_max", "1h", time.Hour},
		{"sctp_rto_max", "1d", 24 * time.Hour},
		{"sctp_rto_min", "0.5s", 500 * time.Millisecond},
		// "rounded to a multiple of the next smaller unit": 1.0004 s -> 1000 ms.
		{"sctp_rto_min", "1.0004s", time.Second},
		{"sctp_rto_min", "1e3", time.Second},
	}
	for _, c := range durations {
		v, err := st(srv, c.setting).parse(c.in)
		if err != nil || v != c.want {
			t.Errorf("%s = %q: got %v, %v; want %v", c.setting, c.in, v, err, c.want)
		}
	}
	sizes := []struct {
		in   string
		want int64
	}{
		{"2000", 2000}, {"2000B", 2000}, {"64kB", 64 << 10}, {"1 MB", 1 << 20}, {"1GB", 1 << 30},
		{"1.5MB", 1536 << 10}, {"0.5 GB", 512 << 20},
	}
	for _, c := range sizes {
		v, err := st(srv, "sctp_receive_window").parse(c.in)
		if err != nil || v != c.want {
			t.Errorf("sctp_receive_window = %q: got %v, %v; want %d", c.in, v, err, c.want)
		}
	}
	bad := []struct{ setting, in, msg string }{
		{"sctp_rto_min", "5 sec", "invalid unit"},
		{"sctp_rto_min", "5S", "invalid unit"}, // units are case-sensitive
		{"sctp_rto_min", "fast", "not a time"},
		{"sctp_receive_window", "1mb", "invalid unit"},
		{"sctp_receive_window", "1KB", "invalid unit"},
		{"sctp_receive_window", "100", "outside the valid range"},
		{"sctp_delayed_ack", "600ms", "outside the valid range"},
		{"port", "70000", "outside the valid range"},
		{"port", "5kB", "takes no unit"},
		{"port", "54x", "takes no unit"},
		{"port", "", "not an integer"},
		{"allowed_networks", "10.0.0.1/8", "bits set beyond"},
		{"allowed_networks", "example.com", "not an address or CIDR"},
		{"listen_addresses", "bad_host!", "not an IP address"},
		{"upstream", "relative/dir", "absolute path"},
		{"upstream", "db:99999", "bad port"},
		{"log_level", "loud", "not a log level"},
	}
	for _, c := range bad {
		_, err := st(srv, c.setting).parse(c.in)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s = %q: error %v, want one containing %q", c.setting, c.in, err, c.msg)
		}
	}
}

func TestBooleans(t *testing.T) {
	for in, want := range map[string]bool{
		"on": true, "off": false, "true": true, "false": false, "yes": true, "no": false, "1": true, "0": false,
		"ON": true, "Off": false, "TRUE": true, "t": true, "tr": true, "f": false, "y": true, "n": false, "of": false,
	} {
		got, err := parseBool(in)
		if err != nil || got != want {
			t.Errorf("parseBool(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"o", "", "2", "maybe", "onn"} { // "o" is ambiguous: on or off
		if _, err := parseBool(in); err == nil {
			t.Errorf("parseBool(%q) accepted", in)
		}
	}
	v := mustParse(t, Proxy(), "multiplex = yes\n")
	if !v.Bool("multiplex") {
		t.Error("multiplex = yes not on")
	}
}

func TestIncludes(t *testing.T) {
	dir := write(t, map[string]string{
		"main.conf": `port = 1000
include 'sub/a.conf'
include_if_exists = 'missing.conf'
include_dir 'conf.d'
udp_port = 3000
`,
		// Relative to sub/, the including file's directory.
		"sub/a.conf":          "port = 2000\ninclude 'b.conf'\n",
		"sub/b.conf":          "max_associations = 5\n",
		"conf.d/20-x.conf":    "max_associations = 20\nlog_level = warn\n",
		"conf.d/10-y.conf":    "max_associations = 10\nudp_port = 1\n",
		"conf.d/.hidden.conf": "port = 9\n",
		"conf.d/notes.txt":    "this is not read\n",
		"conf.d/Z.conf":       "upstream_port = 7\n", // 'Z' sorts before 'a'... and after digits
	})
	v, err := Server().Parse(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Int("port") != 2000 {
		t.Errorf("port = %d, want 2000 from sub/a.conf", v.Int("port"))
	}
	if v.Int("max_associations") != 20 {
		t.Errorf("max_associations = %d, want 20 (conf.d in name order, after sub/b.conf)", v.Int("max_associations"))
	}
	if v.Int("udp_port") != 3000 {
		t.Errorf("udp_port = %d, want 3000 (main.conf after include_dir)", v.Int("udp_port"))
	}
	if v.Int("upstream_port") != 7 || v.String("log_level") != "warn" {
		t.Errorf("upstream_port %d log_level %q", v.Int("upstream_port"), v.String("log_level"))
	}
	if got := v.Source("max_associations"); !strings.HasSuffix(got, filepath.Join("conf.d", "20-x.conf")+":1") {
		t.Errorf("source %q", got)
	}
}

func TestIncludeErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"cycle", map[string]string{
			"main.conf": "include 'a.conf'\n",
			"a.conf":    "port = 1\n\ninclude 'b.conf'\n",
			"b.conf":    "include 'a.conf'\n",
		}, []string{"b.conf:1: include cycle", "a.conf -> ", "b.conf -> ", "a.conf"}},
		{"self", map[string]string{"main.conf": "include 'main.conf'\n"}, []string{"main.conf:1: include cycle"}},
		{"dir cycle", map[string]string{
			"main.conf":   "include_dir 'd'\n",
			"d/loop.conf": "include '../main.conf'\n",
		}, []string{"loop.conf:1: include cycle"}},
		{"missing include", map[string]string{"main.conf": "\ninclude 'nope.conf'\n"},
			[]string{"main.conf:2: could not open configuration file", "nope.conf"}},
		{"missing dir", map[string]string{"main.conf": "include_dir 'nodir'\n"},
			[]string{"main.conf:1: could not open configuration directory"}},
		{"error in included file", map[string]string{
			"main.conf": "include 'a.conf'\n",
			"a.conf":    "port = 1\nport = many\n",
		}, []string{"a.conf:2: invalid value for setting \"port\""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := write(t, c.files)
			_, err := Server().Parse(filepath.Join(dir, "main.conf"))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	files := map[string]string{}
	for i := 0; i < 12; i++ {
		files[string(rune('a'+i))+".conf"] = "include '" + string(rune('a'+i+1)) + ".conf'\n"
	}
	files["m.conf"] = "port = 1\n"
	dir := write(t, files)
	_, err := Server().Parse(filepath.Join(dir, "a.conf"))
	if err == nil || !strings.Contains(err.Error(), "maximum nesting depth") {
		t.Errorf("error %v, want the nesting depth one", err)
	}
}

func TestErrors(t *testing.T) {
	text := `port = 5432
listen_adresses = '::1'
port = 'abc'
= 5
sctp_rto_min
upstream = '/unterminated
udp_port = 1 2
sctp_receive_window = 1 MB
completely_unknown_setting = 1
`
	_, err := parse(t, Server(), text)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, w := range []string{
		`pgsctp.conf:2: unrecognized configuration parameter "listen_adresses" for pgsctp server (did you mean "listen_addresses"?)`,
		`pgsctp.conf:3: invalid value for setting "port": "abc" is not an integer`,
		`pgsctp.conf:4: syntax error`,
		`pgsctp.conf:5: syntax error: setting "sctp_rto_min" has no value`,
		`pgsctp.conf:6: setting "upstream": unterminated quoted string`,
		`pgsctp.conf:7: syntax error near "2" after the value of setting "udp_port"`,
		`pgsctp.conf:8: syntax error near "MB"`,
		`pgsctp.conf:9: unrecognized configuration parameter "completely_unknown_setting" for pgsctp server` + "\n",
	} {
		if !strings.Contains(msg+"\n", w) {
			t.Errorf("errors lack %q; got:\n%s", w, msg)
		}
	}
	// A proxy-only name in the server's file is unknown there.
	if _, err := parse(t, Server(), "multiplex = on\n"); err == nil || !strings.Contains(err.Error(), `"multiplex" for pgsctp server`) {
		t.Errorf("multiplex in server file: %v", err)
	}
	if _, err := Server().Parse(filepath.Join(t.TempDir(), "absent.conf")); err == nil {
		t.Error("missing main file accepted")
	}
}

func TestOverrides(t *testing.T) {
	dir := write(t, map[string]string{"pgsctp.conf": "port = 6000\nlog_level = warn\n"})
	path := filepath.Join(dir, "pgsctp.conf")
	s := Server()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := s.AddFlags(fs)
	if err := fs.Parse([]string{"--port", "7000", "-c", "sctp_rto_min=300ms", "--allowed-networks=10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Load(path, o)
	if err != nil {
		t.Fatal(err)
	}
	if v.Int("port") != 7000 || v.Source("port") != "command line" {
		t.Errorf("port = %d from %q; the flag must win over the file", v.Int("port"), v.Source("port"))
	}
	if v.String("log_level") != "warn" {
		t.Errorf("log_level = %q; the file must win over the default", v.String("log_level"))
	}
	if v.Duration("sctp_rto_min") != 300*time.Millisecond || len(v.Prefixes("allowed_networks")) != 1 {
		t.Errorf("-c or --allowed-networks not applied")
	}
	// Bad values and names fail when the flags are parsed.
	for _, args := range [][]string{{"--port", "x"}, {"-c", "nosuch=1"}, {"--sctp-delayed-ack", "1s"}} {
		fs := flag.NewFlagSet("server", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		s.AddFlags(fs)
		if err := fs.Parse(args); err == nil {
			t.Errorf("flags %q accepted", args)
		}
	}
	// -c without '=' names the configuration file, as the command-line
	// contract of pgsctp server and proxy says (-c FILE); so does --config.
	for _, args := range [][]string{{"-c", "/etc/pgsctp.conf"}, {"--config", "/etc/pgsctp.conf"}} {
		fs := flag.NewFlagSet("server", flag.ContinueOnError)
		o := s.AddFlags(fs)
		if err := fs.Parse(args); err != nil || o.File() != "/etc/pgsctp.conf" {
			t.Errorf("flags %q: file %q, err %v", args, o.File(), err)
		}
	}
	// A bool flag may be given bare.
	pfs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	po := Proxy().AddFlags(pfs)
	if err := pfs.Parse([]string{"--multiplex", "--server", "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	pv, err := Proxy().Load("", po)
	if err != nil {
		t.Fatal(err)
	}
	if !pv.Bool("multiplex") {
		t.Error("--multiplex not on")
	}
	// Values.Set directly.
	if err := v.Set("Sctp-Mtu", "1400"); err != nil || v.Int("sctp_mtu") != 1400 {
		t.Errorf("Set sctp_mtu: %v, %d", err, v.Int("sctp_mtu"))
	}
	if err := v.Set("sctp_mtu", "100"); err == nil {
		t.Error("Set accepted an out-of-range mtu")
	}
	if err := v.Set("prot", "1"); err == nil || !strings.Contains(err.Error(), `did you mean "port"`) {
		t.Errorf("Set unknown: %v", err)
	}
}

func TestValidate(t *testing.T) {
	if _, err := Server().Load(write1(t, "sctp_rto_min = 5s\n"), nil); err == nil || !strings.Contains(err.Error(), "sctp_rto_initial") {
		t.Errorf("rto_min > rto_initial: %v", err)
	}
	if _, err := Server().Load(write1(t, "sctp_cookie_secret_rotation = 10s\n"), nil); err == nil {
		t.Error("rotation shorter than cookie life accepted")
	}
	if _, err := Proxy().Load(write1(t, "port = 6432\n"), nil); err == nil || !strings.Contains(err.Error(), "server must name") {
		t.Errorf("proxy without server: %v", err)
	}
	if _, err := Proxy().Load(write1(t, "server = '127.0.0.1:5433, [::1]:5433'\nsocket_dir = ''\n"), nil); err == nil || !strings.Contains(err.Error(), "accept nothing") {
		t.Errorf("proxy with no endpoint: %v", err)
	}
	v, err := Proxy().Load(write1(t, "server = 'db.example:5433, 127.0.0.1:5433'\nlisten = '127.0.0.1:6432'\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.List("server"); !slices.Equal(got, []string{"db.example:5433", "127.0.0.1:5433"}) {
		t.Errorf("server = %q", got)
	}
}

func write1(t *testing.T, text string) string {
	return filepath.Join(write(t, map[string]string{"pgsctp.conf": text}), "pgsctp.conf")
}

func TestReload(t *testing.T) {
	dir := write(t, map[string]string{"pgsctp.conf": "port = 6000\nlog_level = info\nsctp_rto_min = 500ms\n"})
	path := filepath.Join(dir, "pgsctp.conf")
	s := Server()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	o := s.AddFlags(fs)
	if err := fs.Parse([]string{"--max-associations=3"}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Load(path, o)
	if err != nil {
		t.Fatal(err)
	}
	// Edit: a restart setting, two reload settings, and the overridden one.
	if err := os.WriteFile(path, []byte("port = 6001\nlog_level = debug\nsctp_rto_min = 500ms\nallowed_networks = '127.0.0.0/8'\nmax_associations = 50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	next, applied, restart, err := v.Reload("")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, []string{"allowed_networks", "log_level"}) {
		t.Errorf("applied = %q", applied)
	}
	if !slices.Equal(restart, []string{"port"}) {
		t.Errorf("needRestart = %q", restart)
	}
	if next.Int("port") != 6000 {
		t.Errorf("port = %d after reload; a restart setting keeps its running value", next.Int("port"))
	}
	if next.String("log_level") != "debug" {
		t.Errorf("log_level not reloaded")
	}
	if next.Int("max_associations") != 3 {
		t.Errorf("max_associations = %d; the flag must still win after reload", next.Int("max_associations"))
	}
	if v.String("log_level") != "info" {
		t.Errorf("Reload changed the old values")
	}
	// A broken file leaves everything as it was.
	if err := os.WriteFile(path, []byte("port = nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, _, _, err := next.Reload(""); err == nil || n != nil || !strings.Contains(err.Error(), "pgsctp.conf:1") {
		t.Errorf("reload of a broken file: %v, %v", n, err)
	}
	// No change, no lists.
	if err := os.WriteFile(path, []byte("port = 6000\nlog_level = debug\nsctp_rto_min = 500ms\nallowed_networks = '127.0.0.0/8'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, a, r, err := next.Reload(""); err != nil || len(a) != 0 || len(r) != 0 {
		t.Errorf("unchanged reload: %q %q %v", a, r, err)
	}
}

func TestDescribe(t *testing.T) {
	for _, s := range []*Set{Server(), Proxy()} {
		var b bytes.Buffer
		if err := s.Describe(&b); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		if len(lines) != len(s.Settings())+1 {
			t.Fatalf("%s: %d lines for %d settings", s.Program(), len(lines), len(s.Settings()))
		}
		if f := strings.Fields(lines[0]); !slices.Equal(f, []string{"NAME", "TYPE", "DEFAULT", "UNIT", "RANGE", "CONTEXT", "DESCRIPTION"}) {
			t.Errorf("header %q", lines[0])
		}
		for i, st := range s.Settings() {
			f := strings.Fields(lines[i+1])
			if f[0] != st.Name || !strings.Contains(lines[i+1], st.Description) || !slices.Contains(f, st.Context.String()) {
				t.Errorf("%s: line %q does not describe %s", s.Program(), lines[i+1], st.Name)
			}
		}
	}
	var b bytes.Buffer
	Server().Describe(&b)
	for _, w := range []string{
		"sctp_delayed_ack", "20ms", "0..500ms",
		"udp_port", "restart", "live",
	} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("Describe lacks %q", w)
		}
	}
	if line := grep(b.String(), "sctp_rto_initial"); !strings.Contains(line, " 1s ") || !strings.Contains(line, " ms ") || !strings.Contains(line, "live") {
		t.Errorf("sctp_rto_initial line %q", line)
	}
}

func grep(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix+" ") {
			return l
		}
	}
	return ""
}

func TestContextsAreDeliberate(t *testing.T) {
	// Settings bound to sockets opened at start need a restart; policies,
	// protocol timers and the addresses of associations (ASCONF) apply on
	// reload.
	restart := map[string][]string{
		"server": {"admin_socket", "capture_file", "metrics_listen", "port", "udp_port"},
		"proxy":  {"admin_socket", "capture_file", "listen", "multiplex", "port", "socket_dir", "udp_port"},
	}
	for _, s := range []*Set{Server(), Proxy()} {
		var got []string
		for _, st := range s.Settings() {
			if st.Context == Restart {
				got = append(got, st.Name)
			}
			if st.Description == "" {
				t.Errorf("%s has no description", st.Name)
			}
		}
		if !slices.Equal(got, restart[s.Program()]) {
			t.Errorf("%s restart settings %q, want %q", s.Program(), got, restart[s.Program()])
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"port", "port", 0}, {"prot", "port", 2}, {"listen_adresses", "listen_addresses", 1}, {"abc", "", 3}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

func FuzzSplitLine(f *testing.F) {
	for _, s := range []string{"port = 5", "a 'b''c' # d", "x = '\\101\\n'", "= 1", "'", "name = 'unterminated"} {
		f.Add(s)
	}
	s := Server()
	f.Fuzz(func(t *testing.T, line string) {
		name, value, err := splitLine(line)
		if err != nil || name == "" {
			return
		}
		// Anything accepted parses the same when re-quoted.
		q := name + " = '" + strings.ReplaceAll(strings.ReplaceAll(value, `\`, `\\`), "'", "''") + "'"
		n2, v2, err := splitLine(q)
		if err != nil || n2 != name || v2 != value {
			t.Fatalf("%q -> (%q, %q); requoted %q -> (%q, %q, %v)", line, name, value, q, n2, v2, err)
		}
		if st, ok := s.Lookup(name); ok {
			st.parse(value) // must not panic
		}
	})
}

func TestSample(t *testing.T) {
	for _, s := range []*Set{Server(), Proxy()} {
		var b bytes.Buffer
		if err := s.Sample(&b); err != nil {
			t.Fatal(err)
		}
		// Uncomment every setting line: the file must parse to the defaults.
		var lines []string
		n := 0
		for _, l := range strings.Split(b.String(), "\n") {
			if len(l) > 1 && l[0] == '#' && l[1] != ' ' {
				l = l[1:]
				n++
			}
			lines = append(lines, l)
		}
		if n != len(s.Settings()) {
			t.Errorf("%s: %d setting lines for %d settings", s.Program(), n, len(s.Settings()))
		}
		v, err := parse(t, s, strings.Join(lines, "\n"))
		if err != nil {
			t.Fatalf("%s sample uncommented: %v", s.Program(), err)
		}
		d := s.Defaults()
		for _, st := range s.Settings() {
			if v.Text(st.Name) != d.Text(st.Name) {
				t.Errorf("%s %s: sample gives %q, default %q", s.Program(), st.Name, v.Text(st.Name), d.Text(st.Name))
			}
		}
	}
}

func TestServerOnePort(t *testing.T) {
	if _, err := parse(t, Proxy(), "server = '127.0.0.1:5433, ::1'\n"); err == nil || !strings.Contains(err.Error(), "one SCTP port") {
		t.Errorf("mixed ports: %v", err)
	}
	if _, err := parse(t, Proxy(), "server = '127.0.0.1:5432, ::1, [::2]:5432'\n"); err != nil {
		t.Errorf("same port: %v", err)
	}
}
