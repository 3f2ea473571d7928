package numbering

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Filter selects numbers of the inventory.
type Filter struct {
	Country  string `json:"country,omitempty"`
	AreaCode string `json:"areaCode,omitempty"`
	Type     string `json:"type,omitempty"` // user | service; "" both
	Limit    int    `json:"limit,omitempty"`
}

// Search limits.
const (
	DefaultSearchLimit = 10
	MaxSearchLimit     = 1000
)

// Search lists available numbers (free, or out of quarantine), in
// inventory order.
func (s *Service) Search(f Filter) ([]Number, error) {
	if err := checkFilter(&f); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.free(f, nil, f.Limit), nil
}

func checkFilter(f *Filter) error {
	f.Country = strings.ToUpper(strings.TrimSpace(f.Country))
	switch f.Type {
	case "", TypeUser, TypeService:
	default:
		return fmt.Errorf("%w: type %q is not user or service", ErrInvalid, f.Type)
	}
	if f.AreaCode != "" && !digits(f.AreaCode) {
		return fmt.Errorf("%w: area code %q is not digits", ErrInvalid, f.AreaCode)
	}
	switch {
	case f.Limit <= 0:
		f.Limit = DefaultSearchLimit
	case f.Limit > MaxSearchLimit:
		return fmt.Errorf("%w: limit %d is above %d", ErrInvalid, f.Limit, MaxSearchLimit)
	}
	return nil
}

// free lists up to n available numbers matching f, leaving out skip.
// s.mu is held. Numbers taken are few next to the ranges, so the walk
// stops after at most n + len(s.numbers) steps per range.
func (s *Service) free(f Filter, skip map[string]bool, n int) []Number {
	now := s.now()
	p := s.p()
	var out []Number
	for i, r := range p.cfg.Inventory {
		if f.Country != "" && r.Country != f.Country || f.AreaCode != "" && r.AreaCode != f.AreaCode ||
			f.Type != "" && r.Type != f.Type {
			continue
		}
		sp := p.spans[i]
		for v := sp.a; v <= sp.b && len(out) < n; v++ {
			num := sp.at(v)
			if skip[num] || !s.availableLocked(num, now) {
				continue
			}
			out = append(out, Number{Number: num, Country: r.Country, AreaCode: r.AreaCode, Type: r.Type,
				Status: StatusAvailable})
		}
		if len(out) >= n {
			break
		}
	}
	return out
}

func (s *Service) availableLocked(num string, now time.Time) bool {
	n, ok := s.numbers[num]
	return !ok || n.Tenant == "" && !now.Before(n.QuarantinedUntil)
}

// lookup finds the range of a number.
func (s *Service) lookup(num string) (Range, bool) {
	return s.p().lookup(num)
}

// Acquire gives tenant the numbers listed, or else count numbers matching
// f. All or none: a listed number that is not available fails the whole
// request with ErrConflict.
func (s *Service) Acquire(ctx context.Context, tenant string, numbers []string, f Filter, count int) ([]Number, error) {
	if tenant == "" {
		return nil, fmt.Errorf("%w: no tenant", ErrInvalid)
	}
	if len(numbers) == 0 {
		if err := checkFilter(&f); err != nil {
			return nil, err
		}
		if count <= 0 || count > MaxSearchLimit {
			return nil, fmt.Errorf("%w: count must be 1 to %d", ErrInvalid, MaxSearchLimit)
		}
	}
	s.mu.Lock()
	now := s.now().UTC()
	var got []Number
	if len(numbers) > 0 {
		seen := map[string]bool{}
		for _, num := range numbers {
			r, ok := s.lookup(num)
			if !ok {
				s.mu.Unlock()
				return nil, fmt.Errorf("%w: %s is %v", ErrNotFound, num, errSpan)
			}
			if seen[num] || !s.availableLocked(num, now) {
				s.mu.Unlock()
				return nil, fmt.Errorf("%w: %s is not available", ErrConflict, num)
			}
			seen[num] = true
			got = append(got, Number{Number: num, Country: r.Country, AreaCode: r.AreaCode, Type: r.Type})
		}
	} else {
		got = s.free(f, nil, count)
		if len(got) < count {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: only %d number(s) available for %s", ErrConflict, len(got), describe(f))
		}
	}
	prev := map[string]*Number{}
	for i := range got {
		got[i].Tenant, got[i].Status, got[i].Since = tenant, StatusAcquired, now
		prev[got[i].Number] = s.numbers[got[i].Number]
		n := got[i]
		s.numbers[n.Number] = &n
	}
	s.mu.Unlock()
	if err := s.st.SaveCPNumbers(ctx, got); err != nil {
		s.restore(prev)
		return nil, fmt.Errorf("acquire numbers: %w", err)
	}
	return got, nil
}

