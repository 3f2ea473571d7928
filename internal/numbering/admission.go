package numbering

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Reason phrases of refused calls: the contract of the SIP reason phrase
// (RFC 3261 §21.4.4 leaves it free) that tells the caller why.
const (
	ReasonNoLicence     = "No Calling Plan"
	ReasonNotSold       = "Calling Plan Not Available In Country"
	ReasonNotOffered    = "Calling Plan Not Offered In Country"
	ReasonInvalidNumber = "Invalid Number"
	ReasonPremium       = "Premium Rate Blocked"
	ReasonNoCarrier     = "No Carrier For Destination"
	ReasonInternational = "International Calls Not Allowed"
	ReasonCountry       = "Destination Country Not Allowed"
	ReasonExhausted     = "Calling Plan Minutes Exhausted"
	ReasonCredit        = "Insufficient Credit"
	ReasonSpendLimit    = "Spend Limit Reached"
	ReasonNoRate        = "No Rate For Destination"
	ReasonDuplicate     = "Call Already In Progress"
	ReasonUnavailable   = "Calling Plan Unavailable"
)

// Call is an outbound call to admit: Number is the E.164 destination, or
// for an emergency call the emergency number as dialled.
type Call struct {
	CallID    string
	Caller    pbx.User
	Number    string
	Emergency bool
	// Allowed is the caller's tenant's allow-list; the zero value (a new
	// tenant) allows domestic, non-premium destinations only.
	Allowed Allowed
}

// Allowed is a tenant's toll-fraud allow-list for the Calling Plan
// (settings.callingPlan of the tenant document, docs/calling-plan.md):
// which destination countries outside a caller's usageLocation may be
// called, and in which countries premium-rate numbers may be. Emergency
// numbers never need it.
type Allowed struct {
	International []string // ISO 3166 alpha-2
	PremiumRate   []string // ISO 3166 alpha-2
}

// Decision is the Calling Plan's answer for one call.
type Decision struct {
	Admitted    bool         `json:"admitted"`
	Code        int          `json:"code,omitempty"`   // SIP status when refused
	Reason      string       `json:"reason,omitempty"` // reason phrase when refused
	Emergency   bool         `json:"emergency"`
	Destination *Destination `json:"destination,omitempty"`
	Domestic    bool         `json:"domestic"`
	Funding     string       `json:"funding,omitempty"` // pool | credits | emergency
	Pool        string       `json:"pool,omitempty"`    // "US Domestic domestic 2025-01"
	Rate        Money        `json:"rate,omitempty"`    // per minute, when paid by credits
	Carriers    []Carrier    `json:"carriers"`          // in the order to try
	Steps       []string     `json:"steps,omitempty"`
	// Meter meters the admitted call (nil for emergency calls and
	// explanations).
	Meter *Meter `json:"-"`
}

// Admit decides an outbound call and, when it is admitted on minutes or
// credits, reserves its first minute under c.CallID. The reservation ends
// with Settle (the CDR); its further minutes come from Meter.Grant.
func (s *Service) Admit(ctx context.Context, c Call) Decision {
	return s.decide(ctx, c, true)
}

// Explain is Admit without reserving anything, with the steps filled in
// (route test).
func (s *Service) Explain(c Call) Decision {
	return s.decide(context.Background(), c, false)
}

type decision struct {
	Decision
	explain bool
}

func (d *decision) step(format string, args ...any) {
	if d.explain {
		d.Steps = append(d.Steps, fmt.Sprintf(format, args...))
	}
}

func (d *decision) refuse(code int, reason, format string, args ...any) Decision {
	d.Admitted, d.Code, d.Reason, d.Carriers = false, code, reason, []Carrier{}
	d.step("calling plan refuses: "+format+" (%d %s)", append(args, code, reason)...)
	return d.Decision
}

