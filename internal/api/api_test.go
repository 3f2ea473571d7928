package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

const token = "s3cret-operator-token"

// fakeStore is an in-memory provision.Store.
type fakeStore struct {
	mu       sync.Mutex
	tenants  map[string]pbx.Tenant
	users    map[string][]pbx.User
	applyErr error
}

func newFakeStore() *fakeStore {
	return &fakeStore{tenants: map[string]pbx.Tenant{}, users: map[string][]pbx.User{}}
}

func (f *fakeStore) SaveTenant(_ context.Context, t pbx.Tenant, users []pbx.User, _ []pbx.Object, _ []pbx.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return f.applyErr
	}
	f.tenants[t.Name] = t
	f.users[t.Name] = slices.Clone(users)
	return nil
}

func (f *fakeStore) DeleteTenant(context.Context, string, []pbx.AuditEntry) error {
	return errors.New("not supported by fakeStore")
}

func (f *fakeStore) Objects(context.Context, string) ([]pbx.Object, error) { return nil, nil }

func (f *fakeStore) Tenants(context.Context) ([]pbx.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []pbx.Tenant
	for _, t := range f.tenants {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b pbx.Tenant) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeStore) Users(_ context.Context, tenant string) ([]pbx.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.users[tenant]), nil
}

type fixture struct {
	h     http.Handler
	st    *fakeStore
	ready bool
	cdrs  []pbx.CDRFilter // filters the CDR function was called with
	log   bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{st: newFakeStore(), ready: true}
	bindings := []pbx.Binding{
		{AOR: "bob@contoso.com", Contact: "sip:bob@10.0.0.2:5060"},
		{AOR: "alice@contoso.com", Contact: "sip:alice@10.0.0.1:5060"},
		{AOR: "zoe@fabrikam.com", Contact: "sip:zoe@10.0.0.9:5060"},
	}
	fx.h = New(Options{
		Token:     token,
		Provision: provision.NewService(fx.st, nil),
		CDRs: func(_ context.Context, f pbx.CDRFilter) ([]pbx.CDR, error) {
			fx.cdrs = append(fx.cdrs, f)
			if f.Tenant == "broken" {
				return nil, errors.New("sql: database is locked at /var/lib/secret.db")
			}
			return []pbx.CDR{{ID: 1, CallID: "abc", Tenant: "contoso", Result: pbx.ResultAnswered, Cause: 200}}, nil
		},
		Registrations: func() []pbx.Binding { return slices.Clone(bindings) },
		Tenants:       fx.st.Tenants,
		Users:         fx.st.Users,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "switchboard_active_calls 0\n")
		}),
		Ready: func() bool { return fx.ready },
		Log:   slog.New(slog.NewTextHandler(&fx.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return fx
}

func (fx *fixture) do(t *testing.T, method, path, body string, auth bool) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, req)
	return rec
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body, err)
	}
	if p.Type != "about:blank" || p.Status != status || p.Title != http.StatusText(status) {
		t.Errorf("problem = %+v", p)
	}
	return p
}

const contosoDoc = `{
  "tenant": "contoso",
  "domains": ["contoso.com"],
  "users": [
    {"sipAddress": "alice@contoso.com", "displayName": "Alice", "password": "alice-secret", "extension": "1001", "lineUri": "+14255550100"},
    {"sipAddress": "bob@contoso.com", "password": "bob-secret-1", "extension": "1002"}
  ]
}`

func TestEveryAPIRouteRequiresToken(t *testing.T) {
	fx := newFixture(t)
	routes, ok := fx.h.(chi.Routes)
	if !ok {
		t.Fatal("New does not return a chi router")
	}
	n := 0
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/api/") || route == "/api/v1/openapi.json" {
			return nil
		}
		n++
		path := strings.NewReplacer("{tenant}", "contoso").Replace(route)
		for name, header := range map[string]string{
			"missing": "",
			"wrong":   "Bearer not-the-token",
			"prefix":  "Bearer " + token[:len(token)-1],
			"longer":  "Bearer " + token + "x",
			"basic":   "Basic " + token,
		} {
			req := httptest.NewRequest(method, path, strings.NewReader(contosoDoc))
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			rec := httptest.NewRecorder()
			fx.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s %s with %s token = %d (WWW-Authenticate %q), want 401 Bearer",
					method, path, name, rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("walked %d /api routes, want at least 5", n)
	}
	if len(fx.st.tenants) != 0 {
		t.Error("an unauthenticated request changed the store")
	}
	// Unknown API paths do not reveal themselves without a token.
	decodeProblem(t, fx.do(t, http.MethodGet, "/api/v1/nope", "", false), http.StatusUnauthorized)
	decodeProblem(t, fx.do(t, http.MethodGet, "/api/v1/nope", "", true), http.StatusNotFound)
}

