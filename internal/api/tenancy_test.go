package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// realFixture is the API over a real SQLite store.
type realFixture struct {
	h    http.Handler
	db   *sqlite.DB
	prov *provision.Service
}

func newRealFixture(t *testing.T) *realFixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	prov := provision.NewService(db, nil)
	h := New(Options{
		Token: token, Provision: prov, Tokens: db, Audit: db.Audit, CDRs: db.CDRs,
		Registrations: func() []pbx.Binding {
			return []pbx.Binding{{AOR: "zoe@fabrikam.com", Contact: "sip:zoe@10.0.0.9"}, {AOR: "alice@contoso.com", Contact: "sip:a@10.0.0.1"}}
		},
		Tenants: db.Tenants, Users: db.Users,
		RouteTest: fakeRouteTest, GatewayStatus: fakeGatewayStatus,
	})
	return &realFixture{h: h, db: db, prov: prov}
}

func (fx *realFixture) call(t *testing.T, tok, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, req)
	return rec
}

func tenantDoc(name string) string {
	return `{"tenant":"` + name + `","domains":["` + name + `.com"],
	"settings":{"displayName":"` + name + `"},
	"edges":[{"name":"edge1","sipAddress":"edge1.` + name + `.com"}],
	"pstnUsages":["Local"],
	"translationRules":[{"name":"tr1","pattern":"^(\\d+)$","translation":"+$1"}],
	"pstnGateways":[{"fqdn":"sbc1.` + name + `.com","enabled":true}],
	"voiceRoutes":[{"name":"r1","numberPattern":"^\\+1\\d{10}$","onlinePstnGatewayList":["sbc1.` + name + `.com"],"onlinePstnUsages":["Local"]}],
	"voiceRoutingPolicies":[{"name":"p1","onlinePstnUsages":["Local"]}],
	"dialPlans":[{"name":"dp1","normalizationRules":[{"name":"n1","pattern":"^(\\d{4})$","translation":"$1","isInternalExtension":true}]}],
	"callerIdPolicies":[{"name":"c1","callingIdSubstitute":"Anonymous"}],
	"emergencyRoutingPolicies":[{"name":"e1","emergencyNumbers":[{"dialString":"911","onlinePstnUsage":"Local"}]}],
	"emergencyLocations":[{"name":"l1","streetAddress":"1 Main St","city":"Town","countryOrRegion":"US"}],
	"users":[{"sipAddress":"zoe@` + name + `.com","password":"zoe-secret-1","extension":"2001"}]}`
}

// objectNames is an object of each kind in tenantDoc(name), by kind.
func objectNames(name string) map[string]string {
	return map[string]string{
		"domains": name + ".com", "edges": "edge1", "pstnUsages": "Local", "translationRules": "tr1",
		"pstnGateways": "sbc1." + name + ".com", "voiceRoutes": "r1", "voiceRoutingPolicies": "p1",
		"dialPlans": "dp1", "callerIdPolicies": "c1", "emergencyRoutingPolicies": "e1",
		"emergencyLocations": "l1", "users": "zoe@" + name + ".com",
	}
}

