package numbering

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func names(cs []Carrier) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestAdmit(t *testing.T) {
	dom := user("dom", Domestic, "US")
	intl := user("intl", DomesticAndInternational, "US")
	payg := user("payg", PayAsYouGo, "US")
	none := user("none", "", "US")
	fr := user("fr", Domestic, "FR")
	gb := user("gb", Domestic, "GB")
	gbIntl := user("gbintl", DomesticAndInternational, "GB") // not offered in GB
	tests := []struct {
		name     string
		caller   pbx.User
		number   string
		credits  Money
		emerg    bool
		want     bool
		code     int
		reason   string
		funding  string
		rate     Money
		carriers []string
		allowed  *Allowed // nil: abroad
	}{
		{name: "domestic US on the pool", caller: dom, number: "+12065550100", want: true, funding: FundingPool,
			carriers: []string{"carrier-a", "carrier-b"}},
		{name: "US to Canada is international", caller: dom, number: "+16135550100", code: 403, reason: ReasonInternational},
		{name: "international without plan or credits", caller: dom, number: "+442079460123", code: 403, reason: ReasonInternational},
		{name: "international with credits at the GB rate", caller: dom, number: "+442079460123", credits: Unit,
			want: true, funding: FundingCredits, rate: 23000, carriers: []string{"carrier-b"}},
		{name: "longest prefix wins", caller: dom, number: "+447400123456", credits: Unit, want: true,
			funding: FundingCredits, rate: 150000, carriers: []string{"carrier-b"}},
		{name: "credits below one minute", caller: dom, number: "+442079460123", credits: 22999, code: 403, reason: ReasonCredit,
			rate: 23000},
		{name: "credits of exactly one minute", caller: dom, number: "+442079460123", credits: 23000, want: true,
			funding: FundingCredits, rate: 23000},
		{name: "international plan uses the international pool", caller: intl, number: "+442079460123", want: true,
			funding: FundingPool, carriers: []string{"carrier-b"}},
		{name: "no rate for the destination", caller: dom, number: "+33612345678", credits: Unit, code: 403, reason: ReasonNoRate},
		{name: "no carrier for the destination", caller: dom, number: "+4930123456", credits: Unit, code: 403, reason: ReasonNoCarrier},
		{name: "premium rate blocked even with credits", caller: intl, number: "+19002345678", credits: Unit, code: 403,
			reason: ReasonPremium},
		{name: "premium rate abroad blocked", caller: intl, number: "+449098790879", code: 403, reason: ReasonPremium},
		{name: "toll free is fine", caller: dom, number: "+18005550100", want: true, funding: FundingPool},
		{name: "pay as you go without credits", caller: payg, number: "+12065550100", code: 403, reason: ReasonCredit},
		{name: "pay as you go with credits", caller: payg, number: "+12065550100", credits: Unit, want: true,
			funding: FundingCredits, rate: 10000},
		{name: "no licence", caller: none, number: "+12065550100", code: 403, reason: ReasonNoLicence},
		{name: "not sold in the country", caller: fr, number: "+33612345678", code: 403, reason: ReasonNotSold},
		{name: "licence not offered in the country", caller: gbIntl, number: "+442079460123", code: 403, reason: ReasonNotOffered},
		{name: "GB domestic", caller: gb, number: "+442079460123", want: true, funding: FundingPool, carriers: []string{"carrier-b"}},
		{name: "new tenant: international blocked", caller: intl, number: "+442079460123", allowed: &Allowed{},
			code: 403, reason: ReasonCountry},
		{name: "new tenant: blocked before credits", caller: dom, number: "+442079460123", credits: Unit, allowed: &Allowed{},
			code: 403, reason: ReasonCountry},
		{name: "new tenant: domestic allowed", caller: dom, number: "+12065550100", allowed: &Allowed{}, want: true,
			funding: FundingPool},
		{name: "allowed country, another one blocked", caller: intl, number: "+16135550100",
			allowed: &Allowed{International: []string{"GB"}}, code: 403, reason: ReasonCountry},
		{name: "allowed country", caller: intl, number: "+442079460123",
			allowed: &Allowed{International: []string{"GB"}}, want: true, funding: FundingPool},
		{name: "premium rate allowed in its country", caller: intl, number: "+19002345678",
			allowed: &Allowed{PremiumRate: []string{"US"}}, want: true, funding: FundingPool},
		{name: "premium rate abroad needs the country too", caller: intl, number: "+449098790879",
			allowed: &Allowed{PremiumRate: []string{"GB"}}, code: 403, reason: ReasonCountry},
		{name: "premium rate allowed abroad", caller: intl, number: "+449098790879",
			allowed: &Allowed{International: []string{"GB"}, PremiumRate: []string{"GB"}}, want: true, funding: FundingPool},
		{name: "premium rate of another country not allowed", caller: intl, number: "+19002345678",
			allowed: &Allowed{International: []string{"GB"}, PremiumRate: []string{"GB"}}, code: 403, reason: ReasonPremium},
		{name: "emergency with an empty allow-list", caller: gb, number: "999", emerg: true, allowed: &Allowed{}, want: true,
			funding: FundingEmergency},
		{name: "not a number", caller: dom, number: "+1", code: 404, reason: ReasonInvalidNumber},
		{name: "emergency without licence", caller: none, number: "911", emerg: true, want: true, funding: FundingEmergency,
			carriers: []string{"carrier-a", "carrier-b"}},
		{name: "emergency where the plan is not sold", caller: fr, number: "112", emerg: true, want: true,
			funding: FundingEmergency, carriers: []string{"carrier-c"}},
		{name: "emergency where no carrier serves", caller: user("de", "", "DE"), number: "112", emerg: true, want: true,
			funding: FundingEmergency, carriers: []string{"carrier-a", "carrier-b", "carrier-c"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testConfig(), dom, intl, payg, none, fr, gb, gbIntl)
			if tt.credits > 0 {
				if _, err := f.s.TopUp(context.Background(), "contoso", tt.credits, "test"); err != nil {
					t.Fatal(err)
				}
			}
			allowed := abroad
			if tt.allowed != nil {
				allowed = *tt.allowed
			}
			// Explain first: it agrees with Admit and reserves nothing.
			e := f.s.Explain(Call{CallID: "x", Caller: tt.caller, Number: tt.number, Emergency: tt.emerg, Allowed: allowed})
			d := f.s.Admit(context.Background(), Call{CallID: fmt.Sprint("c", i), Caller: tt.caller, Number: tt.number,
				Emergency: tt.emerg, Allowed: allowed})
			if d.Admitted != tt.want || d.Code != tt.code || d.Reason != tt.reason || d.Funding != tt.funding && tt.want {
				t.Fatalf("Admit = admitted %v %d %q funding %q, want %v %d %q %q", d.Admitted, d.Code, d.Reason,
					d.Funding, tt.want, tt.code, tt.reason, tt.funding)
			}
			if d.Rate != tt.rate {
				t.Errorf("rate = %s, want %s", d.Rate, tt.rate)
			}
			if tt.carriers != nil && !slices.Equal(names(d.Carriers), tt.carriers) {
				t.Errorf("carriers = %v, want %v", names(d.Carriers), tt.carriers)
			}
			if d.Admitted && !tt.emerg && d.Meter == nil {
				t.Error("admitted call without a meter")
			}
			if tt.emerg && d.Meter != nil {
				t.Error("emergency call is metered")
			}
			if e.Admitted != d.Admitted || e.Reason != d.Reason || len(e.Steps) == 0 || len(d.Steps) != 0 {
				t.Errorf("Explain = %v %q %v, Admit = %v %q", e.Admitted, e.Reason, e.Steps, d.Admitted, d.Reason)
			}
		})
	}
}

