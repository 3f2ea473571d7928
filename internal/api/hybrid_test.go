package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/hybrid"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// fakeHybrid serves fixed snapshots and keeps uploads; tokens go to the store.
type fakeHybrid struct {
	db       *sqlite.DB
	uploaded []pbx.CDR
}

func (f *fakeHybrid) Sync(_ context.Context, tenant, edge, inm string) ([]byte, string, bool, error) {
	if edge != "edge1" {
		return nil, "", false, provision.ErrNotFound
	}
	return []byte(`{"tenant":{"tenant":"` + tenant + `"}}`), `"v1"`, inm == `"v1"`, nil
}
func (f *fakeHybrid) Edges(context.Context, string) ([]hybrid.EdgeStatus, error) {
	return []hybrid.EdgeStatus{{Name: "edge1", SIPAddress: "edge1.contoso.com", Status: hybrid.StatusConnected}}, nil
}
func (f *fakeHybrid) UploadCDRs(_ context.Context, _, _ string, cdrs []pbx.CDR) (hybrid.UploadResult, error) {
	f.uploaded = append(f.uploaded, cdrs...)
	return hybrid.UploadResult{Received: len(cdrs), Inserted: len(cdrs)}, nil
}
func (f *fakeHybrid) Status(context.Context) hybrid.NodeStatus {
	return hybrid.NodeStatus{Role: hybrid.RoleCloud, Mode: hybrid.ModeCloud, Edges: []hybrid.EdgeStatus{{Name: "edge1"}}}
}
func (f *fakeHybrid) TokenEdge(ctx context.Context, id string) (string, error) {
	return f.db.TokenEdge(ctx, id)
}
func (f *fakeHybrid) CreateEdgeToken(ctx context.Context, t store.Token, edge string) error {
	return f.db.CreateEdgeToken(ctx, t, edge)
}

func newHybridFixture(t *testing.T) (*realFixture, *fakeHybrid) {
	t.Helper()
	fx := newRealFixture(t)
	hy := &fakeHybrid{db: fx.db}
	fx.h = New(Options{Token: token, Provision: fx.prov, Tokens: fx.db, Tenants: fx.db.Tenants, Users: fx.db.Users,
		CDRs: fx.db.CDRs, Hybrid: hy})
	for _, name := range []string{"contoso", "fabrikam"} {
		if rec := fx.call(t, token, http.MethodPut, "/api/v1/tenants/"+name, tenantDoc(name)); rec.Code != http.StatusCreated {
			t.Fatalf("PUT %s = %d %s", name, rec.Code, rec.Body)
		}
	}
	return fx, hy
}

