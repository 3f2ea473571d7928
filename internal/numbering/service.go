package numbering

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Deps are the ports of a Service.
type Deps struct {
	Store Store
	// Users returns the users of a tenant as they are now: their licences
	// size the tenant's pools.
	Users func(tenant string) []pbx.User
	Now   func() time.Time // default time.Now
	NewID func() string    // reservation IDs; default 16 random bytes in hex
	Log   *slog.Logger     // default: discard
}

// Service is the operator's Calling Plan: inventory, accounts and
// admission. It is safe for concurrent use. The in-memory state is the
// truth for this node's decisions; every change is written through the
// Store, and Load rebuilds the state (recovering the reservations of calls
// that were in progress) after a restart.
//
// Lock order: admin, then mu. The Store is never called with mu held;
// admin serialises the operator's writes (top-ups, limits).
type Service struct {
	plan   atomic.Pointer[plan] // the operator's configuration; swapped whole by Reconfigure
	st     Store
	users  func(string) []pbx.User
	now    func() time.Time
	newID  func() string
	log    *slog.Logger
	minute time.Duration // fixed for the life of the Service (reservations count in it)

	admin     sync.Mutex
	mu        sync.Mutex
	balance   map[string]Money      // tenant → credits
	creditRes map[string]Money      // tenant → credits reserved by calls in progress
	limits    map[userKey]Money     // monthly spend limits
	userRes   map[userMonth]Money   // credits reserved per user and month
	poolUsed  map[poolKey]int       // settled minutes
	poolRes   map[poolKey]int       // minutes reserved by calls in progress
	spent     map[tenantMonth]Money // credits spent
	perUser   map[userMonth]*userUse
	live      map[string]*Reservation // by reservation ID
	byCall    map[string]string       // Call-ID → reservation ID
	numbers   map[string]*Number      // acquired or quarantined
}

type userKey struct{ tenant, user string }

type userMonth struct{ tenant, user, month string }

type tenantMonth struct{ tenant, month string }

// poolKey names one pool: a tenant's minutes of one kind for the users of
// one licence in one country, in one month.
type poolKey struct{ tenant, country, plan, kind, month string }

type userUse struct {
	calls, minutes int
	spent          Money
}

// New checks cfg and returns a Service with empty state; call Load before
// serving calls.
func New(cfg Config, d Deps) (*Service, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, fmt.Errorf("%w: calling plan: %s: %s", ErrInvalid, ps[0].Path, ps[0].Message)
	}
	if d.Store == nil {
		return nil, fmt.Errorf("%w: calling plan: no store", ErrInvalid)
	}
	s := &Service{st: d.Store, users: d.Users, now: d.Now, newID: d.NewID, log: d.Log, minute: cfg.Minute}
	if s.users == nil {
		s.users = func(string) []pbx.User { return nil }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = randomID
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.minute <= 0 {
		s.minute = time.Minute
	}
	s.plan.Store(compile(cfg))
	s.reset()
	return s, nil
}