// TestPoolExhaustion is the acceptance scenario: a pool of 2
// minutes, a call of 90 s, then a call of 40 s is refused; an emergency
// call still goes through.
func TestPoolExhaustion(t *testing.T) {
	cfg := testConfig()
	cfg.Plans["US"] = Plans{Domestic: &Allowance{DomesticMinutes: 2}}
	alice := user("alice", Domestic, "US")
	f := newFixture(t, cfg, alice)
	if d := f.call("c1", alice, "+12065550100", 90*time.Second); !d.Admitted {
		t.Fatalf("first call refused: %s", d.Reason)
	}
	if p := f.pool("US", Domestic, KindDomestic); p.Used != 2 || p.Left != 0 || p.Included != 2 || p.Reserved != 0 {
		t.Fatalf("pool after 90 s = %+v, want used 2 of 2", p)
	}
	d := f.admit("c2", alice, "+12065550101")
	if d.Admitted || d.Code != 403 || d.Reason != ReasonExhausted {
		t.Fatalf("second call = %v %d %q, want 403 %q", d.Admitted, d.Code, d.Reason, ReasonExhausted)
	}
	e := f.s.Admit(context.Background(), Call{CallID: "c3", Caller: alice, Number: "911", Emergency: true})
	if !e.Admitted || e.Funding != FundingEmergency {
		t.Fatalf("emergency call = %+v", e)
	}
	f.s.Settle(context.Background(), CallEnd{CallID: "c3", Tenant: "contoso", Caller: alice.SIPAddress, Answered: true,
		Duration: 5 * time.Minute})
	if p := f.pool("US", Domestic, KindDomestic); p.Used != 2 {
		t.Fatalf("emergency call debited the pool: %+v", p)
	}
	// With credits the exhausted pool falls back to them at the +1 rate.
	if _, err := f.s.TopUp(context.Background(), "contoso", Unit, "op"); err != nil {
		t.Fatal(err)
	}
	if d := f.call("c4", alice, "+12065550102", 30*time.Second); !d.Admitted || d.Funding != FundingCredits {
		t.Fatalf("call on credits = %+v", d)
	}
	if b := f.s.Balance("contoso"); b != Unit-10000 {
		t.Fatalf("balance = %s, want 0.99", b)
	}
}