func TestEdgeTokensSyncAndUploadOnly(t *testing.T) {
	fx, hy := newHybridFixture(t)
	rec := fx.call(t, token, http.MethodPost, "/api/v1/tenants/contoso/edges/edge1/tokens", `{}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create edge token = %d %s", rec.Code, rec.Body)
	}
	var nt struct {
		Token string `json:"token"`
		Name  string `json:"name"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &nt); err != nil || nt.Name != "edge-edge1" {
		t.Fatalf("%v %s", err, rec.Body)
	}
	edgeTok := nt.Token
	admin, _ := fx.tenantToken(t, "contoso")

	rec = fx.call(t, edgeTok, http.MethodGet, "/api/v1/tenants/contoso/edges/edge1/sync", "")
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") != `"v1"` || !strings.Contains(rec.Body.String(), "contoso") {
		t.Fatalf("sync = %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/tenants/contoso/edges/edge1/sync", nil)
	req.Header.Set("Authorization", "Bearer "+edgeTok)
	req.Header.Set("If-None-Match", `"v1"`)
	r304 := httptest.NewRecorder()
	fx.h.ServeHTTP(r304, req)
	if r304.Code != http.StatusNotModified || r304.Body.Len() != 0 {
		t.Errorf("sync with If-None-Match = %d %s", r304.Code, r304.Body)
	}

	rec = fx.call(t, edgeTok, http.MethodPost, "/api/v1/tenants/contoso/edges/edge1/cdrs",
		`{"cdrs":[{"callId":"x1","tenant":"contoso","result":"answered","start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:01Z"}]}`)
	if rec.Code != http.StatusOK || len(hy.uploaded) != 1 || hy.uploaded[0].CallID != "x1" {
		t.Fatalf("upload = %d %s %+v", rec.Code, rec.Body, hy.uploaded)
	}
	if rec := fx.call(t, edgeTok, http.MethodPost, "/api/v1/tenants/contoso/edges/edge1/cdrs", `{"cdrs":[]} x`); rec.Code != http.StatusBadRequest {
		t.Errorf("trailing garbage = %d", rec.Code)
	}

	for _, c := range []struct {
		tok, method, path string
		want              int
	}{
		{edgeTok, http.MethodGet, "/api/v1/tenants/contoso", http.StatusForbidden},                  // not a tenant admin
		{edgeTok, http.MethodGet, "/api/v1/status", http.StatusForbidden},                           // nor anything else
		{edgeTok, http.MethodGet, "/api/v1/tenants/contoso/edges/edge2/sync", http.StatusForbidden}, // another edge
		{edgeTok, http.MethodGet, "/api/v1/tenants/fabrikam/edges/edge1/sync", http.StatusNotFound}, // another tenant
		{admin, http.MethodGet, "/api/v1/tenants/contoso/edges/edge1/sync", http.StatusForbidden},   // no HA1 for admins
		{admin, http.MethodPost, "/api/v1/tenants/contoso/edges/edge1/tokens", http.StatusForbidden},
		{admin, http.MethodGet, "/api/v1/tenants/contoso/edgeStatus", http.StatusOK},
		{admin, http.MethodGet, "/api/v1/tenants/contoso/edges/edge1/status", http.StatusOK},
		{admin, http.MethodGet, "/api/v1/tenants/contoso/edges/nope/status", http.StatusNotFound},
		{token, http.MethodGet, "/api/v1/tenants/contoso/edges/edge1/sync", http.StatusOK},
		{token, http.MethodGet, "/api/v1/tenants/ghost/edgeStatus", http.StatusNotFound},
	} {
		body := ""
		if c.method == http.MethodPost {
			body = `{}`
		}
		if rec := fx.call(t, c.tok, c.method, c.path, body); rec.Code != c.want {
			t.Errorf("%s %s = %d %s, want %d", c.method, c.path, rec.Code, rec.Body, c.want)
		}
	}
	// Unknown edge: 404 from the store before any token is made.
	if rec := fx.call(t, token, http.MethodPost, "/api/v1/tenants/contoso/edges/nope/tokens", `{}`); rec.Code != http.StatusNotFound {
		t.Errorf("token for an unknown edge = %d %s", rec.Code, rec.Body)
	}
}

func TestMoveUserAndStatus(t *testing.T) {
	fx, _ := newHybridFixture(t)
	admin, _ := fx.tenantToken(t, "contoso")
	rec := fx.call(t, admin, http.MethodPost, "/api/v1/tenants/contoso/users/zoe@contoso.com/move", `{"to":"edge1"}`)
	var res hybrid.MoveResult
	if err := json.Unmarshal(rec.Body.Bytes(), &res); rec.Code != http.StatusOK || err != nil ||
		res != (hybrid.MoveResult{SIPAddress: "zoe@contoso.com", From: "online", To: "edge1", Changed: true}) {
		t.Fatalf("move = %d %s", rec.Code, rec.Body)
	}
	d, err := fx.prov.Tenant(context.Background(), "contoso")
	if err != nil || d.Users[0].Home != "edge1" || d.Users[0].Extension != "2001" {
		t.Fatalf("after the move: %+v %v", d.Users, err)
	}
	rec = fx.call(t, admin, http.MethodPost, "/api/v1/tenants/contoso/users/zoe@contoso.com/move", `{"to":"edge1"}`)
	if !strings.Contains(rec.Body.String(), `"changed":false`) {
		t.Errorf("second move = %s", rec.Body)
	}
	for body, want := range map[string]int{`{"to":"paris"}`: 422, `{"to":""}`: 422, `{"where":"x"}`: 400} {
		if rec := fx.call(t, admin, http.MethodPost, "/api/v1/tenants/contoso/users/zoe@contoso.com/move", body); rec.Code != want {
			t.Errorf("move %s = %d %s, want %d", body, rec.Code, rec.Body, want)
		}
	}
	if rec := fx.call(t, admin, http.MethodPost, "/api/v1/tenants/contoso/users/nobody@contoso.com/move", `{"to":"online"}`); rec.Code != 404 {
		t.Errorf("move of an unknown user = %d", rec.Code)
	}
	// Status: the operator sees the edges, a tenant admin does not.
	var st hybrid.NodeStatus
	rec = fx.call(t, token, http.MethodGet, "/api/v1/status", "")
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.Role != "cloud" || len(st.Edges) != 1 {
		t.Errorf("operator status = %s", rec.Body)
	}
	rec = fx.call(t, admin, http.MethodGet, "/api/v1/status", "")
	if strings.Contains(rec.Body.String(), "edge1") || rec.Code != http.StatusOK {
		t.Errorf("tenant status = %d %s", rec.Code, rec.Body)
	}
}
