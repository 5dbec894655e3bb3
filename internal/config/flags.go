package config

import (
	"flag"
	"fmt"
	"strings"
)

// Overrides collects settings given on the command line, to be applied
// after the file (Apply, or Set.Load). Values are checked when the flag is
// parsed, so a bad flag fails at once with the flag package's usage.
type Overrides struct {
	set  *Set
	list [][2]string
	file string
}

// File is the configuration file named with -c FILE (or --config), if any.
func (o *Overrides) File() string { return o.file }

// Add overrides one setting, as a flag would; for flags a program defines
// itself that set several settings at once.
func (o *Overrides) Add(name, value string) error { return o.add(name, value) }

// AddFlags defines one flag per setting on fs, named like the setting with
// dashes (--listen-addresses, --sctp-rto-min), plus PostgreSQL's
// "-c name=value". "-c FILE" (an argument without '=') and --config FILE
// name the configuration file instead (File). Their values land in the returned Overrides; the
// setting's default is not copied into the flag, so only flags actually
// given override the file.
func (s *Set) AddFlags(fs *flag.FlagSet) *Overrides {
	o := &Overrides{set: s}
	for _, st := range s.settings {
		fs.Var(&settingFlag{o: o, st: st}, strings.ReplaceAll(st.Name, "_", "-"),
			fmt.Sprintf("%s (%s; default %q)", st.Description, st.Context, st.Default))
	}
	fs.Var(cFlag{o}, "c", "configuration file (-c FILE), or any setting (-c name=value, repeatable)")
	fs.Func("config", "configuration file (pgsctp.conf, postgresql.conf syntax)", func(v string) error { o.file = v; return nil })
	return o
}

func (o *Overrides) add(name, value string) error {
	st, ok := o.set.Lookup(name)
	if !ok {
		return o.set.unknown(name)
	}
	if _, err := st.parse(value); err != nil {
		return fmt.Errorf("invalid value for setting %q: %w", st.Name, err)
	}
	o.list = append(o.list, [2]string{st.Name, value})
	return nil
}

// Apply sets every override on v, in command-line order. A nil Overrides
// applies nothing.
func (o *Overrides) Apply(v *Values) error {
	if o == nil {
		return nil
	}
	for _, kv := range o.list {
		if err := v.Set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

type settingFlag struct {
	o     *Overrides
	st    *Setting
	value string
}

func (f *settingFlag) String() string {
	if f == nil || f.st == nil {
		return ""
	}
	return f.value
}

func (f *settingFlag) Set(s string) error {
	if err := f.o.add(f.st.Name, s); err != nil {
		return err
	}
	f.value = s
	return nil
}

// IsBoolFlag lets a Bool setting be given as a bare --multiplex.
func (f *settingFlag) IsBoolFlag() bool { return f.st != nil && f.st.Type == Bool }

type cFlag struct{ o *Overrides }

func (c cFlag) String() string { return "" }

func (c cFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		c.o.file = s
		return nil
	}
	return c.o.add(strings.TrimSpace(name), strings.TrimSpace(value))
}
