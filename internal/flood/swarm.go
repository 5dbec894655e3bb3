package flood

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Swarm holds many idle associations open at a loopback server from one
// UDP socket, keeping only a tag per association: it sends each INIT,
// echoes each cookie and then answers the server's HEARTBEATs, nothing
// else. It measures what an idle association costs a server (issue 9,
// "10,000 associations") without the cost of as many real clients in the
// measuring process. Association i uses SCTP source port 1024+i.
type Swarm struct {
	conn    *net.UDPConn
	to      *net.UDPAddr
	dstPort uint16
	tags    []uint32 // the server's tag of association i (0: not established)
	wg      sync.WaitGroup

	// Heartbeats counts the HEARTBEATs answered since the handshakes.
	Heartbeats atomic.Int64
	// Aborts counts the ABORTs received since the handshakes.
	Aborts atomic.Int64
}

// MaxSwarm is the most associations a Swarm holds: one per SCTP port above
// 1023 from one address.
const MaxSwarm = 65535 - 1024

// NewSwarm establishes n associations with the SCTP server at target (a
// loopback UDP address) on SCTP port dstPort and answers their HEARTBEATs
// until Close. It resends the INITs still unanswered every 200 ms (a
// server may rate-limit INIT ACKs per source) until all are established
// or ctx ends.
func NewSwarm(ctx context.Context, target netip.AddrPort, dstPort uint16, n int) (*Swarm, error) {
	if !target.Addr().Unmap().IsLoopback() {
		return nil, fmt.Errorf("%w: %v", ErrNotLoopback, target)
	}
	if n <= 0 || n > MaxSwarm {
		return nil, fmt.Errorf("flood: swarm of %d associations (want 1 to %d)", n, MaxSwarm)
	}
	c, err := loopbackSocket(target, "swarm")
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(4 << 20)
	s := &Swarm{conn: c, to: net.UDPAddrFromAddrPort(target), dstPort: dstPort, tags: make([]uint32, n)}
	if err := s.handshakes(ctx); err != nil {
		c.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.answer()
	return s, nil
}

// ourTag is the Initiate Tag of association i's INIT.
func ourTag(i int) uint32 { return uint32(i) + 1 }

func (s *Swarm) send(b []byte) error {
	chunk.SetChecksum(b)
	_, err := s.conn.WriteToUDP(b, s.to)
	return err
}

func (s *Swarm) header(b []byte, i int, vtag uint32) []byte {
	return chunk.AppendHeader(b, chunk.Header{SrcPort: uint16(1024 + i), DstPort: s.dstPort, VerificationTag: vtag})
}

// handshakes runs every association's handshake: each round sends the
// INITs still unanswered and the COOKIE ECHOs still unacknowledged, then
// reads for 200 ms.
func (s *Swarm) handshakes(ctx context.Context) error {
	n := len(s.tags)
	cookies := make([][]byte, n) // kept until the COOKIE ACK
	up := make([]bool, n)
	established := 0
	buf := make([]byte, 0, 2048)
	rb := make([]byte, 9216)
	for established < n {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("flood: swarm: %d of %d associations established: %w", established, n, err)
		}
		for i := range n {
			switch {
			case up[i]:
				continue
			case cookies[i] == nil:
				buf = s.header(buf[:0], i, 0)
				buf = (&chunk.InitChunk{InitiateTag: ourTag(i), AdvRecvWindow: 1 << 16, OutboundStreams: 1,
					InboundStreams: 1, InitialTSN: 1}).Append(buf)
			default:
				buf = s.header(buf[:0], i, s.tags[i])
				buf = (&chunk.CookieEchoChunk{Cookie: cookies[i]}).Append(buf)
			}
			if err := s.send(buf); err != nil {
				return fmt.Errorf("flood: swarm: %w", err)
			}
		}
		_ = s.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			m, err := s.conn.Read(rb)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return fmt.Errorf("flood: swarm: %w", err)
			}
			i, cs, ok := s.parse(rb[:m])
			if !ok || up[i] {
				continue
			}
			r := chunk.NewReader(cs)
			for r.Next() {
				switch r.Chunk().Type {
				case chunk.TypeInitAck:
					var ia chunk.InitAckChunk
					if cookies[i] != nil || ia.Unmarshal(r.Chunk()) != nil {
						continue
					}
					s.tags[i] = ia.InitiateTag
					cookies[i] = append([]byte(nil), ia.StateCookie...)
					buf = s.header(buf[:0], i, ia.InitiateTag)
					buf = (&chunk.CookieEchoChunk{Cookie: cookies[i]}).Append(buf)
					if err := s.send(buf); err != nil {
						return fmt.Errorf("flood: swarm: %w", err)
					}
				case chunk.TypeCookieAck:
					up[i] = true
					cookies[i] = nil
					established++
				case chunk.TypeAbort:
					cookies[i], s.tags[i] = nil, 0 // start over
				}
			}
		}
	}
	_ = s.conn.SetReadDeadline(time.Time{})
	return nil
}

// parse checks a packet from the server and returns the association it is
// for (by its destination port) and its chunks.
func (s *Swarm) parse(b []byte) (int, []byte, bool) {
	h, cs, err := chunk.ParseHeader(b)
	if err != nil || h.SrcPort != s.dstPort {
		return 0, nil, false
	}
	i := int(h.DstPort) - 1024
	if i < 0 || i >= len(s.tags) || h.VerificationTag != ourTag(i) {
		return 0, nil, false
	}
	return i, cs, true
}

// answer answers HEARTBEATs until Close.
func (s *Swarm) answer() {
	defer s.wg.Done()
	rb := make([]byte, 9216)
	buf := make([]byte, 0, 2048)
	for {
		m, err := s.conn.Read(rb)
		if err != nil {
			return
		}
		i, cs, ok := s.parse(rb[:m])
		if !ok {
			continue
		}
		r := chunk.NewReader(cs)
		for r.Next() {
			switch r.Chunk().Type {
			case chunk.TypeHeartbeat:
				var hb chunk.HeartbeatChunk
				if hb.Unmarshal(r.Chunk()) != nil {
					continue
				}
				buf = s.header(buf[:0], i, s.tags[i])
				buf = (&chunk.HeartbeatAckChunk{Info: hb.Info}).Append(buf)
				if s.send(buf) == nil {
					s.Heartbeats.Add(1)
				}
			case chunk.TypeAbort:
				s.Aborts.Add(1)
			}
		}
	}
}

// Close aborts every association (the server frees them at once) and
// stops answering.
func (s *Swarm) Close() error {
	buf := make([]byte, 0, 64)
	for i, t := range s.tags {
		if t == 0 {
			continue
		}
		buf = s.header(buf[:0], i, t)
		buf = (&chunk.AbortChunk{}).Append(buf)
		_ = s.send(buf)
	}
	err := s.conn.Close()
	s.wg.Wait()
	return err
}