func (s *Service) decide(ctx context.Context, c Call, reserve bool) Decision {
	d := &decision{explain: !reserve, Decision: Decision{Carriers: []Carrier{}}}
	u := c.Caller
	p := s.p() // one configuration for the whole decision, even if a reload swaps it meanwhile
	if c.Emergency {
		return s.emergency(p, d, u, c.Number)
	}
	if reserve {
		s.mu.Lock()
		_, dup := s.byCall[c.CallID]
		s.mu.Unlock()
		switch {
		case c.CallID == "":
			return d.refuse(503, ReasonUnavailable, "no Call-ID to reserve minutes under")
		case dup:
			return d.refuse(403, ReasonDuplicate, "call %q already holds a reservation", c.CallID)
		}
	}
	if u.CallingPlan == "" {
		return d.refuse(403, ReasonNoLicence, "%s has no Calling Plan licence", u.SIPAddress)
	}
	d.step("%s has a %s Calling Plan, usageLocation %q", u.SIPAddress, u.CallingPlan, u.UsageLocation)
	if !p.sold[u.UsageLocation] {
		return d.refuse(403, ReasonNotSold, "the Calling Plan is not sold in %q (countries: %s)", u.UsageLocation,
			strings.Join(p.cfg.Countries, ", "))
	}
	allow := p.cfg.Plans[u.UsageLocation].get(u.CallingPlan)
	if allow == nil {
		return d.refuse(403, ReasonNotOffered, "%s is not offered in %s", u.CallingPlan, u.UsageLocation)
	}
	dest, err := Classify(c.Number)
	if err != nil {
		return d.refuse(404, ReasonInvalidNumber, "%v", err)
	}
	d.Destination = &dest
	d.Domestic = dest.Region == u.UsageLocation
	kind := KindInternational
	if d.Domestic {
		kind = KindDomestic
	}
	d.step("%s is a %s number in %s: %s for a user in %s", dest.Number, dest.Type, dest.Region, kind, u.UsageLocation)
	if dest.Premium {
		if !slices.Contains(c.Allowed.PremiumRate, dest.Region) {
			return d.refuse(403, ReasonPremium, "%s is a premium-rate number and tenant %s does not allow premium-rate calls to %s (settings.callingPlan.premiumRateCountries)",
				dest.Number, u.Tenant, dest.Region)
		}
		d.step("premium-rate numbers in %s are allowed by the tenant (settings.callingPlan.premiumRateCountries)", dest.Region)
	}
	if !d.Domestic {
		if !slices.Contains(c.Allowed.International, dest.Region) {
			return d.refuse(403, ReasonCountry, "tenant %s does not allow international calls to %s (settings.callingPlan.internationalCountries: %s)",
				u.Tenant, dest.Region, listOrNone(c.Allowed.International))
		}
		d.step("international calls to %s are allowed by the tenant (settings.callingPlan.internationalCountries)", dest.Region)
	}
	carriers := carriersFor(p.cfg.Carriers, dest.Region)
	if len(carriers) == 0 {
		return d.refuse(403, ReasonNoCarrier, "no carrier serves %s", dest.Region)
	}
	now := s.now()
	r := Reservation{CallID: c.CallID, Tenant: u.Tenant, User: u.SIPAddress, Number: dest.Number, Month: month(now),
		Minutes: 1, Created: now.UTC()}

	// Minutes of the pool first, when the licence has any of this kind.
	reason := ReasonExhausted
	switch {
	case allow.minutes(kind) > 0:
		pk := poolKey{u.Tenant, u.UsageLocation, u.CallingPlan, kind, r.Month}
		d.Pool = fmt.Sprintf("%s %s %s %s", pk.country, pk.plan, kind, pk.month)
		r.Funding, r.Country, r.Plan, r.Kind = FundingPool, pk.country, pk.plan, pk.kind
		if ok, left := s.take(&r, reserve, func() bool { return s.poolLeftLocked(pk) >= 1 }); ok {
			d.step("pool %s has %d minute(s) left: paid by the pool", d.Pool, left)
			return s.admitted(ctx, d, r, carriers, reserve)
		}
		d.step("pool %s is exhausted", d.Pool)
	case kind == KindInternational && u.CallingPlan != DomesticAndInternational:
		reason = ReasonInternational
		d.step("%s includes no international minutes", u.CallingPlan)
	case u.CallingPlan == PayAsYouGo:
		reason = ReasonCredit
		d.step("%s: every call is paid by credits", u.CallingPlan)
	default:
		d.step("%s includes no %s minutes in %s", u.CallingPlan, kind, u.UsageLocation)
	}

	// Then Communications Credits.
	d.Pool = ""
	s.mu.Lock()
	available := s.balance[u.Tenant] - s.creditRes[u.Tenant]
	s.mu.Unlock()
	if available <= 0 {
		return d.refuse(403, reason, "tenant %s has no Communications Credits", u.Tenant)
	}
	rate, prefix, ok := p.rate(dest.Number)
	if !ok {
		return d.refuse(403, ReasonNoRate, "no rate for %s", dest.Number)
	}
	d.Rate = rate
	r.Funding, r.Country, r.Plan, r.Kind, r.Rate = FundingCredits, "", "", "", rate
	why := ""
	if ok, _ := s.take(&r, reserve, func() bool {
		why = s.creditProblem(r, rate)
		return why == ""
	}); ok {
		d.step("rate %s a minute (prefix %s); credits cover the first minute: paid by credits", rate, prefix)
		return s.admitted(ctx, d, r, carriers, reserve)
	}
	if why == ReasonSpendLimit {
		return d.refuse(403, why, "%s has reached their monthly spend limit", u.SIPAddress)
	}
	return d.refuse(403, ReasonCredit, "tenant %s's credits (%s available) do not cover one minute at %s (prefix %s)",
		u.Tenant, available, rate, prefix)
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// take checks ok and, when reserving, records r as a live reservation in
// the same critical section, so that calls racing for the last minute
// cannot both get it. It returns ok and the pool's minutes left before.
func (s *Service) take(r *Reservation, reserve bool, ok func() bool) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := 0
	if r.Funding == FundingPool {
		left = s.poolLeftLocked(r.pool())
	}
	if !ok() {
		return false, left
	}
	if !reserve {
		return true, left
	}
	if _, dup := s.byCall[r.CallID]; dup {
		return false, left
	}
	r.ID = s.newID()
	s.hold(r, 1)
	cp := *r
	s.live[r.ID] = &cp
	s.byCall[r.CallID] = r.ID
	return true, left
}