func TestRounding(t *testing.T) {
	for _, tt := range []struct {
		d       time.Duration
		minutes int
	}{
		{0, 0}, {time.Second, 1}, {59 * time.Second, 1}, {60 * time.Second, 1}, {61 * time.Second, 2},
		{90 * time.Second, 2}, {120 * time.Second, 2}, {121 * time.Second, 3}, {59*time.Minute + 59*time.Second, 60},
	} {
		t.Run(tt.d.String(), func(t *testing.T) {
			alice := user("alice", Domestic, "US")
			f := newFixture(t, testConfig(), alice)
			dec := f.admit("c1", alice, "+12065550100")
			dec.Meter.Grant()
			f.s.Settle(context.Background(), CallEnd{CallID: "c1", Tenant: "contoso", Caller: alice.SIPAddress,
				Answered: tt.d > 0, Duration: tt.d})
			if p := f.pool("US", Domestic, KindDomestic); p.Used != tt.minutes || p.Reserved != 0 {
				t.Fatalf("pool after %v = %+v, want used %d", tt.d, p, tt.minutes)
			}
			// The same call paid by credits (PayAsYouGo), with a granted
			// minute per started minute.
			payg := user("payg", PayAsYouGo, "US")
			f = newFixture(t, testConfig(), payg)
			if _, err := f.s.TopUp(context.Background(), "contoso", 10*Unit, "op"); err != nil {
				t.Fatal(err)
			}
			f.call("c1", payg, "+12065550100", tt.d)
			if want := 10*Unit - Money(tt.minutes)*10000; f.s.Balance("contoso") != want || f.st.balance("contoso") != want {
				t.Fatalf("balance after %v = %s (store %s), want %s", tt.d, f.s.Balance("contoso"), f.st.balance("contoso"), want)
			}
		})
	}
}

func TestMonthBoundary(t *testing.T) {
	cfg := testConfig()
	cfg.Plans["US"] = Plans{Domestic: &Allowance{DomesticMinutes: 2}}
	alice := user("alice", Domestic, "US")
	f := newFixture(t, cfg, alice)
	f.clk.set(time.Date(2025, 1, 31, 23, 58, 0, 0, time.UTC))
	f.call("c1", alice, "+12065550100", 2*time.Minute) // January: 2 of 2
	f.clk.set(time.Date(2025, 1, 31, 23, 59, 59, 999_000_000, time.UTC))
	if d := f.admit("c2", alice, "+12065550100"); d.Admitted {
		t.Fatal("January pool is exhausted, but the call was admitted")
	}
	// A call admitted in the last second of January and ending in February
	// is January's; February starts full. Local time zones do not matter.
	f.clk.set(time.Date(2025, 1, 31, 16, 0, 0, 0, time.FixedZone("PST", -8*3600))) // 2025-02-01T00:00Z
	d := f.admit("c3", alice, "+12065550100")
	if !d.Admitted || d.Pool != "US Domestic domestic 2025-02" {
		t.Fatalf("February call = %+v", d)
	}
	d.Meter.Grant()
	f.clk.add(3 * time.Minute)
	d.Meter.Grant()
	f.s.Settle(context.Background(), CallEnd{CallID: "c3", Tenant: "contoso", Caller: alice.SIPAddress, Answered: true,
		Duration: 61 * time.Second})
	jan, _ := f.s.Usage("contoso", "2025-01")
	feb, _ := f.s.Usage("contoso", "2025-02")
	if jan.Pools[0].Used != 2 || feb.Pools[0].Used != 2 || feb.Pools[0].Left != 0 {
		t.Fatalf("January %+v, February %+v", jan.Pools, feb.Pools)
	}
	if _, err := f.s.Usage("contoso", "2025-13"); err == nil {
		t.Error("month 2025-13 accepted")
	}
}