func (fx *realFixture) tenantToken(t *testing.T, tenant string) (secret, id string) {
	t.Helper()
	rec := fx.call(t, token, http.MethodPost, "/api/v1/tokens", `{"tenant":"`+tenant+`"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create token = %d %s", rec.Code, rec.Body)
	}
	var nt struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &nt); err != nil {
		t.Fatal(err)
	}
	return nt.Token, nt.ID
}

func (fx *realFixture) snapshot(t *testing.T) []provision.Document {
	t.Helper()
	docs, err := provision.Snapshot(context.Background(), fx.db)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestTenantIsolationOnEveryRoute walks the router: a contoso token gets
// 404 (or 403 on operator routes) for every route naming fabrikam, sees no
// fabrikam data anywhere, and changes nothing of fabrikam's.
func TestTenantIsolationOnEveryRoute(t *testing.T) {
	fx := newRealFixture(t)
	for _, name := range []string{"contoso", "fabrikam"} {
		if rec := fx.call(t, token, http.MethodPut, "/api/v1/tenants/"+name, tenantDoc(name)); rec.Code != http.StatusCreated {
			t.Fatalf("PUT %s = %d %s", name, rec.Code, rec.Body)
		}
	}
	contoso, _ := fx.tenantToken(t, "contoso")
	_, fabrikamID := fx.tenantToken(t, "fabrikam")
	before := fx.snapshot(t)
	fabNames := objectNames("fabrikam")

	var fabDoc map[string]any
	if err := json.Unmarshal([]byte(tenantDoc("fabrikam")), &fabDoc); err != nil {
		t.Fatal(err)
	}
	routes := fx.h.(chi.Routes)
	visited := 0
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/api/v1/") || route == "/api/v1/openapi.json" {
			return nil
		}
		visited++
		kind := ""
		if rest, ok := strings.CutPrefix(route, "/api/v1/tenants/{tenant}/"); ok {
			kind, _, _ = strings.Cut(rest, "/")
		}
		path := strings.NewReplacer(
			"{tenant}", "fabrikam",
			"{name}", url.PathEscape(fabNames[kind]),
			"{id}", fabrikamID,
		).Replace(route) + "?tenant=fabrikam"
		body := ""
		switch {
		case method == http.MethodPut && kind == "":
			body = tenantDoc("fabrikam")
		case method == http.MethodPut && kind == "settings":
			body = `{"displayName":"pwned"}`
		case method == http.MethodPut:
			list, _ := fabDoc[kind].([]any)
			b, _ := json.Marshal(list[0])
			body = string(b)
		case route == "/api/v1/plan":
			body = `{"country":"US","keepCarrier":true}`
		case strings.HasSuffix(route, "/routeTest"):
			body = `{"user":"zoe@fabrikam.com","dial":"2001"}`
		case method == http.MethodPost:
			body = `{"tenant":"fabrikam"}`
		}
		rec := fx.call(t, contoso, method, path, body)
		switch {
		case rec.Code == http.StatusNotFound:
		case rec.Code == http.StatusForbidden && strings.HasPrefix(route, "/api/v1/tokens"):
		case rec.Code == http.StatusForbidden && strings.HasPrefix(route, "/api/v1/operator/"): // the node's, not a tenant's
		case rec.Code == http.StatusOK && !strings.Contains(route, "{tenant}") &&
			(method == http.MethodGet || route == "/api/v1/plan"): // plan reads no tenant data
			if strings.Contains(rec.Body.String(), "fabrikam") {
				t.Errorf("%s %s with a contoso token shows fabrikam data: %s", method, path, rec.Body)
			}
		default:
			t.Errorf("%s %s with a contoso token = %d %s, want 404", method, path, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusNotFound && strings.Contains(route, "{tenant}") {
			// Same answer as for a tenant that does not exist.
			ghost := fx.call(t, token, method, strings.Replace(path, "fabrikam", "ghost", 1), "")
			if method == http.MethodGet && ghost.Body.String() != strings.ReplaceAll(rec.Body.String(), "fabrikam", "ghost") {
				t.Errorf("%s %s: answer differs from a missing tenant's:\n%s\n%s", method, path, rec.Body, ghost.Body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(fx.routesForTest()) - 1; visited != want {
		t.Errorf("walked %d routes, the route table has %d", visited, want)
	}
	if after := fx.snapshot(t); !reflect.DeepEqual(before, after) {
		t.Error("a contoso token changed the store")
	}
	// Its own tenant works.
	if rec := fx.call(t, contoso, http.MethodGet, "/api/v1/tenants/contoso/voiceRoutes", ""); rec.Code != http.StatusOK {
		t.Errorf("own tenant = %d %s", rec.Code, rec.Body)
	}
	if rec := fx.call(t, contoso, http.MethodDelete, "/api/v1/tenants/contoso", ""); rec.Code != http.StatusForbidden {
		t.Errorf("tenant token deleting its tenant = %d, want 403", rec.Code)
	}
}

func (fx *realFixture) routesForTest() []route { return (&server{}).routes() }

// TestOpenAPIListsExactlyTheRoutes compares the served document with chi.Walk.
func TestOpenAPIListsExactlyTheRoutes(t *testing.T) {
	fx := newRealFixture(t)
	rec := fx.call(t, "", http.MethodGet, "/api/v1/openapi.json", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("openapi.json = %d", rec.Code)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	var documented, served []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	err := chi.Walk(fx.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/") {
			served = append(served, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("OpenAPI paths differ from the router:\ndocumented %q\nserved     %q", documented, served)
	}
}

func TestObjectsCRUDPaginationAndAudit(t *testing.T) {
	fx := newRealFixture(t)
	if rec := fx.call(t, token, http.MethodPut, "/api/v1/tenants/contoso", tenantDoc("contoso")); rec.Code != http.StatusCreated {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	// Create two routes through the object API; the name comes from the URL.
	for _, n := range []string{"r2", "r 3"} {
		rec := fx.call(t, token, http.MethodPut, "/api/v1/tenants/contoso/voiceRoutes/"+url.PathEscape(n),
			`{"numberPattern":"^\\+44\\d+$","priority":5,"onlinePstnGatewayList":["sbc1.contoso.com"],"onlinePstnUsages":["Local"]}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("PUT route %q = %d %s", n, rec.Code, rec.Body)
		}
	}
	// Pages of 2: r 3, r1 | r2.
	rec := fx.call(t, token, http.MethodGet, "/api/v1/tenants/contoso/voiceRoutes?limit=2", "")
	var p page[provision.VoiceRoute]
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || len(p.Items) != 2 || p.NextCursor == "" {
		t.Fatalf("page 1 = %s (%v)", rec.Body, err)
	}
	rec = fx.call(t, token, http.MethodGet, "/api/v1/tenants/contoso/voiceRoutes?limit=2&cursor="+p.NextCursor, "")
	var p2 page[provision.VoiceRoute]
	if err := json.Unmarshal(rec.Body.Bytes(), &p2); err != nil || len(p2.Items) != 1 || p2.Items[0].Name != "r2" || p2.NextCursor != "" {
		t.Fatalf("page 2 = %s (%v)", rec.Body, err)
	}
	// The gateway is in use: 409 naming the route.
	rec = fx.call(t, token, http.MethodDelete, "/api/v1/tenants/contoso/pstnGateways/sbc1.contoso.com", "")
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `voiceRoutes[\"r1\"].onlinePstnGatewayList[0]`) {
		t.Errorf("delete used gateway = %d %s", rec.Code, rec.Body)
	}
	// Name mismatch.
	rec = fx.call(t, token, http.MethodPut, "/api/v1/tenants/contoso/voiceRoutes/x", `{"name":"y","numberPattern":"^1$","onlinePstnGatewayList":["sbc1.contoso.com"],"onlinePstnUsages":["Local"]}`)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("name mismatch = %d %s", rec.Code, rec.Body)
	}
	// Delete a route, then it is gone.
	if rec = fx.call(t, token, http.MethodDelete, "/api/v1/tenants/contoso/voiceRoutes/r2", ""); rec.Code != http.StatusOK {
		t.Errorf("delete = %d %s", rec.Code, rec.Body)
	}
	if rec = fx.call(t, token, http.MethodGet, "/api/v1/tenants/contoso/voiceRoutes/r2", ""); rec.Code != http.StatusNotFound {
		t.Errorf("get deleted = %d", rec.Code)
	}
	// A password change is audited as "(changed)", never in clear.
	rec = fx.call(t, token, http.MethodPut, "/api/v1/tenants/contoso/users/zoe@contoso.com", `{"password":"another-secret"}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"(changed)"`) || strings.Contains(rec.Body.String(), "another-secret") {
		t.Errorf("password change = %d %s", rec.Code, rec.Body)
	}
	rec = fx.call(t, token, http.MethodGet, "/api/v1/audit?tenant=contoso", "")
	var audit page[pbx.AuditEntry]
	if err := json.Unmarshal(rec.Body.Bytes(), &audit); err != nil {
		t.Fatal(err)
	}
	if len(audit.Items) == 0 || audit.Items[0].Kind != "users" || audit.Items[0].ActorID != OperatorID ||
		strings.Contains(rec.Body.String(), "another-secret") || strings.Contains(rec.Body.String(), "zoe-secret") {
		t.Errorf("audit = %s", rec.Body)
	}
}

