package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestReloadRoute(t *testing.T) {
	const token = "op-token"
	var fail error
	calls := 0
	h := New(Options{Token: token, Reload: func(_ context.Context, actor string) (ReloadResult, error) {
		calls++
		if actor != "operator" {
			t.Errorf("actor = %q", actor)
		}
		return ReloadResult{File: "/etc/sb.yaml", Changes: []string{"carrier c added"}, NeedsRestart: []string{"sip"}}, fail
	}})
	fx := &realFixture{h: h}
	rec := fx.call(t, token, http.MethodPost, "/api/v1/operator/reload", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"changes":["carrier c added"]`) ||
		!strings.Contains(rec.Body.String(), `"needsRestart":["sip"]`) {
		t.Errorf("reload = %d %s", rec.Code, rec.Body)
	}
	fail = &ConfigError{Lines: []string{"/etc/sb.yaml:12: callingPlan.rates[0].perMinute: must not be negative"}}
	rec = fx.call(t, token, http.MethodPost, "/api/v1/operator/reload", "")
	if rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), `"message":"/etc/sb.yaml:12: callingPlan.rates[0].perMinute: must not be negative"`) {
		t.Errorf("invalid file = %d %s", rec.Code, rec.Body)
	}
	fail = errors.New("disk on fire")
	if rec = fx.call(t, token, http.MethodPost, "/api/v1/operator/reload", ""); rec.Code != http.StatusInternalServerError ||
		strings.Contains(rec.Body.String(), "fire") {
		t.Errorf("failure = %d %s", rec.Code, rec.Body)
	}
	if rec = fx.call(t, "", http.MethodPost, "/api/v1/operator/reload", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("no token = %d", rec.Code)
	}
	if calls != 3 {
		t.Errorf("reload calls = %d, want 3", calls)
	}
	// Without a config file there is nothing to reload.
	fx = &realFixture{h: New(Options{Token: token})}
	if rec = fx.call(t, token, http.MethodPost, "/api/v1/operator/reload", ""); rec.Code != http.StatusNotImplemented {
		t.Errorf("no file = %d %s", rec.Code, rec.Body)
	}
}
