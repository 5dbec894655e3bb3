package assoc

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io"
	"slices"

	"github.com/pgsctp/pgsctp/chunk"
)

// Authenticated chunks, RFC 4895. pgsctp uses AUTH for what RFC 5061
// requires it for: ASCONF and ASCONF-ACK must arrive authenticated, so that
// nobody off the path can add an address of theirs to an association. It
// authenticates whatever else a peer asks for in its CHUNKS list.
//
// Without endpoint pair shared keys (pgsctp configures none, so the key
// identifier is always 0) the association key derives from values both
// INITs carry in the clear: AUTH proves that the sender saw the handshake,
// which an off-path attacker did not; it does not stand against one on
// the path (docs/security.md).

var (
	// ourAuthChunks are the chunk types we accept only authenticated.
	ourAuthChunks = []chunk.Type{chunk.TypeAsconf, chunk.TypeAsconfAck}
	// ourHMACs are the HMACs we offer, preferred first; RFC 4895 section
	// 6.1: "SHA-1 MUST be supported and included in the HMAC-ALGO
	// parameter".
	ourHMACs = []uint16{chunk.HMACSHA256, chunk.HMACSHA1}
	// ourExtensions is the Supported Extensions parameter of an INIT or
	// INIT ACK that offers AUTH and ASCONF (RFC 5061 section 4.2.7).
	ourExtensions = []chunk.Type{chunk.TypeAsconf, chunk.TypeAsconfAck, chunk.TypeAuth}
)

// authRandomLen is the RANDOM parameter's length: "The RANDOM parameter
// MUST contain a 32-byte Random Number" (RFC 4895 section 6.1).
const authRandomLen = 32

// authState is an association's AUTH: set once the handshake has both
// key vectors.
type authState struct {
	on         bool   // both ends offered AUTH (and ASCONF)
	key        []byte // the association shared key, section 6.1
	hmacID     uint16 // the HMAC we send with: the first of the peer's we support
	peerNeeds  [256]bool
	bundleAuth bool // the peer wants some chunk authenticated that PollTransmit bundles
}

// offerAuth puts our AUTH and ASCONF offer into an INIT or INIT ACK.
func offerAuth(c *chunk.InitChunk, random []byte) {
	c.Random = random
	c.AuthChunks = ourAuthChunks
	c.HMACAlgos = ourHMACs
	c.SupportedExt = ourExtensions
}

// peerOffers reports whether an INIT or INIT ACK offers AUTH and ASCONF
// (RFC 5061 section 4.2.7: ASCONF is used only when both list ASCONF and
// ASCONF-ACK in Supported Extensions, and only authenticated) with a
// usable RANDOM and an HMAC we have.
func peerOffers(c *chunk.InitChunk) bool {
	return len(c.Random) >= authRandomLen &&
		slices.Contains(c.SupportedExt, chunk.TypeAsconf) && slices.Contains(c.SupportedExt, chunk.TypeAsconfAck) &&
		pickHMAC(c.HMACAlgos) != 0
}

// pickHMAC is the first of the peer's HMACs we support, 0 if none: "The
// receiver of an HMAC-ALGO parameter SHOULD use the first listed algorithm
// it supports" (section 6.1).
func pickHMAC(peer []uint16) uint16 {
	for _, id := range peer {
		if slices.Contains(ourHMACs, id) {
			return id
		}
	}
	return 0
}

// keyVector is RANDOM || CHUNKS || HMAC-ALGO as sent, headers included
// (section 6.1).
func keyVector(random []byte, chunks []chunk.Type, hmacs []uint16) []byte {
	c := chunk.InitChunk{Random: random, AuthChunks: chunks, HMACAlgos: hmacs}
	return c.AppendAuthParams(nil, false)
}

