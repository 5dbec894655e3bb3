package assoc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"net/netip"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// A state cookie carries everything the server needs to create the
// association when the COOKIE ECHO comes back, so that an INIT costs the
// server no memory (RFC 9260 section 5.1.3). It is authenticated with
// HMAC-SHA-256 under a secret that rotates: the secret of epoch k is
// HMAC-SHA-256(master, k), k = creation time / rotation interval, and a
// cookie is accepted only under the current or the previous epoch's
// secret. Deriving the secrets from the time keeps the signer immutable,
// so an Endpoint and the associations it created can share it without
// locks.
type cookieSigner struct {
	master   [32]byte
	rotation time.Duration

	// macs, when not nil, keeps HMACs keyed with the secrets of the last
	// two epochs (slot epoch%2) ready for the next cookie. Deriving a
	// secret and keying an HMAC with it cost twice what signing a cookie
	// does; under an INIT flood that was a third of the socket reader's
	// time. Only a signer that one goroutine owns has it (see private).
	macs *[2]epochMAC
}

// epochMAC is an HMAC-SHA-256 keyed with the secret of epoch.
type epochMAC struct {
	epoch uint64
	h     hash.Hash
}

// private returns a copy of s, equal in every cookie it makes or accepts,
// that keeps its HMACs ready; it must be used by one goroutine only.
func (s *cookieSigner) private() *cookieSigner {
	c := *s
	c.macs = new([2]epochMAC)
	return &c
}

type cookie struct {
	created time.Time
	life    time.Duration

	localTag, localTSN uint32
	localOS, localMIS  uint16 // what our INIT ACK offered

	peerTag, peerTSN, peerRwnd uint32
	peerOS, peerMIS            uint16

	// Tie-tags (section 5.2.2): the tags of the association that existed
	// when the INIT arrived; zero when there was none.
	localTie, peerTie uint32

	localPort, peerPort uint16

	// peerAddrs are the addresses the peer presented: its INIT's source
	// and address parameters, at most maxPeerAddrs.
	peerAddrs []netip.Addr

	// auth is the AUTH both INITs offered (RFC 4895): nil if either did
	// not. The association key is derived from it at the COOKIE ECHO.
	auth *cookieAuth
}

// cookieAuth is what the association key needs from the handshake: our
// RANDOM and the peer's key vector parameters.
type cookieAuth struct {
	ourRandom  []byte
	peerRandom []byte
	peerChunks []chunk.Type
	peerHMACs  []uint16
}

// Bounds on the peer's AUTH offer kept in a cookie.
const (
	maxPeerRandom   = 64
	maxPeerAuthList = 32
)

// maxPeerAddrs bounds the addresses remembered from an INIT, so cookies
// (and the memory of an association) stay small whatever a peer lists.
const maxPeerAddrs = 16

const (
	cookieVersion  = 1
	cookieFixedLen = 1 + 8 + 4 + 4*2 + 2*2 + 4*3 + 2*2 + 4*2 + 2*2 + 1
)

var (
	errCookieInvalid = errors.New("state cookie invalid")
)

// staleCookieError reports a cookie past its lifetime.
type staleCookieError struct{ staleness time.Duration }

func (e staleCookieError) Error() string { return "state cookie stale by " + e.staleness.String() }

func (s *cookieSigner) epoch(t time.Time) uint64 {
	return uint64(t.UnixNano()) / uint64(s.rotation)
}

func (s *cookieSigner) key(epoch uint64) []byte {
	m := hmac.New(sha256.New, s.master[:])
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], epoch)
	m.Write(e[:])
	return m.Sum(nil)
}

// sign appends HMAC-SHA-256(secret of epoch, body) to dst.
func (s *cookieSigner) sign(epoch uint64, dst, body []byte) []byte {
	var h hash.Hash
	if s.macs == nil {
		h = hmac.New(sha256.New, s.key(epoch))
	} else if m := &s.macs[epoch%2]; m.h != nil && m.epoch == epoch {
		h = m.h
		h.Reset()
	} else {
		h = hmac.New(sha256.New, s.key(epoch))
		*m = epochMAC{epoch: epoch, h: h}
	}
	h.Write(body)
	return h.Sum(dst)
}