// TestRaceForLastMinute: many calls admitted at once with one minute left
// in the pool (and, separately, credits for one minute): exactly one gets
// it, and nothing is overdrawn.
func TestRaceForLastMinute(t *testing.T) {
	cfg := testConfig()
	cfg.Plans["US"] = Plans{Domestic: &Allowance{DomesticMinutes: 2}, PayAsYouGo: &Allowance{}}
	alice, payg := user("alice", Domestic, "US"), user("payg", PayAsYouGo, "US")
	f := newFixture(t, cfg, alice, payg)
	f.call("c0", alice, "+12065550100", 30*time.Second) // 1 of 2 used
	for _, caller := range []pbx.User{alice, payg} {
		if caller.SIPAddress == payg.SIPAddress { // only now: with credits, alice's calls would fall back to them
			if _, err := f.s.TopUp(context.Background(), "contoso", 10000, "op"); err != nil {
				t.Fatal(err)
			}
		}
		const n = 64
		var wg sync.WaitGroup
		var mu sync.Mutex
		admitted := 0
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("%s-%d", caller.SIPAddress, i)
				d := f.admit(id, caller, "+12065550100")
				if d.Admitted {
					mu.Lock()
					admitted++
					mu.Unlock()
					d.Meter.Grant()
					d.Meter.Grant() // the second minute: credits refuse it
				}
				f.s.Settle(context.Background(), CallEnd{CallID: id, Tenant: "contoso", Caller: caller.SIPAddress,
					Answered: d.Admitted, Duration: 45 * time.Second})
			}()
		}
		wg.Wait()
		if admitted != 1 {
			t.Fatalf("%s: %d calls admitted for the last minute, want 1", caller.SIPAddress, admitted)
		}
	}
	if p := f.pool("US", Domestic, KindDomestic); p.Used != 2 || p.Left != 0 || p.Reserved != 0 {
		t.Fatalf("pool = %+v, want 2 used of 2", p)
	}
	if b := f.s.Balance("contoso"); b != 0 || f.st.balance("contoso") != 0 || f.usage().Credits.Reserved != 0 {
		t.Fatalf("balance = %s (store %s, reserved %s), want 0", b, f.st.balance("contoso"), f.usage().Credits.Reserved)
	}
}

