package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/planner"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/routing"
)

// fakeRouteTest routes every call of a user of the tenant's domain to the
// dialled string as a user; other callers are not found.
func fakeRouteTest(_ context.Context, tenant, user, dial string) (routing.Decision, error) {
	if !strings.HasSuffix(user, "@"+tenant+".com") {
		return routing.Decision{}, fmt.Errorf("user %q of tenant %q: %w", user, tenant, provision.ErrNotFound)
	}
	return routing.Decision{Dialed: dial, Normalized: dial, Target: routing.TargetUser, User: dial + "@" + tenant + ".com",
		Routes: []routing.RouteChoice{}, Steps: []string{user + " dialled " + dial}}, nil
}

var lastOptions = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeGatewayStatus knows sbc1 of each tenant (tenantDoc), and a gateway
// that the document does not list (it must not show).
func fakeGatewayStatus(_ context.Context, tenant string) ([]GatewayStatus, error) {
	return []GatewayStatus{
		{FQDN: "sbc1." + tenant + ".com", Status: "Active", LastOptions: lastOptions, Sessions: 9, MaxSessions: 10, SessionAlert: true},
		{FQDN: "gone." + tenant + ".com", Status: "Demoted"},
	}, nil
}

func TestRouteTestEndpoint(t *testing.T) {
	fx := newRealFixture(t)
	if rec := fx.call(t, token, http.MethodPut, "/api/v1/tenants/contoso", tenantDoc("contoso")); rec.Code != http.StatusCreated {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	contoso, _ := fx.tenantToken(t, "contoso")
	const path = "/api/v1/tenants/contoso/routeTest"
	for _, tok := range []string{token, contoso} {
		rec := fx.call(t, tok, http.MethodPost, path, `{"user":"zoe@contoso.com","dial":"2001"}`)
		var d routing.Decision
		if err := json.Unmarshal(rec.Body.Bytes(), &d); rec.Code != http.StatusOK || err != nil ||
			d.Target != routing.TargetUser || d.User != "2001@contoso.com" || len(d.Steps) != 1 {
			t.Errorf("route test = %d %s (%v)", rec.Code, rec.Body, err)
		}
	}
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"user":"nobody@fabrikam.com","dial":"2001"}`, http.StatusNotFound, `"detail":"user \"nobody@fabrikam.com\" of tenant \"contoso\": not found"`},
		{`{"dial":""}`, http.StatusUnprocessableEntity, `"errors":[{"field":"user","message":"required: the caller's SIP address, user part or extension"},{"field":"dial","message":"required: the string the caller dials"}]`},
		{`{"user":"zoe@contoso.com","dial":"1","number":"2"}`, http.StatusBadRequest, `"field":"number","message":"unknown field"`},
		{`{"user":"zoe@contoso.com","dial":1}`, http.StatusBadRequest, `"field":"dial","message":"must be a string"`},
		{``, http.StatusBadRequest, `request body is empty`},
	} {
		rec := fx.call(t, token, http.MethodPost, path, tc.body)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("POST %s = %d %s, want %d with %s", tc.body, rec.Code, rec.Body, tc.status, tc.want)
		}
	}
	// Not wired: 501.
	if rec := newFixture(t).do(t, http.MethodPost, path, `{"user":"a","dial":"1"}`, true); rec.Code != http.StatusNotImplemented {
		t.Errorf("without RouteTest = %d %s", rec.Code, rec.Body)
	}
}

func TestGatewayStatusEndpoints(t *testing.T) {
	fx := newRealFixture(t)
	doc := strings.Replace(tenantDoc("contoso"), `"pstnGateways":[{"fqdn":"sbc1.contoso.com","enabled":true}]`,
		`"pstnGateways":[{"fqdn":"sbc1.contoso.com","enabled":true},{"fqdn":"sbc2.contoso.com","enabled":true,"maxConcurrentSessions":5},{"fqdn":"sbc3.contoso.com","enabled":false}]`, 1)
	if rec := fx.call(t, token, http.MethodPut, "/api/v1/tenants/contoso", doc); rec.Code != http.StatusCreated {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	contoso, _ := fx.tenantToken(t, "contoso")
	rec := fx.call(t, contoso, http.MethodGet, "/api/v1/tenants/contoso/pstnGatewayStatus", "")
	want := `{"items":[` +
		`{"fqdn":"sbc1.contoso.com","status":"Active","lastOptions":"2026-01-02T03:04:05Z","consecutiveFailures":0,"sessions":9,"maxConcurrentSessions":10,"sessionAlert":true},` +
		`{"fqdn":"sbc2.contoso.com","status":"Unknown","consecutiveFailures":0,"sessions":0,"maxConcurrentSessions":5,"sessionAlert":false},` +
		`{"fqdn":"sbc3.contoso.com","status":"Disabled","consecutiveFailures":0,"sessions":0,"sessionAlert":false}]}` + "\n"
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Errorf("status list = %d\n%s\nwant\n%s", rec.Code, rec.Body, want)
	}
	rec = fx.call(t, token, http.MethodGet, "/api/v1/tenants/contoso/pstnGateways/SBC1.contoso.com/status", "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), `{"fqdn":"sbc1.contoso.com","status":"Active"`) {
		t.Errorf("one status = %d %s", rec.Code, rec.Body)
	}
	for path, detail := range map[string]string{
		"/api/v1/tenants/contoso/pstnGateways/gone.contoso.com/status": `pstnGateway \"gone.contoso.com\": not found`,
		"/api/v1/tenants/ghost/pstnGateways/sbc1.contoso.com/status":   `tenant \"ghost\": not found`,
		"/api/v1/tenants/ghost/pstnGatewayStatus":                      `tenant \"ghost\": not found`,
	} {
		rec := fx.call(t, token, http.MethodGet, path, "")
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), detail) {
			t.Errorf("GET %s = %d %s, want 404 %s", path, rec.Code, rec.Body, detail)
		}
	}
	// The document itself has no status: get -o yaml | apply stays a no-op.
	if rec := fx.call(t, token, http.MethodGet, "/api/v1/tenants/contoso/pstnGateways/sbc1.contoso.com", ""); strings.Contains(rec.Body.String(), "status") {
		t.Errorf("the gateway object carries status: %s", rec.Body)
	}
}

