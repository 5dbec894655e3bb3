package pgdial_test

import (
	"context"
	"log"
	"net"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgsctp/pgsctp/pgfront/pgdial"
)

// A Dialer over any transport; here plain TCP to a pgsctp relay, as in
// tests. pgdial.SCTP gives one over SCTP.
func Example() {
	d := &pgdial.Dialer{Transport: func(ctx context.Context, addr string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "tcp", addr)
	}}
	ctx := context.Background()
	const connString = "host=db.example.com port=5432 user=app dbname=app"

	// pgx.
	conn, err := d.Connect(ctx, connString)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)

	// database/sql, over pgx's driver or lib/pq.
	db, err := d.OpenDB(connString)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	pq, err := d.OpenPQ(connString)
	if err != nil {
		log.Fatal(err)
	}
	defer pq.Close()

	// pgxpool: configure the pool's connection config.
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		log.Fatal(err)
	}
	d.Configure(&cfg.ConnConfig.Config)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
}
