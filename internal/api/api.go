// Package api is Switchboard's HTTP adapter: the REST API under /api/v1
// (bearer tokens: the operator's, and tenant-scoped ones), its OpenAPI
// document, health and readiness probes and /metrics. It turns HTTP into
// calls on the domain services and their errors into RFC 7807 problem
// documents, through a single table (toProblem).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/planner"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/routing"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// TokenStore keeps tenant-scoped API tokens (hashed). store.Store satisfies it.
type TokenStore interface {
	// CreateToken and DeleteToken record audit in the same transaction.
	CreateToken(ctx context.Context, t store.Token, audit ...pbx.AuditEntry) error
	TokenByHash(ctx context.Context, hash string) (store.Token, error)
	Tokens(ctx context.Context, tenant string) ([]store.Token, error)
	DeleteToken(ctx context.Context, id string, audit ...pbx.AuditEntry) error
}

// Options are the dependencies of the API. Nil functions make the routes
// that need them answer 501 Not Implemented.
type Options struct {
	Token         string // operator (admin) bearer token; empty: only stored tokens are accepted
	Provision     *provision.Service
	Tokens        TokenStore // tenant tokens; nil: only the operator token
	Audit         func(ctx context.Context, f pbx.AuditFilter) ([]pbx.AuditEntry, error)
	CDRs          func(ctx context.Context, f pbx.CDRFilter) ([]pbx.CDR, error)
	Registrations func() []pbx.Binding // current bindings of all tenants
	Tenants       func(ctx context.Context) ([]pbx.Tenant, error)
	Users         func(ctx context.Context, tenant string) ([]pbx.User, error)
	// RouteTest explains where a call from user (SIP address, user part or
	// extension) dialling dial would go (POST .../routeTest); an error
	// wrapping provision.ErrNotFound answers 404.
	RouteTest func(ctx context.Context, tenant, user, dial string) (routing.Decision, error)
	// GatewayStatus reports the live state of the tenant's gateways.
	GatewayStatus func(ctx context.Context, tenant string) ([]GatewayStatus, error)
	// Planner is the operator's side of POST /api/v1/plan; nil: the
	// default Calling Plan countries.
	Planner *planner.Operator
	// CallingPlan serves numbers, usage and credits (callingplan.go); nil: 501.
	CallingPlan CallingPlan
	// Reload reads the server configuration file again and applies what it
	// can live (operator.go); nil (no config file): 501. An invalid file is
	// a *ConfigError.
	Reload func(ctx context.Context, actor string) (ReloadResult, error)
	// Hybrid serves the cloud–edge routes (hybrid.go); nil: 501, status standalone.
	Hybrid  Hybrid
	Metrics http.Handler // served at /metrics without auth; nil: not served
	Ready   func() bool  // /readyz answers 200 when true, else 503; nil: always ready
	Log     *slog.Logger // nil: discard
}

type server struct {
	o   Options
	log *slog.Logger
}

// New returns the HTTP handler of the API. Its routes are listed by
// routes() (and served as OpenAPI at /api/v1/openapi.json):
//
//	GET  /healthz, /readyz, /metrics                  no auth
//	GET  /api/v1/openapi.json                         no auth
//	GET  /api/v1/tenants                              tenants the token may see
//	GET|PUT|DELETE /api/v1/tenants/{tenant}           whole tenant document (PUT: ?dryRun=&prune=)
//	GET|PUT /api/v1/tenants/{tenant}/settings
//	GET  /api/v1/tenants/{tenant}/{kind}              ?limit=&cursor=
//	GET|PUT|DELETE /api/v1/tenants/{tenant}/{kind}/{name}
//	POST /api/v1/tenants/{tenant}/routeTest           explain a call without placing it
//	GET  /api/v1/tenants/{tenant}/pstnGatewayStatus   live gateway state (and .../pstnGateways/{name}/status)
//	POST /api/v1/plan                                 the decision guide
//	GET  /api/v1/audit, /cdrs, /registrations         ?tenant=
//	GET|POST /api/v1/tokens, DELETE /api/v1/tokens/{id}   operator only
//	POST /api/v1/operator/reload                      operator only: re-read the config file
func New(o Options) http.Handler {
	s := &server{o: o, log: o.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s.router()
}

func (s *server) router() chi.Router {
	r := chi.NewRouter()
	r.Use(s.logRequests, s.recoverer)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errNoRoute) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errMethodNotAllowed) })

	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { plain(w, http.StatusOK, "ok") })
	r.Get("/readyz", s.readyz)
	if s.o.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.o.Metrics)
	}
	r.Get("/api/v1/openapi.json", s.openAPI)

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.authenticate)
		for _, rt := range s.routes() {
			if rt.public {
				continue
			}
			h := http.Handler(http.HandlerFunc(rt.handler))
			if !rt.edge {
				h = s.noEdgeTokens(h) // edge tokens sync and upload only (hybrid.go)
			}
			if rt.operatorOnly {
				h = s.operatorOnly(h)
			}
			if rt.tenantScoped {
				h = s.tenantScope(h)
			}
			r.Method(rt.method, rt.path, h)
		}
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