// associationKey is RFC 4895 section 6.1: "selecting the numerically
// smaller key vector and concatenating it to the endpoint pair shared key,
// and then concatenating the numerically larger key vector to that. If
// the key vectors are equal as numbers but differ in length, then the
// concatenation order is the endpoint shared key, followed by the shorter
// key vector, followed by the longer key vector." Our endpoint pair shared
// key is the empty one of key identifier 0.
func associationKey(v1, v2 []byte) []byte {
	if compareVectors(v1, v2) > 0 {
		v1, v2 = v2, v1
	}
	return append(slices.Clone(v1), v2...)
}

// compareVectors compares byte vectors as big-endian numbers, the shorter
// first when they are equal as numbers.
func compareVectors(a, b []byte) int {
	ta, tb := bytes.TrimLeft(a, "\x00"), bytes.TrimLeft(b, "\x00")
	if len(ta) != len(tb) {
		return len(ta) - len(tb)
	}
	if c := bytes.Compare(ta, tb); c != 0 {
		return c
	}
	return len(a) - len(b)
}

// setupAuth turns AUTH on from our RANDOM and the peer's offer (the
// other end's INIT or INIT ACK), if both offered it.
func (a *Association) setupAuth(ourRandom []byte, peer *chunk.InitChunk) {
	a.auth = authState{}
	if a.cfg.NoASCONF || ourRandom == nil || !peerOffers(peer) {
		return
	}
	ours := keyVector(ourRandom, ourAuthChunks, ourHMACs)
	theirs := keyVector(peer.Random, peer.AuthChunks, peer.HMACAlgos)
	a.auth = authState{on: true, key: associationKey(ours, theirs), hmacID: pickHMAC(peer.HMACAlgos)}
	// RFC 5061 section 4.1.1: ASCONF and ASCONF-ACK go authenticated
	// whether or not the peer listed them.
	a.auth.peerNeeds[chunk.TypeAsconf], a.auth.peerNeeds[chunk.TypeAsconfAck] = true, true
	for _, t := range peer.AuthChunks {
		switch t {
		case chunk.TypeInit, chunk.TypeInitAck, chunk.TypeShutdownComplete, chunk.TypeAuth:
			// Section 6.1: these "MUST NOT be listed in the CHUNKS
			// parameter"; a receiver ignores them there.
		default:
			a.auth.peerNeeds[t] = true
			if t != chunk.TypeAsconf && t != chunk.TypeAsconfAck {
				a.auth.bundleAuth = true
			}
		}
	}
}

func newHMAC(id uint16, key []byte) hash.Hash {
	if id == chunk.HMACSHA1 {
		return hmac.New(sha1.New, key)
	}
	return hmac.New(sha256.New, key)
}

func hmacLen(id uint16) int {
	if id == chunk.HMACSHA1 {
		return sha1.Size
	}
	return sha256.Size
}

// authLen is the size of the AUTH chunk we send.
func (a *Association) authLen() int { return chunk.ChunkHeaderLen + 4 + hmacLen(a.auth.hmacID) }

// needsAuth reports whether the chunks of a packet (after the common
// header) hold one the peer wants authenticated.
func (a *Association) needsAuth(chunks []byte) bool {
	if !a.auth.on {
		return false
	}
	r := chunk.NewReader(chunks)
	for r.Next() {
		if a.auth.peerNeeds[r.Chunk().Type] {
			return true
		}
	}
	return false
}

// sealAuth puts an AUTH chunk in front of the chunks of pkt (a packet with
// its common header, no checksum yet) when the peer wants any of them
// authenticated: section 6.2, "the AUTH chunk MUST be placed ... before
// any chunk that needs to be authenticated", and the HMAC covers "the
// AUTH chunk and all chunks after it", computed with the HMAC field zero.
// pkt must have room for the AUTH chunk in its capacity, or is copied.
func (a *Association) sealAuth(pkt []byte) []byte {
	if !a.needsAuth(pkt[chunk.HeaderLen:]) {
		return pkt
	}
	n := a.authLen()
	end := len(pkt)
	if cap(pkt) < end+n {
		pkt = append(make([]byte, 0, end+n), pkt...)
	}
	pkt = pkt[:end+n]
	copy(pkt[chunk.HeaderLen+n:], pkt[chunk.HeaderLen:end])
	auth := pkt[chunk.HeaderLen : chunk.HeaderLen+n]
	clear(auth)
	(&chunk.AuthChunk{HMACID: a.auth.hmacID, HMAC: make([]byte, hmacLen(a.auth.hmacID))}).Append(auth[:0])
	m := newHMAC(a.auth.hmacID, a.auth.key)
	m.Write(pkt[chunk.HeaderLen:])
	m.Sum(auth[8:8])
	return pkt
}