func (s *Service) reset() {
	s.balance, s.creditRes = map[string]Money{}, map[string]Money{}
	s.limits, s.userRes = map[userKey]Money{}, map[userMonth]Money{}
	s.poolUsed, s.poolRes = map[poolKey]int{}, map[poolKey]int{}
	s.spent, s.perUser = map[tenantMonth]Money{}, map[userMonth]*userUse{}
	s.live, s.byCall = map[string]*Reservation{}, map[string]string{}
	s.numbers = map[string]*Number{}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Load reads the inventory and the accounts from the store. Reservations
// left by calls that were in progress when the node stopped are settled:
// an answered call is debited the minutes it had reserved (it was at most
// that long), an unanswered one is released. Call it once, before calls.
func (s *Service) Load(ctx context.Context) error {
	nums, err := s.st.CPNumbers(ctx)
	if err != nil {
		return fmt.Errorf("calling plan: load numbers: %w", err)
	}
	st, err := s.st.CPState(ctx)
	if err != nil {
		return fmt.Errorf("calling plan: load accounts: %w", err)
	}
	s.mu.Lock()
	s.reset()
	for i := range nums {
		n := nums[i]
		s.numbers[n.Number] = &n
	}
	for t, b := range st.Balances {
		s.balance[t] = b
	}
	for _, l := range st.Limits {
		s.limits[userKey{l.Tenant, l.User}] = l.Limit
	}
	for _, u := range st.Usage {
		s.addUsage(u.Tenant, u.User, u.Month, u.Funding, poolKey{u.Tenant, u.Country, u.Plan, u.Kind, u.Month},
			u.Calls, u.Minutes, u.Amount, false)
	}
	s.mu.Unlock()
	for _, r := range st.Reservations {
		minutes := 0
		if !r.Answered.IsZero() {
			minutes = r.Minutes
		}
		set := Settlement{Reservation: r, Minutes: minutes, Amount: r.Rate.times(minutes), Settled: s.now().UTC(),
			Recovered: true}
		if r.Funding != FundingCredits {
			set.Amount = 0
		}
		if err := s.st.Settle(ctx, set); err != nil {
			return fmt.Errorf("calling plan: settle reservation of call %s: %w", r.CallID, err)
		}
		s.mu.Lock()
		s.addUsage(r.Tenant, r.User, r.Month, r.Funding, r.pool(), 1, minutes, set.Amount, true)
		s.mu.Unlock()
		s.log.Warn("calling plan: settled the reservation of a call cut by a restart", "call_id", r.CallID,
			"tenant", r.Tenant, "user", r.User, "answered", !r.Answered.IsZero(), "minutes", minutes,
			"amount", set.Amount.String())
	}
	return nil
}

// addUsage adds settled usage to the totals; debit also takes the amount
// from the balance (a settlement rather than a total read from the store,
// whose balance already reflects it). s.mu is held.
func (s *Service) addUsage(tenant, user, month, funding string, pk poolKey, calls, minutes int, amount Money, debit bool) {
	u := s.perUser[userMonth{tenant, user, month}]
	if u == nil {
		u = &userUse{}
		s.perUser[userMonth{tenant, user, month}] = u
	}
	u.calls += calls
	switch funding {
	case FundingPool:
		s.poolUsed[pk] += minutes
		u.minutes += minutes
	case FundingCredits:
		s.spent[tenantMonth{tenant, month}] += amount
		u.spent += amount
		if debit {
			s.balance[tenant] -= amount
		}
	}
}

func (r Reservation) pool() poolKey {
	return poolKey{r.Tenant, r.Country, r.Plan, r.Kind, r.Month}
}

// Minute is the length of one billed minute.
func (s *Service) Minute() time.Duration { return s.minute }

// Carriers lists the configured carriers by priority.
func (s *Service) Carriers() []Carrier {
	return s.p().carriers()
}

// month is the billing month of t: YYYY-MM in UTC.
func month(t time.Time) string { return t.UTC().Format("2006-01") }

// Destination is what libphonenumber says of a dialled E.164 number.
type Destination struct {
	Number  string `json:"number"`
	Region  string `json:"region"` // ISO 3166 country
	Type    string `json:"type"`   // libphonenumber's number type
	Premium bool   `json:"premium"`
}

// Classify parses an E.164 number. The region is libphonenumber's; a number
// libphonenumber does not know as valid gets the main country of its
// country code (+1 → US).
func Classify(number string) (Destination, error) {
	if len(number) < 3 || len(number) > 16 || number[0] != '+' || !digits(number[1:]) {
		return Destination{}, fmt.Errorf("%w: %q is not an E.164 number", ErrInvalid, number)
	}
	p, err := phonenumbers.Parse(number, "")
	if err != nil {
		return Destination{}, fmt.Errorf("%w: %q: %v", ErrInvalid, number, err)
	}
	region := phonenumbers.GetRegionCodeForNumber(p)
	if region == "" {
		region = phonenumbers.GetRegionCodeForCountryCode(int(p.GetCountryCode()))
	}
	if region == "" || region == "ZZ" || region == "001" {
		return Destination{}, fmt.Errorf("%w: %q has no country", ErrInvalid, number)
	}
	t := phonenumbers.GetNumberType(p)
	return Destination{Number: number, Region: region, Type: numberTypeName(t),
		Premium: t == phonenumbers.PREMIUM_RATE}, nil
}

// IsEmergency says whether dialled is an emergency number in country
// (libphonenumber's short number metadata: 911 in the US, 999 and 112 in GB).
func IsEmergency(dialled, country string) bool {
	return country != "" && dialled != "" && phonenumbers.IsEmergencyNumber(dialled, country)
}

func numberTypeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return "fixedLine"
	case phonenumbers.MOBILE:
		return "mobile"
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return "fixedLineOrMobile"
	case phonenumbers.TOLL_FREE:
		return "tollFree"
	case phonenumbers.PREMIUM_RATE:
		return "premiumRate"
	case phonenumbers.SHARED_COST:
		return "sharedCost"
	case phonenumbers.VOIP:
		return "voip"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "uan"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	}
	return "unknown"
}
