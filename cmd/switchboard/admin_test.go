package main

import (
	"context"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

const opToken = "operator-secret"

// adminServer is the real API over a real store, in process.
type adminServer struct {
	db  *sqlite.DB
	env map[string]string
}

func newAdminServer(t *testing.T) *adminServer {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	h := api.New(api.Options{Token: opToken, Provision: provision.NewService(db, nil), Tokens: db,
		Audit: db.Audit, Tenants: db.Tenants, Users: db.Users, CDRs: db.CDRs})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &adminServer{db: db, env: map[string]string{envServer: srv.URL, envToken: opToken}}
}

func (s *adminServer) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return execute(t, testDeps(t, s.env), stdin, args...)
}

func (s *adminServer) snapshot(t *testing.T) []provision.Document {
	t.Helper()
	docs, err := provision.Snapshot(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func readExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/contoso-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExampleAppliesIdempotentlyWithDryRunDiff(t *testing.T) {
	s := newAdminServer(t)
	example := readExample(t)
	file := writeFile(t, "contoso-full.yaml", example)
	code, out, errOut := s.run(t, "", "apply", "-f", file)
	if code != 0 || !strings.HasPrefix(out, "tenant contoso: created (2 users)\n") ||
		!strings.Contains(out, "  + voiceRoute redmond\n") || strings.Contains(out, "s3cret") {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = s.run(t, "", "apply", "-f", file)
	if code != 0 || out != "tenant contoso: unchanged\n" {
		t.Errorf("second apply: exit %d %q", code, out)
	}
	before := s.snapshot(t)
	edited := writeFile(t, "edited.yaml", strings.Replace(example, "    priority: 1\n", "    priority: 7\n", 1))
	code, out, _ = s.run(t, "", "apply", "-f", edited, "--dry-run")
	want := "tenant contoso: configured (2 users) (dry run: nothing applied)\n" +
		"  ~ voiceRoute redmond\n" +
		"      priority: 1 → 7\n"
	if code != 0 || out != want {
		t.Errorf("dry run: exit %d\n%s\nwant\n%s", code, out, want)
	}
	if !reflect.DeepEqual(before, s.snapshot(t)) {
		t.Error("--dry-run changed the store")
	}
	// A password change is shown, never its value.
	pw := writeFile(t, "pw.yaml", strings.Replace(example, "s3cret-Bob", "n3w-secret-Bob", 1))
	if code, out, _ = s.run(t, "", "apply", "-f", pw); code != 0 ||
		!strings.Contains(out, "  ~ user bob@contoso.com\n      password: (changed) → (changed)\n") || strings.Contains(out, "n3w") {
		t.Errorf("password change: exit %d\n%s", code, out)
	}
	// The Calling Plan allow-list is a setting like any other: diffed and audited.
	allow := writeFile(t, "allow.yaml", strings.Replace(example, "internationalCountries: [CA, GB]", "internationalCountries: [gb]", 1))
	if code, out, _ = s.run(t, "", "apply", "-f", allow); code != 0 ||
		!strings.Contains(out, "  ~ settings settings\n      callingPlan.internationalCountries[0]: \"CA\" → \"GB\"\n"+
			"      callingPlan.internationalCountries[1]: \"GB\" → (none)\n") {
		t.Errorf("allow-list change: exit %d\n%s", code, out)
	}
	if code, out, _ = s.run(t, "", "audit", "--tenant", "contoso", "--limit", "2"); code != 0 ||
		!strings.Contains(out, "operator  contoso  update  settings  settings") {
		t.Errorf("audit of the allow-list: exit %d\n%s", code, out)
	}
	// --prune deletes what a listed kind no longer names; unlisted kinds stay.
	pruned := writeFile(t, "pruned.yaml", "tenant: contoso\nemergencyLocations: []\n")
	if code, out, _ = s.run(t, "", "apply", "-f", pruned); code != 0 || out != "tenant contoso: unchanged\n" {
		t.Errorf("without --prune: exit %d %q", code, out)
	}
	if code, out, _ = s.run(t, "", "apply", "-f", pruned, "--prune"); code != 0 ||
		out != "tenant contoso: configured (2 users)\n  - emergencyLocation redmond-hq\n" {
		t.Errorf("with --prune: exit %d %q", code, out)
	}
	// The audit log has it, with the operator as actor.
	if code, out, _ = s.run(t, "", "audit", "--tenant", "contoso", "--limit", "1"); code != 0 ||
		!strings.Contains(out, "operator  contoso  delete  emergencyLocations  redmond-hq") {
		t.Errorf("audit: exit %d\n%s", code, out)
	}
}

func TestGetYAMLAppliesBackUnchangedForEveryKind(t *testing.T) {
	s := newAdminServer(t)
	if code, _, errOut := s.run(t, "", "apply", "-f", writeFile(t, "c.yaml", readExample(t))); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}
	before := s.snapshot(t)
	for _, kind := range append(kindNames(), "tenant") {
		args := []string{"get", kind, "--tenant", "contoso", "-o", "yaml"}
		if kind == "tenant" || kind == "tenants" {
			args = []string{"get", kind, "contoso", "-o", "yaml"}
		}
		code, doc, errOut := s.run(t, "", args...)
		if code != 0 {
			t.Fatalf("get %s: exit %d %s", kind, code, errOut)
		}
		for _, prune := range []string{"--dry-run", "--prune"} {
			code, out, errOut := s.run(t, doc, "apply", "-f", "-", prune)
			if code != 0 || !strings.HasPrefix(out, "tenant contoso: unchanged") || strings.Count(out, "\n") != 1 {
				t.Errorf("get %s -o yaml | apply -f - %s: exit %d\n%s%s\ndocument:\n%s", kind, prune, code, out, errOut, doc)
			}
		}
		for _, o := range []string{"table", "json"} {
			if code, _, errOut := s.run(t, "", "get", kind, "--tenant", "contoso", "-o", o); code != 0 && kind != "tenants" {
				t.Errorf("get %s -o %s: exit %d %s", kind, o, code, errOut)
			}
		}
	}
	if !reflect.DeepEqual(before, s.snapshot(t)) {
		t.Error("round trips changed the store")
	}
}

func TestTokensAndDelete(t *testing.T) {
	s := newAdminServer(t)
	for _, doc := range []string{readExample(t), "tenant: fabrikam\ndomains: [fabrikam.com]\nusers:\n  - {sipAddress: zoe@fabrikam.com, password: zoe-secret}\n"} {
		if code, _, errOut := s.run(t, "", "apply", "-f", writeFile(t, "t.yaml", doc)); code != 0 {
			t.Fatalf("apply: %s", errOut)
		}
	}
	code, tok, errOut := s.run(t, "", "tokens", "create", "--tenant", "contoso")
	if code != 0 || !strings.HasPrefix(tok, "sbt_") {
		t.Fatalf("tokens create: exit %d %q %s", code, tok, errOut)
	}
	tenantEnv := map[string]string{envServer: s.env[envServer], envToken: strings.TrimSpace(tok)}
	code, out, _ := execute(t, testDeps(t, tenantEnv), "", "get", "users")
	if code != 0 || !strings.Contains(out, "alice@contoso.com") || strings.Contains(out, "zoe") {
		t.Errorf("tenant token get users: exit %d\n%s", code, out)
	}
	code, _, errOut = execute(t, testDeps(t, tenantEnv), "", "get", "users", "--tenant", "fabrikam")
	if code != exitFailure || !strings.Contains(errOut, `tenant "fabrikam": not found (HTTP 404)`) {
		t.Errorf("cross-tenant get: exit %d %s", code, errOut)
	}
	code, _, errOut = execute(t, testDeps(t, tenantEnv), "", "tokens", "list")
	if code != exitFailure || !strings.Contains(errOut, "HTTP 403") {
		t.Errorf("tenant token lists tokens: exit %d %s", code, errOut)
	}
	// A gateway in use cannot be deleted; a route can.
	code, _, errOut = s.run(t, "", "delete", "gateway", "sbc1.contoso.com", "--tenant", "contoso")
	if code != exitFailure || !strings.Contains(errOut, `voiceRoutes["redmond"].onlinePstnGatewayList[0]: gateway "sbc1.contoso.com" does not exist`) {
		t.Errorf("delete used gateway: exit %d %s", code, errOut)
	}
	code, out, _ = s.run(t, "", "delete", "route", "redmond", "--tenant", "contoso")
	if code != 0 || out != "tenant contoso: configured\n  - voiceRoute redmond\n" {
		t.Errorf("delete route: exit %d %q", code, out)
	}
	if code, out, _ = s.run(t, "", "tokens", "list"); code != 0 || !strings.Contains(out, "contoso-admin") {
		t.Errorf("tokens list: exit %d %s", code, out)
	}
}