// TestTokensAreAudited: creating and revoking a tenant token are in the
// audit log, with the actor, the tenant and the token but never its secret.
func TestTokensAreAudited(t *testing.T) {
	fx := newRealFixture(t)
	if rec := fx.call(t, token, http.MethodPut, "/api/v1/tenants/fabrikam", tenantDoc("fabrikam")); rec.Code/100 != 2 {
		t.Fatalf("put tenant = %d %s", rec.Code, rec.Body)
	}
	secret, id := fx.tenantToken(t, "fabrikam")
	if rec := fx.call(t, token, http.MethodDelete, "/api/v1/tokens/"+id, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke = %d %s", rec.Code, rec.Body)
	}
	entries, err := fx.db.Audit(context.Background(), pbx.AuditFilter{Tenant: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.Kind != "token" {
			continue
		}
		got = append(got, e.Action+" "+e.Name+" by "+e.ActorID)
		if strings.Contains(string(e.Before)+string(e.After), secret[strings.LastIndex(secret, "_")+1:]) {
			t.Errorf("audit entry %s %s holds the token's secret", e.Action, e.Name)
		}
	}
	want := []string{"delete " + id + " by operator", "create " + id + " by operator"} // newest first
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("token audit entries = %q, want %q", got, want)
	}
}
