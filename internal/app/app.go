// Package app is Switchboard's composition root: it builds every component
// from the bootstrap configuration, wires the ports to their adapters and
// runs the node until its context ends.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/obs"
	"github.com/switchboard-pbx/switchboard/internal/registrar"
	"github.com/switchboard-pbx/switchboard/internal/signaling"
	"github.com/switchboard-pbx/switchboard/internal/store"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

// ShutdownGrace is how long calls in progress may go on after SIGTERM
// before they are hung up.
const ShutdownGrace = 10 * time.Second

// Run starts a node with cfg and blocks until ctx is cancelled (graceful
// shutdown) or a component fails.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	return RunWith(ctx, cfg, log, Options{})
}

// RunWith is Run with a configuration file to reload on SIGHUP and on
// POST /api/v1/operator/reload (reload.go).
func RunWith(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) error {
	n, err := build(ctx, cfg, log, o)
	if err != nil {
		return err
	}
	return n.run(ctx)
}

// node holds the running components.
type node struct {
	cfg     config.Config
	log     *slog.Logger
	st      store.Store
	binds   *store.BindingWriter // write-behind bindings (the REGISTER path never waits for SQLite)
	cdrs    *store.CDRWriter     // journaled, batched CDRs (the call loop never waits for SQLite)
	dir     *directory.Holder
	reg     *registrar.Service
	relay   *media.Relay
	sip     *signaling.Server
	engine  *callctl.Engine
	http    *http.Server
	httpLn  net.Listener
	metrics *obs.Metrics
	token   string
	live    *live
	hybrid  *hybridNode // cloud–edge deployment (edge_*.go)
	opts    Options     // reload (reload.go)
	// reloadMu serialises configuration reloads.
	reloadMu sync.Mutex
}

func build(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) (n *node, err error) {
	interval, window := cfg.Durations()
	n = &node{cfg: cfg, log: log, dir: directory.NewHolder(), opts: o,
		live: &live{health: trunk.NewHealth(trunk.Config{Interval: interval, Window: window}, time.Now),
			vel: newVelocity(cfg.IntlPerHour(), time.Now, log)}}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db, err := sqlite.Open(ctx, cfg.Data, log)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	n.st = db
	n.hybrid = newHybridNode(n, time.Now)
	defer func() {
		if err != nil {
			n.closeAll()
		}
	}()
	if n.token, err = adminToken(cfg, log); err != nil {
		return nil, err
	}
	secret, err := nonceSecret(ctx, db)
	if err != nil {
		return nil, err
	}
	if n.live.cp, err = newCallingPlan(ctx, cfg.CallingPlan, db, n.dir.Load, n.live.health, log); err != nil {
		return nil, fmt.Errorf("calling plan: %w", err)
	}
	if err := n.reload(ctx); err != nil {
		return nil, fmt.Errorf("load directory: %w", err)
	}
	if n.cdrs, err = store.OpenCDRWriter(ctx, db, cfg.Data, store.DefaultFlushInterval, log); err != nil {
		return nil, fmt.Errorf("cdr journal: %w", err)
	}
	n.binds = store.NewBindingWriter(db, store.DefaultFlushInterval, log)
	n.reg = registrar.New(n.binds, registrar.Config{}, time.Now, log)
	if err := n.reg.Load(ctx); err != nil {
		return nil, fmt.Errorf("load registrations: %w", err)
	}
	n.metrics = obs.NewMetrics(func() float64 { return float64(n.reg.Count()) })
	n.hybrid.m.register(n.metrics.Registry)

	sipHost, _, _ := net.SplitHostPort(cfg.SIP)
	advertise := cfg.MediaIP
	if advertise == "" {
		advertise = concreteIP(sipHost)
	}
	bind := net.ParseIP(sipHost)
	if bind == nil || bind.IsUnspecified() {
		bind = net.IPv4zero
	}
	low, high, err := cfg.RTPRange()
	if err != nil {
		return nil, err
	}
	n.relay, err = media.NewRelay(media.Config{BindIP: bind, AdvertiseIP: net.ParseIP(advertise),
		PortLow: low, PortHigh: high}, log)
	if err != nil {
		return nil, fmt.Errorf("media relay: %w", err)
	}
	timers := cfg.DeadCallTimers()
	if timers.Unit != time.Second {
		log.Warn("session timers: one second lasts "+timers.Unit.String()+" (testTimerSecondMs): for tests only", "unit", timers.Unit)
	}
	sigCfg := signaling.Config{Listen: cfg.SIP, Advertise: concreteIP(sipHost), UserAgent: "Switchboard",
		FQDN: cfg.FQDN, Guard: guardConfig(cfg),
		Timers: signaling.TimerConfig{SessionExpires: timers.SessionExpires, MinSE: timers.MinSE, Unit: timers.Unit}}
	if cfg.SIPTLS != "" {
		sigCfg.TLS = &signaling.TLSConfig{Listen: cfg.SIPTLS, CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CAFile: cfg.TLSCA}
	}
	n.sip, err = signaling.New(sigCfg, signaling.Deps{
		Directory: n.dir.Load,
		Registrar: n.reg,
		Peers:     n.live.peers,
		Health:    n.live.health,
		Hybrid:    n.hybrid,
		Nonces:    nonces(secret, cfg),
		Hooks: signaling.Hooks{
			Register: func(o string) { n.metrics.RegisterTotal.WithLabelValues(o).Inc() },
			Shed:     n.metrics.Shed.Inc,
		},
		Log: log,
	})
	if err != nil {
		return nil, err
	}
	n.engine = callctl.NewEngine(callctl.Config{MaxUserPSTNCalls: cfg.UserPSTNCalls(),
		RTPTimeout: timers.RTPTimeout, RTPHoldTimeout: timers.RTPHoldTimeout}, callctl.Deps{
		Directory: n.dir.Load, Locator: n.reg, Dialer: n.sip,
		Media: relayAdapter{relay: n.relay, m: n.metrics}, Recorder: cdrSink{n: n}, Log: log,
		Router: n.live, Trunks: trunkHealth{l: n.live}, Placer: n.hybrid,
	})
	n.registerGauges()
	if err := n.sip.Start(n.engine); err != nil {
		return nil, err
	}
	if err := n.startHTTP(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *node) run(ctx context.Context) error {
	sweep := time.NewTicker(30 * time.Second)
	defer sweep.Stop()
	httpErr := make(chan error, 1)
	go func() { httpErr <- n.http.Serve(n.httpLn) }()
	probeCtx, stopProbes := context.WithCancel(ctx)
	probesDone := make(chan struct{})
	go func() {
		defer close(probesDone)
		n.live.health.Run(probeCtx, n.live.gateways, n.sip)
	}()
	hupDone := make(chan struct{})
	go func() {
		defer close(hupDone)
		n.watchHangups(probeCtx) // SIGHUP: reload the configuration file
	}()
	edgeDone := make(chan struct{})
	go func() {
		defer close(edgeDone)
		n.hybrid.runEdge(probeCtx) // an edge's sync, trunk probe and CDR upload
	}()
	n.log.Info("switchboard ready", "sip", n.cfg.SIP, "http", n.httpLn.Addr().String(), "data", n.cfg.Data)
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-sweep.C:
			n.reg.Sweep(ctx)
		case err := <-httpErr:
			if !errors.Is(err, http.ErrServerClosed) {
				runErr = fmt.Errorf("http: %w", err)
			}
			break loop
		}
	}
	stopProbes()
	<-probesDone
	<-hupDone
	<-edgeDone
	n.log.Info("shutting down: no new calls", "active_calls", n.engine.Active())
	n.sip.Drain()
	grace, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	n.engine.Shutdown(grace)
	cancel()
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = n.http.Shutdown(hctx)
	hcancel()
	n.closeAll()
	n.log.Info("switchboard stopped")
	return runErr
}