func TestEmptyTokenRefusesEverything(t *testing.T) {
	h := New(Options{Tenants: newFakeStore().Tenants})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer ")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", rec.Code)
	}
}

func TestPutTenant(t *testing.T) {
	fx := newFixture(t)

	rec := fx.do(t, http.MethodPut, "/api/v1/tenants/contoso", contosoDoc, true)
	if rec.Code != http.StatusCreated {
		t.Fatalf("first PUT = %d %s, want 201", rec.Code, rec.Body)
	}
	if loc := rec.Header().Get("Location"); loc != "/api/v1/tenants/contoso" {
		t.Errorf("Location = %q", loc)
	}
	var res provision.Result
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Tenant != "contoso" || !res.Created || !res.Changed || res.Users != 2 || len(res.Changes) != 4 {
		t.Errorf("result = %+v", res)
	}

	rec = fx.do(t, http.MethodPut, "/api/v1/tenants/contoso", contosoDoc, true)
	if rec.Code != http.StatusOK {
		t.Fatalf("second PUT = %d %s, want 200", rec.Code, rec.Body)
	}
	if got := strings.TrimSpace(rec.Body.String()); got != `{"tenant":"contoso","created":false,"changed":false,"users":2,"changes":[]}` {
		t.Errorf("second PUT body = %s", got)
	}
}

func TestPutTenantErrors(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		errors []provision.FieldError
	}{
		{"validation", "/api/v1/tenants/contoso",
			`{"tenant":"contoso","domains":["contoso com"],"users":[{"sipAddress":"alice@contoso.com","password":"short"}]}`,
			http.StatusUnprocessableEntity, []provision.FieldError{
				{Field: "domains[0]", Message: `"contoso com" is not a valid domain name`},
				{Field: "users[0].sipAddress", Message: `domain "contoso.com" is not one of the tenant's domains`},
				{Field: "users[0].password", Message: "must be at least 8 characters"},
			}},
		{"new user without password", "/api/v1/tenants/contoso",
			`{"tenant":"contoso","domains":["contoso.com"],"users":[{"sipAddress":"alice@contoso.com"}]}`,
			http.StatusUnprocessableEntity, []provision.FieldError{{Field: "users[0].password", Message: "required for a new user"}}},
		{"path and body differ", "/api/v1/tenants/fabrikam", contosoDoc,
			http.StatusUnprocessableEntity, []provision.FieldError{
				{Field: "tenant", Message: `"contoso" does not match the tenant in the URL ("fabrikam")`}}},
		{"unknown top-level field", "/api/v1/tenants/contoso", `{"tenant":"contoso","domain":["contoso.com"]}`,
			http.StatusBadRequest, []provision.FieldError{{Field: "domain", Message: "unknown field"}}},
		{"unknown nested field", "/api/v1/tenants/contoso",
			`{"tenant":"contoso","domains":["contoso.com"],"users":[{"sipAddress":"a@contoso.com","passwrd":"x"}]}`,
			http.StatusBadRequest, []provision.FieldError{{Field: "users[0].passwrd", Message: "unknown field"}}},
		{"wrong type", "/api/v1/tenants/contoso", `{"tenant":"contoso","domains":"contoso.com"}`,
			http.StatusBadRequest, []provision.FieldError{{Field: "domains", Message: "must be an array"}}},
		{"wrong scalar type", "/api/v1/tenants/contoso", `{"tenant":"contoso","domains":["contoso.com"],"users":[{"extension":1001}]}`,
			http.StatusBadRequest, []provision.FieldError{{Field: "users[0].extension", Message: "must be a string"}}},
		{"malformed", "/api/v1/tenants/contoso", `{"tenant":`, http.StatusBadRequest, nil},
		{"trailing data", "/api/v1/tenants/contoso", `{"tenant":"contoso"} {}`, http.StatusBadRequest, nil},
		{"not an object", "/api/v1/tenants/contoso", `["contoso"]`, http.StatusBadRequest, nil},
		{"empty body", "/api/v1/tenants/contoso", ``, http.StatusBadRequest, nil},
		{"too large", "/api/v1/tenants/contoso",
			`{"tenant":"contoso","domains":["` + strings.Repeat("a", maxBody) + `"]}`,
			http.StatusRequestEntityTooLarge, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			p := decodeProblem(t, fx.do(t, http.MethodPut, tt.path, tt.body, true), tt.status)
			if !reflect.DeepEqual(p.Errors, tt.errors) {
				t.Errorf("errors = %+v, want %+v", p.Errors, tt.errors)
			}
			if len(fx.st.tenants) != 0 {
				t.Error("a rejected document changed the store")
			}
		})
	}
}

