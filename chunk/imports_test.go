package chunk

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps the layer honest (ARCHITECTURE.md): the codec imports
// only the standard library and pgsctp's crc32c, and no net (net/netip is
// fine), os or sync; it never reads the clock.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		switch {
		case imp == "github.com/pgsctp/pgsctp/crc32c", imp == "net/netip":
		case imp == "net" || strings.HasPrefix(imp, "net/"), imp == "os" || strings.HasPrefix(imp, "os/"),
			imp == "sync" || strings.HasPrefix(imp, "sync/"), imp == "time", imp == "unsafe":
			t.Errorf("chunk imports %s", imp)
		case strings.Contains(strings.Split(imp, "/")[0], "."):
			t.Errorf("chunk imports %s, outside the standard library", imp)
		}
	}
}
