package pgfront

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
)

// Report is what the admin interface tells about a running server or proxy.
type Report struct {
	Role         string              `json:"role"` // "server" or "proxy"
	PID          int                 `json:"pid"`
	Started      time.Time           `json:"started"`
	Listen       []string            `json:"listen"`
	Upstream     string              `json:"upstream,omitempty"`
	Associations []AssociationStatus `json:"associations"`
	Sessions     []SessionStatus     `json:"sessions"`
}

// SessionStatus is a session as the admin interface reports it.
type SessionStatus struct {
	ID          uint64    `json:"id"`
	Remote      []string  `json:"remote"`
	Start       time.Time `json:"start"`
	Kind        string    `json:"kind"`
	User        string    `json:"user,omitempty"`
	Database    string    `json:"database,omitempty"`
	Application string    `json:"application,omitempty"`
	Replication string    `json:"replication,omitempty"`
	BytesUp     int64     `json:"bytes_up"`
	BytesDown   int64     `json:"bytes_down"`
}

// Sessions reports a relay's sessions for the admin interface.
func Sessions(r *Relay) []SessionStatus {
	infos := r.Sessions()
	out := make([]SessionStatus, 0, len(infos))
	for _, i := range infos {
		s := SessionStatus{ID: i.ID, Start: i.Start, Kind: i.Kind, User: i.User, Database: i.Database,
			Application: i.Application, Replication: i.Replication, BytesUp: i.BytesUp, BytesDown: i.BytesDown}
		for _, a := range i.Remote {
			s.Remote = append(s.Remote, a.String())
		}
		out = append(out, s)
	}
	return out
}

// ServeAdmin answers on the Unix socket path with the current Report, as
// one JSON document per connection, until ctx ends. `pgsctp status` reads
// it. The socket is made 0600: the report names clients and databases.
func ServeAdmin(ctx context.Context, path string, report func() Report) error {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("admin socket %s is in use by a running process", path)
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return fmt.Errorf("admin socket: %w", err)
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("admin socket: %w", err)
		}
		go func() {
			defer c.Close()
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			json.NewEncoder(c).Encode(report())
		}()
	}
}

