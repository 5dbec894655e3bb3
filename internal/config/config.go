// Package config reads pgsctp.conf, the configuration file of pgsctp server
// and pgsctp proxy, in the syntax of PostgreSQL's postgresql.conf, so that
// a PostgreSQL administrator reads and writes it without a manual:
//
//	# comment
//	listen_addresses = '127.0.0.1, ::1'
//	port 5432                      # the '=' is optional
//	sctp_rto_min = 200ms           # time units: us ms s min h d
//	sctp_receive_window = '4 MB'   # memory units: B kB MB GB TB (x1024)
//	include_if_exists 'local.conf' # relative to this file's directory
//
// Each program has its own set of settings (Server, Proxy), a value of type
// Set built by a function: there is no global registry. A Set parses a file
// into Values; command-line flags are applied after the file so that they
// win (Values.Set, Set.AddFlags); Values.Reload rereads the file on SIGHUP
// and tells which changed settings take effect and which need a restart.
//
// As in PostgreSQL (chapter "Setting Parameters"): "All parameter names are
// case-insensitive", "The equal sign between name and value is optional",
// "Hash marks (#) designate the remainder of the line as a comment", and "If
// the file contains multiple entries for the same parameter, all but the
// last one are ignored". An unknown name is an error, as PostgreSQL makes it
// for the postmaster's file.
package config

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Type is the kind of value a setting holds.
type Type int

const (
	Bool     Type = iota // on/off, true/false, yes/no, 1/0, or an unambiguous prefix
	Int                  // integer; with Unit "B", memory units are accepted
	Duration             // time; a bare number is in the setting's Unit
	String               // any text
	List                 // comma-separated strings, blanks around items trimmed
	CIDRList             // comma-separated IP prefixes ("10.0.0.0/8"); a bare address means /32 or /128
)