// authVerdict is what an AUTH chunk says of the chunks after it.
type authVerdict uint8

const (
	authNone authVerdict = iota // no AUTH seen yet: nothing after is authenticated
	authGood                    // the HMAC checked: what follows is authenticated
	authBad                     // the rest of the packet is dropped
)

// checkAuth verifies an AUTH chunk c whose bytes start at rest, the
// remainder of the packet from c on (section 6.3). A packet whose AUTH
// does not verify loses the AUTH and every chunk after it, with a counter
// and no other effect; an unsupported HMAC identifier is reported to the
// peer as the section asks.
func (a *Association) checkAuth(c chunk.Raw, rest []byte) authVerdict {
	var ac chunk.AuthChunk
	if err := ac.Unmarshal(c); err != nil || !a.auth.on {
		// Section 6.3: an endpoint that did not negotiate AUTH discards
		// the AUTH chunk and what it covers.
		a.stats.AuthDropped++
		return authBad
	}
	if !slices.Contains(ourHMACs, ac.HMACID) {
		// "If the HMAC Identifier field does not contain a value the
		// receiver supports, the receiver MUST ... send an ERROR chunk
		// with the error cause Unsupported HMAC Identifier".
		var id [2]byte
		binary.BigEndian.PutUint16(id[:], ac.HMACID)
		a.errCauses = append(a.errCauses, &chunk.UnknownCause{Code: chunk.CauseUnsupportedHMAC, Info: id[:]})
		a.stats.AuthDropped++
		return authBad
	}
	if ac.KeyID != 0 || len(ac.HMAC) != hmacLen(ac.HMACID) {
		// "If the endpoint has no endpoint pair shared key for the Shared
		// Key Identifier ..., it MUST silently discard the packet".
		a.stats.AuthDropped++
		return authBad
	}
	m := newHMAC(ac.HMACID, a.auth.key)
	m.Write(rest[:chunk.ChunkHeaderLen+4])
	var zero [sha256.Size]byte
	m.Write(zero[:len(ac.HMAC)])
	m.Write(rest[chunk.ChunkHeaderLen+4+len(ac.HMAC):])
	if !hmac.Equal(m.Sum(nil), ac.HMAC) {
		// "If the calculated HMAC and the received HMAC are not the
		// same, the receiver MUST silently discard the AUTH chunk and
		// all chunks following the AUTH chunk in the packet."
		a.stats.AuthDropped++
		a.log.Debug("sctp: AUTH chunk does not verify; chunks after it dropped")
		return authBad
	}
	return authGood
}

// authRandom draws a RANDOM parameter's bytes.
func authRandom(r io.Reader) []byte {
	b := make([]byte, authRandomLen)
	if _, err := io.ReadFull(r, b); err != nil {
		panic("sctp: random source failed: " + err.Error())
	}
	return b
}

// setupAuthFromCookie turns AUTH on for an association made from a
// cookie (the server's side, or a restart) if both INITs offered it.
func (a *Association) setupAuthFromCookie(ck *cookie) {
	au := ck.auth
	if au == nil {
		a.auth = authState{}
		return
	}
	a.ourRandom = au.ourRandom
	a.setupAuth(au.ourRandom, &chunk.InitChunk{
		Random: au.peerRandom, AuthChunks: au.peerChunks, HMACAlgos: au.peerHMACs,
		SupportedExt: []chunk.Type{chunk.TypeAsconf, chunk.TypeAsconfAck},
	})
}
