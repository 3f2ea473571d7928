package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// fakeAPI is an in-memory admin API: PUT /api/v1/tenants/{tenant} stores
// the document and says whether it was created or changed;
// GET /api/v1/cdrs returns {"items": cdrs}. Every request is recorded.
type fakeAPI struct {
	t       *testing.T
	token   string
	cdrs    []pbx.CDR
	reject  map[string][]provision.FieldError // tenant -> 422 field errors
	mu      sync.Mutex
	tenants map[string][]byte
	reqs    []string // "METHOD PATH?QUERY"
}

func newFakeAPI(t *testing.T, token string) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, token: token, tenants: map[string][]byte{}, reject: map[string][]provision.FieldError{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.RequestURI())
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"title":"Unauthorized","status":401}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/cdrs":
		_ = json.NewEncoder(w).Encode(map[string]any{"items": f.cdrs})
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v1/tenants/"):
		name := strings.TrimPrefix(r.URL.Path, "/api/v1/tenants/")
		body, _ := io.ReadAll(r.Body)
		var d provision.Document
		if err := json.Unmarshal(body, &d); err != nil || d.Tenant != name {
			f.t.Errorf("PUT %s: body %s (%v)", name, body, err)
		}
		if fes := f.reject[name]; fes != nil {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_ = json.NewEncoder(w).Encode(map[string]any{"title": "Invalid document", "status": 422, "detail": "the document is invalid", "errors": fes})
			return
		}
		old, exists := f.tenants[name]
		f.tenants[name] = body
		res := map[string]any{"tenant": name, "created": !exists, "changed": !bytes.Equal(old, body), "users": len(d.Users)}
		if !exists {
			w.WriteHeader(http.StatusCreated)
		}
		_ = json.NewEncoder(w).Encode(res)
	default:
		http.NotFound(w, r)
	}
}

const tenantsYAML = `tenant: contoso
domains: [contoso.com]
users:
  - sipAddress: alice@contoso.com
    password: alice-secret
    extension: "100"
  - sipAddress: bob@contoso.com
    password: bob-secret-1
---
tenant: fabrikam
domains: [fabrikam.com]
users:
  - sipAddress: carol@fabrikam.com
    password: carol-secret
`

func TestApplyEndToEnd(t *testing.T) {
	api, srv := newFakeAPI(t, "tok")
	file := writeFile(t, "tenants.yaml", tenantsYAML)
	env := map[string]string{envServer: srv.URL, envToken: "tok"}

	code, stdout, stderr := execute(t, testDeps(t, env), "", "apply", "-f", file)
	if code != 0 || stderr != "" {
		t.Fatalf("first apply: exit %d, stderr %s", code, stderr)
	}
	if want := "tenant contoso: created (2 users)\ntenant fabrikam: created (1 user)\n"; stdout != want {
		t.Errorf("first apply printed\n%s\nwant\n%s", stdout, want)
	}

	code, stdout, _ = execute(t, testDeps(t, env), "", "apply", "-f", file)
	if want := "tenant contoso: unchanged\ntenant fabrikam: unchanged\n"; code != 0 || stdout != want {
		t.Errorf("second apply: exit %d, printed\n%s\nwant\n%s", code, stdout, want)
	}

	// Flags win over the environment; the document comes from stdin.
	changed := strings.Replace(tenantsYAML, `extension: "100"`, `extension: "200"`, 1)
	badEnv := map[string]string{envServer: "http://127.0.0.1:1", envToken: "wrong"}
	code, stdout, stderr = execute(t, testDeps(t, badEnv), changed, "apply", "-f", "-", "--server", srv.URL, "--token", "tok")
	if want := "tenant contoso: configured (2 users)\ntenant fabrikam: unchanged\n"; code != 0 || stdout != want {
		t.Errorf("third apply: exit %d, printed\n%s\nwant\n%s\nstderr %s", code, stdout, want, stderr)
	}
	if n := len(api.requests()); n != 6 {
		t.Errorf("server saw %d requests, want 6: %q", n, api.requests())
	}
}

func TestApplyInvalidSendsNothing(t *testing.T) {
	api, srv := newFakeAPI(t, "tok")
	bad := strings.Replace(tenantsYAML, "    extension: \"100\"\n", "    extension: \"100\"\n    voicemail: true\n", 1)
	bad = strings.Replace(bad, "carol@fabrikam.com", "carol@elsewhere.com", 1)
	file := writeFile(t, "tenants.yaml", bad)

	code, stdout, stderr := execute(t, testDeps(t, nil), "", "apply", "-f", file, "--server", srv.URL, "--token", "tok")
	if code != exitFailure {
		t.Errorf("exit code = %d, want %d", code, exitFailure)
	}
	if stdout != "" {
		t.Errorf("stdout = %q", stdout)
	}
	want := file + ":7: users[0].voicemail: unknown field\n" +
		file + `:14: users[0].sipAddress: domain "elsewhere.com" is not one of the tenant's domains` + "\n"
	if stderr != want {
		t.Errorf("stderr =\n%s\nwant\n%s", stderr, want)
	}
	if reqs := api.requests(); len(reqs) != 0 {
		t.Errorf("server saw requests: %q", reqs)
	}
}