func (s *cookieSigner) seal(c *cookie) []byte {
	b := make([]byte, 0, cookieFixedLen+17*len(c.peerAddrs)+sha256.Size)
	b = append(b, cookieVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.created.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, uint32(c.life/time.Millisecond))
	b = binary.BigEndian.AppendUint32(b, c.localTag)
	b = binary.BigEndian.AppendUint32(b, c.localTSN)
	b = binary.BigEndian.AppendUint16(b, c.localOS)
	b = binary.BigEndian.AppendUint16(b, c.localMIS)
	b = binary.BigEndian.AppendUint32(b, c.peerTag)
	b = binary.BigEndian.AppendUint32(b, c.peerTSN)
	b = binary.BigEndian.AppendUint32(b, c.peerRwnd)
	b = binary.BigEndian.AppendUint16(b, c.peerOS)
	b = binary.BigEndian.AppendUint16(b, c.peerMIS)
	b = binary.BigEndian.AppendUint32(b, c.localTie)
	b = binary.BigEndian.AppendUint32(b, c.peerTie)
	b = binary.BigEndian.AppendUint16(b, c.localPort)
	b = binary.BigEndian.AppendUint16(b, c.peerPort)
	n := min(len(c.peerAddrs), maxPeerAddrs)
	b = append(b, byte(n))
	for _, a := range c.peerAddrs[:n] {
		if a.Is4() {
			b = append(b, 4)
			b = append(b, a.AsSlice()...)
		} else {
			b = append(b, 16)
			a16 := a.As16()
			b = append(b, a16[:]...)
		}
	}
	if au := c.auth; au != nil {
		b = append(b, 1, byte(len(au.ourRandom)))
		b = append(b, au.ourRandom...)
		b = append(b, byte(len(au.peerRandom)))
		b = append(b, au.peerRandom...)
		b = append(b, byte(len(au.peerChunks)))
		for _, t := range au.peerChunks {
			b = append(b, byte(t))
		}
		b = append(b, byte(len(au.peerHMACs)))
		for _, h := range au.peerHMACs {
			b = binary.BigEndian.AppendUint16(b, h)
		}
	}
	return s.sign(s.epoch(c.created), b, b)
}

// openAuth decodes the AUTH part of a cookie body (after the addresses):
// nothing, or a 1 and the fields of cookieAuth, each length-prefixed.
func openAuth(p []byte) (*cookieAuth, bool) {
	if len(p) == 0 {
		return nil, true
	}
	if p[0] != 1 {
		return nil, false
	}
	p = p[1:]
	take := func(width int) ([]byte, bool) {
		if len(p) < 1 || len(p) < 1+width*int(p[0]) {
			return nil, false
		}
		v := p[1 : 1+width*int(p[0])]
		p = p[1+width*int(p[0]):]
		return v, true
	}
	var au cookieAuth
	var ok [4]bool
	au.ourRandom, ok[0] = take(1)
	au.peerRandom, ok[1] = take(1)
	chunks, ok2 := take(1)
	ok[2] = ok2
	for _, t := range chunks {
		au.peerChunks = append(au.peerChunks, chunk.Type(t))
	}
	hmacs, ok3 := take(2)
	ok[3] = ok3
	for i := 0; i+1 < len(hmacs); i += 2 {
		au.peerHMACs = append(au.peerHMACs, binary.BigEndian.Uint16(hmacs[i:]))
	}
	if ok != [4]bool{true, true, true, true} || len(p) != 0 {
		return nil, false
	}
	return &au, true
}

// open authenticates and decodes a cookie. It returns errCookieInvalid for
// anything not made by us (the caller discards the packet silently, section
// 5.1.5 step 1) and a staleCookieError for an expired one (step 3).
func (s *cookieSigner) open(now time.Time, b []byte) (cookie, error) {
	var c cookie
	if len(b) < cookieFixedLen+sha256.Size || b[0] != cookieVersion {
		return c, errCookieInvalid
	}
	body, mac := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	created := time.Unix(0, int64(binary.BigEndian.Uint64(body[1:9])))
	ep, cur := s.epoch(created), s.epoch(now)
	if ep > cur || ep+1 < cur {
		// Signed with a secret that has been rotated out (or from the
		// future): we can no longer vouch for it.
		return c, errCookieInvalid
	}
	var sum [sha256.Size]byte
	if !hmac.Equal(s.sign(ep, sum[:0], body), mac) {
		return c, errCookieInvalid
	}
	c.created = created
	c.life = time.Duration(binary.BigEndian.Uint32(body[9:13])) * time.Millisecond
	p := body[13:]
	u32 := func() uint32 { v := binary.BigEndian.Uint32(p); p = p[4:]; return v }
	u16 := func() uint16 { v := binary.BigEndian.Uint16(p); p = p[2:]; return v }
	c.localTag, c.localTSN = u32(), u32()
	c.localOS, c.localMIS = u16(), u16()
	c.peerTag, c.peerTSN, c.peerRwnd = u32(), u32(), u32()
	c.peerOS, c.peerMIS = u16(), u16()
	c.localTie, c.peerTie = u32(), u32()
	c.localPort, c.peerPort = u16(), u16()
	n := int(p[0])
	p = p[1:]
	for range n {
		if len(p) < 1 || (p[0] != 4 && p[0] != 16) || len(p) < 1+int(p[0]) {
			return c, errCookieInvalid
		}
		addr, _ := netip.AddrFromSlice(p[1 : 1+p[0]])
		c.peerAddrs = append(c.peerAddrs, addr)
		p = p[1+p[0]:]
	}
	au, ok := openAuth(p)
	if !ok {
		return c, errCookieInvalid
	}
	c.auth = au
	// Section 5.1.5 step 3: "Compare the creation timestamp in the State
	// Cookie to the current local time. If the elapsed time is longer
	// than the lifespan carried in the State Cookie, then the packet,
	// including the COOKIE ECHO and any attached DATA chunks, SHOULD be
	// discarded, and the endpoint MUST transmit an ERROR chunk with a
	// 'Stale Cookie' error cause to the peer endpoint."
	if age := now.Sub(c.created); age > c.life {
		return c, staleCookieError{staleness: age - c.life}
	}
	return c, nil
}