func TestPlanEndpoint(t *testing.T) {
	fx := newRealFixture(t)
	contoso, _ := fx.tenantToken(t, "contoso")
	for _, tok := range []string{token, contoso} {
		rec := fx.call(t, tok, http.MethodPost, "/api/v1/plan", `{"country":"US","keepCarrier":true}`)
		var rec2 planner.Recommendation
		if err := json.Unmarshal(rec.Body.Bytes(), &rec2); rec.Code != http.StatusOK || err != nil || rec2.Best != planner.DirectRouting {
			t.Errorf("plan = %d %s (%v)", rec.Code, rec.Body, err)
		}
	}
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"country":"XX","usersHomed":"onprem"}`, http.StatusUnprocessableEntity,
			`"detail":"2 problem(s) with the answers","errors":[{"field":"country","message":"\"XX\" is not an ISO 3166-1 alpha-2 country code (e.g. US, GB, DE)"},{"field":"usersHomed","message":"\"onprem\" means users are homed on an on-prem server, but existingOnPremServer is false"}]`},
		{`{"country":"US","keepCarier":true}`, http.StatusBadRequest, `"field":"keepCarier","message":"unknown field"`},
		{`{"country":"US","keepCarrier":"yes"}`, http.StatusBadRequest, `"field":"keepCarrier","message":"must be true or false"`},
	} {
		rec := fx.call(t, token, http.MethodPost, "/api/v1/plan", tc.body)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("POST /plan %s = %d %s, want %d with %s", tc.body, rec.Code, rec.Body, tc.status, tc.want)
		}
	}
	if rec := fx.call(t, "", http.MethodPost, "/api/v1/plan", `{"country":"US"}`); rec.Code != http.StatusUnauthorized {
		t.Errorf("plan without a token = %d", rec.Code)
	}
	// The operator's Calling Plan countries decide when the answers do not.
	h := New(Options{Token: token, Planner: &planner.Operator{CallingPlanCountries: []string{"FR"}}})
	fx2 := &realFixture{h: h}
	rec := fx2.call(t, token, http.MethodPost, "/api/v1/plan", `{"country":"US"}`)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"best":"calling-plan"`) {
		t.Errorf("plan in a country without Calling Plan = %d %s", rec.Code, rec.Body)
	}
}

// TestOpenAPINewRoutes checks the success codes and bodies documented for
// route test, gateway status and plan.
func TestOpenAPINewRoutes(t *testing.T) {
	doc := (&server{}).openAPIDoc()
	paths := doc["paths"].(map[string]map[string]any)
	for _, tc := range []struct{ path, method, code string }{
		{"/api/v1/tenants/{tenant}/routeTest", "post", "200"},
		{"/api/v1/plan", "post", "200"},
		{"/api/v1/tenants/{tenant}/pstnGatewayStatus", "get", "200"},
		{"/api/v1/tenants/{tenant}/pstnGateways/{name}/status", "get", "200"},
	} {
		op, ok := paths[tc.path][tc.method].(map[string]any)
		if !ok {
			t.Errorf("%s %s not documented", tc.method, tc.path)
			continue
		}
		resp := op["responses"].(map[string]any)
		if _, ok := resp[tc.code]; !ok {
			t.Errorf("%s %s: no %s response in %v", tc.method, tc.path, tc.code, resp)
		}
		if _, ok := resp["201"]; ok {
			t.Errorf("%s %s documents 201", tc.method, tc.path)
		}
	}
	b, _ := json.Marshal(paths["/api/v1/tenants/{tenant}/routeTest"])
	for _, field := range []string{`"dialed"`, `"normalized"`, `"rule"`, `"target"`, `"user"`, `"via"`, `"usage"`, `"routes"`, `"gateways"`, `"reason"`, `"steps"`, `"dial"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("routeTest schema lacks %s", field)
		}
	}
}