// hold adds n minutes to what a reservation holds. s.mu is held.
func (s *Service) hold(r *Reservation, n int) {
	switch r.Funding {
	case FundingPool:
		s.poolRes[r.pool()] += n
	case FundingCredits:
		amt := r.Rate.times(n)
		if n < 0 {
			amt = -r.Rate.times(-n)
		}
		s.creditRes[r.Tenant] += amt
		s.userRes[userMonth{r.Tenant, r.User, r.Month}] += amt
	}
}

// creditProblem says why one more minute at rate cannot be paid by credits
// for r ("" when it can). s.mu is held.
func (s *Service) creditProblem(r Reservation, rate Money) string {
	if s.balance[r.Tenant]-s.creditRes[r.Tenant] < rate {
		return ReasonCredit
	}
	if lim, ok := s.limits[userKey{r.Tenant, r.User}]; ok {
		used := s.userRes[userMonth{r.Tenant, r.User, r.Month}]
		if u := s.perUser[userMonth{r.Tenant, r.User, r.Month}]; u != nil {
			used += u.spent
		}
		if used+rate > lim {
			return ReasonSpendLimit
		}
	}
	return ""
}

// poolLeftLocked is a pool's minutes neither used nor reserved (negative
// when calls in progress went beyond it). s.mu is held.
func (s *Service) poolLeftLocked(pk poolKey) int {
	return s.included(pk) - s.poolUsed[pk] - s.poolRes[pk]
}

// included is the size of a pool: every user of the tenant with that
// licence and usageLocation adds the licence's allowance.
func (s *Service) included(pk poolKey) int {
	a := s.p().cfg.Plans[pk.country].get(pk.plan)
	if a == nil {
		return 0
	}
	return s.licences(pk.tenant, pk.country, pk.plan) * a.minutes(pk.kind)
}

func (s *Service) licences(tenant, country, plan string) int {
	n := 0
	for _, u := range s.users(tenant) {
		if u.CallingPlan == plan && u.UsageLocation == country {
			n++
		}
	}
	return n
}

// admitted persists the reservation of an admitted call and returns the
// decision; a store failure refuses the call (no call without a durable
// reservation).
func (s *Service) admitted(ctx context.Context, d *decision, r Reservation, carriers []Carrier, reserve bool) Decision {
	d.Admitted, d.Funding, d.Carriers = true, r.Funding, carriers
	names := make([]string, len(carriers))
	for i, c := range carriers {
		names[i] = c.Name
	}
	d.step("carriers serving %s in try order: %s", d.Destination.Region, strings.Join(names, ", "))
	if !reserve {
		return d.Decision
	}
	s.mu.Lock()
	saved := *s.live[r.ID]
	s.mu.Unlock()
	if err := s.st.SaveReservation(ctx, saved); err != nil {
		s.log.Error("calling plan: store reservation; call refused", "call_id", r.CallID, "err", err)
		s.mu.Lock()
		s.drop(r.ID)
		s.mu.Unlock()
		return d.refuse(503, ReasonUnavailable, "the reservation could not be stored")
	}
	d.Meter = &Meter{s: s, id: r.ID}
	return d.Decision
}

