package numbering

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func numbersOf(ns []Number) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.Number)
	}
	return out
}

func TestSearch(t *testing.T) {
	f := newFixture(t, testConfig())
	for _, tt := range []struct {
		name   string
		filter Filter
		want   []string
		err    error
	}{
		{"area code", Filter{Country: "us", AreaCode: "425", Limit: 3}, []string{"+14255550000", "+14255550001", "+14255550002"}, nil},
		{"service numbers", Filter{Country: "US", Type: TypeService, Limit: 2}, []string{"+18005550000", "+18005550001"}, nil},
		{"whole range", Filter{Country: "GB", Limit: 100}, []string{"+442079460000", "+442079460001", "+442079460002",
			"+442079460003", "+442079460004", "+442079460005", "+442079460006", "+442079460007", "+442079460008", "+442079460009"}, nil},
		{"nothing there", Filter{Country: "CA"}, []string{}, nil},
		{"default limit", Filter{Country: "US", AreaCode: "425"}, nil, nil},
		{"bad type", Filter{Type: "premium"}, nil, ErrInvalid},
		{"bad area code", Filter{AreaCode: "4x5"}, nil, ErrInvalid},
		{"limit too high", Filter{Limit: 5000}, nil, ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.s.Search(tt.filter)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.want == nil && err == nil && len(got) != DefaultSearchLimit {
				t.Fatalf("%d numbers, want %d", len(got), DefaultSearchLimit)
			}
			if tt.want != nil && !slices.Equal(numbersOf(got), tt.want) {
				t.Fatalf("Search = %v, want %v", numbersOf(got), tt.want)
			}
		})
	}
}

func TestNumberLifecycle(t *testing.T) {
	f := newFixture(t, testConfig())
	ctx := context.Background()
	got, err := f.s.Acquire(ctx, "contoso", nil, Filter{Country: "US", AreaCode: "425"}, 2)
	if err != nil || !slices.Equal(numbersOf(got), []string{"+14255550000", "+14255550001"}) {
		t.Fatalf("Acquire = %v, %v", numbersOf(got), err)
	}
	if _, err := f.s.Acquire(ctx, "fabrikam", []string{"+14255550003", "+14255550001"}, Filter{}, 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("acquiring a taken number: %v, want a conflict", err)
	}
	if _, err := f.s.Acquire(ctx, "fabrikam", []string{"+14255551000"}, Filter{}, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("acquiring outside the inventory: %v", err)
	}
	if _, err := f.s.Acquire(ctx, "fabrikam", []string{"+14255550003", "+14255550003"}, Filter{}, 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("acquiring a number twice: %v", err)
	}
	if _, err := f.s.Acquire(ctx, "fabrikam", nil, Filter{Country: "GB"}, 11); !errors.Is(err, ErrConflict) {
		t.Fatalf("acquiring more than there is: %v", err)
	}
	if ns := f.s.Numbers("fabrikam"); len(ns) != 0 {
		t.Fatalf("a failed acquire left numbers: %v", numbersOf(ns))
	}
	if s, _ := f.s.Search(Filter{Country: "US", AreaCode: "425", Limit: 1}); s[0].Number != "+14255550002" {
		t.Fatalf("search after acquire = %v", numbersOf(s))
	}

	// Assign, inbound, reassign, unassign.
	if _, err := f.s.Assign(ctx, "contoso", "+14255550000", "Alice@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if tn, u, ok := f.s.Inbound("+14255550000"); !ok || tn != "contoso" || u != "alice@contoso.com" {
		t.Fatalf("Inbound = %q %q %v", tn, u, ok)
	}
	if _, _, ok := f.s.Inbound("+14255550001"); ok {
		t.Fatal("an unassigned number routes inbound")
	}
	if _, err := f.s.Assign(ctx, "contoso", "+14255550000", "bob@contoso.com"); !errors.Is(err, ErrConflict) {
		t.Fatalf("assigning an assigned number: %v", err)
	}
	if _, err := f.s.Assign(ctx, "fabrikam", "+14255550001", "eve@fabrikam.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("assigning another tenant's number: %v", err)
	}
	ch, err := f.s.Assign(ctx, "contoso", "+14255550001", "alice@contoso.com")
	if err != nil || len(ch) != 2 || ch[1].Number != "+14255550000" || ch[1].Status != StatusAcquired {
		t.Fatalf("moving alice to another number = %+v, %v", ch, err)
	}
	if _, err := f.s.Unassign(ctx, "contoso", "+14255550001"); err != nil {
		t.Fatal(err)
	}
	svc, err := f.s.Acquire(ctx, "contoso", nil, Filter{Type: TypeService}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Assign(ctx, "contoso", svc[0].Number, "alice@contoso.com"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("assigning a service number to a user: %v", err)
	}

	// Release: quarantined, then back in the inventory.
	if _, err := f.s.Assign(ctx, "contoso", "+14255550000", "alice@contoso.com"); err != nil {
		t.Fatal(err)
	}
	rel, err := f.s.Release(ctx, "contoso", "+14255550000")
	if err != nil || rel.Status != StatusQuarantined || rel.User != "" || !rel.QuarantinedUntil.Equal(jan15.Add(DefaultQuarantine)) {
		t.Fatalf("Release = %+v, %v", rel, err)
	}
	if _, _, ok := f.s.Inbound("+14255550000"); ok {
		t.Fatal("a released number routes inbound")
	}
	if _, err := f.s.Acquire(ctx, "fabrikam", []string{"+14255550000"}, Filter{}, 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("acquiring a quarantined number: %v", err)
	}
	if _, err := f.s.Release(ctx, "contoso", "+14255550000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("releasing twice: %v", err)
	}
	f.start() // state survives a restart
	if ns := f.s.Numbers(""); !slices.Equal(numbersOf(ns), []string{"+14255550000", "+14255550001", "+18005550000"}) {
		t.Fatalf("numbers after restart = %v", numbersOf(ns))
	}
	f.clk.add(DefaultQuarantine)
	if _, err := f.s.Acquire(ctx, "fabrikam", []string{"+14255550000"}, Filter{}, 0); err != nil {
		t.Fatalf("acquiring after the quarantine: %v", err)
	}

	// A failed write changes nothing.
	f.st.fail = errDown
	if _, err := f.s.Acquire(ctx, "contoso", nil, Filter{Country: "GB"}, 1); err == nil {
		t.Fatal("acquire with the store down succeeded")
	}
	if _, err := f.s.Release(ctx, "contoso", "+14255550001"); err == nil {
		t.Fatal("release with the store down succeeded")
	}
	if ns := f.s.Numbers("contoso"); len(ns) != 2 || ns[0].Status != StatusAcquired {
		t.Fatalf("numbers after failed writes = %+v", ns)
	}
	if s, _ := f.s.Search(Filter{Country: "GB", Limit: 1}); s[0].Number != "+442079460000" {
		t.Fatalf("a failed acquire kept %v", numbersOf(s))
	}
}
