package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxDepth bounds nested includes, as PostgreSQL does (CONF_FILE_MAX_DEPTH
// is 10); cycles are detected before the bound is hit.
const maxDepth = 10

// maxErrors bounds how many errors one parse reports.
const maxErrors = 50

// Parse reads the configuration file at path, with the files it includes,
// into Values that start from the defaults. Every error names FILE:LINE and
// the setting; all errors found are returned together (errors.Join). Cross-
// setting rules are not checked here: Load does that after applying the
// command line.
func (s *Set) Parse(path string) (*Values, error) {
	v := s.Defaults()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	v.path = abs
	p := &parser{v: v}
	p.file(abs, "", false)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return v, nil
}

// Load is what a program does at start: Parse the file (if path is not
// empty), apply the command-line overrides, then Validate.
func (s *Set) Load(path string, o *Overrides) (*Values, error) {
	v := s.Defaults()
	if path != "" {
		var err error
		if v, err = s.Parse(path); err != nil {
			return nil, err
		}
	}
	if err := o.Apply(v); err != nil {
		return nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

type parser struct {
	v     *Values
	errs  []error
	stack []string // absolute paths of the files being read, outermost first
}

func (p *parser) errorf(format string, args ...any) {
	if len(p.errs) == maxErrors {
		p.errs = append(p.errs, errors.New("too many errors; stopped reporting"))
	}
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, fmt.Errorf(format, args...))
	}
}

// file reads one file. at is "FILE:LINE: " of the include directive that
// names it ("" for the main file).
func (p *parser) file(path, at string, ifExists bool) {
	for i, f := range p.stack {
		if f == path {
			chain := append(append([]string(nil), p.stack[i:]...), path)
			p.errorf("%sinclude cycle: %s", at, strings.Join(chain, " -> "))
			return
		}
	}
	if len(p.stack) >= maxDepth {
		p.errorf("%scould not open configuration file %q: maximum nesting depth (%d) exceeded", at, path, maxDepth)
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if ifExists && errors.Is(err, fs.ErrNotExist) {
			return // "include_if_exists": a missing file is skipped
		}
		p.errorf("%scould not open configuration file: %w", at, err)
		return
	}
	p.stack = append(p.stack, path)
	defer func() { p.stack = p.stack[:len(p.stack)-1] }()
	for i, line := range strings.Split(string(data), "\n") {
		p.line(path, i+1, strings.TrimSuffix(line, "\r"))
	}
}

func (p *parser) line(path string, n int, line string) {
	at := fmt.Sprintf("%s:%d: ", path, n)
	name, value, err := splitLine(line)
	if err != nil {
		p.errorf("%s%v", at, err)
		return
	}
	if name == "" {
		return
	}
	dir := filepath.Dir(path)
	rel := func(f string) string {
		if filepath.IsAbs(f) {
			return f
		}
		return filepath.Join(dir, f)
	}
	switch strings.ToLower(name) {
	case "include":
		p.file(rel(value), at, false)
	case "include_if_exists":
		p.file(rel(value), at, true)
	case "include_dir":
		p.dir(rel(value), at)
	default:
		if err := p.v.set1(name, value, fmt.Sprintf("%s:%d", path, n)); err != nil {
			p.errorf("%s%v", at, err)
		}
	}
}

// dir includes "only non-hidden files ending in .conf", processed "in file
// name order ... according to C locale rules" (PostgreSQL), i.e. by bytes.
func (p *parser) dir(path, at string) {
	ents, err := os.ReadDir(path)
	if err != nil {
		p.errorf("%scould not open configuration directory: %w", at, err)
		return
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".conf") || e.IsDir() {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p.file(filepath.Join(path, n), at, false)
	}
}

// splitLine parses one line: blank, a comment, or "name [=] value
// [# comment]". The value is unquoted: a quoted value has its quotes
// removed and "”" and backslash escapes resolved. An unquoted value is a
// run of characters without blanks, quotes or '#' (PostgreSQL is stricter
// and wants quotes around, e.g., addresses; every value it accepts is
// accepted here too).
func splitLine(line string) (name, value string, err error) {
	s := strings.TrimLeft(line, " \t\f\v")
	if s == "" || s[0] == '#' {
		return "", "", nil
	}
	i := 0
	for i < len(s) && (isLetter(s[i]) || i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == '$')) {
		i++
	}
	if i == 0 {
		return "", "", fmt.Errorf("syntax error near %q: expected a setting name", clip(s))
	}
	name, s = s[:i], strings.TrimLeft(s[i:], " \t\f\v")
	if strings.HasPrefix(s, "=") {
		s = strings.TrimLeft(s[1:], " \t\f\v")
	}
	if s == "" || s[0] == '#' {
		return "", "", fmt.Errorf("syntax error: setting %q has no value", name)
	}
	if s[0] == '\'' {
		value, s, err = unquote(s)
		if err != nil {
			return "", "", fmt.Errorf("setting %q: %w", name, err)
		}
	} else {
		j := 0
		for j < len(s) && !strings.ContainsRune(" \t\f\v#'", rune(s[j])) {
			j++
		}
		value, s = s[:j], s[j:]
	}
	s = strings.TrimLeft(s, " \t\f\v")
	if s != "" && s[0] != '#' {
		return "", "", fmt.Errorf("syntax error near %q after the value of setting %q (quote values that contain blanks)", clip(s), name)
	}
	return name, value, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// unquote reads a single-quoted string at the start of s and returns its
// value and the rest of s. "To embed a single quote in a parameter value,
// write either two quotes (preferred) or backslash-quote" (PostgreSQL);
// \b \f \n \r \t and octal \ooo escapes are resolved as PostgreSQL does,
// any other backslashed character stands for itself.
func unquote(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '0', '1', '2', '3', '4', '5', '6', '7':
				o := int(e - '0')
				for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
					i++
					o = o*8 + int(s[i]-'0')
				}
				b.WriteByte(byte(o))
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated quoted string")
}
