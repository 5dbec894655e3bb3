package assoc_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSansIO keeps the layers honest (ARCHITECTURE.md): the codec and the
// association core own no sockets, files, locks or clock; everything enters
// as a call with now. Each package may import the standard library minus
// the forbidden packages, plus the module packages listed for it.
func TestSansIO(t *testing.T) {
	const mod = "github.com/pgsctp/pgsctp/"
	layers := []struct {
		dir     string
		modules []string // module packages it may import
		noTime  bool     // not even time's types: pure data structures and codec
	}{
		{"../crc32c", nil, true},
		{"../chunk", []string{"crc32c"}, true},
		{"serial", nil, true},
		{"recvq", []string{"chunk", "assoc/serial"}, true},
		{".", []string{"chunk", "assoc/serial", "assoc/recvq"}, false},
	}
	forbidden := []string{"net", "os", "sync", "syscall", "unsafe", "runtime", "io/fs"}
	forbiddenCalls := map[string]bool{"time.Now": true, "time.Sleep": true, "time.AfterFunc": true, "time.NewTimer": true,
		"time.NewTicker": true, "time.Tick": true, "time.After": true, "time.Since": true, "time.Until": true}
	checked := 0
	for _, l := range layers {
		files, err := filepath.Glob(filepath.Join(l.dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fs := token.NewFileSet()
			file, err := parser.ParseFile(fs, f, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, imp := range file.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				switch {
				case strings.HasPrefix(p, mod):
					ok := false
					for _, m := range l.modules {
						ok = ok || p == mod+m
					}
					if !ok {
						t.Errorf("%s imports %s: not a layer it may depend on", f, p)
					}
				case strings.Contains(strings.Split(p, "/")[0], "."):
					t.Errorf("%s imports %s: the sans-I/O layers use the standard library only", f, p)
				case p == "net/netip":
					// addresses as values are fine (ARCHITECTURE.md)
				case p == "time" && l.noTime:
					t.Errorf("%s imports time", f)
				default:
					for _, bad := range forbidden {
						if p == bad || strings.HasPrefix(p, bad+"/") {
							t.Errorf("%s imports %q: the sans-I/O layers must not", f, p)
						}
					}
				}
			}
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && forbiddenCalls[id.Name+"."+sel.Sel.Name] {
					t.Errorf("%s: %s uses %s.%s: time enters as now", f, fs.Position(sel.Pos()), id.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d files: is the test looking in the right place?", checked)
	}
}
