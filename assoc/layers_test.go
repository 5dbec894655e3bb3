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
// association core own no sockets, files, locks or clock. Everything enters
// as a call with now.
func TestSansIO(t *testing.T) {
	forbiddenImports := map[string]bool{"net": true, "os": true, "sync": true, "syscall": true, "os/exec": true, "net/http": true}
	forbiddenCalls := map[string]bool{"time.Now": true, "time.Sleep": true, "time.AfterFunc": true, "time.NewTimer": true, "time.NewTicker": true, "time.Tick": true, "time.After": true, "time.Since": true, "time.Until": true}
	dirs := []string{"../chunk", "../crc32c", ".", "serial", "recvq"}
	checked := 0
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
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
				if forbiddenImports[p] {
					t.Errorf("%s imports %q: the sans-I/O layers must not", f, p)
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
	if checked < 10 {
		t.Fatalf("checked only %d files: is the test looking in the right place?", checked)
	}
}
