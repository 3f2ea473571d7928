package numbering

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// plan is one compiled operator configuration. It is never modified once
// published: Reconfigure swaps the whole of it, so that a decision reads
// one configuration from start to end.
type plan struct {
	cfg        Config
	spans      []span // parallel to cfg.Inventory
	sold       map[string]bool
	quarantine time.Duration
}

// compile builds the plan of a validated cfg.
func compile(cfg Config) *plan {
	p := &plan{cfg: cfg, sold: map[string]bool{}, quarantine: cfg.Quarantine}
	if p.quarantine <= 0 {
		p.quarantine = DefaultQuarantine
	}
	for _, c := range cfg.Countries {
		p.sold[c] = true
	}
	for _, r := range cfg.Inventory {
		sp, _ := parseSpan(r.Range) // validated
		p.spans = append(p.spans, sp)
	}
	return p
}

// p is the configuration in force.
func (s *Service) p() *plan { return s.plan.Load() }

// lookup finds the range of a number.
func (p *plan) lookup(num string) (Range, bool) {
	for i, sp := range p.spans {
		if sp.contains(num) {
			return p.cfg.Inventory[i], true
		}
	}
	return Range{}, false
}

// carriers lists the carriers by priority, then name.
func (p *plan) carriers() []Carrier {
	out := slices.Clone(p.cfg.Carriers)
	slices.SortStableFunc(out, func(a, b Carrier) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Change says what a Reconfigure changed.
type Change struct {
	// Changes are human-readable lines ("carrier carrier-c added").
	Changes []string `json:"changes"`
	// Restart lists the keys (of the callingPlan section) whose new value
	// was not applied: it only takes effect after a restart.
	Restart []string `json:"needsRestart"`
}

// ReconfigureError is a configuration Reconfigure refuses; nothing
// changed. Problems use the keys of the configuration, like Validate.
type ReconfigureError struct {
	Problems []Problem
}

func (e *ReconfigureError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Path + ": " + p.Message
	}
	return "calling plan: " + strings.Join(lines, "; ")
}

// Unwrap makes a ReconfigureError an ErrInvalid.
func (e *ReconfigureError) Unwrap() error { return ErrInvalid }

// maxListed bounds the numbers named in one problem.
const maxListed = 5

// Reconfigure replaces the operator's configuration while calls go on
// (hot reload): cfg is validated whole and, if anything is wrong, nothing
// changes and a *ReconfigureError says what. Otherwise the new
// configuration is published at once for every decision that starts after
// it; live state is kept: balances, spend limits, pool usage, the
// reservations of calls in progress and the numbers tenants hold.
//
// Calls in progress keep what they were admitted with: their carriers,
// and for calls paid by credits the rate of their reservation (a rate
// change applies to calls admitted after it). Pool sizes follow the
// licences and plans in force, so a changed allowance changes how many
// minutes are left this month for every call, in progress or not.
//
// The number inventory may grow, shrink or lose ranges, except under a
// number a tenant holds (acquired or assigned): such a configuration is
// refused, naming the numbers, until they are released. Quarantined
// numbers of a removed range are forgotten by the inventory; their
// quarantine still holds if the range comes back.
//
// The length of a billed minute (testMinuteSeconds) counts the minutes of
// reservations in progress and is not changed: a new value is reported in
// Change.Restart.
func (s *Service) Reconfigure(cfg Config) (Change, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return Change{}, &ReconfigureError{Problems: ps}
	}
	next := compile(cfg)
	var ch Change
	minute := cfg.Minute
	if minute <= 0 {
		minute = time.Minute
	}
	if minute != s.minute {
		ch.Restart = append(ch.Restart, "testMinuteSeconds")
		next.cfg.Minute = s.p().cfg.Minute
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var orphans []string
	for _, n := range s.numbers {
		if n.Tenant == "" {
			continue
		}
		if _, ok := next.lookup(n.Number); !ok {
			held := "tenant " + n.Tenant
			if n.User != "" {
				held += ", assigned to " + n.User
			}
			orphans = append(orphans, fmt.Sprintf("%s (%s)", n.Number, held))
		}
	}
	if len(orphans) > 0 {
		slices.Sort(orphans)
		more := ""
		if len(orphans) > maxListed {
			more = fmt.Sprintf(" and %d more", len(orphans)-maxListed)
			orphans = orphans[:maxListed]
		}
		return Change{}, &ReconfigureError{Problems: []Problem{{Path: "numberInventory",
			Message: fmt.Sprintf("no range holds %s%s any more: release the number(s) first, or keep their range",
				strings.Join(orphans, ", "), more)}}}
	}
	ch.Changes = diffPlans(s.p().cfg, next.cfg)
	s.plan.Store(next) // under s.mu: Acquire cannot take a number from a range going away
	return ch, nil
}

// diffPlans describes what differs from old to next.
func diffPlans(old, next Config) []string {
	out := []string{}
	if !slices.Equal(old.Countries, next.Countries) {
		out = append(out, fmt.Sprintf("countries: %s → %s", strings.Join(old.Countries, ","), strings.Join(next.Countries, ",")))
	}
	oc := map[string]Carrier{}
	for _, c := range old.Carriers {
		oc[c.Name] = c
	}
	nc := map[string]bool{}
	for _, c := range next.Carriers {
		nc[c.Name] = true
		switch o, ok := oc[c.Name]; {
		case !ok:
			out = append(out, "carrier "+c.Name+" added")
		case o.Address != c.Address || o.Transport != c.Transport || o.Priority != c.Priority ||
			!slices.Equal(o.Countries, c.Countries):
			out = append(out, "carrier "+c.Name+" changed")
		}
	}
	for _, c := range old.Carriers {
		if !nc[c.Name] {
			out = append(out, "carrier "+c.Name+" removed")
		}
	}
	if !equalPlans(old.Plans, next.Plans) {
		out = append(out, "plans changed")
	}
	or := map[string]Money{}
	for _, r := range old.Rates {
		or[r.Prefix] = r.PerMinute
	}
	nr := map[string]bool{}
	for _, r := range next.Rates {
		nr[r.Prefix] = true
		switch o, ok := or[r.Prefix]; {
		case !ok:
			out = append(out, fmt.Sprintf("rate %s added: %s", r.Prefix, r.PerMinute))
		case o != r.PerMinute:
			out = append(out, fmt.Sprintf("rate %s: %s → %s", r.Prefix, o, r.PerMinute))
		}
	}
	for _, r := range old.Rates {
		if !nr[r.Prefix] {
			out = append(out, "rate "+r.Prefix+" removed")
		}
	}
	orng := map[Range]bool{}
	for _, r := range old.Inventory {
		orng[r] = true
	}
	nrng := map[Range]bool{}
	for _, r := range next.Inventory {
		nrng[r] = true
		if !orng[r] {
			out = append(out, "numberInventory: "+r.Range+" added")
		}
	}
	for _, r := range old.Inventory {
		if !nrng[r] {
			out = append(out, "numberInventory: "+r.Range+" removed")
		}
	}
	if old.Quarantine != next.Quarantine {
		out = append(out, "quarantineDays changed")
	}
	return out
}

func equalPlans(a, b map[string]Plans) bool {
	if len(a) != len(b) {
		return false
	}
	eq := func(x, y *Allowance) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	for k, pa := range a {
		pb, ok := b[k]
		if !ok || !eq(pa.Domestic, pb.Domestic) || !eq(pa.DomesticAndInternational, pb.DomesticAndInternational) ||
			!eq(pa.PayAsYouGo, pb.PayAsYouGo) {
			return false
		}
	}
	return true
}
