package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/routing"
	"github.com/switchboard-pbx/switchboard/internal/store"
	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

// routeTest is the API's route test: the caller is found among the
// tenant's users (SIP address, user part, extension or number) of the
// published configuration, and the decision is explained over the same
// compiled table and gateway health the call path uses.
func (l *live) routeTest(_ context.Context, tenant, user, dial string) (routing.Decision, error) {
	c := l.load()
	if _, ok := c.dir.Tenant(tenant); !ok {
		return routing.Decision{}, fmt.Errorf("tenant %q: %w", tenant, provision.ErrNotFound)
	}
	u, ok := c.dir.Resolve(tenant, user)
	if !ok {
		return routing.Decision{}, fmt.Errorf("user %q is not a user of tenant %q: %w", user, tenant, provision.ErrNotFound)
	}
	d, ok := l.Explain(u, dial)
	if !ok {
		reason := fmt.Sprintf("the routing configuration of tenant %q does not compile (see the server log): its PSTN calls are refused", tenant)
		return routing.Decision{Dialed: dial, Normalized: dial, Target: routing.TargetRejected, Routes: []routing.RouteChoice{},
			Reason: reason, Cause: routing.CauseConfiguration, Steps: []string{"rejected: " + reason}}, nil
	}
	return d, nil
}

// gatewayWatch reports the gateways' live state: to the API
// (GatewayStatus), to Prometheus (a Collector) and, once per crossing, to
// the log when a gateway reaches 90 % of its maxConcurrentSessions. The
// check runs on every scrape and status request.
type gatewayWatch struct {
	l   *live
	log *slog.Logger

	up, sessions, alert *prometheus.Desc

	mu      sync.Mutex
	alerted map[string]bool // gateway key → warned, until it drops below 90 %
}

func newGatewayWatch(l *live, log *slog.Logger) *gatewayWatch {
	labels := []string{"tenant", "gateway"}
	return &gatewayWatch{l: l, log: log, alerted: map[string]bool{},
		up: prometheus.NewDesc("switchboard_gateway_up",
			"1 when the PSTN gateway is Active, 0 when Demoted or Disabled.", labels, nil),
		sessions: prometheus.NewDesc("switchboard_gateway_sessions",
			"Concurrent calls through the PSTN gateway.", labels, nil),
		alert: prometheus.NewDesc("switchboard_gateway_session_alert",
			"1 when the gateway's concurrent calls are at or above 90 % of its maxConcurrentSessions.", labels, nil),
	}
}

type gatewaySnapshot struct {
	g *gateway
	s trunk.Snapshot
}

// snapshots reads the state of the gateways of tenant ("" for all) and
// logs new session alerts.
func (w *gatewayWatch) snapshots(tenant string) []gatewaySnapshot {
	c := w.l.load()
	var out []gatewaySnapshot
	for _, g := range c.byKey {
		if tenant == "" || g.tenant == tenant {
			out = append(out, gatewaySnapshot{g: g, s: w.l.health.Snapshot(g.health())})
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, gs := range out {
		switch {
		case gs.s.SessionAlert && !w.alerted[gs.g.key]:
			w.alerted[gs.g.key] = true
			w.log.Warn("PSTN gateway at 90 % of its maxConcurrentSessions", "tenant", gs.g.tenant,
				"gateway", gs.g.spec.FQDN, "sessions", gs.s.Sessions, "maxConcurrentSessions", gs.s.MaxSessions)
		case !gs.s.SessionAlert && w.alerted[gs.g.key]:
			delete(w.alerted, gs.g.key)
		}
	}
	if tenant == "" { // forget gateways no longer configured
		for key := range w.alerted {
			if _, ok := c.byKey[key]; !ok {
				delete(w.alerted, key)
			}
		}
	}
	return out
}

// Describe implements prometheus.Collector.
func (w *gatewayWatch) Describe(ch chan<- *prometheus.Desc) {
	ch <- w.up
	ch <- w.sessions
	ch <- w.alert
}

// Collect implements prometheus.Collector.
func (w *gatewayWatch) Collect(ch chan<- prometheus.Metric) {
	for _, gs := range w.snapshots("") {
		labels := []string{gs.g.tenant, gs.g.spec.FQDN}
		ch <- prometheus.MustNewConstMetric(w.up, prometheus.GaugeValue, b2f(gs.s.Status == trunk.Active), labels...)
		ch <- prometheus.MustNewConstMetric(w.sessions, prometheus.GaugeValue, float64(gs.s.Sessions), labels...)
		ch <- prometheus.MustNewConstMetric(w.alert, prometheus.GaugeValue, b2f(gs.s.SessionAlert), labels...)
	}
}

// status implements api.Options.GatewayStatus.
func (w *gatewayWatch) status(_ context.Context, tenant string) ([]api.GatewayStatus, error) {
	snaps := w.snapshots(tenant)
	out := make([]api.GatewayStatus, 0, len(snaps))
	for _, gs := range snaps {
		out = append(out, api.GatewayStatus{FQDN: gs.g.spec.FQDN, Status: string(gs.s.Status),
			LastOptions: gs.s.LastOptions, LastFailure: gs.s.LastFailure, ConsecutiveFailures: gs.s.Failures,
			Sessions: gs.s.Sessions, MaxSessions: gs.s.MaxSessions, SessionAlert: gs.s.SessionAlert})
	}
	slices.SortFunc(out, func(a, b api.GatewayStatus) int {
		return cmp.Compare(strings.ToLower(a.FQDN), strings.ToLower(b.FQDN))
	})
	return out, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// AdminOptions configure NewAdminAPI.
type AdminOptions struct {
	Token  string        // operator token
	Health *trunk.Health // gateway health to report; nil: a fresh tracker with the default timers
	Log    *slog.Logger  // nil: discard
}

// NewAdminAPI returns the admin API of a node over st, without its SIP,
// media and registrar parts: provisioning, route test, gateway status,
// the decision guide and /metrics (gateway metrics only) answer exactly
// as on a full node, over the same compiled configuration. Tests and tools
// use it in-process; registrations answer 501.
func NewAdminAPI(ctx context.Context, st store.Store, o AdminOptions) (http.Handler, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := o.Health
	if h == nil {
		h = trunk.NewHealth(trunk.Config{}, nil)
	}
	n := &node{st: st, log: log, dir: directory.NewHolder(), live: &live{health: h}}
	if err := n.reload(ctx); err != nil {
		return nil, fmt.Errorf("load configuration: %w", err)
	}
	watch := newGatewayWatch(n.live, log)
	reg := prometheus.NewRegistry()
	reg.MustRegister(watch)
	return api.New(api.Options{
		Token:         o.Token,
		Provision:     provision.NewService(st, n.reload),
		Tokens:        st,
		Audit:         st.Audit,
		CDRs:          st.CDRs,
		Tenants:       st.Tenants,
		Users:         st.Users,
		RouteTest:     n.live.routeTest,
		GatewayStatus: watch.status,
		Metrics:       promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Log:           log,
	}), nil
}
