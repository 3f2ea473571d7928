package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

func TestSaveTenantObjectsProfileAndAudit(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ten, users := contoso()
	users[0].VoiceRoutingPolicy = "US Only"
	users[0].Home = "online"
	users[0].CallingSettings = pbx.CallingSettings{UnansweredDelaySeconds: 15,
		Forwarding: pbx.Forwarding{Busy: "voicemail"}, Voicemail: pbx.Voicemail{Enabled: true}}
	objs := []pbx.Object{
		{Kind: "voiceRoutes", Name: "r1", Spec: json.RawMessage(`{"name":"r1"}`)},
		{Kind: "pstnUsages", Name: "Local", Spec: json.RawMessage(`"Local"`)},
	}
	audit := []pbx.AuditEntry{{Time: time.Now(), ActorID: "operator", ActorName: "operator", Tenant: ten.Name,
		Action: "create", Kind: "voiceRoutes", Name: "r1", After: json.RawMessage(`{"name":"r1"}`),
		Changes: []pbx.FieldChange{{Field: "password", Before: "(changed)", After: "(changed)"}}}}
	if err := db.SaveTenant(ctx, ten, users, objs, audit); err != nil {
		t.Fatal(err)
	}
	got, err := db.Users(ctx, ten.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].VoiceRoutingPolicy != "US Only" || !reflect.DeepEqual(got[0].CallingSettings, users[0].CallingSettings) {
		t.Errorf("profile not kept: %+v", got[0])
	}
	stored, err := db.Objects(ctx, ten.Name)
	if err != nil || len(stored) != 2 || stored[0].Kind != "pstnUsages" || string(stored[1].Spec) != `{"name":"r1"}` {
		t.Fatalf("objects = %+v, %v", stored, err)
	}
	// Saving again with one object replaces the set.
	if err := db.SaveTenant(ctx, ten, users, objs[1:], nil); err != nil {
		t.Fatal(err)
	}
	if stored, _ = db.Objects(ctx, ""); len(stored) != 1 || stored[0].Name != "Local" {
		t.Errorf("objects after replace = %+v", stored)
	}
	entries, err := db.Audit(ctx, pbx.AuditFilter{Tenant: ten.Name})
	if err != nil || len(entries) != 1 || entries[0].Before != nil || string(entries[0].After) != `{"name":"r1"}` ||
		!reflect.DeepEqual(entries[0].Changes, audit[0].Changes) {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
	if e, _ := db.Audit(ctx, pbx.AuditFilter{Before: entries[0].ID}); len(e) != 0 {
		t.Errorf("audit before first = %+v", e)
	}
	// Invalid JSON is refused before anything is written.
	if err := db.SaveTenant(ctx, ten, users, []pbx.Object{{Kind: "x", Name: "y", Spec: json.RawMessage(`{`)}}, nil); err == nil {
		t.Error("invalid JSON accepted")
	}
	if err := db.DeleteTenant(ctx, ten.Name, nil); err != nil {
		t.Fatal(err)
	}
	if stored, _ = db.Objects(ctx, ""); len(stored) != 0 {
		t.Errorf("objects outlived their tenant: %+v", stored)
	}
	if err := db.DeleteTenant(ctx, ten.Name, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	tok := store.Token{ID: "id1", Name: "contoso-admin", Tenant: "contoso", Hash: "ABCDEF", CreatedBy: "operator"}
	if err := db.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, store.Token{ID: "id2", Hash: "abcdef"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate hash = %v, want ErrConflict", err)
	}
	got, err := db.TokenByHash(ctx, "abcdef")
	if err != nil || got.ID != "id1" || got.Tenant != "contoso" || got.Created.IsZero() {
		t.Fatalf("TokenByHash = %+v, %v", got, err)
	}
	if ts, _ := db.Tokens(ctx, "fabrikam"); len(ts) != 0 {
		t.Errorf("fabrikam tokens = %+v", ts)
	}
	if err := db.DeleteToken(ctx, "id1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TokenByHash(ctx, "abcdef"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted token found: %v", err)
	}
	if err := db.DeleteToken(ctx, "id1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
}
