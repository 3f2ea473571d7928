package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
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
}

// Relay owns the port range and the live sessions.
type Relay struct {
	log   *slog.Logger
	adv   string // "IN IP4 192.0.2.1": what c= and o= lines end with
	ports *allocator

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
	network := "udp"
	if bind.Is4() {
		network = "udp4"
	}
	// Fail now, not on the first call, if the bind address is not ours.
	probe, err := net.ListenUDP(network, &net.UDPAddr{IP: bind.AsSlice()})
	if err != nil {
		return nil, fmt.Errorf("media: config: bind ip %s: %w", bind, err)
	}
	_ = probe.Close()

	family := "IP4"
	if adv.Is6() {
		family = "IP6"
	}
	return &Relay{
		log:      log,
		adv:      "IN " + family + " " + adv.String(),
		ports:    newAllocator(network, bind, cfg.PortLow, (cfg.PortHigh-cfg.PortLow+1)/2, q, log),
		sessions: make(map[*Session]struct{}),
	}, nil
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
	return nil
}

func (r *Relay) forget(s *Session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
}
