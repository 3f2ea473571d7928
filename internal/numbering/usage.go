package numbering

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Usage is a tenant's Calling Plan usage in one month (switchboard usage).
type Usage struct {
	Tenant  string      `json:"tenant"`
	Month   string      `json:"month"` // YYYY-MM, UTC
	Pools   []PoolUsage `json:"pools"`
	Credits CreditUsage `json:"credits"`
	Users   []UserUsage `json:"users"`
}

// PoolUsage is one pool: the minutes of one kind that the users of one
// licence in one country share in the month.
type PoolUsage struct {
	Country  string `json:"country"`
	Plan     string `json:"plan"`
	Kind     string `json:"kind"`     // domestic | international
	Licences int    `json:"licences"` // users adding to it (now)
	Included int    `json:"included"`
	Used     int    `json:"used"`
	Reserved int    `json:"reserved"` // held by calls in progress
	Left     int    `json:"left"`
}

// CreditUsage is the tenant's Communications Credits.
type CreditUsage struct {
	Balance  Money `json:"balance"`  // now
	Reserved Money `json:"reserved"` // held by calls in progress
	Spent    Money `json:"spent"`    // in the month
}

// UserUsage is one user's month.
type UserUsage struct {
	User          string `json:"user"`
	CallingPlan   string `json:"callingPlan,omitempty"`
	UsageLocation string `json:"usageLocation,omitempty"`
	Calls         int    `json:"calls"`   // settled outbound Calling Plan calls
	Minutes       int    `json:"minutes"` // pool minutes used
	Spent         Money  `json:"spent"`   // credits spent
	SpendLimit    *Money `json:"spendLimit,omitempty"`
}

// Usage reports a tenant's month ("" = the current one).
func (s *Service) Usage(tenant, m string) (Usage, error) {
	if m == "" {
		m = month(s.now())
	} else if _, err := time.Parse("2006-01", m); err != nil {
		return Usage{}, fmt.Errorf("%w: month %q is not YYYY-MM", ErrInvalid, m)
	}
	users := s.users(tenant)
	p := s.p()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Usage{Tenant: tenant, Month: m, Pools: []PoolUsage{}, Users: []UserUsage{}}
	pools := map[poolKey]bool{}
	for _, u := range users {
		a := p.cfg.Plans[u.UsageLocation].get(u.CallingPlan)
		if a == nil {
			continue
		}
		for _, kind := range []string{KindDomestic, KindInternational} {
			if a.minutes(kind) > 0 {
				pools[poolKey{tenant, u.UsageLocation, u.CallingPlan, kind, m}] = true
			}
		}
	}
	for _, used := range []map[poolKey]int{s.poolUsed, s.poolRes} {
		for pk := range used {
			if pk.tenant == tenant && pk.month == m {
				pools[pk] = true
			}
		}
	}
	for pk := range pools {
		out.Pools = append(out.Pools, PoolUsage{Country: pk.country, Plan: pk.plan, Kind: pk.kind,
			Licences: s.licences(tenant, pk.country, pk.plan), Included: s.included(pk), Used: s.poolUsed[pk],
			Reserved: s.poolRes[pk], Left: s.poolLeftLocked(pk)})
	}
	slices.SortFunc(out.Pools, func(a, b PoolUsage) int {
		return cmp.Or(cmp.Compare(a.Country, b.Country), cmp.Compare(a.Plan, b.Plan), cmp.Compare(a.Kind, b.Kind))
	})
	out.Credits = CreditUsage{Balance: s.balance[tenant], Reserved: s.creditRes[tenant],
		Spent: s.spent[tenantMonth{tenant, m}]}

	byUser := map[string]*UserUsage{}
	get := func(addr string) *UserUsage {
		addr = strings.ToLower(addr)
		if u, ok := byUser[addr]; ok {
			return u
		}
		u := &UserUsage{User: addr}
		if lim, ok := s.limits[userKey{tenant, addr}]; ok {
			u.SpendLimit = &lim
		}
		byUser[addr] = u
		return u
	}
	for _, u := range users {
		if u.CallingPlan != "" {
			uu := get(u.SIPAddress)
			uu.CallingPlan, uu.UsageLocation = u.CallingPlan, u.UsageLocation
		}
	}
	for k, use := range s.perUser {
		if k.tenant == tenant && k.month == m {
			uu := get(k.user)
			uu.Calls, uu.Minutes, uu.Spent = use.calls, use.minutes, use.spent
		}
	}
	for k := range s.limits {
		if k.tenant == tenant {
			get(k.user)
		}
	}
	for _, u := range byUser {
		out.Users = append(out.Users, *u)
	}
	slices.SortFunc(out.Users, func(a, b UserUsage) int { return cmp.Compare(a.User, b.User) })
	return out, nil
}

// TopUp adds credits to a tenant's balance and returns the new balance.
func (s *Service) TopUp(ctx context.Context, tenant string, amount Money, actor string) (Money, error) {
	if tenant == "" {
		return 0, fmt.Errorf("%w: no tenant", ErrInvalid)
	}
	if amount <= 0 || amount > maxMoney {
		return 0, fmt.Errorf("%w: amount must be positive, not %s", ErrInvalid, amount)
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	if _, err := s.st.TopUp(ctx, TopUp{Tenant: tenant, Amount: amount, At: s.now().UTC(), Actor: actor}); err != nil {
		return 0, fmt.Errorf("top up: %w", err)
	}
	// Added rather than read back: a settlement being written concurrently
	// is already in this node's balance.
	s.mu.Lock()
	defer s.mu.Unlock()
	s.balance[tenant] += amount
	return s.balance[tenant], nil
}

// SetSpendLimit sets (limit ≥ 0) or removes (limit < 0) a user's monthly
// credit spend limit.
func (s *Service) SetSpendLimit(ctx context.Context, tenant, user string, limit Money) error {
	user = strings.ToLower(strings.TrimSpace(user))
	if tenant == "" || user == "" {
		return fmt.Errorf("%w: tenant and user are needed", ErrInvalid)
	}
	s.admin.Lock()
	defer s.admin.Unlock()
	if err := s.st.SetSpendLimit(ctx, SpendLimit{Tenant: tenant, User: user, Limit: limit}); err != nil {
		return fmt.Errorf("spend limit: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit < 0 {
		delete(s.limits, userKey{tenant, user})
	} else {
		s.limits[userKey{tenant, user}] = limit
	}
	return nil
}

// Balance is a tenant's credit balance.
func (s *Service) Balance(tenant string) Money {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.balance[tenant]
}
