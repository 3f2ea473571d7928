package sqlite

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

var t0 = time.Date(2025, 6, 1, 9, 0, 0, 123456789, time.UTC)

func binding(aor, contact string) pbx.Binding {
	return pbx.Binding{
		AOR: aor, Contact: contact, Source: "198.51.100.7:40312", Transport: "udp",
		Expires: t0.Add(time.Hour), CallID: "reg-" + aor, CSeq: 1,
		UserAgent: "Yealink T54W", Instance: "<urn:uuid:00000000-0000-0000-0000-000000000001>",
	}
}

// cdr returns a finished call as Bindings and CDRs return it (UTC times).
func cdr(callID, tenant string, answered bool) pbx.CDR {
	c := pbx.CDR{
		CallID: callID, Tenant: tenant, Caller: "alice@contoso.com", Callee: "bob@contoso.com",
		Dialed: "101", Start: t0, End: t0.Add(95 * time.Second),
		Result: pbx.ResultNoAnswer, Cause: 480, HangupBy: pbx.PartyNone,
	}
	if answered {
		a := t0.Add(5 * time.Second)
		c.Answer = &a
		c.Duration = 90
		c.Result, c.Cause, c.HangupBy = pbx.ResultAnswered, 200, pbx.PartyCaller
	}
	return c
}

func TestBindings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	if got, err := db.Bindings(ctx); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Bindings on empty store = %#v, %v; want empty non-nil", got, err)
	}
	b1 := binding("bob@contoso.com", "sip:bob@192.0.2.2:5060")
	b2 := binding("alice@contoso.com", "sip:alice@192.0.2.1:5060;transport=tcp")
	b3 := binding("alice@contoso.com", "sip:alice@192.0.2.9:5062")
	b3.Expires = t0.Add(-time.Minute) // expired bindings are stored and listed
	b3.UserAgent, b3.Instance = "", ""
	b3.CSeq = 1<<32 - 1
	for _, b := range []pbx.Binding{b1, b2, b3} {
		if err := db.SaveBinding(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	want := []pbx.Binding{b2, b3, b1} // by AOR, then contact
	if got, err := db.Bindings(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Bindings = %+v, %v\nwant %+v", got, err, want)
	}

	// Saving the same (AOR, Contact) replaces; a non-UTC time comes back UTC.
	b1.CSeq, b1.Source = 2, "198.51.100.8:5060"
	b1.Expires = time.Date(2025, 6, 1, 13, 0, 0, 0, time.FixedZone("CEST", 2*60*60))
	if err := db.SaveBinding(ctx, b1); err != nil {
		t.Fatal(err)
	}
	got, err := db.Bindings(ctx)
	if err != nil || len(got) != 3 {
		t.Fatalf("Bindings after replace = %+v, %v", got, err)
	}
	if g := got[2]; g.CSeq != 2 || g.Source != b1.Source || !g.Expires.Equal(b1.Expires) || g.Expires.Location() != time.UTC {
		t.Errorf("replaced binding = %+v, want %+v in UTC", g, b1)
	}

	if err := db.DeleteBinding(ctx, b2.AOR, b2.Contact); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteBinding(ctx, b2.AOR, b2.Contact); err != nil {
		t.Errorf("deleting an absent binding: %v", err)
	}
	if got, err := db.Bindings(ctx); err != nil || len(got) != 2 || got[0].Contact != b3.Contact {
		t.Errorf("Bindings after delete = %+v, %v", got, err)
	}
}

func TestCDRRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	answered := cdr("call-a", "contoso", true)
	missed := cdr("call-b", "contoso", false)
	answered.ID = 999 // ignored
	answered.HangupBy, answered.EndReason = pbx.PartySystem, "session-expired"
	var err error
	if answered.ID, err = db.InsertCDR(ctx, answered); err != nil {
		t.Fatal(err)
	}
	if missed.ID, err = db.InsertCDR(ctx, missed); err != nil {
		t.Fatal(err)
	}
	if answered.ID <= 0 || missed.ID <= answered.ID {
		t.Fatalf("ids %d, %d: want positive and increasing", answered.ID, missed.ID)
	}
	got, err := db.CDRs(ctx, pbx.CDRFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []pbx.CDR{missed, answered}; !reflect.DeepEqual(got, want) {
		t.Fatalf("CDRs = %+v\nwant %+v", got, want)
	}
	if got[0].Answer != nil {
		t.Errorf("unanswered call has Answer %v, want nil", got[0].Answer)
	}

	// Times in another zone are stored as UTC instants.
	local := cdr("call-c", "contoso", true)
	zone := time.FixedZone("PST", -8*60*60)
	local.Start, local.End = local.Start.In(zone), local.End.In(zone)
	a := local.Answer.In(zone)
	local.Answer = &a
	if local.ID, err = db.InsertCDR(ctx, local); err != nil {
		t.Fatal(err)
	}
	got, err = db.CDRs(ctx, pbx.CDRFilter{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("CDRs = %+v, %v", got, err)
	}
	g := got[0]
	if !g.Start.Equal(local.Start) || !g.End.Equal(local.End) || !g.Answer.Equal(*local.Answer) ||
		g.Start.Location() != time.UTC || g.Answer.Location() != time.UTC {
		t.Errorf("zoned CDR came back as %+v", g)
	}
}

func TestCDRsOrderFilterLimit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	for i := range 6 {
		tenant := "contoso"
		if i%2 == 1 {
			tenant = "fabrikam"
		}
		if _, err := db.InsertCDR(ctx, cdr(fmt.Sprintf("call-%d", i), tenant, i%3 == 0)); err != nil {
			t.Fatal(err)
		}
	}
	callIDs := func(cs []pbx.CDR) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.CallID)
		}
		return out
	}
	for _, tc := range []struct {
		filter pbx.CDRFilter
		want   []string
	}{
		{pbx.CDRFilter{}, []string{"call-5", "call-4", "call-3", "call-2", "call-1", "call-0"}},
		{pbx.CDRFilter{Limit: 2}, []string{"call-5", "call-4"}},
		{pbx.CDRFilter{Limit: -1}, []string{"call-5", "call-4", "call-3", "call-2", "call-1", "call-0"}},
		{pbx.CDRFilter{Tenant: "contoso"}, []string{"call-4", "call-2", "call-0"}},
		{pbx.CDRFilter{Tenant: "fabrikam", Limit: 2}, []string{"call-5", "call-3"}},
		{pbx.CDRFilter{Tenant: "nobody"}, []string{}},
	} {
		got, err := db.CDRs(ctx, tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		if g := callIDs(got); !reflect.DeepEqual(g, tc.want) {
			t.Errorf("CDRs(%+v) = %v, want %v", tc.filter, g, tc.want)
		}
	}
}

