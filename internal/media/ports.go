package media

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// pair is one bound RTP/RTCP socket pair taken from the allocator.
type pair struct {
	idx  int
	port int // RTP port; RTCP is port+1
	rtp  *sock
	rtcp *sock
}

// close closes the sockets that a poller has not closed already.
func (p *pair) close() {
	p.rtp.close()
	p.rtcp.close()
}

// slot is the allocator's view of one pair of the range.
type slot struct {
	busy   bool
	freeAt time.Time // a released slot is not handed out before this
}

// allocator hands out port pairs round robin and quarantines released ones.
type allocator struct {
	ip         netip.Addr
	low        int
	quarantine time.Duration
	log        *slog.Logger
	now        func() time.Time // replaced by tests

	mu    sync.Mutex
	slots []slot
	next  int
	inUse int
}

func newAllocator(ip netip.Addr, low, pairs int, quarantine time.Duration, log *slog.Logger) *allocator {
	return &allocator{
		ip:         ip,
		low:        low,
		quarantine: quarantine,
		log:        log,
		now:        time.Now,
		slots:      make([]slot, pairs),
		next:       rand.IntN(pairs), // spread restarts over the range
	}
}

// alloc reserves a free pair and binds both of its sockets. Ports that
// another process holds are quarantined like released ones and skipped.
func (a *allocator) alloc() (*pair, error) {
	for range len(a.slots) {
		idx, ok := a.reserve()
		if !ok {
			break
		}
		port := a.low + 2*idx
		p, err := a.bind(idx, port)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			a.log.Debug("media: port busy, skipped", "port", port, "err", err)
			a.free(idx, true)
			continue
		}
		a.free(idx, false)
		return nil, fmt.Errorf("media: bind port %d: %w", port, err)
	}
	return nil, fmt.Errorf("%w in %d-%d", ErrNoPorts, a.low, a.low+2*len(a.slots)-1)
}

// release closes p's sockets and frees its slot, into quarantine if the
// pair may have carried media.
func (a *allocator) release(p *pair, quarantine bool) {
	p.close()
	a.free(p.idx, quarantine)
}

func (a *allocator) reserve() (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	n := len(a.slots)
	for i := range n {
		idx := (a.next + i) % n
		s := &a.slots[idx]
		if s.busy || now.Before(s.freeAt) {
			continue
		}
		s.busy = true
		a.inUse++
		a.next = (idx + 1) % n
		return idx, true
	}
	return 0, false
}

func (a *allocator) free(idx int, quarantine bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := &a.slots[idx]
	if !s.busy {
		return
	}
	s.busy = false
	a.inUse--
	if quarantine {
		s.freeAt = a.now().Add(a.quarantine)
	}
}

func (a *allocator) bind(idx, port int) (*pair, error) {
	rtp, err := bindUDP(a.ip, port)
	if err != nil {
		return nil, err
	}
	rtcp, err := bindUDP(a.ip, port+1)
	if err != nil {
		rtp.close()
		return nil, err
	}
	return &pair{idx: idx, port: port, rtp: rtp, rtcp: rtcp}, nil
}

func (a *allocator) inUseCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inUse
}