// TestCreditsCutOff: a call paid by credits is granted minute by minute
// from the balance at that moment, and released when it no longer covers
// one.
func TestCreditsCutOff(t *testing.T) {
	dom := user("alice", Domestic, "US")
	f := newFixture(t, testConfig(), dom)
	if _, err := f.s.TopUp(context.Background(), "contoso", 23000, "op"); err != nil { // one minute to GB
		t.Fatal(err)
	}
	d := f.admit("c1", dom, "+442079460123")
	if !d.Admitted || d.Funding != FundingCredits {
		t.Fatalf("admit = %+v", d)
	}
	if g := d.Meter.Grant(); g != time.Minute {
		t.Fatalf("grant at answer = %v, want 1m", g)
	}
	if g := d.Meter.Grant(); g != 0 {
		t.Fatalf("second minute granted (%v) with credits for one", g)
	}
	f.s.Settle(context.Background(), CallEnd{CallID: "c1", Tenant: "contoso", Caller: dom.SIPAddress, Answered: true,
		Duration: 61 * time.Second}) // the BYE crossed the minute: still one minute
	if b := f.s.Balance("contoso"); b != 0 {
		t.Fatalf("balance = %s, want 0", b)
	}
	if u := f.usage(); u.Credits.Spent != 23000 || u.Credits.Reserved != 0 || u.Users[0].Spent != 23000 || u.Users[0].Calls != 1 {
		t.Fatalf("usage = %+v", u)
	}

	// The remaining time is decided at answer: credits topped up between
	// admission and answer count, and so does a top-up during the call.
	if _, err := f.s.TopUp(context.Background(), "contoso", 23000, "op"); err != nil {
		t.Fatal(err)
	}
	d = f.admit("c2", dom, "+442079460123")
	if !d.Admitted {
		t.Fatalf("second call refused: %s", d.Reason)
	}
	if _, err := f.s.TopUp(context.Background(), "contoso", 23000, "op"); err != nil {
		t.Fatal(err)
	}
	grants := 0
	for d.Meter.Grant() > 0 {
		grants++
		if grants == 2 {
			if _, err := f.s.TopUp(context.Background(), "contoso", 23000, "op"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if grants != 3 {
		t.Fatalf("%d minutes granted, want 3", grants)
	}
	f.s.Settle(context.Background(), CallEnd{CallID: "c2", Tenant: "contoso", Caller: dom.SIPAddress, Answered: true,
		Duration: 3 * time.Minute})
	if b := f.s.Balance("contoso"); b != 0 || f.st.balance("contoso") != 0 {
		t.Fatalf("balance = %s (store %s), want 0", b, f.st.balance("contoso"))
	}
}

func TestSpendLimit(t *testing.T) {
	payg := user("payg", PayAsYouGo, "US")
	f := newFixture(t, testConfig(), payg)
	ctx := context.Background()
	if _, err := f.s.TopUp(ctx, "contoso", 5*Unit, "op"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetSpendLimit(ctx, "contoso", "PAYG@contoso.com", 25000); err != nil { // 2.5 minutes at 0.01
		t.Fatal(err)
	}
	f.call("c1", payg, "+12065550100", 10*time.Minute)
	u := f.usage()
	if len(u.Users) != 1 || u.Users[0].Spent != 20000 || u.Users[0].SpendLimit == nil || *u.Users[0].SpendLimit != 25000 {
		t.Fatalf("usage = %+v", u.Users)
	}
	if d := f.admit("c2", payg, "+12065550100"); d.Admitted || d.Reason != ReasonSpendLimit {
		t.Fatalf("call beyond the limit = %v %q", d.Admitted, d.Reason)
	}
	if err := f.s.SetSpendLimit(ctx, "contoso", payg.SIPAddress, -1); err != nil {
		t.Fatal(err)
	}
	if d := f.admit("c3", payg, "+12065550100"); !d.Admitted {
		t.Fatalf("call after removing the limit = %q", d.Reason)
	}
}

// TestRestartMidCall: the node stops in the middle of calls; the next
// start settles their reservations from the store, once.
func TestRestartMidCall(t *testing.T) {
	alice, payg := user("alice", Domestic, "US"), user("payg", PayAsYouGo, "US")
	f := newFixture(t, testConfig(), alice, payg)
	ctx := context.Background()
	if _, err := f.s.TopUp(ctx, "contoso", Unit, "op"); err != nil {
		t.Fatal(err)
	}
	a := f.admit("answered", alice, "+12065550100")
	a.Meter.Grant()
	a.Meter.Grant()
	a.Meter.Grant() // in its third minute
	p := f.admit("paid", payg, "+12065550100")
	p.Meter.Grant()
	p.Meter.Grant()                           // in its second minute
	f.admit("ringing", alice, "+12065550101") // never answered
	if f.st.reservations() != 3 {
		t.Fatalf("%d reservations stored, want 3", f.st.reservations())
	}
	f.start() // crash and restart: the old Service is gone
	if f.st.reservations() != 0 {
		t.Fatalf("%d reservations left after the restart", f.st.reservations())
	}
	if pu := f.pool("US", Domestic, KindDomestic); pu.Used != 3 || pu.Reserved != 0 {
		t.Fatalf("pool after restart = %+v, want 3 used", pu)
	}
	if b := f.s.Balance("contoso"); b != Unit-20000 || f.st.balance("contoso") != b {
		t.Fatalf("balance after restart = %s (store %s), want 0.98", b, f.st.balance("contoso"))
	}
	// The CDR of a call cut by the restart never comes; if something
	// settles it anyway, nothing is debited twice.
	if f.s.Settle(ctx, CallEnd{CallID: "answered", Tenant: "contoso", Caller: alice.SIPAddress, Answered: true,
		Duration: time.Hour}) {
		t.Error("settled a call already settled at start")
	}
	f.start()
	if pu := f.pool("US", Domestic, KindDomestic); pu.Used != 3 {
		t.Fatalf("pool after a second restart = %+v", pu)
	}
	if b := f.s.Balance("contoso"); b != Unit-20000 {
		t.Fatalf("balance after a second restart = %s", b)
	}
	if u := f.usage(); len(u.Users) != 2 || u.Users[0].Calls != 2 || u.Users[0].Minutes != 3 {
		t.Fatalf("usage after restart = %+v", u.Users)
	}
}

func TestStoreFailure(t *testing.T) {
	alice := user("alice", Domestic, "US")
	f := newFixture(t, testConfig(), alice)
	f.st.fail = errDown
	d := f.admit("c1", alice, "+12065550100")
	if d.Admitted || d.Code != 503 || d.Reason != ReasonUnavailable {
		t.Fatalf("admit with the store down = %+v", d)
	}
	if p := f.pool("US", Domestic, KindDomestic); p.Reserved != 0 {
		t.Fatalf("a refused call holds %d minutes", p.Reserved)
	}
	e := f.s.Admit(context.Background(), Call{CallID: "c2", Caller: alice, Number: "911", Emergency: true})
	if !e.Admitted {
		t.Fatal("emergency call refused with the store down")
	}
	if _, err := f.s.TopUp(context.Background(), "contoso", Unit, "op"); err == nil || f.s.Balance("contoso") != 0 {
		t.Fatal("top-up with the store down changed the balance")
	}
}

func TestDuplicateCallID(t *testing.T) {
	alice := user("alice", Domestic, "US")
	f := newFixture(t, testConfig(), alice)
	if d := f.admit("c1", alice, "+12065550100"); !d.Admitted {
		t.Fatal(d.Reason)
	}
	if d := f.admit("c1", alice, "+12065550100"); d.Admitted || d.Reason != ReasonDuplicate {
		t.Fatalf("second call with the same Call-ID = %+v", d)
	}
	// A CDR of another caller with the same Call-ID settles nothing.
	if f.s.Settle(context.Background(), CallEnd{CallID: "c1", Tenant: "contoso", Caller: "mallory@contoso.com"}) {
		t.Fatal("settled another caller's reservation")
	}
	if !f.s.Settle(context.Background(), CallEnd{CallID: "c1", Tenant: "contoso", Caller: alice.SIPAddress}) {
		t.Fatal("reservation not settled")
	}
	// A Call-ID may be used again once its call ended, and is billed again.
	f.call("c1", alice, "+12065550100", time.Minute)
	f.call("c1", alice, "+12065550100", time.Minute)
	if p := f.pool("US", Domestic, KindDomestic); p.Used != 2 {
		t.Fatalf("pool = %+v, want 2 used", p)
	}
}

func TestUsageReport(t *testing.T) {
	a, b := user("alice", Domestic, "US"), user("bob", DomesticAndInternational, "US")
	c := user("carol", Domestic, "US")
	f := newFixture(t, testConfig(), a, b, c)
	f.call("c1", b, "+442079460123", 150*time.Second) // international pool: 3
	f.call("c2", a, "+12065550100", 10*time.Second)   // US Domestic: 1
	u := f.usage()
	want := []PoolUsage{
		{Country: "US", Plan: Domestic, Kind: KindDomestic, Licences: 2, Included: 6000, Used: 1, Left: 5999},
		{Country: "US", Plan: DomesticAndInternational, Kind: KindDomestic, Licences: 1, Included: 3000, Left: 3000},
		{Country: "US", Plan: DomesticAndInternational, Kind: KindInternational, Licences: 1, Included: 600, Used: 3, Left: 597},
	}
	if !slices.Equal(u.Pools, want) {
		t.Fatalf("pools =\n%+v\nwant\n%+v", u.Pools, want)
	}
	if u.Month != "2025-01" || len(u.Users) != 3 || u.Users[1].User != "bob@contoso.com" || u.Users[1].Minutes != 3 {
		t.Fatalf("usage = %+v", u)
	}
	// A call in progress shows as reserved.
	d := f.admit("c3", a, "+12065550100")
	d.Meter.Grant()
	if p := f.pool("US", Domestic, KindDomestic); p.Reserved != 1 || p.Left != 5998 {
		t.Fatalf("pool with a call in progress = %+v", p)
	}
}
