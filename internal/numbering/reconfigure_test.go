package numbering

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReconfigureRates: a call admitted at the old rate settles at it; the
// next call is admitted at the new one; the balance and the reservation
// survive the swap.
func TestReconfigureRates(t *testing.T) {
	dom := user("alice", Domestic, "US")
	f := newFixture(t, testConfig(), dom)
	ctx := context.Background()
	if _, err := f.s.TopUp(ctx, "contoso", Unit, "op"); err != nil {
		t.Fatal(err)
	}
	d := f.admit("c1", dom, "+442079460123")
	if !d.Admitted || d.Rate != 23000 {
		t.Fatalf("admit = %+v", d)
	}
	if g := d.Meter.Grant(); g != time.Minute { // answered
		t.Fatalf("grant = %v", g)
	}
	cfg := testConfig()
	cfg.Rates[0].PerMinute = 50000 // +44
	ch, err := f.s.Reconfigure(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ch.Changes, "rate +44: 0.023 → 0.05") || len(ch.Restart) != 0 {
		t.Fatalf("change = %+v", ch)
	}
	if g := d.Meter.Grant(); g != time.Minute { // second minute, at the admitted rate
		t.Fatalf("grant = %v", g)
	}
	f.s.Settle(ctx, CallEnd{CallID: "c1", Tenant: "contoso", Caller: dom.SIPAddress, Answered: true, Duration: 90 * time.Second})
	if b := f.s.Balance("contoso"); b != Unit-2*23000 {
		t.Fatalf("balance after the call in progress = %s, want %s (2 minutes at the admitted rate)", b, Unit-2*23000)
	}
	d2 := f.call("c2", dom, "+442079460123", 30*time.Second)
	if !d2.Admitted || d2.Rate != 50000 {
		t.Fatalf("next call = %+v, want the new rate", d2)
	}
	if b := f.s.Balance("contoso"); b != Unit-2*23000-50000 {
		t.Fatalf("balance = %s", b)
	}
}

// TestReconfigureCarriersAndPlans: carriers and allowances change for the
// next decision; pool usage is kept.
func TestReconfigureCarriersAndPlans(t *testing.T) {
	dom := user("alice", Domestic, "US")
	f := newFixture(t, testConfig(), dom)
	f.call("c1", dom, "+12065550100", 61*time.Second)
	cfg := testConfig()
	cfg.Carriers = append(cfg.Carriers[1:], Carrier{Name: "carrier-d", Address: "127.0.0.1:5093", Transport: "udp",
		Countries: []string{"US"}, Priority: 0})
	cfg.Plans["US"] = Plans{Domestic: &Allowance{DomesticMinutes: 10}}
	ch, err := f.s.Reconfigure(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"carrier carrier-d added", "carrier carrier-a removed", "plans changed"} {
		if !slices.Contains(ch.Changes, want) {
			t.Errorf("changes %q lack %q", ch.Changes, want)
		}
	}
	d := f.admit("c2", dom, "+12065550101")
	if !d.Admitted || !slices.Equal(names(d.Carriers), []string{"carrier-d", "carrier-b"}) {
		t.Fatalf("admit = %v %v", d.Admitted, names(d.Carriers))
	}
	if p := f.pool("US", Domestic, KindDomestic); p.Included != 10 || p.Used != 2 || p.Reserved != 1 || p.Left != 7 {
		t.Fatalf("pool = %+v, want 10 included, 2 used, 1 reserved", p)
	}
	if got := names(f.s.Carriers()); !slices.Equal(got, []string{"carrier-d", "carrier-b", "carrier-c"}) {
		t.Fatalf("carriers = %v", got)
	}
}

// TestReconfigureInvalid: an invalid configuration changes nothing.
func TestReconfigureInvalid(t *testing.T) {
	dom := user("alice", Domestic, "US")
	f := newFixture(t, testConfig(), dom)
	cfg := testConfig()
	cfg.Rates[0].PerMinute = 1
	cfg.Carriers[0].Address = "nowhere"
	_, err := f.s.Reconfigure(cfg)
	var re *ReconfigureError
	if !errors.As(err, &re) || !errors.Is(err, ErrInvalid) || len(re.Problems) != 1 || re.Problems[0].Path != "carriers[0].address" {
		t.Fatalf("err = %v", err)
	}
	if _, err := f.s.TopUp(context.Background(), "contoso", Unit, "op"); err != nil {
		t.Fatal(err)
	}
	if d := f.admit("c1", dom, "+442079460123"); d.Rate != 23000 || !slices.Equal(names(d.Carriers), []string{"carrier-b"}) {
		t.Fatalf("after a refused reload: rate %s carriers %v", d.Rate, names(d.Carriers))
	}
}

