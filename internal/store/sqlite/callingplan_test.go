package sqlite

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/numbering"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func TestCDRViaEmergency(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	c := cdr("pstn-1", "contoso", true)
	c.Callee, c.Via, c.Emergency = "+12065550100", "callingPlan", true
	if _, err := db.InsertCDR(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.CDRs(ctx, pbx.CDRFilter{Tenant: "contoso"})
	if err != nil || len(got) != 1 || got[0].Via != "callingPlan" || !got[0].Emergency {
		t.Fatalf("CDRs = %+v, %v", got, err)
	}
}

func TestCPNumbers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	ns := []numbering.Number{
		{Number: "+14255550100", Country: "US", AreaCode: "425", Type: "user", Tenant: "contoso", User: "alice@contoso.com", Since: t0},
		{Number: "+14255550101", Country: "US", AreaCode: "425", Type: "user", Tenant: "contoso", Since: t0},
		{Number: "+18005550000", Country: "US", Type: "service", Since: t0, QuarantinedUntil: t0.Add(720 * time.Hour)},
	}
	if err := db.SaveCPNumbers(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ns[0].Status, ns[1].Status, ns[2].Status = numbering.StatusAssigned, numbering.StatusAcquired, numbering.StatusQuarantined
	got, err := db.CPNumbers(ctx)
	if err != nil || !reflect.DeepEqual(got, ns) {
		t.Fatalf("CPNumbers =\n%+v, %v\nwant\n%+v", got, err, ns)
	}
	// All or none: a bad row fails the batch.
	bad := []numbering.Number{{Number: "+14255550102", Country: "US", Type: "user", Tenant: "x", Since: t0},
		{Number: "+14255550103", Country: "US", Type: "pbx", Since: t0}}
	if err := db.SaveCPNumbers(ctx, bad); err == nil {
		t.Fatal("a number of type pbx was stored")
	}
	if got, _ := db.CPNumbers(ctx); len(got) != 3 {
		t.Fatalf("a failed batch stored %d numbers", len(got)-3)
	}
}

func TestCPAccounts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	if b, err := db.TopUp(ctx, numbering.TopUp{Tenant: "contoso", Amount: 5_000_000, At: t0, Actor: "op"}); err != nil || b != 5_000_000 {
		t.Fatalf("TopUp = %v, %v", b, err)
	}
	if b, err := db.TopUp(ctx, numbering.TopUp{Tenant: "contoso", Amount: 23000, At: t0}); err != nil || b != 5_023_000 {
		t.Fatalf("TopUp = %v, %v", b, err)
	}
	if err := db.SetSpendLimit(ctx, numbering.SpendLimit{Tenant: "contoso", User: "alice@contoso.com", Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSpendLimit(ctx, numbering.SpendLimit{Tenant: "contoso", User: "bob@contoso.com", Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSpendLimit(ctx, numbering.SpendLimit{Tenant: "contoso", User: "bob@contoso.com", Limit: -1}); err != nil {
		t.Fatal(err)
	}
	r := numbering.Reservation{ID: "r1", CallID: "c1", Tenant: "contoso", User: "alice@contoso.com", Number: "+442079460123",
		Month: "2025-06", Funding: numbering.FundingCredits, Rate: 23000, Minutes: 1, Created: t0}
	if err := db.SaveReservation(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Minutes, r.Answered = 3, t0.Add(time.Second)
	if err := db.SaveReservation(ctx, r); err != nil {
		t.Fatal(err)
	}
	st, err := db.CPState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := numbering.State{Balances: map[string]numbering.Money{"contoso": 5_023_000},
		Limits:       []numbering.SpendLimit{{Tenant: "contoso", User: "alice@contoso.com", Limit: 10}},
		Reservations: []numbering.Reservation{r}}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("CPState =\n%+v\nwant\n%+v", st, want)
	}
	set := numbering.Settlement{Reservation: r, Minutes: 3, Amount: 69000, Settled: t0.Add(time.Minute)}
	for range 2 { // settled twice (a retry, a restart): debited once
		if err := db.Settle(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	st, err = db.CPState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Balances["contoso"] != 4_954_000 || len(st.Reservations) != 0 || len(st.Usage) != 1 ||
		st.Usage[0] != (numbering.UsageTotal{Tenant: "contoso", User: "alice@contoso.com", Month: "2025-06",
			Funding: numbering.FundingCredits, Calls: 1, Minutes: 3, Amount: 69000}) {
		t.Fatalf("after settling: %+v", st)
	}
	if err := db.DeleteReservation(ctx, "none"); err != nil {
		t.Fatal(err)
	}
}

// TestCPRestartMidCall runs the Calling Plan over this store, stops the
// node in the middle of calls (the store is closed without their CDRs) and
// starts again: the reservations are settled once, from the store.
func TestCPRestartMidCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 30, 23, 59, 0, 0, time.UTC)
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", CallingPlan: numbering.Domestic, UsageLocation: "US"}
	payg := pbx.User{Tenant: "contoso", SIPAddress: "payg@contoso.com", CallingPlan: numbering.PayAsYouGo, UsageLocation: "US"}
	cfg := numbering.Config{Countries: []string{"US"},
		Carriers: []numbering.Carrier{{Name: "a", Address: "127.0.0.1:5090", Transport: "udp", Countries: []string{"US"}}},
		Plans: map[string]numbering.Plans{"US": {Domestic: &numbering.Allowance{DomesticMinutes: 10},
			PayAsYouGo: &numbering.Allowance{}}},
		Rates: []numbering.Rate{{Prefix: "+1", PerMinute: 10000}}}
	var mu sync.Mutex
	ids := 0
	start := func(db *DB) *numbering.Service {
		s, err := numbering.New(cfg, numbering.Deps{Store: db, Now: func() time.Time { return now },
			Users: func(string) []pbx.User { return []pbx.User{alice, payg} },
			NewID: func() string { mu.Lock(); defer mu.Unlock(); ids++; return string(rune('a' + ids)) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start(db)
	if _, err := s.TopUp(ctx, "contoso", numbering.Unit, "op"); err != nil {
		t.Fatal(err)
	}
	a := s.Admit(ctx, numbering.Call{CallID: "a", Caller: alice, Number: "+12065550100"})
	p := s.Admit(ctx, numbering.Call{CallID: "p", Caller: payg, Number: "+12065550100"})
	r := s.Admit(ctx, numbering.Call{CallID: "r", Caller: alice, Number: "+12065550101"})
	if !a.Admitted || !p.Admitted || !r.Admitted {
		t.Fatalf("admitted %v %v %v", a.Reason, p.Reason, r.Reason)
	}
	for range 2 {
		a.Meter.Grant()
		p.Meter.Grant()
	}
	s.Settle(ctx, numbering.CallEnd{CallID: "r", Tenant: "contoso", Caller: alice.SIPAddress}) // unanswered
	if err := db.Close(); err != nil {                                                         // the node dies
		t.Fatal(err)
	}
	for range 2 {
		db, err = Open(ctx, dir, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Minute) // July now: the calls stay June's
		s = start(db)
		u, err := s.Usage("contoso", "2025-06")
		if err != nil {
			t.Fatal(err)
		}
		if u.Pools[0].Used != 2 || u.Pools[0].Reserved != 0 || u.Credits.Balance != numbering.Unit-20000 || u.Credits.Spent != 20000 {
			t.Fatalf("after restart: %+v", u)
		}
		if st, _ := db.CPState(ctx); len(st.Reservations) != 0 {
			t.Fatalf("reservations left: %+v", st.Reservations)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
