package recvq

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSansIO keeps this package and assoc/serial in the sans-I/O core:
// their non-test files import only the standard library minus net, os,
// sync, time and unsafe, plus the codec and serial arithmetic; and they
// never name time.Now, time.Sleep or time.AfterFunc.
func TestSansIO(t *testing.T) {
	forbidden := []string{"net", "os", "sync", "time", "unsafe", "syscall", "runtime"}
	allowedModule := map[string]bool{
		"github.com/pgsctp/pgsctp/chunk":        true,
		"github.com/pgsctp/pgsctp/assoc/serial": true,
	}
	for _, dir := range []string{".", "../serial"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if strings.Contains(path, ".") {
					if !allowedModule[path] {
						t.Errorf("%s imports %s", name, path)
					}
					continue
				}
				for _, bad := range forbidden {
					if path == bad || strings.HasPrefix(path, bad+"/") {
						t.Errorf("%s imports %s", name, path)
					}
				}
			}
			for _, call := range []string{"time.Now", "time.Sleep", "time.AfterFunc"} {
				if strings.Contains(string(src), call) {
					t.Errorf("%s names %s", name, call)
				}
			}
		}
	}
}