func (t Type) String() string {
	switch t {
	case Bool:
		return "bool"
	case Int:
		return "integer"
	case Duration:
		return "duration"
	case String:
		return "string"
	case List:
		return "list"
	case CIDRList:
		return "cidr list"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Context says when a changed value takes effect.
type Context int

const (
	// Reload: applied when the file is reread on SIGHUP (usually to new
	// associations or sessions only; the description says).
	Reload Context = iota
	// Restart: read at start only; a change on reload is reported and
	// ignored until the program restarts.
	Restart
	// Live: applied on SIGHUP to new associations and to the running
	// ones too.
	Live
)

func (c Context) String() string {
	switch c {
	case Restart:
		return "restart"
	case Live:
		return "live"
	}
	return "reload"
}

// Setting describes one configuration parameter.
type Setting struct {
	Name        string  // lower_snake_case, as in the file
	Type        Type    //
	Default     string  // in file syntax; parsed when the Set is built
	Unit        string  // Int: "B" for byte counts (memory units accepted), else ""; Duration: unit of a bare number ("ms", "s")
	Min, Max    int64   // Int: bounds; Duration: bounds in nanoseconds; both zero: no bounds
	Context     Context //
	Description string  // one line, for Describe and flag help
	// Check, if not nil, validates a parsed value further (e.g. an
	// address's form); it gets the value the accessor for Type returns.
	Check func(v any) error
}

// Set is the collection of settings of one program. Build it with Server
// or Proxy; it is read-only afterwards and safe to share.
type Set struct {
	program  string
	settings []*Setting
	byName   map[string]*Setting
	defaults map[string]any
}

// newSet builds a Set and parses every default; a bad default is a bug in
// this package, caught by its tests, so it panics.
func newSet(program string, settings []*Setting) *Set {
	s := &Set{program: program, settings: settings, byName: map[string]*Setting{}, defaults: map[string]any{}}
	for _, st := range settings {
		if _, dup := s.byName[st.Name]; dup {
			panic("config: duplicate setting " + st.Name)
		}
		s.byName[st.Name] = st
		v, err := st.parse(st.Default)
		if err != nil {
			panic(fmt.Sprintf("config: default of %s: %v", st.Name, err))
		}
		s.defaults[st.Name] = v
	}
	sort.Slice(s.settings, func(i, j int) bool { return s.settings[i].Name < s.settings[j].Name })
	return s
}

// Program names the program the set belongs to ("server", "proxy").
func (s *Set) Program() string { return s.program }

// Settings returns the settings sorted by name. Do not modify them.
func (s *Set) Settings() []*Setting { return s.settings }

// Lookup finds a setting by name, case-insensitively; dashes may stand for
// underscores (as in --listen-addresses).
func (s *Set) Lookup(name string) (*Setting, bool) {
	st, ok := s.byName[normalize(name)]
	return st, ok
}

func normalize(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
}

// Defaults returns Values holding every setting's default.
func (s *Set) Defaults() *Values {
	v := &Values{set: s, vals: map[string]any{}, src: map[string]string{}}
	for k, d := range s.defaults {
		v.vals[k] = d
		v.src[k] = "default"
	}
	return v
}

// Values holds one value for every setting of a Set, and where it came
// from. A Values is not safe for concurrent mutation; the usual pattern is
// to build a new one on reload and swap it in (e.g. with atomic.Pointer).
type Values struct {
	set       *Set
	path      string            // file parsed, "" if none
	vals      map[string]any    // by setting name
	src       map[string]string // "default", "file:line", "command line"
	overrides [][2]string       // Set calls, replayed by Reload
}

// Set parses value for the named setting and stores it, as a command-line
// override: it is remembered and applied again after every Reload, so flags
// keep winning over the file.
func (v *Values) Set(name, value string) error {
	if err := v.set1(name, value, "command line"); err != nil {
		return err
	}
	v.overrides = append(v.overrides, [2]string{normalize(name), value})
	return nil
}

func (v *Values) set1(name, value, source string) error {
	st, ok := v.set.Lookup(name)
	if !ok {
		return v.set.unknown(name)
	}
	x, err := st.parse(value)
	if err != nil {
		return fmt.Errorf("invalid value for setting %q: %w", st.Name, err)
	}
	v.vals[st.Name] = x
	v.src[st.Name] = source
	return nil
}

// unknown builds the error for an unrecognized name, with a hint when a
// known name is close.
func (s *Set) unknown(name string) error {
	n := normalize(name)
	best, bestD := "", 1<<30
	for _, st := range s.settings {
		if d := editDistance(n, st.Name); d < bestD {
			best, bestD = st.Name, d
		}
	}
	if best != "" && (bestD <= 2 || bestD*3 <= len(n)) {
		return fmt.Errorf("unrecognized configuration parameter %q for pgsctp %s (did you mean %q?)", name, s.program, best)
	}
	return fmt.Errorf("unrecognized configuration parameter %q for pgsctp %s", name, s.program)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Source tells where a setting's value came from: "default", "FILE:LINE"
// or "command line".
func (v *Values) Source(name string) string { return v.src[v.mustLookup(name, -1).Name] }

// Path returns the file the values were parsed from ("" for Defaults).
func (v *Values) Path() string { return v.path }

// Get returns the parsed value of a setting (bool, int64, time.Duration,
// string, []string or []netip.Prefix by Type).
func (v *Values) Get(name string) any { return v.vals[v.mustLookup(name, -1).Name] }

// Text returns a setting's value in file syntax (units chosen to be exact).
func (v *Values) Text(name string) string {
	st := v.mustLookup(name, -1)
	return st.format(v.vals[st.Name])
}

// The typed accessors panic when name is not a setting of the set or is of
// another type: that is a programming error, found by any test that
// touches the code, never something a user's file can cause.

// Bool returns a Bool setting.
func (v *Values) Bool(name string) bool { return v.vals[v.mustLookup(name, Bool).Name].(bool) }

// Int returns an Int setting.
func (v *Values) Int(name string) int64 { return v.vals[v.mustLookup(name, Int).Name].(int64) }

// Duration returns a Duration setting.
func (v *Values) Duration(name string) time.Duration {
	return v.vals[v.mustLookup(name, Duration).Name].(time.Duration)
}

// String returns a String setting.
func (v *Values) String(name string) string { return v.vals[v.mustLookup(name, String).Name].(string) }

// List returns a copy of a List setting.
func (v *Values) List(name string) []string {
	return append([]string(nil), v.vals[v.mustLookup(name, List).Name].([]string)...)
}

// Prefixes returns a copy of a CIDRList setting; empty means none given.
func (v *Values) Prefixes(name string) []netip.Prefix {
	return append([]netip.Prefix(nil), v.vals[v.mustLookup(name, CIDRList).Name].([]netip.Prefix)...)
}

func (v *Values) mustLookup(name string, t Type) *Setting {
	st, ok := v.set.Lookup(name)
	if !ok {
		panic(fmt.Sprintf("config: no setting %q in pgsctp %s", name, v.set.program))
	}
	if t >= 0 && st.Type != t {
		panic(fmt.Sprintf("config: setting %q is a %v, not a %v", st.Name, st.Type, t))
	}
	return st
}

// Equal reports whether two parsed values of a setting are the same.
func (st *Setting) equal(a, b any) bool { return st.format(a) == st.format(b) }