func describe(f Filter) string {
	parts := []string{}
	if f.Country != "" {
		parts = append(parts, "country "+f.Country)
	}
	if f.AreaCode != "" {
		parts = append(parts, "area code "+f.AreaCode)
	}
	if f.Type != "" {
		parts = append(parts, "type "+f.Type)
	}
	if len(parts) == 0 {
		return "the inventory"
	}
	return strings.Join(parts, ", ")
}

// restore puts back numbers after a failed write.
func (s *Service) restore(prev map[string]*Number) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for num, p := range prev {
		if p == nil {
			delete(s.numbers, num)
		} else {
			s.numbers[num] = p
		}
	}
}

// owned returns a copy of tenant's number num. s.mu is held.
func (s *Service) owned(tenant, num string) (Number, error) {
	n, ok := s.numbers[num]
	if !ok || n.Tenant != tenant || tenant == "" {
		return Number{}, fmt.Errorf("%w: %s is not a number of tenant %q", ErrNotFound, num, tenant)
	}
	return *n, nil
}

// change applies f to tenant's numbers under the lock, then writes the
// changed ones; the in-memory change is undone when the write fails.
func (s *Service) change(ctx context.Context, f func() ([]Number, error)) ([]Number, error) {
	s.mu.Lock()
	changed, err := f()
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	prev := map[string]*Number{}
	for i := range changed {
		prev[changed[i].Number] = s.numbers[changed[i].Number]
		n := changed[i]
		s.numbers[n.Number] = &n
	}
	s.mu.Unlock()
	if err := s.st.SaveCPNumbers(ctx, changed); err != nil {
		s.restore(prev)
		return nil, err
	}
	return changed, nil
}

// Release takes a number back from tenant (and from its user): it is
// quarantined before anyone can acquire it again.
func (s *Service) Release(ctx context.Context, tenant, num string) (Number, error) {
	out, err := s.change(ctx, func() ([]Number, error) {
		n, err := s.owned(tenant, num)
		if err != nil {
			return nil, err
		}
		now := s.now().UTC()
		n.Tenant, n.User, n.Status, n.Since, n.QuarantinedUntil = "", "", StatusQuarantined, now, now.Add(s.p().quarantine)
		return []Number{n}, nil
	})
	if err != nil {
		return Number{}, err
	}
	return out[0], nil
}

// Assign gives tenant's user number num (a user number), replacing the
// number the user had: the changed numbers come back, num first.
func (s *Service) Assign(ctx context.Context, tenant, num, user string) ([]Number, error) {
	user = strings.ToLower(strings.TrimSpace(user))
	if user == "" {
		return nil, fmt.Errorf("%w: no user", ErrInvalid)
	}
	return s.change(ctx, func() ([]Number, error) {
		n, err := s.owned(tenant, num)
		if err != nil {
			return nil, err
		}
		if n.Type != TypeUser {
			return nil, fmt.Errorf("%w: %s is a %s number: only user numbers are assigned to users", ErrInvalid, num, n.Type)
		}
		if n.User != "" && n.User != user {
			return nil, fmt.Errorf("%w: %s is assigned to %s; unassign it first", ErrConflict, num, n.User)
		}
		now := s.now().UTC()
		n.User, n.Status, n.Since = user, StatusAssigned, now
		out := []Number{n}
		for _, o := range s.numbers {
			if o.Tenant == tenant && o.User == user && o.Number != num {
				c := *o
				c.User, c.Status, c.Since = "", StatusAcquired, now
				out = append(out, c)
			}
		}
		return out, nil
	})
}

// Unassign takes a number from its user; it stays the tenant's.
func (s *Service) Unassign(ctx context.Context, tenant, num string) (Number, error) {
	out, err := s.change(ctx, func() ([]Number, error) {
		n, err := s.owned(tenant, num)
		if err != nil {
			return nil, err
		}
		n.User, n.Status, n.Since = "", StatusAcquired, s.now().UTC()
		return []Number{n}, nil
	})
	if err != nil {
		return Number{}, err
	}
	return out[0], nil
}

// Numbers lists a tenant's numbers ("" = every acquired or quarantined
// number), sorted.
func (s *Service) Numbers(tenant string) []Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := []Number{}
	for _, n := range s.numbers {
		if tenant != "" && n.Tenant != tenant {
			continue
		}
		c := *n
		if c.Tenant == "" && !now.Before(c.QuarantinedUntil) {
			continue // back in the inventory
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Number) int { return cmp.Compare(a.Number, b.Number) })
	return out
}

// Inbound says where a call from a carrier to num goes: the tenant and the
// user the number is assigned to.
func (s *Service) Inbound(num string) (tenant, user string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, found := s.numbers[num]
	if !found || n.Tenant == "" || n.User == "" {
		return "", "", false
	}
	return n.Tenant, n.User, true
}

// InInventory says whether num belongs to a range of the inventory.
func (s *Service) InInventory(num string) bool {
	_, ok := s.lookup(num)
	return ok
}
