package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Errors returned by Register; the SIP adapter maps them to responses.
var (
	// ErrBadRequest: the request breaks RFC 3261 §10.3 (400).
	ErrBadRequest = errors.New("bad register request")
	// ErrOutOfOrder: same Call-ID as a binding with a CSeq not lower than the
	// request's (500, RFC 3261 §10.3 step 6).
	ErrOutOfOrder = errors.New("register out of order")
)

// IntervalTooBriefError refuses a nonzero expiry below the minimum; the SIP
// adapter answers 423 Interval Too Brief with Min-Expires: Min.
type IntervalTooBriefError struct {
	Min time.Duration
}

func (e *IntervalTooBriefError) Error() string {
	return fmt.Sprintf("registration interval too brief, minimum %v", e.Min)
}

// Contact is one Contact header entry of a REGISTER.
type Contact struct {
	URI      string // as the device sent it; bindings are matched on this string
	Expires  int    // the expires parameter in seconds, -1 when absent
	Instance string // +sip.instance, "" when absent
	Star     bool   // the wildcard "*"
}

// Request is a REGISTER as the registrar needs it.
type Request struct {
	AOR       string    // canonical lowercase alice@contoso.com
	Contacts  []Contact // empty = query
	Expires   int       // Expires header in seconds, -1 when absent
	CallID    string
	CSeq      uint32
	Source    string // ip:port the request came from
	Transport string // udp | tcp | tls
	UserAgent string
}

// Register applies a REGISTER (RFC 3261 §10.3) and returns the unexpired
// bindings of the AOR afterwards, most recent first, for the 200 response.
//
// A contact's expiry is its expires parameter, else the Expires header, else
// Config.DefaultExpires; 0 removes the binding, a nonzero value below
// MinExpires fails with *IntervalTooBriefError, one above MaxExpires is
// shortened. "*" is accepted only alone and with Expires: 0 (else
// ErrBadRequest), and removes every binding. A contact replaces the bindings
// with the same URI or the same +sip.instance; if one of those has the same
// Call-ID and a CSeq not lower than the request's, the whole request fails
// with ErrOutOfOrder. Beyond Config.MaxContacts the least recently
// registered bindings are dropped.
//
// The request is all or nothing: it is checked completely before anything
// changes, and memory changes only after every Store write succeeded
// (writes are idempotent, so the client's retry converges).
func (s *Service) Register(ctx context.Context, r Request) ([]pbx.Binding, error) {
	aor := canonical(r.AOR)
	if aor == "" {
		return nil, fmt.Errorf("%w: empty address of record", ErrBadRequest)
	}
	star := slices.ContainsFunc(r.Contacts, func(c Contact) bool { return c.Star })
	if star && (len(r.Contacts) != 1 || r.Expires != 0) {
		return nil, fmt.Errorf("%w: contact \"*\" must be alone and with Expires: 0", ErrBadRequest)
	}
	if len(r.Contacts) == 0 {
		return s.Lookup(aor), nil
	}
	if r.CallID == "" {
		return nil, fmt.Errorf("%w: empty Call-ID", ErrBadRequest)
	}
	expiries := make([]time.Duration, len(r.Contacts))
	for i, c := range r.Contacts {
		if c.Star {
			continue
		}
		if strings.TrimSpace(c.URI) == "" {
			return nil, fmt.Errorf("%w: empty contact URI", ErrBadRequest)
		}
		d, err := s.expiry(c.Expires, r.Expires)
		if err != nil {
			return nil, err
		}
		expiries[i] = d
	}

	mu := s.keys.of(aor)
	mu.Lock()
	defer mu.Unlock()
	now := s.now()
	before := s.snapshot(aor)

	if err := checkOrder(r, before, star, now); err != nil {
		return nil, err
	}
	var next []record
	if !star {
		next = s.apply(aor, r, expiries, before, now)
	}

	// Write through: saves first, so a failure part-way never leaves the
	// device with no binding (in request order); then deletions.
	for i := len(next) - 1; i >= 0; i-- {
		rec := &next[i]
		if slices.ContainsFunc(before, func(o record) bool { return o.seq == rec.seq }) {
			continue
		}
		if stored, ok := unchangedRefresh(before, rec.b, now); ok {
			rec.stored = stored // a plain refresh: the stored binding is still good
			continue
		}
		if err := s.st.SaveBinding(ctx, rec.b); err != nil {
			return nil, fmt.Errorf("save binding %s %s: %w", aor, rec.b.Contact, err)
		}
		rec.stored = rec.b.Expires
	}
	for _, old := range before {
		if !slices.ContainsFunc(next, func(n record) bool { return n.b.Contact == old.b.Contact }) {
			if err := s.st.DeleteBinding(ctx, aor, old.b.Contact); err != nil {
				return nil, fmt.Errorf("delete binding %s %s: %w", aor, old.b.Contact, err)
			}
		}
	}
	s.set(aor, next)
	if s.log.Enabled(ctx, slog.LevelDebug) { // slog's log frame grows a fresh goroutine's stack even when disabled
		s.log.DebugContext(ctx, "registrar: register", "aor", aor, "call_id", r.CallID,
			"contacts", len(r.Contacts), "bindings", len(next))
	}
	return live(next, now), nil
}