func TestApplyDryRun(t *testing.T) {
	api, srv := newFakeAPI(t, "tok")
	file := writeFile(t, "tenants.yaml", tenantsYAML)
	code, stdout, _ := execute(t, testDeps(t, nil), "", "apply", "-f", file, "--dry-run", "--local", "--server", srv.URL)
	want := "tenant contoso: valid (dry run, nothing applied)\ntenant fabrikam: valid (dry run, nothing applied)\n"
	if code != 0 || stdout != want {
		t.Errorf("dry run: exit %d, printed\n%s\nwant\n%s", code, stdout, want)
	}
	if reqs := api.requests(); len(reqs) != 0 {
		t.Errorf("dry run sent requests: %q", reqs)
	}
}

func TestApplyServerErrors(t *testing.T) {
	api, srv := newFakeAPI(t, "tok")
	api.reject["contoso"] = []provision.FieldError{{Field: "users[1].sipAddress", Message: "already a user of tenant other"}}
	file := writeFile(t, "tenants.yaml", tenantsYAML)

	code, stdout, stderr := execute(t, testDeps(t, nil), "", "apply", "-f", file, "--server", srv.URL, "--token", "tok")
	if code != exitFailure || stdout != "" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	want := "tenant contoso: the document is invalid (HTTP 422)\n" +
		file + ":7: users[1].sipAddress: already a user of tenant other\n" +
		"tenant fabrikam: not applied\n"
	if stderr != want {
		t.Errorf("stderr =\n%s\nwant\n%s", stderr, want)
	}

	code, _, stderr = execute(t, testDeps(t, nil), "", "apply", "-f", file, "--server", srv.URL, "--token", "bad")
	if want := "tenant contoso: unauthorized: check --token or SWITCHBOARD_TOKEN\ntenant fabrikam: not applied\n"; code != exitFailure || stderr != want {
		t.Errorf("bad token: exit %d, stderr\n%s\nwant\n%s", code, stderr, want)
	}
}

func TestApplyMissingFile(t *testing.T) {
	code, _, stderr := execute(t, testDeps(t, nil), "", "apply", "-f", "/nonexistent/t.yaml")
	if code != exitFailure || !strings.HasPrefix(stderr, "Error: open /nonexistent/t.yaml") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestCDR(t *testing.T) {
	api, srv := newFakeAPI(t, "tok")
	start := time.Date(2026, 3, 1, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	api.cdrs = []pbx.CDR{
		{ID: 2, Tenant: "contoso", Caller: "alice@contoso.com", Callee: "bob@contoso.com", Dialed: "101",
			Start: start, End: start.Add(2 * time.Minute), Duration: 95, Result: pbx.ResultAnswered, Cause: 200, HangupBy: pbx.PartyCallee},
		{ID: 1, Tenant: "contoso", Caller: "alice@contoso.com", Dialed: "999",
			Start: start.Add(-time.Hour), End: start.Add(-time.Hour), Result: pbx.ResultNotFound, Cause: 404},
	}
	env := map[string]string{envServer: srv.URL, envToken: "tok"}

	code, stdout, stderr := execute(t, testDeps(t, env), "", "cdr", "--tenant", "contoso", "--limit", "2")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	want := "" +
		"START                 TENANT   CALLER             CALLEE           DIALED  RESULT     CAUSE  DURATION  HANGUP  VIA\n" +
		"2026-03-01T09:30:00Z  contoso  alice@contoso.com  bob@contoso.com  101     answered   200    1m35s     callee  -\n" +
		"2026-03-01T08:30:00Z  contoso  alice@contoso.com  -                999     not-found  404    0s        -       -\n"
	if stdout != want {
		t.Errorf("table =\n%s\nwant\n%s", stdout, want)
	}
	if reqs := api.requests(); len(reqs) != 1 || reqs[0] != "GET /api/v1/cdrs?limit=2&tenant=contoso" {
		t.Errorf("requests = %q", reqs)
	}

	code, stdout, _ = execute(t, testDeps(t, env), "", "cdr", "-o", "json")
	var got []pbx.CDR
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || len(got) != 2 || got[0].Duration != 95 {
		t.Errorf("json: exit %d, %v, %s", code, err, stdout)
	}

	api.cdrs = nil
	if code, stdout, _ = execute(t, testDeps(t, env), "", "cdr", "-o", "json"); code != 0 || stdout != "[]\n" {
		t.Errorf("empty json: exit %d, %q", code, stdout)
	}

	code, _, stderr = execute(t, testDeps(t, env), "", "cdr", "--limit", "0")
	if code != exitUsage || !strings.Contains(stderr, "--limit must be at least 1") {
		t.Errorf("limit 0: exit %d, stderr %q", code, stderr)
	}

	code, _, stderr = execute(t, testDeps(t, env), "", "cdr", "--token", "bad")
	if code != exitFailure || stderr != "Error: unauthorized: check --token or SWITCHBOARD_TOKEN\n" {
		t.Errorf("bad token: exit %d, stderr %q", code, stderr)
	}
}