// drop forgets a live reservation and releases what it holds. s.mu is held.
func (s *Service) drop(id string) *Reservation {
	r, ok := s.live[id]
	if !ok {
		return nil
	}
	delete(s.live, id)
	if s.byCall[r.CallID] == id {
		delete(s.byCall, r.CallID)
	}
	s.hold(r, -r.Minutes)
	return r
}

func (s *Service) emergency(p *plan, d *decision, u pbx.User, number string) Decision {
	d.Emergency, d.Funding = true, FundingEmergency
	carriers := carriersFor(p.cfg.Carriers, u.UsageLocation)
	if len(carriers) == 0 {
		carriers = p.carriers() // never refused for want of a country
	}
	if len(carriers) == 0 {
		return d.refuse(503, ReasonNoCarrier, "no carrier is configured")
	}
	d.step("%s is an emergency number: always allowed, never metered", number)
	d.Admitted, d.Carriers = true, carriers
	return d.Decision
}

// rate returns the per-minute rate of the longest matching prefix.
func (p *plan) rate(number string) (Money, string, bool) {
	best := -1
	for i, r := range p.cfg.Rates {
		if strings.HasPrefix(number, r.Prefix) && (best < 0 || len(r.Prefix) > len(p.cfg.Rates[best].Prefix)) {
			best = i
		}
	}
	if best < 0 {
		return 0, "", false
	}
	return p.cfg.Rates[best].PerMinute, p.cfg.Rates[best].Prefix, true
}

// Meter meters one admitted call. Call control calls Grant at answer and
// again each time the time granted runs out.
type Meter struct {
	s  *Service
	id string
}

// Grant is called when the call is answered and at the start of each
// further minute. It reserves that minute and returns its length, or 0
// when the call must end: credits (or the user's spend limit) no longer
// cover a minute. The remaining time is therefore decided at answer and
// minute by minute after it, from the balance at that moment, never from a
// figure taken at admission. Calls paid by the pool are never cut: when
// the pool runs out during a call, its further minutes still count.
func (m *Meter) Grant() time.Duration {
	if m == nil {
		return 0
	}
	s := m.s
	s.mu.Lock()
	r, ok := s.live[m.id]
	if !ok {
		s.mu.Unlock()
		return 0
	}
	if r.Answered.IsZero() {
		r.Answered = s.now().UTC() // the first minute was reserved at admission
	} else {
		if r.Funding == FundingCredits && s.creditProblem(*r, r.Rate) != "" {
			s.mu.Unlock()
			return 0
		}
		s.hold(r, 1)
		r.Minutes++
	}
	saved := *r
	s.mu.Unlock()
	if err := s.st.SaveReservation(context.Background(), saved); err != nil {
		// The settlement at the end writes the right figures; only a crash
		// before it would settle the minutes last stored.
		s.log.Error("calling plan: store reservation", "call_id", saved.CallID, "err", err)
	}
	return s.minute
}

// CallEnd is what settlement needs of a finished call (from its CDR).
type CallEnd struct {
	CallID   string
	Tenant   string
	Caller   string // SIP address
	Answered bool
	Duration time.Duration // answered time
}

// Settle ends the reservation of a finished call, if it has one: an
// answered call is debited its whole minutes rounded up (calls paid by
// credits at most the minutes granted, since Grant cut them there), an
// unanswered one releases what it held. It reports whether the call had a
// reservation.
func (s *Service) Settle(ctx context.Context, e CallEnd) bool {
	s.mu.Lock()
	id, ok := s.byCall[e.CallID]
	r := s.live[id]
	if !ok || r == nil || r.Tenant != e.Tenant || !strings.EqualFold(r.User, e.Caller) {
		s.mu.Unlock()
		return false
	}
	s.drop(id)
	minutes := 0
	if e.Answered && !r.Answered.IsZero() {
		minutes = int((e.Duration + s.minute - 1) / s.minute)
		if r.Funding == FundingCredits {
			minutes = min(minutes, r.Minutes)
		}
	}
	set := Settlement{Reservation: *r, Minutes: minutes, Settled: s.now().UTC()}
	if r.Funding == FundingCredits {
		set.Amount = r.Rate.times(minutes)
	}
	s.addUsage(r.Tenant, r.User, r.Month, r.Funding, r.pool(), 1, minutes, set.Amount, true)
	s.mu.Unlock()
	if err := s.st.Settle(ctx, set); err != nil {
		// The reservation stays in the store: the next start settles it.
		s.log.Error("calling plan: store settlement", "call_id", e.CallID, "err", err)
	}
	return true
}