func (n *node) closeAll() {
	if n.sip != nil {
		_ = n.sip.Close()
	}
	if n.relay != nil {
		_ = n.relay.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n.binds != nil {
		if err := n.binds.Close(ctx); err != nil {
			n.log.Error("store: write bindings at shutdown", "err", err)
		}
	}
	if n.cdrs != nil {
		if err := n.cdrs.Close(ctx); err != nil {
			n.log.Error("store: insert cdrs at shutdown (kept in the journal)", "err", err)
		}
	}
	if n.st != nil {
		_ = n.st.Close()
	}
}

// reload compiles the directory and the routing tables from the store and
// publishes them; calls in progress keep the snapshot they started with.
func (n *node) reload(ctx context.Context) error {
	tenants, err := n.st.Tenants(ctx)
	if err != nil {
		return err
	}
	users, err := n.st.Users(ctx, "")
	if err != nil {
		return err
	}
	dir := directory.Build(tenants, users)
	c, err := n.compile(ctx, dir, tenants)
	if err != nil {
		return err
	}
	c.peers = &peers{c: c, cp: n.live.cp} // built once: no allocation per request (router.go)
	n.live.p.Store(c)
	n.dir.Store(dir)
	n.live.health.Forget(func(key string) bool { _, ok := c.byKey[key]; return ok || n.live.cp.known(key) })
	n.live.cp.setUsers(users) // licences size the Calling Plan pools
	n.hybrid.afterReload(ctx) // registrations of users moved elsewhere
	return nil
}

// guardConfig turns the bootstrap settings into signaling's ban limits
// (validated by config.Validate).
func guardConfig(cfg config.Config) signaling.GuardConfig {
	var g signaling.GuardConfig
	g.AuthFailures, _ = strconv.Atoi(cfg.BanAfter)
	g.FloodPackets, _ = strconv.Atoi(cfg.FloodLimit)
	g.Allow, _ = cfg.TrustedPrefixes()
	return g
}

// adminToken returns the operator token: configured, or kept in the data
// directory, or generated on first start and written there (mode 0600).
func adminToken(cfg config.Config, log *slog.Logger) (string, error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	path := filepath.Join(cfg.Data, "admin-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		log.Info("admin token loaded", "file", path)
		return strings.TrimSpace(string(b)), nil
	}
	tok, err := randomHex(24)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	log.Info("admin token generated; use it with --token or SWITCHBOARD_TOKEN", "file", path)
	return tok, nil
}

// nonceSecret is shared by every node of one store, so any node can verify
// a nonce another issued.
func nonceSecret(ctx context.Context, st store.Store) ([]byte, error) {
	v, err := st.Meta(ctx, "nonce_secret")
	if errors.Is(err, store.ErrNotFound) {
		if v, err = randomHex(32); err != nil {
			return nil, err
		}
		err = st.SetMeta(ctx, "nonce_secret", v)
	}
	if err != nil {
		return nil, fmt.Errorf("nonce secret: %w", err)
	}
	return hex.DecodeString(v)
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// concreteIP returns host when it is a usable address, else the first
// non-loopback IPv4 address of this machine, else 127.0.0.1.
func concreteIP(host string) string {
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return host
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// nonces are the node's digest nonces, challenging with the configured
// algorithms (config.Validate has checked them).
func nonces(secret []byte, cfg config.Config) *auth.Nonces {
	n := auth.NewNonces(secret, 5*time.Minute, time.Now)
	if algs, _ := cfg.Algorithms(); len(algs) > 0 {
		n = n.WithAlgorithms(algs...)
	}
	return n
}
