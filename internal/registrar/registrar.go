// Package registrar keeps the bindings of addresses of record (AOR → device
// contacts) as RFC 3261 §10.3 describes: expiry rules, several devices per
// user, Call-ID/CSeq ordering and +sip.instance replacement. It is pure: the
// SIP adapter turns REGISTER messages into Requests and errors into
// responses, and bindings are persisted through the Store port.
//
// Bindings are held in memory, which is what Lookup reads (the call path
// never touches the store); every change is handed to the Store first and
// applied in memory only once the Store accepted it — except a plain
// refresh while the stored expiry is still more than half an interval
// away, which changes memory only (see unchangedRefresh). In the server the
// Store is store.BindingWriter, which accepts at once and writes batches
// behind (every 100 ms), so REGISTER never waits for the database.
package registrar

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Store persists bindings. It is implemented by the store adapters and must
// be safe for concurrent use.
type Store interface {
	// SaveBinding inserts or replaces the binding (AOR, Contact).
	SaveBinding(ctx context.Context, b pbx.Binding) error
	// DeleteBinding removes the binding (AOR, Contact); no error if absent.
	DeleteBinding(ctx context.Context, aor, contact string) error
	// Bindings lists every stored binding, expired ones included.
	Bindings(ctx context.Context) ([]pbx.Binding, error)
}

// Config bounds registration intervals. Zero fields take the defaults.
type Config struct {
	MinExpires     time.Duration // shorter nonzero requests are refused (423); default 60s
	MaxExpires     time.Duration // longer requests are shortened to this; default 3600s
	DefaultExpires time.Duration // when neither the contact nor the request says; default 3600s
	MaxContacts    int           // per AOR; the least recently registered are dropped; default 10
}

// Defaults applied by New to zero Config fields.
const (
	DefaultMinExpires     = 60 * time.Second
	DefaultMaxExpires     = 3600 * time.Second
	DefaultDefaultExpires = 3600 * time.Second
	DefaultMaxContacts    = 10
)

func (c Config) withDefaults() Config {
	if c.MinExpires <= 0 {
		c.MinExpires = DefaultMinExpires
	}
	if c.MaxExpires <= 0 {
		c.MaxExpires = DefaultMaxExpires
	}
	if c.MaxExpires < c.MinExpires {
		c.MaxExpires = c.MinExpires
	}
	if c.DefaultExpires <= 0 {
		c.DefaultExpires = DefaultDefaultExpires
	}
	c.DefaultExpires = min(max(c.DefaultExpires, c.MinExpires), c.MaxExpires)
	if c.MaxContacts <= 0 {
		c.MaxContacts = DefaultMaxContacts
	}
	return c
}

// Service is the registrar. It is safe for concurrent use.
//
// Locking: changes to one AOR are serialised by that AOR's key lock (held
// across the Store calls); mu guards the map only and is never held during
// Store calls, so Lookup never waits for the database. Lock order: key lock,
// then mu.
type Service struct {
	st  Store
	cfg Config
	now func() time.Time
	log *slog.Logger

	keys keyLocks
	seq  atomic.Uint64 // registration order, for "most recent first"

	mu   sync.RWMutex
	aors map[string][]record // AOR → bindings, most recent first
}

// record is a binding with its registration order.
type record struct {
	b   pbx.Binding
	seq uint64
	// stored is the expiry the Store holds for this binding: a refresh
	// that changes nothing but the expiry is not written while the stored
	// one is still more than half an interval away (see persistRefresh).
	stored time.Time
}

// New returns a registrar over st. now nil means time.Now; log nil discards.
func New(st Store, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: st, cfg: cfg.withDefaults(), now: now, log: log, aors: map[string][]record{}}
	s.keys.seed = maphash.MakeSeed()
	return s
}

// Config returns the effective configuration (defaults applied).
func (s *Service) Config() Config { return s.cfg }

// Load replaces the in-memory bindings with the persisted ones, dropping
// (and deleting from the store) those already expired, duplicates and those
// beyond MaxContacts. Call it once at start-up, before serving.
func (s *Service) Load(ctx context.Context) error {
	all, err := s.st.Bindings(ctx)
	if err != nil {
		return fmt.Errorf("load bindings: %w", err)
	}
	now := s.now()
	// Oldest expiry first, so that later expiry counts as more recent.
	slices.SortStableFunc(all, func(a, b pbx.Binding) int { return a.Expires.Compare(b.Expires) })
	aors := map[string][]record{}
	var drop []pbx.Binding
	for _, b := range all {
		if !b.Expires.After(now) {
			drop = append(drop, b)
			continue
		}
		aor := canonical(b.AOR)
		recs := aors[aor]
		if i := slices.IndexFunc(recs, func(r record) bool { return r.b.Contact == b.Contact }); i >= 0 {
			// Same contact twice (stored AORs differing in case): keep the later expiry.
			recs = slices.Delete(recs, i, i+1)
		}
		b.AOR = aor
		aors[aor] = append([]record{{b: b, seq: s.seq.Add(1), stored: b.Expires}}, recs...)
	}
	for aor, recs := range aors {
		if len(recs) > s.cfg.MaxContacts {
			for _, r := range recs[s.cfg.MaxContacts:] {
				drop = append(drop, r.b)
			}
			aors[aor] = slices.Clip(recs[:s.cfg.MaxContacts])
		}
	}
	for _, b := range drop {
		if err := s.st.DeleteBinding(ctx, b.AOR, b.Contact); err != nil {
			s.log.WarnContext(ctx, "registrar: delete stale binding", "aor", b.AOR, "contact", b.Contact, "err", err)
		}
	}
	s.mu.Lock()
	s.aors = aors
	s.mu.Unlock()
	s.log.InfoContext(ctx, "registrar: bindings loaded", "bindings", len(all)-len(drop), "dropped", len(drop))
	return nil
}

