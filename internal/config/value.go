package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// parse turns a value in file syntax (quotes already removed) into the
// setting's Go value, checking bounds and Check.
func (st *Setting) parse(s string) (any, error) {
	var v any
	var err error
	switch st.Type {
	case Bool:
		v, err = parseBool(s)
	case Int:
		var n int64
		n, err = parseInt(s, st.Unit)
		if err == nil {
			err = st.bounds(n, func(x int64) string { return st.format(x) })
		}
		v = n
	case Duration:
		var d time.Duration
		d, err = parseDuration(s, st.Unit)
		if err == nil {
			err = st.bounds(int64(d), func(x int64) string { return st.format(time.Duration(x)) })
		}
		v = d
	case String:
		v = s
	case List:
		v = splitList(s)
	case CIDRList:
		v, err = parsePrefixes(s)
	default:
		err = fmt.Errorf("unknown type %v", st.Type)
	}
	if err != nil {
		return nil, err
	}
	if st.Check != nil {
		if err := st.Check(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (st *Setting) bounds(n int64, f func(int64) string) error {
	if st.Min == 0 && st.Max == 0 {
		return nil
	}
	if n < st.Min || n > st.Max {
		return fmt.Errorf("%s is outside the valid range (%s .. %s)", f(n), f(st.Min), f(st.Max))
	}
	return nil
}

// parseBool accepts what PostgreSQL accepts: "on, off, true, false, yes,
// no, 1, 0 (all case-insensitive) or any unambiguous prefix of one of
// these".
func parseBool(s string) (bool, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if l != "" {
		words := []struct {
			w string
			v bool
		}{{"on", true}, {"off", false}, {"true", true}, {"false", false}, {"yes", true}, {"no", false}, {"1", true}, {"0", false}}
		matched := 0
		var val bool
		for _, w := range words {
			if l == w.w {
				return w.v, nil
			}
			if strings.HasPrefix(w.w, l) {
				matched++
				val = w.v
			}
		}
		if matched == 1 {
			return val, nil
		}
	}
	return false, fmt.Errorf("%q is not a Boolean (on/off, true/false, yes/no, 1/0)", s)
}

// Memory units, "The multiplier for memory units is 1024, not 1000".
var memUnits = []struct {
	name string
	mult int64
}{{"B", 1}, {"kB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}}

// Time units, in nanoseconds.
var timeUnits = []struct {
	name string
	mult int64
}{{"us", int64(time.Microsecond)}, {"ms", int64(time.Millisecond)}, {"s", int64(time.Second)},
	{"min", int64(time.Minute)}, {"h", int64(time.Hour)}, {"d", 24 * int64(time.Hour)}}

// splitNumber splits "1.5 MB" into "1.5" and "MB". PostgreSQL: "Unit names
// are case-sensitive, and there can be whitespace between the numeric value
// and the unit."
func splitNumber(s string) (num, unit string) {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X") {
		i += 2
		for i < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[i]) >= 0 {
			i++
		}
	} else {
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == 'e' && i+1 < len(s) && (s[i+1] >= '0' && s[i+1] <= '9' || s[i+1] == '-' || s[i+1] == '+') || (s[i] == '-' || s[i] == '+') && i > 0 && s[i-1] == 'e') {
			i++
		}
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// parseNumber parses the numeric part: decimal, or for whole numbers also
// hexadecimal (0x) and octal (leading 0), as PostgreSQL accepts for integer
// parameters.
func parseNumber(num string) (float64, bool, error) {
	if num == "" {
		return 0, false, errors.New("no number")
	}
	if !strings.ContainsAny(num, ".eE") || strings.Contains(strings.ToLower(num), "0x") {
		n, err := strconv.ParseInt(num, 0, 64)
		if err != nil {
			return 0, false, err
		}
		return float64(n), true, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false, fmt.Errorf("bad number %q", num)
	}
	return f, false, nil
}

// scale converts a number given in unit mult to base units. "If a
// fractional value is specified with a unit, it will be rounded to a
// multiple of the next smaller unit if there is one" (PostgreSQL); the
// result is then rounded to a whole base unit.
func scale(f float64, mult, smaller, base int64) (int64, error) {
	x := f * float64(mult)
	if smaller > 0 {
		x = math.Round(x/float64(smaller)) * float64(smaller)
	}
	x = math.Round(x / float64(base))
	if x > math.MaxInt64/2 || x < math.MinInt64/2 {
		return 0, errors.New("value out of range")
	}
	return int64(x), nil
}

// parseInt parses an integer; unit "B" allows memory units, and the result
// is in bytes.
func parseInt(s, unit string) (int64, error) {
	num, u := splitNumber(s)
	f, whole, err := parseNumber(num)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	if u == "" {
		if whole {
			n, _ := strconv.ParseInt(num, 0, 64)
			return n, nil
		}
		return int64(math.Round(f)), nil
	}
	if unit != "B" {
		return 0, fmt.Errorf("%q: this setting takes no unit", s)
	}
	for i, mu := range memUnits {
		if mu.name == u {
			var smaller int64
			if i > 0 {
				smaller = memUnits[i-1].mult
			}
			n, err := scale(f, mu.mult, smaller, 1)
			if err != nil {
				return 0, fmt.Errorf("%q: %w", s, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%q: invalid unit %q (valid units are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\")", s, u)
}

// parseDuration parses a time; a bare number is in unit base ("ms", "s").
func parseDuration(s, base string) (time.Duration, error) {
	num, u := splitNumber(s)
	f, _, err := parseNumber(num)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time", s)
	}
	if u == "" {
		u = base
	}
	for i, tu := range timeUnits {
		if tu.name == u {
			// The microsecond is the smallest unit: values round to it.
			smaller := timeUnits[0].mult
			if i > 0 {
				smaller = timeUnits[i-1].mult
			}
			n, err := scale(f, tu.mult, smaller, 1)
			if err != nil {
				return 0, fmt.Errorf("%q: %w", s, err)
			}
			return time.Duration(n), nil
		}
	}
	return 0, fmt.Errorf("%q: invalid unit %q (valid units are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\")", s, u)
}

func splitList(s string) []string {
	out := []string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for _, item := range splitList(s) {
		if p, err := netip.ParsePrefix(item); err == nil {
			if p != p.Masked() {
				return nil, fmt.Errorf("%q has bits set beyond its prefix length (did you mean %s?)", item, p.Masked())
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR prefix", item)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// format writes a parsed value back in file syntax, choosing the largest
// unit that represents it exactly.
func (st *Setting) format(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "on"
		}
		return "off"
	case int64:
		if st.Unit == "B" && x != 0 {
			for i := len(memUnits) - 1; i >= 0; i-- {
				if x%memUnits[i].mult == 0 {
					return strconv.FormatInt(x/memUnits[i].mult, 10) + memUnits[i].name
				}
			}
		}
		return strconv.FormatInt(x, 10)
	case time.Duration:
		if x == 0 {
			return "0"
		}
		for i := len(timeUnits) - 1; i >= 0; i-- {
			if int64(x)%timeUnits[i].mult == 0 {
				return strconv.FormatInt(int64(x)/timeUnits[i].mult, 10) + timeUnits[i].name
			}
		}
		return strconv.FormatInt(int64(x), 10) + "ns"
	case string:
		return x
	case []string:
		return strings.Join(x, ", ")
	case []netip.Prefix:
		ss := make([]string, len(x))
		for i, p := range x {
			ss[i] = p.String()
		}
		return strings.Join(ss, ", ")
	}
	return fmt.Sprint(v)
}
