// Package signaling is the only package that speaks SIP on the wire (through
// sipgo). It listens on UDP and TCP, authenticates requests with digest,
// hands REGISTERs to the registrar and INVITEs to call control, and
// implements call control's leg ports (Inbound, Outbound, Dialer) as SIP
// dialogs. Errors become SIP statuses in one table (status.go).
package signaling

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/registrar"
)

// udpSocketBuffer is the SIP UDP socket's send and receive buffer size.
const udpSocketBuffer = 4 << 20

// Config is the SIP listener configuration.
type Config struct {
	Listen    string      // HOST:PORT for UDP and TCP
	Advertise string      // host written into Via/Contact (a concrete address)
	UserAgent string      // Server / User-Agent header value
	TLS       *TLSConfig  // optional SIP over TLS listener (SBC trunks)
	FQDN      string      // our name in Contact on TLS trunks (SBCs check it)
	Guard     GuardConfig // brute-force and flood bans (guard.go)
	Timers    TimerConfig // RFC 4028 session timers on every leg (timers.go)
}

// Hooks lets the composition root observe signaling (metrics).
type Hooks struct {
	Register func(outcome string) // ok | challenge | failed | error | overload
	Shed     func()               // a new call refused with 503: the UDP front is overloaded (overload.go)
}

// Deps are the domain services signaling drives.
type Deps struct {
	Directory func() *directory.Directory
	Registrar *registrar.Service
	Nonces    *auth.Nonces
	Peers     func() Peers // optional: configured PSTN gateways
	Health    TrunkHealth  // optional: gateway OPTIONS seen
	Hybrid    Hybrid       // optional: the other cloud–edge node (edge.go)
	Hooks     Hooks
	Log       *slog.Logger
}

// Server is a SIP node: listeners, transaction layer and dialog table.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	engine  *callctl.Engine
	dialogs dialogTable
	host    string
	port    int
	udpAddr sip.Addr // local address of the UDP listener, for requests sent from it
	guard   *guard   // bans and request validation (guard.go)
	fixed   fixedHeaders
	bufs    *wireBufs                  // buffers to write messages into (wire.go): answers, the UDP front
	date    atomic.Pointer[dateHeader] // register.go

	closing  atomic.Bool
	clients  atomic.Pointer[udpClients] // the UDP front's client transactions (requests.go)
	mu       sync.Mutex
	udp      *udpFront
	tcp      net.Listener
	tlsLn    net.Listener
	tls      *tlsState
	tlsPort  int
	serveErr chan error

	frontAfterRecv func() // tests: the UDP front's afterRecv, set before Start
}

var _ callctl.Dialer = (*Server)(nil)

// New builds a server; Start binds it.
func New(cfg Config, deps Deps) (*Server, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("sip listen port %q: %w", portStr, err)
	}
	if cfg.Advertise == "" {
		cfg.Advertise = host
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Switchboard"
	}
	cfg.Timers = cfg.Timers.withDefaults()
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, deps: deps, log: log, host: cfg.Advertise, port: port, serveErr: make(chan error, 3),
		fixed: newFixedHeaders(cfg), bufs: new(wireBufs)}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(cfg.Advertise)}
	uaOpts = append(uaOpts, s.installGuard()) // bans before parsing (guard.go)
	if cfg.TLS != nil {
		if s.tls, err = loadTLS(*cfg.TLS, s.peers); err != nil {
			return nil, err
		}
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(s.tls.dial))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		return nil, err
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname(cfg.Advertise), sipgo.WithClientLogger(log))
	if err != nil {
		return nil, err
	}
	s.ua, s.srv, s.cli = ua, srv, cli
	s.dialogs.init()
	return s, nil
}

// Start binds UDP and TCP on the listen address and serves requests for
// engine until Close.
func (s *Server) Start(engine *callctl.Engine) error {
	s.engine = engine
	s.routes()
	network := "udp"
	if ip := net.ParseIP(hostOf(s.cfg.Listen)); ip != nil && ip.To4() != nil {
		network = "udp4"
	}
	laddr, err := net.ResolveUDPAddr(network, s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen sip udp %s: %w", s.cfg.Listen, err)
	}
	sock, err := net.ListenUDP(network, laddr)
	if err != nil {
		return fmt.Errorf("listen sip udp %s: %w", s.cfg.Listen, err)
	}
	// Bursts (every phone re-registering after an outage) wait in the
	// kernel, not dropped: ask for 4 MiB each way, as Kamailio's maxbuffer;
	// Linux caps it at net.core.rmem_max / wmem_max.
	_ = sock.SetReadBuffer(udpSocketBuffer)
	_ = sock.SetWriteBuffer(udpSocketBuffer)
	tcpNet := "tcp"
	if network == "udp4" {
		tcpNet = "tcp4"
	}
	tcp, err := net.Listen(tcpNet, s.cfg.Listen)
	if err != nil {
		sock.Close()
		return fmt.Errorf("listen sip tcp %s: %w", s.cfg.Listen, err)
	}
	var tlsLn net.Listener
	if s.tls != nil {
		if tlsLn, err = tls.Listen(tcpNet, s.cfg.TLS.Listen, s.tls.conf); err != nil {
			sock.Close()
			tcp.Close()
			return fmt.Errorf("listen sip tls %s: %w", s.cfg.TLS.Listen, err)
		}
	}
	// What the handlers read without a lock (our Contact's ports) is set
	// before the front's readers start.
	s.mu.Lock()
	if la := sock.LocalAddr().(*net.UDPAddr); la != nil {
		s.udpAddr = sip.Addr{IP: la.IP, Port: la.Port}
	}
	s.port = sock.LocalAddr().(*net.UDPAddr).Port
	if tlsLn != nil {
		s.tlsLn, s.tlsPort = tlsLn, tlsLn.Addr().(*net.TCPAddr).Port
	}
	s.mu.Unlock()
	udp := newUDPFront(s, sock) // REGISTER and OPTIONS answered here, the rest to sipgo (udpfront.go)
	s.mu.Lock()
	s.udp, s.tcp = udp, tcp
	s.mu.Unlock()
	if tlsLn != nil {
		go func() { s.serveErr <- s.srv.ServeTLS(listener{Listener: tlsLn, st: s.tls}) }()
		s.log.Info("sip tls listening", "tls", tlsLn.Addr().String())
	}
	s.clients.Store(udp.clients)
	go func() { s.serveErr <- s.srv.ServeUDP(udp) }()
	go func() { s.serveErr <- s.srv.ServeTCP(tcp) }()
	s.log.Info("sip listening", "udp", udp.LocalAddr().String(), "tcp", tcp.Addr().String(), "advertise", s.host)
	return nil
}

