package main

import (
	"slices"
	"strings"
	"testing"
)

// The --listen and --server forms: one port for all hosts, given once at the
// end or with each host; IPv6 in brackets.
func TestSplitHostsPort(t *testing.T) {
	for _, tc := range []struct {
		in, def string
		hosts   []string
		port    string
		bad     bool
	}{
		{in: "127.0.0.1:5432", hosts: []string{"127.0.0.1"}, port: "5432"},
		{in: "10.0.0.1,[::1]:6000", hosts: []string{"10.0.0.1", "::1"}, port: "6000"},
		{in: "a:6000,b:6000", hosts: []string{"a", "b"}, port: "6000"},
		{in: "db.example.com", def: "5432", hosts: []string{"db.example.com"}, port: "5432"},
		{in: "127.0.0.1", hosts: []string{"127.0.0.1"}, port: ""},
		{in: "a:5000,b:6000", bad: true},
		{in: "a,:5432", bad: true},
		{in: "a:99999", bad: true},
	} {
		hosts, port, err := splitHostsPort(strings.Split(tc.in, ","), tc.def)
		if tc.bad {
			if err == nil {
				t.Errorf("%q accepted: %v %q", tc.in, hosts, port)
			}
			continue
		}
		if err != nil || !slices.Equal(hosts, tc.hosts) || port != tc.port {
			t.Errorf("%q: %v %q %v; want %v %q", tc.in, hosts, port, err, tc.hosts, tc.port)
		}
	}
	if got, err := serverAddrs([]string{"127.0.0.1", "::1"}); err != nil || !slices.Equal(got, []string{"127.0.0.1:5432", "[::1]:5432"}) {
		t.Errorf("serverAddrs: %v %v", got, err)
	}
}
