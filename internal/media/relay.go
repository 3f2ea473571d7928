package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// Side says which party a socket or an SDP faces.
type Side int

const (
	SideA Side = 0 // faces the caller
	SideB Side = 1 // faces the callee
)

func (s Side) other() Side { return 1 - s }

func (s Side) String() string {
	switch s {
	case SideA:
		return "A"
	case SideB:
		return "B"
	}
	return fmt.Sprintf("Side(%d)", int(s))
}

var (
	// ErrBadSDP wraps every error about an SDP body that cannot be used.
	ErrBadSDP = errors.New("media: bad sdp")
	// ErrNoPorts is returned when no relay port pair is free.
	ErrNoPorts = errors.New("media: no free relay ports")
	// ErrClosed is returned by a closed Relay or Session.
	ErrClosed = errors.New("media: closed")
)

// DefaultQuarantine is how long a released port pair rests when
// Config.Quarantine is zero.
const DefaultQuarantine = 10 * time.Second

// Config is the relay's bootstrap configuration.
type Config struct {
	BindIP      net.IP        // address to bind relay sockets on (e.g. 127.0.0.1 or 0.0.0.0)
	AdvertiseIP net.IP        // address written into SDP c= and o= lines; must be concrete
	PortLow     int           // first port of the range; must be even (RTP)
	PortHigh    int           // last port of the range, inclusive
	Quarantine  time.Duration // a released pair is not reused before this; DefaultQuarantine if 0
	Workers     int           // forwarding goroutines (pollers); GOMAXPROCS if 0
}

// Relay owns the port range and the live sessions.
type Relay struct {
	log       *slog.Logger
	adv       string // "IN IP4 192.0.2.1": what c= and o= lines end with
	ports     *allocator
	pollers   []*poller // forward every stream's packets
	pollerCap int       // streams per poller before the next is used (pollerStreams)

	mu       sync.Mutex
	closed   bool
	sessions map[*Session]struct{}
}

// NewRelay validates cfg and returns a relay. log may be nil.
func NewRelay(cfg Config, log *slog.Logger) (*Relay, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bind, ok := netip.AddrFromSlice(cfg.BindIP)
	if !ok {
		return nil, errors.New("media: config: bind ip is required")
	}
	bind = bind.Unmap()
	adv, ok := netip.AddrFromSlice(cfg.AdvertiseIP)
	if !ok || adv.Unmap().IsUnspecified() {
		return nil, fmt.Errorf("media: config: advertise ip %q must be a concrete address", cfg.AdvertiseIP)
	}
	adv = adv.Unmap()
	switch {
	case cfg.PortLow <= 0 || cfg.PortHigh > 65535 || cfg.PortLow > cfg.PortHigh:
		return nil, fmt.Errorf("media: config: bad port range %d-%d", cfg.PortLow, cfg.PortHigh)
	case cfg.PortLow%2 != 0:
		return nil, fmt.Errorf("media: config: port range must start on an even port, got %d", cfg.PortLow)
	case cfg.PortHigh-cfg.PortLow+1 < 2:
		return nil, fmt.Errorf("media: config: port range %d-%d holds no rtp/rtcp pair", cfg.PortLow, cfg.PortHigh)
	case cfg.Quarantine < 0:
		return nil, fmt.Errorf("media: config: negative quarantine %v", cfg.Quarantine)
	}
	q := cfg.Quarantine
	if q == 0 {
		q = DefaultQuarantine
	}
	// Fail now, not on the first call, if the bind address is not ours.
	probe, err := bindUDP(bind, 0)
	if err != nil {
		return nil, fmt.Errorf("media: config: bind ip %s: %w", bind, err)
	}
	probe.close()

	family := "IP4"
	if adv.Is6() {
		family = "IP6"
	}
	r := &Relay{
		log:       log,
		adv:       "IN " + family + " " + adv.String(),
		ports:     newAllocator(bind, cfg.PortLow, (cfg.PortHigh-cfg.PortLow+1)/2, q, log),
		sessions:  make(map[*Session]struct{}),
		pollerCap: pollerStreams,
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for range workers {
		p, err := newPoller()
		if err != nil {
			r.stopPollers()
			return nil, err
		}
		r.pollers = append(r.pollers, p)
	}
	return r, nil
}

// pollerStreams is how many streams a poller takes before the next one is
// used. Packets are cheaper when one goroutine serves many sockets: each
// wake-up then finds more of them ready, and fewer threads are woken. A
// G.711 stream brings the relay 100 packets/s, so 256 streams are about
// 25,600 packets/s, under half a core at the ~15 CPU-µs a packet costs;
// beyond that the streams spread over the other pollers (cores).
const pollerStreams = 256

// pick returns the first poller with room, else the least loaded one.
func (r *Relay) pick() *poller {
	var best *poller
	load := -1
	for _, p := range r.pollers {
		l := p.load()
		if l < r.pollerCap*socketsPerStream {
			return p
		}
		if load < 0 || l < load {
			best, load = p, l
		}
	}
	return best
}

func (r *Relay) stopPollers() {
	for _, p := range r.pollers {
		p.stop()
	}
}

// NewSession starts the relay of one call. id is the call id, used in logs.
// No ports are taken until the first Rewrite.
func (r *Relay) NewSession(id string) (*Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	s := &Session{id: id, relay: r, log: r.log.With("call_id", id)}
	r.sessions[s] = struct{}{}
	return s, nil
}

// InUse is the number of port pairs currently allocated (quarantined pairs
// are not counted).
func (r *Relay) InUse() int { return r.ports.inUseCount() }

// Close closes every session; NewSession fails afterwards.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	live := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		live = append(live, s)
	}
	r.mu.Unlock()
	for _, s := range live {
		s.Close()
	}
	r.stopPollers()
	return nil
}

func (r *Relay) forget(s *Session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
}
