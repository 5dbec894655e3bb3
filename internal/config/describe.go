package config

import (
	"fmt"
	"io"
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
