package pgdial_test

import (
	"context"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgsctp/pgsctp/pgfront/pgdial"
)

// TestRemoteAddrRedials: pgx sends a cancel request by dialing the
// session's RemoteAddr through the same DialFunc; that must reach the same
// transport address.
func TestRemoteAddrRedials(t *testing.T) {
	var dialed []string
	d := &pgdial.Dialer{Transport: func(ctx context.Context, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		c, peer := net.Pipe()
		peer.Close()
		return c, nil
	}}
	ctx := context.Background()
	c, err := d.DialContext(ctx, "tcp", "db.example:5432")
	if err != nil {
		t.Fatal(err)
	}
	ra := c.RemoteAddr()
	if ra.Network() != "tcp" || ra.String() != "db.example:5432" {
		t.Errorf("RemoteAddr = %s/%s", ra.Network(), ra)
	}
	c2, err := d.DialContext(ctx, ra.Network(), ra.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(dialed) != 2 || dialed[0] != dialed[1] {
		t.Errorf("transport dialed %q, want the same address twice", dialed)
	}
	c.Close()
	c2.Close()

	// With Addr set the transport always gets Addr, and RemoteAddr still
	// names what the driver asked for.
	d.Addr = "10.9.8.7:6000"
	c, err = d.DialContext(ctx, "tcp", "localhost:5432")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if dialed[2] != d.Addr || c.RemoteAddr().String() != "localhost:5432" {
		t.Errorf("transport got %q, RemoteAddr %s", dialed[2], c.RemoteAddr())
	}
}

func TestConfigureKeepsHostNames(t *testing.T) {
	d := &pgdial.Dialer{Transport: func(ctx context.Context, addr string) (net.Conn, error) { return nil, net.ErrClosed }}
	cfg, err := pgconn.ParseConfig("host=db.example port=5433 user=u")
	if err != nil {
		t.Fatal(err)
	}
	d.Configure(cfg)
	addrs, err := cfg.LookupFunc(context.Background(), "db.example")
	if err != nil || len(addrs) != 1 || addrs[0] != "db.example" {
		t.Errorf("LookupFunc: %q %v, want the name unresolved", addrs, err)
	}
	_, err = pgconn.ConnectConfig(context.Background(), cfg)
	if err == nil {
		t.Fatal("connected through a transport that fails")
	}
}
