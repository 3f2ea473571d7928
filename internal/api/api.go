// Package api is Switchboard's HTTP adapter: the REST API under /api/v1
// (operator bearer token), health and readiness probes and /metrics. It turns
// HTTP into calls on the domain services and their errors into RFC 7807
// problem documents, through a single table (toProblem).
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// Options are the dependencies of the API. Nil functions make the routes
// that need them answer 501 Not Implemented.
type Options struct {
	Token         string // operator (admin) bearer token; empty refuses every /api/v1 request
	Provision     *provision.Service
	CDRs          func(ctx context.Context, f pbx.CDRFilter) ([]pbx.CDR, error)
	Registrations func() []pbx.Binding // current bindings of all tenants
	Tenants       func(ctx context.Context) ([]pbx.Tenant, error)
	Users         func(ctx context.Context, tenant string) ([]pbx.User, error)
	Metrics       http.Handler // served at /metrics without auth; nil: not served
	Ready         func() bool  // /readyz answers 200 when true, else 503; nil: always ready
	Log           *slog.Logger // nil: discard
}

type server struct {
	o        Options
	log      *slog.Logger
	tokenSum [sha256.Size]byte
}

// New returns the HTTP handler of the API.
//
//	GET  /healthz, /readyz, /metrics                      no auth
//	PUT  /api/v1/tenants/{tenant}                         apply a provision.Document
//	GET  /api/v1/tenants                                  {"items":[pbx.Tenant]}
//	GET  /api/v1/tenants/{tenant}/users                   {"items":[pbx.User]} (no credentials)
//	GET  /api/v1/cdrs?tenant=T&limit=N                    {"items":[pbx.CDR]}
//	GET  /api/v1/registrations?tenant=T                   {"items":[pbx.Binding]}
func New(o Options) http.Handler {
	s := &server{o: o, log: o.Log, tokenSum: sha256.Sum256([]byte(o.Token))}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}

	r := chi.NewRouter()
	r.Use(s.logRequests, s.recoverer)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errNoRoute) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errMethodNotAllowed) })

	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { plain(w, http.StatusOK, "ok") })
	r.Get("/readyz", s.readyz)
	if o.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", o.Metrics)
	}

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.authenticate)
		r.Get("/tenants", s.listTenants)
		r.Put("/tenants/{tenant}", s.putTenant)
		r.Get("/tenants/{tenant}/users", s.listUsers)
		r.Get("/cdrs", s.listCDRs)
		r.Get("/registrations", s.listRegistrations)
	})
	return r
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, s.log, err)
}

func plain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text + "\n"))
}

func (s *server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.o.Ready != nil && !s.o.Ready() {
		plain(w, http.StatusServiceUnavailable, "not ready")
		return
	}
	plain(w, http.StatusOK, "ready")
}

// authenticate requires "Authorization: Bearer <token>", compared in constant
// time (over SHA-256 digests, so the token length does not leak either).
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if s.o.Token == "" || !strings.EqualFold(scheme, "Bearer") ||
			subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
			s.fail(w, r, errUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic in a handler into a logged 500 problem.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "api handler panicked",
				"method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(w, r, slog.New(slog.DiscardHandler), errPanic) // already logged
		}()
		next.ServeHTTP(w, r)
	})
}

// logRequests logs every request at debug level.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		s.log.DebugContext(r.Context(), "http request",
			"method", r.Method, "path", r.URL.Path, "status", status,
			"bytes", ww.BytesWritten(), "duration", time.Since(start), "remote", r.RemoteAddr)
	})
}
