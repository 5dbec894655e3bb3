package pgfront

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ListenUnix listens where libpq looks for a PostgreSQL server with
// host=dir port=port: the Unix socket dir/.s.PGSQL.<port>. Like the
// postmaster it makes the socket 0777 (access is PostgreSQL's to decide,
// through pg_hba.conf) and replaces a stale socket left by a process that
// died, but refuses to take over one that still accepts connections. The
// socket file is removed when the listener is closed.
func ListenUnix(dir string, port int) (*net.UnixListener, error) {
	path := filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("pgfront: %s exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("pgfront: %s is in use by another server", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("pgfront: removing stale socket: %w", err)
		}
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("pgfront: %w", err)
	}
	if err := os.Chmod(path, 0o777); err != nil {
		l.Close()
		return nil, fmt.Errorf("pgfront: %w", err)
	}
	return l, nil
}