// ReadAdmin fetches the Report of the process serving the admin socket path.
func ReadAdmin(ctx context.Context, path string) (Report, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Report{}, fmt.Errorf("cannot reach admin socket: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	var r Report
	if err := json.NewDecoder(c).Decode(&r); err != nil {
		return Report{}, fmt.Errorf("admin socket %s: %w", path, err)
	}
	return r, nil
}

// WriteReport prints a Report for people.
func WriteReport(w io.Writer, r Report) {
	fmt.Fprintf(w, "pgsctp %s, pid %d, up %s\n", r.Role, r.PID, time.Since(r.Started).Round(time.Second))
	fmt.Fprintf(w, "  listening: %s\n", strings.Join(r.Listen, ", "))
	if r.Upstream != "" {
		fmt.Fprintf(w, "  upstream:  %s\n", r.Upstream)
	}
	fmt.Fprintf(w, "  associations: %d, sessions: %d\n", len(r.Associations), len(r.Sessions))
	sort.Slice(r.Associations, func(i, j int) bool { return r.Associations[i].Since.Before(r.Associations[j].Since) })
	for _, a := range r.Associations {
		st := a.Stats
		fmt.Fprintf(w, "\n  association %s <-> %s  %s  tags %08x/%08x  sessions %d  up %s\n",
			a.Local, strings.Join(a.Peer, ","), st.State, st.LocalTag, st.PeerTag, a.Sessions, time.Since(a.Since).Round(time.Second))
		fmt.Fprintf(w, "    sent %s in %d packets, received %s in %d packets, retransmitted %d chunks (fast %d, T3 %d), peer window %s\n",
			bytesHuman(st.BytesSent), st.PacketsSent, bytesHuman(st.BytesReceived), st.PacketsReceived,
			st.Retransmissions, st.FastRetransmits, st.T3Expiries, bytesHuman(uint64(st.PeerRecvWindow)))
		for _, p := range st.Paths {
			state := p.State.String()
			if p.State != assoc.PathActive {
				state = strings.ToUpper(state)
			}
			if p.Primary {
				state += " primary"
			}
			if p.Data {
				state += " data"
			}
			local := "*"
			if p.Local.IsValid() {
				local = p.Local.String()
			}
			fmt.Fprintf(w, "    path %d %s -> %s  %s  srtt %s  rto %s  mtu %d  cwnd %d  ssthresh %d  in flight %d  errors %d\n",
				p.ID, local, p.Addr, state, p.SRTT.Round(10*time.Microsecond), p.RTO, p.MTU, p.Cwnd, p.Ssthresh, p.Flight, p.Errors)
		}
		for _, c := range a.Changes {
			who, result := "peer", "done"
			if c.Local {
				who = "local"
			}
			if !c.OK {
				result = "refused: " + c.Reason
			}
			fmt.Fprintf(w, "    address change %s: %s %s %v, %s\n", c.At.Format(time.TimeOnly), who, c.Op, c.Addr, result)
		}
		if a.Err != "" {
			fmt.Fprintf(w, "    error: %s\n", a.Err)
		}
	}
	if len(r.Sessions) > 0 {
		fmt.Fprintln(w)
		for _, s := range r.Sessions {
			who := s.Kind
			if s.User != "" {
				who = fmt.Sprintf("user=%s database=%s", s.User, s.Database)
				if s.Application != "" {
					who += " application=" + s.Application
				}
			}
			fmt.Fprintf(w, "  session %d from %s: %s, up %s, %s up / %s down\n", s.ID, strings.Join(s.Remote, ","), who,
				time.Since(s.Start).Round(time.Second), bytesHuman(uint64(s.BytesUp)), bytesHuman(uint64(s.BytesDown)))
		}
	}
}

func bytesHuman(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ServeMetrics serves the Report as Prometheus text exposition on
// http://addr/metrics until ctx ends.
func ServeMetrics(ctx context.Context, addr string, report func() Report) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		WriteMetrics(w, report())
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// WriteMetrics writes the Report's figures in Prometheus text format:
// gauges for what is open now, and the counters of the associations open
// now (an association's counters leave with it).
func WriteMetrics(w io.Writer, r Report) {
	var sent, recv, rtx, pkSent, pkRecv uint64
	paths, inactive := 0, 0
	byState := map[assoc.PathState]int{}
	for _, a := range r.Associations {
		sent += a.Stats.BytesSent
		recv += a.Stats.BytesReceived
		rtx += a.Stats.Retransmissions
		pkSent += a.Stats.PacketsSent
		pkRecv += a.Stats.PacketsReceived
		for _, p := range a.Stats.Paths {
			paths++
			byState[p.State]++
			if p.State == assoc.PathInactive {
				inactive++
			}
		}
	}
	g := func(name, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s{role=%q} %v\n", name, help, name, name, r.Role, v)
	}
	g("pgsctp_associations", "SCTP associations open now.", len(r.Associations))
	g("pgsctp_sessions", "PostgreSQL sessions carried now.", len(r.Sessions))
	g("pgsctp_paths", "Paths of the open associations.", paths)
	g("pgsctp_paths_inactive", "Paths marked inactive.", inactive)
	fmt.Fprintf(w, "# HELP pgsctp_paths_by_state Paths of the open associations by state.\n# TYPE pgsctp_paths_by_state gauge\n")
	for s := assoc.PathUnconfirmed; s <= assoc.PathInactive; s++ {
		fmt.Fprintf(w, "pgsctp_paths_by_state{role=%q,state=%q} %d\n", r.Role, s.String(), byState[s])
	}
	g("pgsctp_user_bytes_sent", "User bytes sent by the open associations.", sent)
	g("pgsctp_user_bytes_received", "User bytes received by the open associations.", recv)
	g("pgsctp_packets_sent", "SCTP packets sent by the open associations.", pkSent)
	g("pgsctp_packets_received", "SCTP packets received by the open associations.", pkRecv)
	g("pgsctp_retransmitted_chunks", "DATA chunks retransmitted by the open associations.", rtx)
}
