package numbering

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// memStore is an in-memory Store with the transactional semantics of the
// sqlite one: Settle is keyed by reservation ID and applied once.
type memStore struct {
	mu       sync.Mutex
	numbers  map[string]Number
	balances map[string]Money
	limits   map[userKey]Money
	usage    map[string]Settlement // by reservation ID
	res      map[string]Reservation
	topups   []TopUp
	fail     error // returned by every write when set
}

func newMemStore() *memStore {
	return &memStore{numbers: map[string]Number{}, balances: map[string]Money{}, limits: map[userKey]Money{},
		usage: map[string]Settlement{}, res: map[string]Reservation{}}
}

var _ Store = (*memStore)(nil)

func (m *memStore) CPNumbers(context.Context) ([]Number, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Number
	for _, n := range m.numbers {
		out = append(out, n)
	}
	return out, nil
}

func (m *memStore) SaveCPNumbers(_ context.Context, ns []Number) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	for _, n := range ns {
		m.numbers[n.Number] = n
	}
	return nil
}

func (m *memStore) CPState(context.Context) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := State{Balances: map[string]Money{}}
	for t, b := range m.balances {
		st.Balances[t] = b
	}
	for k, l := range m.limits {
		st.Limits = append(st.Limits, SpendLimit{Tenant: k.tenant, User: k.user, Limit: l})
	}
	for _, s := range m.usage {
		r := s.Reservation
		st.Usage = append(st.Usage, UsageTotal{Tenant: r.Tenant, User: r.User, Month: r.Month, Funding: r.Funding,
			Country: r.Country, Plan: r.Plan, Kind: r.Kind, Calls: 1, Minutes: s.Minutes, Amount: s.Amount})
	}
	for _, r := range m.res {
		st.Reservations = append(st.Reservations, r)
	}
	return st, nil
}

func (m *memStore) SaveReservation(_ context.Context, r Reservation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.res[r.ID] = r
	return nil
}

func (m *memStore) DeleteReservation(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.res, id)
	return nil
}

func (m *memStore) Settle(_ context.Context, s Settlement) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, done := m.usage[s.Reservation.ID]; !done {
		m.usage[s.Reservation.ID] = s
		m.balances[s.Reservation.Tenant] -= s.Amount
	}
	delete(m.res, s.Reservation.ID)
	return nil
}

func (m *memStore) TopUp(_ context.Context, t TopUp) (Money, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	m.balances[t.Tenant] += t.Amount
	m.topups = append(m.topups, t)
	return m.balances[t.Tenant], nil
}

func (m *memStore) SetSpendLimit(_ context.Context, l SpendLimit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.Limit < 0 {
		delete(m.limits, userKey{l.Tenant, l.User})
	} else {
		m.limits[userKey{l.Tenant, l.User}] = l.Limit
	}
	return nil
}

func (m *memStore) balance(t string) Money {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.balances[t]
}

func (m *memStore) reservations() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.res)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testConfig mirrors examples/operator.yaml.
func testConfig() Config {
	return Config{
		Countries: []string{"US", "CA", "GB"},
		Carriers: []Carrier{
			{Name: "carrier-a", Address: "127.0.0.1:5090", Transport: "udp", Countries: []string{"US", "CA"}, Priority: 1},
			{Name: "carrier-b", Address: "127.0.0.1:5091", Transport: "udp", Countries: []string{"US", "CA", "GB"}, Priority: 2},
			{Name: "carrier-c", Address: "127.0.0.1:5092", Transport: "tcp", Countries: []string{"FR"}, Priority: 2},
		},
		Plans: map[string]Plans{
			"US": {Domestic: &Allowance{DomesticMinutes: 3000},
				DomesticAndInternational: &Allowance{DomesticMinutes: 3000, InternationalMinutes: 600},
				PayAsYouGo:               &Allowance{}},
			"GB": {Domestic: &Allowance{DomesticMinutes: 1200}},
		},
		Rates: []Rate{{Prefix: "+44", PerMinute: 23000}, {Prefix: "+447", PerMinute: 150000}, {Prefix: "+1", PerMinute: 10000}},
		Inventory: []Range{
			{Country: "US", AreaCode: "425", Range: "+14255550000-+14255550999", Type: TypeUser},
			{Country: "US", Range: "+18005550000-+18005550099", Type: TypeService},
			{Country: "GB", AreaCode: "20", Range: "+442079460000-+442079460009", Type: TypeUser},
		},
	}
}

// directory is a settable set of users per tenant.
type directory struct {
	mu    sync.Mutex
	users map[string][]pbx.User
}

func (d *directory) get(tenant string) []pbx.User {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.users[tenant]
}

func user(name, plan, loc string) pbx.User {
	return pbx.User{Tenant: "contoso", SIPAddress: name + "@contoso.com", CallingPlan: plan, UsageLocation: loc}
}

// fixture is a Service over a memStore with a settable clock.
type fixture struct {
	t   *testing.T
	st  *memStore
	clk *clock
	dir *directory
	cfg Config
	s   *Service
	ids int
	// allowed is the tenant's allow-list of admit and call: by default
	// every country the tests call abroad.
	allowed Allowed
}

// abroad allows the international destinations of the tests.
var abroad = Allowed{International: []string{"CA", "DE", "FR", "GB", "US"}}

var jan15 = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, cfg Config, users ...pbx.User) *fixture {
	t.Helper()
	f := &fixture{t: t, st: newMemStore(), clk: &clock{t: jan15}, dir: &directory{users: map[string][]pbx.User{}},
		cfg: cfg, allowed: abroad}
	f.dir.users["contoso"] = users
	f.start()
	return f
}

// start (re)builds the Service over the same store, as after a restart.
func (f *fixture) start() {
	f.t.Helper()
	var mu sync.Mutex
	s, err := New(f.cfg, Deps{Store: f.st, Users: f.dir.get, Now: f.clk.now, NewID: func() string {
		mu.Lock()
		defer mu.Unlock()
		f.ids++
		return fmt.Sprintf("r%d", f.ids)
	}})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := s.Load(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.s = s
}

func (f *fixture) admit(callID string, u pbx.User, number string) Decision {
	return f.s.Admit(context.Background(), Call{CallID: callID, Caller: u, Number: number, Allowed: f.allowed})
}

// call admits, answers and settles a call of duration d (0 = unanswered).
func (f *fixture) call(callID string, u pbx.User, number string, d time.Duration) Decision {
	f.t.Helper()
	dec := f.admit(callID, u, number)
	if !dec.Admitted {
		return dec
	}
	if d > 0 {
		for elapsed := time.Duration(0); elapsed < d; {
			g := dec.Meter.Grant()
			if g == 0 {
				d = elapsed // released when credits ran out
				break
			}
			elapsed += g
		}
	}
	f.s.Settle(context.Background(), CallEnd{CallID: callID, Tenant: u.Tenant, Caller: u.SIPAddress,
		Answered: d > 0, Duration: d})
	return dec
}

func (f *fixture) usage() Usage {
	f.t.Helper()
	u, err := f.s.Usage("contoso", "")
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) pool(country, plan, kind string) PoolUsage {
	f.t.Helper()
	for _, p := range f.usage().Pools {
		if p.Country == country && p.Plan == plan && p.Kind == kind {
			return p
		}
	}
	f.t.Fatalf("no pool %s %s %s in %+v", country, plan, kind, f.usage().Pools)
	return PoolUsage{}
}

var errDown = errors.New("store down")