// unchangedRefresh reports whether b only refreshes a binding in before
// (same contact, source, transport, instance and user agent) whose stored
// expiry is still more than half of b's interval away; it returns that
// stored expiry. Such refreshes are not written: the REGISTER path stays
// off the database for the common case (phones refresh every half
// interval), and after a restart the stored binding is still valid until
// the phone's next refresh. Call-ID and CSeq are not compared: they only
// order the REGISTERs of a live registrar (checkOrder, in memory); a
// stored older pair after a restart only means the next REGISTER is not
// checked against it, which it would pass anyway (its CSeq is higher, or
// its Call-ID new — some phones take a new Call-ID for every refresh).
func unchangedRefresh(before []record, b pbx.Binding, now time.Time) (time.Time, bool) {
	for _, o := range before {
		ob := o.b
		if ob.Contact != b.Contact || ob.Source != b.Source || ob.Transport != b.Transport ||
			ob.Instance != b.Instance || ob.UserAgent != b.UserAgent {
			continue
		}
		if o.stored.Sub(now) > b.Expires.Sub(now)/2 {
			return o.stored, true
		}
	}
	return time.Time{}, false
}

// expiry returns the interval for a contact: its parameter, else the header,
// else the default; clamped to MaxExpires; 0 means remove.
func (s *Service) expiry(param, header int) (time.Duration, error) {
	secs := param
	if secs < 0 {
		secs = header
	}
	if secs < 0 {
		return s.cfg.DefaultExpires, nil
	}
	if secs == 0 {
		return 0, nil
	}
	if int64(secs) > int64(s.cfg.MaxExpires/time.Second) {
		return s.cfg.MaxExpires, nil
	}
	d := time.Duration(secs) * time.Second
	if d < s.cfg.MinExpires {
		return 0, &IntervalTooBriefError{Min: s.cfg.MinExpires}
	}
	return d, nil
}

// apply returns the records of aor after the request's contacts: expired
// bindings dropped, matching ones replaced or removed, new ones first, at
// most MaxContacts.
func (s *Service) apply(aor string, r Request, expiries []time.Duration, before []record, now time.Time) []record {
	next := make([]record, 0, len(before)+len(r.Contacts))
	for _, rec := range before {
		if rec.b.Expires.After(now) {
			next = append(next, rec)
		}
	}
	for i, c := range r.Contacts {
		next = slices.DeleteFunc(next, func(rec record) bool { return matches(rec.b, c) })
		if expiries[i] == 0 {
			continue
		}
		b := pbx.Binding{
			AOR:       aor,
			Contact:   c.URI,
			Source:    r.Source,
			Transport: r.Transport,
			Expires:   now.Add(expiries[i]),
			CallID:    r.CallID,
			CSeq:      r.CSeq,
			UserAgent: r.UserAgent,
			Instance:  c.Instance,
		}
		next = append(next, record{b: b, seq: s.seq.Add(1)})
	}
	sortRecent(next)
	if len(next) > s.cfg.MaxContacts {
		next = next[:s.cfg.MaxContacts]
	}
	return slices.Clip(next)
}

// matches says whether contact c designates binding b: same URI, or same
// +sip.instance (the device re-registered from a new address).
func matches(b pbx.Binding, c Contact) bool {
	return b.Contact == c.URI || (c.Instance != "" && strings.EqualFold(b.Instance, c.Instance))
}

// checkOrder applies RFC 3261 §10.3 step 6 to every unexpired binding the
// request designates (all of them for "*"): with the same Call-ID the
// request's CSeq must be higher than the binding's.
func checkOrder(r Request, before []record, star bool, now time.Time) error {
	for _, old := range before {
		if !old.b.Expires.After(now) || old.b.CallID != r.CallID || r.CSeq > old.b.CSeq {
			continue
		}
		if star || slices.ContainsFunc(r.Contacts, func(c Contact) bool { return matches(old.b, c) }) {
			return fmt.Errorf("%w: call-id %s cseq %d not above %d", ErrOutOfOrder, r.CallID, r.CSeq, old.b.CSeq)
		}
	}
	return nil
}
