package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/cli"
	"github.com/switchboard-pbx/switchboard/internal/routing"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

const testToken = "operator-token"

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// adminFixture is NewAdminAPI over a fresh SQLite store with
// examples/contoso-full.yaml applied.
type adminFixture struct {
	h      http.Handler
	health *trunk.Health
	log    *syncBuffer
}

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	fx := &adminFixture{health: trunk.NewHealth(trunk.Config{}, func() time.Time { return now }), log: &syncBuffer{}}
	fx.h, err = NewAdminAPI(context.Background(), db, AdminOptions{Token: testToken, Health: fx.health,
		Log: slog.New(slog.NewTextHandler(fx.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../examples/contoso-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := cli.LoadDocuments("contoso-full.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(docs[0])
	if rec := fx.call(t, http.MethodPut, "/api/v1/tenants/contoso", string(body)); rec.Code != http.StatusCreated {
		t.Fatalf("apply example = %d %s", rec.Code, rec.Body)
	}
	return fx
}

func (fx *adminFixture) call(t *testing.T, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, req)
	return rec
}

func TestRouteTestOverCompiledConfiguration(t *testing.T) {
	fx := newAdminFixture(t)
	fx.health.OptionsReceived("contoso/sbc2.contoso.com") // Active; sbc1 stays Demoted
	for _, tc := range []struct {
		user, dial string
		status     int
		check      func(d routing.Decision) bool
	}{
		{"alice@contoso.com", "1002", 200, func(d routing.Decision) bool {
			return d.Target == routing.TargetUser && d.User == "bob@contoso.com" && d.Rule == "ext"
		}},
		{"alice", "+1 (206) 555-0100", 200, func(d routing.Decision) bool {
			return d.Target == routing.TargetPSTN && d.Usage == "LongDistance" && len(d.Routes) == 1 &&
				strings.Join(d.Routes[0].Gateways, ",") == "sbc2.contoso.com,sbc1.contoso.com"
		}},
		{"1001", "+19005550100", 200, func(d routing.Decision) bool {
			return d.Target == routing.TargetRejected && d.Cause == routing.CauseNoRoute
		}},
		{"nobody", "1002", 404, nil},
	} {
		body, _ := json.Marshal(api.RouteTestRequest{User: tc.user, Dial: tc.dial})
		rec := fx.call(t, http.MethodPost, "/api/v1/tenants/contoso/routeTest", string(body))
		if rec.Code != tc.status {
			t.Errorf("%s dials %q = %d %s", tc.user, tc.dial, rec.Code, rec.Body)
			continue
		}
		var d routing.Decision
		if err := json.Unmarshal(rec.Body.Bytes(), &d); tc.check != nil && (err != nil || !tc.check(d) || len(d.Steps) == 0) {
			t.Errorf("%s dials %q = %s", tc.user, tc.dial, rec.Body)
		}
	}
	if rec := fx.call(t, http.MethodPost, "/api/v1/tenants/ghost/routeTest", `{"user":"a","dial":"1"}`); rec.Code != http.StatusNotFound ||
		!strings.Contains(rec.Body.String(), `tenant \"ghost\": not found`) {
		t.Errorf("unknown tenant = %d %s", rec.Code, rec.Body)
	}
}

func TestGatewayStatusAndMetrics(t *testing.T) {
	fx := newAdminFixture(t)
	fx.health.OptionsReceived("contoso/sbc2.contoso.com")
	sbc2 := trunk.Gateway{Key: "contoso/sbc2.contoso.com", Enabled: true, MaxSessions: 100}
	for range 89 {
		fx.health.SessionStart(sbc2)
	}
	rec := fx.call(t, http.MethodGet, "/api/v1/tenants/contoso/pstnGatewayStatus", "")
	want := `{"items":[` +
		`{"fqdn":"sbc1.contoso.com","status":"Demoted","consecutiveFailures":0,"sessions":0,"sessionAlert":false},` +
		`{"fqdn":"sbc2.contoso.com","status":"Active","lastOptions":"2026-03-04T05:06:07Z","consecutiveFailures":0,"sessions":89,"maxConcurrentSessions":100,"sessionAlert":false},` +
		`{"fqdn":"sbc3.contoso.com","status":"Disabled","consecutiveFailures":0,"sessions":0,"sessionAlert":false}]}` + "\n"
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Errorf("status = %d\n%s\nwant\n%s", rec.Code, rec.Body, want)
	}

	scrape := func() string {
		t.Helper()
		rec := fx.call(t, http.MethodGet, "/metrics", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("/metrics = %d", rec.Code)
		}
		return rec.Body.String()
	}
	m := scrape()
	for _, line := range []string{
		`switchboard_gateway_up{gateway="sbc1.contoso.com",tenant="contoso"} 0`,
		`switchboard_gateway_up{gateway="sbc2.contoso.com",tenant="contoso"} 1`,
		`switchboard_gateway_sessions{gateway="sbc2.contoso.com",tenant="contoso"} 89`,
		`switchboard_gateway_session_alert{gateway="sbc2.contoso.com",tenant="contoso"} 0`,
	} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("/metrics lacks %s:\n%s", line, m)
		}
	}
	const warning = "PSTN gateway at 90 % of its maxConcurrentSessions"
	if strings.Contains(fx.log.String(), warning) {
		t.Error("warned below 90 %")
	}

	// The 90th call crosses 90 %: one warning, however often it is scraped.
	fx.health.SessionStart(sbc2)
	for range 3 {
		if m = scrape(); !strings.Contains(m, `switchboard_gateway_session_alert{gateway="sbc2.contoso.com",tenant="contoso"} 1`) {
			t.Errorf("no alert at 90 %%:\n%s", m)
		}
	}
	if n := strings.Count(fx.log.String(), warning); n != 1 || !strings.Contains(fx.log.String(), "gateway=sbc2.contoso.com sessions=90 maxConcurrentSessions=100") {
		t.Errorf("%d warnings, want 1:\n%s", n, fx.log)
	}
	// Below again, then across again: a second warning.
	fx.health.SessionEnd(sbc2.Key)
	scrape()
	fx.health.SessionStart(sbc2)
	scrape()
	if n := strings.Count(fx.log.String(), warning); n != 2 {
		t.Errorf("%d warnings after crossing twice, want 2:\n%s", n, fx.log)
	}
}