// Port is the bound SIP port.
func (s *Server) Port() int { return s.port }

// Drain makes the server refuse new dialogs with 503 while the rest goes on.
func (s *Server) Drain() { s.closing.Store(true) }

// Close stops the listeners and the transaction layer.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.mu.Lock()
	var errs []error
	if s.udp != nil {
		errs = append(errs, s.udp.Close())
	}
	if s.tcp != nil {
		errs = append(errs, s.tcp.Close())
	}
	if s.tlsLn != nil {
		errs = append(errs, s.tlsLn.Close())
	}
	s.mu.Unlock()
	errs = append(errs, s.ua.Close())
	return errors.Join(errs...)
}

func (s *Server) routes() {
	s.srv.OnRegister(s.recoverer(s.handleRegister))
	s.srv.OnInvite(s.recoverer(s.handleInvite))
	s.srv.OnAck(s.recoverer(s.handleAck))
	s.srv.OnBye(s.recoverer(s.handleBye))
	s.srv.OnCancel(s.recoverer(s.handleCancel))
	s.srv.OnOptions(s.recoverer(s.handleOptions))
	s.srv.OnInfo(s.recoverer(s.handleInDialogPassThrough))
	s.srv.OnUpdate(s.recoverer(s.handleUpdate))
	s.srv.OnNoRoute(s.recoverer(s.handleNoRoute))
}

// recoverer turns a panic in a handler into a 500 and a log line: a bad
// message must never take the node down.
func (s *Server) recoverer(h sipgo.RequestHandler) sipgo.RequestHandler {
	h = s.guarded(h) // bans and request validation (guard.go), inside the recover
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic in sip handler", "panic", r, "method", string(req.Method))
				if tx != nil {
					_ = tx.Respond(responseTo(req, 500, "Server Internal Error"))
				}
			}
		}()
		h(req, tx)
	}
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) {
	if tx == nil {
		return
	}
	a := s.answer(req, tx, code, reason)
	for _, h := range hdrs {
		a.sipHeader(h)
	}
	a.send()
}

// response is our response to req with hdrs and our Server header.
func (s *Server) response(req *sip.Request, code int, reason string, hdrs ...sip.Header) *sip.Response {
	res := responseTo(req, code, reason)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(s.fixed.server)
	return res
}

func (s *Server) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	if gw, ok := s.fromGateway(req); ok && s.deps.Health != nil {
		s.deps.Health.OptionsReceived(gw.Key)
	}
	s.respond(req, tx, 200, "OK", s.fixed.allow, sip.NewHeader("Accept", "application/sdp"))
}

func (s *Server) handleNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 405, "Method Not Allowed", s.fixed.allow)
}

const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE"

// fixedHeaders are headers whose value never changes while the server
// runs, built once and shared by every message that carries them: a
// header object is never edited once built (see responseTo).
type fixedHeaders struct {
	server, userAgent, allow, supported, sdp sip.Header
	sessionExpires, minSE                    sip.Header // of a new outgoing INVITE
}

func newFixedHeaders(cfg Config) fixedHeaders {
	return fixedHeaders{
		server:         sip.NewHeader("Server", cfg.UserAgent),
		userAgent:      sip.NewHeader("User-Agent", cfg.UserAgent),
		allow:          sip.NewHeader("Allow", allowed),
		supported:      sip.NewHeader("Supported", tagTimer),
		sdp:            sip.NewHeader("Content-Type", "application/sdp"),
		sessionExpires: sip.NewHeader("Session-Expires", strconv.Itoa(cfg.Timers.SessionExpires)),
		minSE:          sip.NewHeader("Min-SE", strconv.Itoa(cfg.Timers.MinSE)),
	}
}

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}
