package config

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Describe writes a table of every setting: name, type, default, unit of a
// bare number, valid range, context (reload or restart) and description,
// for "pgsctp server --describe-config".
func (s *Set) Describe(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tDEFAULT\tUNIT\tRANGE\tCONTEXT\tDESCRIPTION")
	for _, st := range s.settings {
		def := st.format(s.defaults[st.Name])
		if def == "" {
			def = "''"
		}
		unit := st.Unit
		if unit == "" {
			unit = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, st.Type, def, unit, st.rangeText(), st.Context, st.Description)
	}
	return tw.Flush()
}

func (st *Setting) rangeText() string {
	if st.Min == 0 && st.Max == 0 {
		return "-"
	}
	switch st.Type {
	case Duration:
		return st.format(time.Duration(st.Min)) + ".." + st.format(time.Duration(st.Max))
	case Int:
		return st.format(st.Min) + ".." + st.format(st.Max)
	}
	return "-"
}

// Sample writes a configuration file in which every setting appears,
// commented out, at its default, with its description: the
// postgresql.conf.sample of pgsctp. Uncommenting any line yields a valid
// file.
func (s *Set) Sample(w io.Writer) error {
	bw := &errWriter{w: w}
	fmt.Fprintf(bw, "# pgsctp %s configuration file (pgsctp.conf)\n", s.program)
	fmt.Fprint(bw, `#
# Same syntax as postgresql.conf: one "name = value" per line ('=' optional),
# '#' starts a comment, strings in single quotes ('' for a quote).
# Memory units: B kB MB GB TB (x1024). Time units: us ms s min h d.
# "include 'file'", "include_if_exists 'file'" and "include_dir 'dir'"
# read other files, relative to this file's directory.
# (reload): applied on SIGHUP. (live): on SIGHUP, to running associations
# too. (restart): read at start only.
# Command-line flags override this file, also after a reload.
`)
	for _, st := range s.settings {
		fmt.Fprintf(bw, "\n# %s (%s)\n#%s = %s\n", st.Description, st.Context, st.Name, quoteValue(st, st.format(s.defaults[st.Name])))
	}
	return bw.err
}

// quoteValue quotes a value unless it is a plain number, with or without a
// unit, or a plain word.
func quoteValue(st *Setting, v string) string {
	if st.Type == Int || st.Type == Duration || st.Type == Bool {
		return v
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "'", "''") + "'"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
