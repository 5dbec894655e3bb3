package sctp

import (
	"net/netip"
	"sync"
)

// PathHealth lets associations of one process tell each other when a path
// between two addresses times out. Associations from one host to one peer
// cross the same links: when one of them sees a link die, the others move
// off it at once (assoc.Association.SuspectPath) instead of each waiting
// for a timeout of its own, so the slowest association does not set how
// long a failover takes. pgfront shares one among the associations of a
// proxy, and one among those of a server. Safe for concurrent use; the
// zero value is ready.
type PathHealth struct {
	mu   sync.Mutex
	subs map[*Association]struct{}
}

type pathHint struct{ local, peer netip.Addr }

func (h *PathHealth) add(a *Association) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = make(map[*Association]struct{})
	}
	h.subs[a] = struct{}{}
}

func (h *PathHealth) remove(a *Association) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, a)
}

// failed tells every association but from that the path from local to
// peer failed. It does not wait for them.
func (h *PathHealth) failed(from *Association, local, peer netip.Addr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for a := range h.subs {
		if a != from {
			a.hint(pathHint{local, peer})
		}
	}
}
