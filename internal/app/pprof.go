package app

import (
	"crypto/subtle"
	"net/http"
	"net/http/pprof"
	"strings"
)

// withPprof serves Go's profiler (net/http/pprof) under /debug/pprof/ on
// the admin listener, to holders of the admin (operator bootstrap) token
// only, and everything else with h. Profiling is how the REGISTER and call
// paths are measured under SIPp load (docs/performance.md):
//
//	curl -H "Authorization: Bearer $TOKEN" -o cpu.pprof 'http://127.0.0.1:8080/debug/pprof/profile?seconds=10'
//	curl -H "Authorization: Bearer $TOKEN" -o heap.pprof 'http://127.0.0.1:8080/debug/pprof/heap?gc=1'
func withPprof(h http.Handler, token string) http.Handler {
	dbg := http.NewServeMux()
	dbg.HandleFunc("/debug/pprof/", pprof.Index)
	dbg.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
	dbg.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	dbg.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/debug/pprof/") {
			h.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "admin token required", http.StatusUnauthorized)
			return
		}
		dbg.ServeHTTP(w, r)
	})
}
