package sqlite

import (
	"errors"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/store"
)

func TestEdgeTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	edgeTok := store.Token{ID: "e1", Name: "edge-redmond", Tenant: "contoso", Hash: "AB", Created: t0}
	if err := db.CreateEdgeToken(ctx, edgeTok, "redmond"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, store.Token{ID: "a1", Tenant: "contoso", Hash: "cd", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.TokenByHash(ctx, "ab"); err != nil || got.ID != "e1" || got.Tenant != "contoso" {
		t.Fatalf("edge token is not an ordinary token: %+v %v", got, err)
	}
	for id, want := range map[string]string{"e1": "redmond", "a1": "", "none": ""} {
		if got, err := db.TokenEdge(ctx, id); err != nil || got != want {
			t.Errorf("TokenEdge(%s) = %q %v, want %q", id, got, err, want)
		}
	}
	// Same hash again: conflict, and no scope left behind.
	err := db.CreateEdgeToken(ctx, store.Token{ID: "e2", Tenant: "contoso", Hash: "ab"}, "paris")
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate hash: %v", err)
	}
	if got, _ := db.TokenEdge(ctx, "e2"); got != "" {
		t.Error("a failed create left an edge scope")
	}
	if err := db.CreateEdgeToken(ctx, store.Token{ID: "e3", Tenant: "contoso", Hash: "ef"}, ""); err == nil {
		t.Error("edge token without an edge")
	}
	// Revoking the token drops its scope.
	if err := db.DeleteToken(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.TokenEdge(ctx, "e1"); got != "" {
		t.Error("scope of a deleted token remains")
	}
}

func TestOutboxAndHasCDR(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	for _, id := range []string{"c1", "c2", "c3"} {
		if err := db.QueueCDR(ctx, cdr(id, "contoso", id != "c2")); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.CountQueuedCDRs(ctx); err != nil || n != 3 {
		t.Fatalf("count = %d %v", n, err)
	}
	q, err := db.QueuedCDRs(ctx, 2)
	if err != nil || len(q) != 2 || q[0].CDR.CallID != "c1" || q[1].CDR.CallID != "c2" || q[0].Seq >= q[1].Seq {
		t.Fatalf("queue = %+v %v", q, err)
	}
	if want := cdr("c1", "contoso", true); q[0].CDR.Answer == nil || !q[0].CDR.Answer.Equal(*want.Answer) ||
		q[0].CDR.Result != want.Result || q[0].CDR.Duration != want.Duration {
		t.Errorf("queued CDR changed: %+v", q[0].CDR)
	}
	if err := db.DeleteQueuedCDRs(ctx, []int64{q[0].Seq, q[1].Seq}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteQueuedCDRs(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rest, _ := db.QueuedCDRs(ctx, 0)
	if len(rest) != 1 || rest[0].CDR.CallID != "c3" {
		t.Errorf("after delete: %+v", rest)
	}

	if has, err := db.HasCDR(ctx, "contoso", "c1"); err != nil || has {
		t.Fatalf("HasCDR before insert = %v %v", has, err)
	}
	if _, err := db.InsertCDR(ctx, cdr("c1", "contoso", true)); err != nil {
		t.Fatal(err)
	}
	if has, _ := db.HasCDR(ctx, "contoso", "c1"); !has {
		t.Error("HasCDR misses a stored CDR")
	}
	if has, _ := db.HasCDR(ctx, "fabrikam", "c1"); has {
		t.Error("HasCDR crosses tenants")
	}
}