// TestReconfigureInventory: new ranges are searchable at once; a range
// under a number a tenant holds cannot go, one without can.
func TestReconfigureInventory(t *testing.T) {
	f := newFixture(t, testConfig())
	ctx := context.Background()
	if _, err := f.s.Acquire(ctx, "contoso", []string{"+14255550007"}, Filter{}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Assign(ctx, "contoso", "+14255550007", "alice@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Acquire(ctx, "contoso", []string{"+442079460001"}, Filter{}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Release(ctx, "contoso", "+442079460001"); err != nil { // quarantined: does not hold the range
		t.Fatal(err)
	}

	cfg := testConfig()
	cfg.Inventory = append(cfg.Inventory[1:2], Range{Country: "US", AreaCode: "206", Range: "+12065550000-+12065550009", Type: TypeUser})
	_, err := f.s.Reconfigure(cfg)
	var re *ReconfigureError
	if !errors.As(err, &re) || re.Problems[0].Path != "numberInventory" ||
		!strings.Contains(re.Problems[0].Message, "+14255550007 (tenant contoso, assigned to alice@contoso.com)") {
		t.Fatalf("err = %v", err)
	}
	if ns, _ := f.s.Search(Filter{AreaCode: "206"}); len(ns) != 0 {
		t.Fatalf("a refused inventory is searchable: %v", ns)
	}

	// Keep the 425 range, drop GB, add 206.
	cfg = testConfig()
	cfg.Inventory = append(cfg.Inventory[:2], Range{Country: "US", AreaCode: "206", Range: "+12065550000-+12065550009", Type: TypeUser})
	ch, err := f.s.Reconfigure(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ch.Changes, "numberInventory: +12065550000-+12065550009 added") ||
		!slices.Contains(ch.Changes, "numberInventory: +442079460000-+442079460009 removed") {
		t.Fatalf("changes = %q", ch.Changes)
	}
	ns, err := f.s.Search(Filter{Country: "US", AreaCode: "206", Limit: 3})
	if err != nil || len(ns) != 3 || ns[0].Number != "+12065550000" {
		t.Fatalf("search = %v, %v", ns, err)
	}
	if _, err := f.s.Acquire(ctx, "contoso", []string{"+442079460002"}, Filter{}, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("acquire from a removed range: %v", err)
	}
	if tn, u, ok := f.s.Inbound("+14255550007"); !ok || tn != "contoso" || u != "alice@contoso.com" {
		t.Fatalf("inbound after reload = %q %q %v", tn, u, ok)
	}
}

// TestReconfigureMinute: the length of a billed minute is not hot.
func TestReconfigureMinute(t *testing.T) {
	cfg := testConfig()
	cfg.Minute = time.Second
	f := newFixture(t, cfg)
	cfg.Minute = 2 * time.Second
	cfg.Quarantine = time.Hour
	ch, err := f.s.Reconfigure(cfg)
	if err != nil || !slices.Equal(ch.Restart, []string{"testMinuteSeconds"}) || f.s.Minute() != time.Second {
		t.Fatalf("change = %+v, %v, minute %v", ch, err, f.s.Minute())
	}
	if !slices.Contains(ch.Changes, "quarantineDays changed") {
		t.Fatalf("changes = %q", ch.Changes)
	}
}

// TestReconfigureRace swaps configurations while calls are admitted and
// settled (run with -race): every call sees one whole configuration.
func TestReconfigureRace(t *testing.T) {
	dom := user("alice", Domestic, "US")
	f := newFixture(t, testConfig(), dom)
	if _, err := f.s.TopUp(context.Background(), "contoso", 1000*Unit, "op"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 50 {
			cfg := testConfig()
			cfg.Rates[0].PerMinute = Money(23000 + i%2)
			if _, err := f.s.Reconfigure(cfg); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 50 {
			d := f.call(fmt.Sprint("c", i), dom, "+442079460123", time.Minute)
			if !d.Admitted || d.Rate != 23000 && d.Rate != 23001 {
				t.Errorf("call %d = %+v", i, d)
				return
			}
		}
	}()
	wg.Wait()
}