func TestCDRsDefaultLimit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	// Bulk insert in one transaction; InsertCDR is covered elsewhere.
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rollback(tx)
	start := formatTime(t0)
	for i := range defaultCDRLimit + 5 {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO cdrs (call_id, started_at, ended_at) VALUES (?1, ?2, ?2)`,
			fmt.Sprint(i), start); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := db.CDRs(ctx, pbx.CDRFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != defaultCDRLimit {
		t.Fatalf("got %d CDRs, want %d", len(got), defaultCDRLimit)
	}
	if got[0].CallID != fmt.Sprint(defaultCDRLimit+4) || got[len(got)-1].CallID != "5" {
		t.Errorf("default page spans %s..%s, want newest %d..5", got[0].CallID, got[len(got)-1].CallID, defaultCDRLimit+4)
	}
	if all, err := db.CDRs(ctx, pbx.CDRFilter{Limit: 5000}); err != nil || len(all) != defaultCDRLimit+5 {
		t.Errorf("CDRs with a larger limit = %d, %v", len(all), err)
	}
}

func TestWriteBindingsAndInsertCDRs(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exp := time.Now().Add(time.Hour).UTC()
	a := pbx.Binding{AOR: "a@x", Contact: "sip:a@h", Expires: exp, CallID: "c1", CSeq: 1}
	b := pbx.Binding{AOR: "b@x", Contact: "sip:b@h", Expires: exp, CallID: "c2", CSeq: 1}
	if err := db.WriteBindings(ctx, []pbx.Binding{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	a.CSeq = 5
	if err := db.WriteBindings(ctx, []pbx.Binding{a}, []store.BindingKey{{AOR: "b@x", Contact: "sip:b@h"}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].AOR != "a@x" || got[0].CSeq != 5 {
		t.Fatalf("bindings %+v, want a@x with CSeq 5 only", got)
	}

	cdrs := []pbx.CDR{
		{CallID: "x1", Tenant: "t", Start: t0, End: t0.Add(time.Second), Result: pbx.ResultAnswered, Cause: 200},
		{CallID: "x2", Tenant: "t", Start: t0, End: t0.Add(time.Second), Result: pbx.ResultAnswered, Cause: 200},
	}
	if err := db.InsertCDRs(ctx, cdrs); err != nil {
		t.Fatal(err)
	}
	list, err := db.CDRs(ctx, pbx.CDRFilter{Tenant: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d CDRs, want 2", len(list))
	}
	if has, err := db.HasCDR(ctx, "t", "x2"); err != nil || !has {
		t.Errorf("HasCDR(x2) = %v, %v", has, err)
	}
}

// TestInsertCDRsBatchSizes crosses the multi-row statements' sizes: every
// row of every batch is stored once, in the batch's order, field for field.
func TestInsertCDRsBatchSizes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	answer := t0.Add(3 * time.Second)
	var want []pbx.CDR
	for _, n := range []int{1, 3, 4, 5, 16, 17, 63, 64, 65, 100, 213} {
		batch := make([]pbx.CDR, n)
		for i := range batch {
			c := pbx.CDR{CallID: fmt.Sprintf("b%d-%d", n, i), Tenant: "t", Caller: "a@x", Callee: "+14255550100",
				Dialed: "4255550100", Start: t0, End: t0.Add(time.Minute), Duration: int64(i), Result: pbx.ResultAnswered,
				Cause: 200 + i%3, HangupBy: pbx.PartyCaller, Via: "directRouting", Emergency: i%7 == 0, EndReason: ""}
			if i%2 == 0 {
				c.Answer = &answer
			}
			batch[i] = c
		}
		if err := db.InsertCDRs(ctx, batch); err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
		want = append(want, batch...)
	}
	got, err := db.CDRs(ctx, pbx.CDRFilter{Tenant: "t", Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d CDRs stored, want %d", len(got), len(want))
	}
	slices.Reverse(got) // newest first
	for i, g := range got {
		w := want[i]
		w.ID = g.ID
		if g.Answer != nil && w.Answer != nil && g.Answer.Equal(*w.Answer) {
			w.Answer = g.Answer
		}
		if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) {
			t.Fatalf("row %d: times %v..%v, want %v..%v", i, g.Start, g.End, w.Start, w.End)
		}
		g.Start, g.End = w.Start, w.End
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