func TestPutTenantStoreErrors(t *testing.T) {
	fx := newFixture(t)
	fx.st.applyErr = fmt.Errorf("domain %q belongs to tenant %q: %w", "contoso.com", "other", store.ErrConflict)
	p := decodeProblem(t, fx.do(t, http.MethodPut, "/api/v1/tenants/contoso", contosoDoc, true), http.StatusConflict)
	if !strings.Contains(p.Detail, `belongs to tenant "other"`) {
		t.Errorf("409 detail = %q", p.Detail)
	}

	fx.st.applyErr = errors.New("disk I/O error at /var/lib/switchboard/db")
	p = decodeProblem(t, fx.do(t, http.MethodPut, "/api/v1/tenants/contoso", contosoDoc, true), http.StatusInternalServerError)
	if p.Detail != "internal error" {
		t.Errorf("500 detail = %q leaks internals", p.Detail)
	}
	if !strings.Contains(fx.log.String(), "disk I/O error") {
		t.Error("500 cause not logged")
	}
}

func TestGets(t *testing.T) {
	fx := newFixture(t)

	if body := fx.do(t, http.MethodGet, "/api/v1/tenants", "", true).Body.String(); strings.TrimSpace(body) != `{"items":[]}` {
		t.Errorf("empty tenants = %s", body)
	}
	if rec := fx.do(t, http.MethodPut, "/api/v1/tenants/contoso", contosoDoc, true); rec.Code != http.StatusCreated {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}

	tests := []struct {
		path, want string
	}{
		{"/api/v1/tenants", `{"items":[{"tenant":"contoso","domains":["contoso.com"]}]}`},
		{"/api/v1/tenants/contoso/users", `{"items":[` +
			`{"sipAddress":"alice@contoso.com","displayName":"Alice","extension":"1001","lineUri":"+14255550100","home":"online","callingSettings":{"forwarding":{},"unansweredDelaySeconds":20,"voicemail":{"enabled":false}}},` +
			`{"sipAddress":"bob@contoso.com","extension":"1002","home":"online","callingSettings":{"forwarding":{},"unansweredDelaySeconds":20,"voicemail":{"enabled":false}}}]}`},
		{"/api/v1/registrations?tenant=contoso", `{"items":[` +
			`{"aor":"alice@contoso.com","contact":"sip:alice@10.0.0.1:5060","source":"","transport":"","expires":"0001-01-01T00:00:00Z","callId":"","cseq":0},` +
			`{"aor":"bob@contoso.com","contact":"sip:bob@10.0.0.2:5060","source":"","transport":"","expires":"0001-01-01T00:00:00Z","callId":"","cseq":0}]}`},
		{"/api/v1/cdrs?tenant=contoso&limit=5", `{"items":[{"id":1,"callId":"abc","tenant":"contoso","caller":"","callee":"","dialed":"",` +
			`"start":"0001-01-01T00:00:00Z","end":"0001-01-01T00:00:00Z","durationSeconds":0,"result":"answered","cause":200}]}`},
	}
	for _, tt := range tests {
		rec := fx.do(t, http.MethodGet, tt.path, "", true)
		if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != tt.want {
			t.Errorf("GET %s = %d\n%s\nwant\n%s", tt.path, rec.Code, rec.Body, tt.want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s Content-Type = %q", tt.path, ct)
		}
	}
	if want := (pbx.CDRFilter{Tenant: "contoso", Limit: 5}); fx.cdrs[0] != want {
		t.Errorf("CDR filter = %+v, want %+v", fx.cdrs[0], want)
	}

	var all list[pbx.Binding]
	_ = json.Unmarshal(fx.do(t, http.MethodGet, "/api/v1/registrations", "", true).Body.Bytes(), &all)
	if len(all.Items) != 3 || all.Items[2].AOR != "zoe@fabrikam.com" {
		t.Errorf("all registrations = %+v", all.Items)
	}
	fx.do(t, http.MethodGet, "/api/v1/cdrs", "", true)
	if want := (pbx.CDRFilter{Limit: defaultCDRLimit}); fx.cdrs[1] != want {
		t.Errorf("default CDR filter = %+v, want %+v", fx.cdrs[1], want)
	}

	decodeProblem(t, fx.do(t, http.MethodGet, "/api/v1/tenants/nope/users", "", true), http.StatusNotFound)
	decodeProblem(t, fx.do(t, http.MethodGet, "/api/v1/registrations?tenant=nope", "", true), http.StatusNotFound)
	for _, limit := range []string{"x", "0", "-1", "10001", "1.5"} {
		p := decodeProblem(t, fx.do(t, http.MethodGet, "/api/v1/cdrs?limit="+limit, "", true), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != "limit" {
			t.Errorf("limit=%s errors = %+v, want one naming limit", limit, p.Errors)
		}
	}
	p := decodeProblem(t, fx.do(t, http.MethodGet, "/api/v1/cdrs?tenant=broken", "", true), http.StatusInternalServerError)
	if strings.Contains(p.Detail, "secret") {
		t.Errorf("500 detail leaks internals: %q", p.Detail)
	}
	decodeProblem(t, fx.do(t, http.MethodDelete, "/api/v1/tenants", "", true), http.StatusMethodNotAllowed)
}

func TestProbesAndMetrics(t *testing.T) {
	fx := newFixture(t)
	if rec := fx.do(t, http.MethodGet, "/healthz", "", false); rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("/healthz = %d %q", rec.Code, rec.Body)
	}
	if rec := fx.do(t, http.MethodGet, "/readyz", "", false); rec.Code != http.StatusOK {
		t.Errorf("/readyz = %d, want 200", rec.Code)
	}
	fx.ready = false
	if rec := fx.do(t, http.MethodGet, "/readyz", "", false); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz not ready = %d, want 503", rec.Code)
	}
	if rec := fx.do(t, http.MethodGet, "/metrics", "", false); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "switchboard_active_calls") {
		t.Errorf("/metrics = %d %q", rec.Code, rec.Body)
	}
	decodeProblem(t, fx.do(t, http.MethodGet, "/nope", "", false), http.StatusNotFound)
	if !strings.Contains(fx.log.String(), `msg="http request" method=GET path=/healthz status=200`) {
		t.Errorf("request not logged at debug:\n%s", fx.log.String())
	}
}

