package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPprofNeedsAdminToken(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := withPprof(next, "secret")
	for _, tt := range []struct {
		path, auth string
		want       int
	}{
		{"/v1/tenants", "", http.StatusTeapot},
		{"/debug/pprof/", "", http.StatusUnauthorized},
		{"/debug/pprof/heap", "Bearer wrong", http.StatusUnauthorized},
		{"/debug/pprof/heap", "secret", http.StatusUnauthorized},
		{"/debug/pprof/heap", "Bearer secret", http.StatusOK},
		{"/debug/pprof/", "Bearer secret", http.StatusOK},
	} {
		req := httptest.NewRequest("GET", tt.path, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("GET %s (%q): %d, want %d", tt.path, tt.auth, rec.Code, tt.want)
		}
	}
}