// Lookup returns copies of the unexpired bindings of aor, most recently
// registered first.
func (s *Service) Lookup(aor string) []pbx.Binding {
	aor = canonical(aor)
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return live(s.aors[aor], now)
}

// Count returns the number of unexpired bindings of all AORs.
func (s *Service) Count() int {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, recs := range s.aors {
		for _, r := range recs {
			if r.b.Expires.After(now) {
				n++
			}
		}
	}
	return n
}

// All returns a copy of every unexpired binding, sorted by AOR then most
// recent first (API listings).
func (s *Service) All() []pbx.Binding {
	now := s.now()
	s.mu.RLock()
	out := make([]pbx.Binding, 0, len(s.aors))
	for _, recs := range s.aors {
		for _, r := range recs {
			if r.b.Expires.After(now) {
				out = append(out, r.b)
			}
		}
	}
	s.mu.RUnlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].AOR < out[j].AOR })
	return out
}

// Sweep removes expired bindings from memory and the store. A binding whose
// deletion fails stays in memory (Lookup ignores it) and is retried by the
// next Sweep. Call it periodically.
func (s *Service) Sweep(ctx context.Context) {
	now := s.now()
	var aors []string
	s.mu.RLock()
	for aor, recs := range s.aors {
		if slices.ContainsFunc(recs, func(r record) bool { return !r.b.Expires.After(now) }) {
			aors = append(aors, aor)
		}
	}
	s.mu.RUnlock()
	for _, aor := range aors {
		if ctx.Err() != nil {
			return
		}
		s.sweepAOR(ctx, aor, now)
	}
}

func (s *Service) sweepAOR(ctx context.Context, aor string, now time.Time) {
	mu := s.keys.of(aor)
	mu.Lock()
	defer mu.Unlock()
	recs := s.snapshot(aor)
	kept := recs[:0:0]
	for _, r := range recs {
		if !r.b.Expires.After(now) {
			err := s.st.DeleteBinding(ctx, aor, r.b.Contact)
			if err == nil {
				s.log.DebugContext(ctx, "registrar: binding expired", "aor", aor, "contact", r.b.Contact)
				continue
			}
			s.log.WarnContext(ctx, "registrar: delete expired binding", "aor", aor, "contact", r.b.Contact, "err", err)
		}
		kept = append(kept, r)
	}
	s.set(aor, kept)
}

// RemoveAOR drops every binding of aor (the user was deleted). Memory is
// cleared even if the store fails, so calls stop reaching the user; store
// errors are logged.
func (s *Service) RemoveAOR(ctx context.Context, aor string) {
	aor = canonical(aor)
	mu := s.keys.of(aor)
	mu.Lock()
	defer mu.Unlock()
	for _, r := range s.snapshot(aor) {
		if err := s.st.DeleteBinding(ctx, aor, r.b.Contact); err != nil {
			s.log.WarnContext(ctx, "registrar: delete binding of removed aor", "aor", aor, "contact", r.b.Contact, "err", err)
		}
	}
	s.set(aor, nil)
}

// snapshot returns the records of aor, expired ones included. They are
// shared: set replaces an AOR's slice, nothing changes one in place.
func (s *Service) snapshot(aor string) []record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.aors[aor]
}

// set replaces the records of aor (most recent first); recs must not be
// shared with the caller afterwards.
func (s *Service) set(aor string, recs []record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(recs) == 0 {
		delete(s.aors, aor)
		return
	}
	s.aors[aor] = recs
}

// live returns copies of the unexpired bindings among recs, in their order.
func live(recs []record, now time.Time) []pbx.Binding {
	out := make([]pbx.Binding, 0, len(recs))
	for _, r := range recs {
		if r.b.Expires.After(now) {
			out = append(out, r.b)
		}
	}
	return out
}

// sortRecent orders records most recently registered first.
func sortRecent(recs []record) {
	slices.SortFunc(recs, func(a, b record) int { return cmp.Compare(b.seq, a.seq) })
}

// canonical lowercases an AOR (the adapter should already have).
func canonical(aor string) string { return strings.ToLower(strings.TrimSpace(aor)) }

// keyLocks serialises the changes of each AOR: a fixed set of mutexes,
// an AOR's picked by its hash. Two AORs may share one, which only orders
// their changes (the Store the server runs, store.BindingWriter, never
// waits). A map of mutexes created on demand took a global lock twice and
// allocated twice a registration.
type keyLocks struct {
	seed    maphash.Seed
	stripes [keyStripes]sync.Mutex
}

const keyStripes = 256

// of returns the mutex of key.
func (k *keyLocks) of(key string) *sync.Mutex {
	return &k.stripes[maphash.String(k.seed, key)%keyStripes]
}