func TestPanicsAreRecovered(t *testing.T) {
	var logs bytes.Buffer
	h := New(Options{
		Token:   token,
		Tenants: func(context.Context) ([]pbx.Tenant, error) { panic("boom") },
		Log:     slog.New(slog.NewTextHandler(&logs, nil)),
	})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/tenants", nil)
	req.Header.Set("Authorization", "bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	p := decodeProblem(t, rec, http.StatusInternalServerError)
	if strings.Contains(p.Detail, "boom") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("detail %q, logs %q: want the panic logged, not shown", p.Detail, logs.String())
	}
}

func TestNotImplementedWithoutDependencies(t *testing.T) {
	h := New(Options{Token: token})
	for _, path := range []string{"/api/v1/tenants", "/api/v1/cdrs", "/api/v1/registrations", "/api/v1/tenants/x/users"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		decodeProblem(t, rec, http.StatusNotImplemented)
	}
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("/readyz without Ready = %d, want 200", rec.Code)
	}
}

func TestRegistrationsMatchDomainCaseAndScheme(t *testing.T) {
	for aor, want := range map[string]string{
		"alice@contoso.com":          "contoso.com",
		"sip:Alice@Contoso.COM":      "contoso.com",
		"bob@contoso.com;transport=": "contoso.com",
		"bob@contoso.com:5060":       "contoso.com",
		"nodomain":                   "",
	} {
		if got := aorDomain(aor); got != want {
			t.Errorf("aorDomain(%q) = %q, want %q", aor, got, want)
		}
	}
}

// The store adapter must keep satisfying the provision port.
var _ provision.Store = (store.Store)(nil)

func FuzzDecodeStrict(f *testing.F) {
	f.Add(contosoDoc)
	f.Add(`{"tenant":"contoso","users":[{"passwrd":1}]}`)
	f.Add(`{"Tenant":null,"domains":[null,"x"]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPut, "/api/v1/tenants/x", strings.NewReader(body))
		var doc provision.Document
		err := decodeStrict(httptest.NewRecorder(), req, &doc)
		if err == nil {
			return
		}
		if p := toProblem(err); p.Status != http.StatusBadRequest && p.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("decode error %v maps to %d, want 400 or 413", err, p.Status)
		}
	})
}
