package app

import (
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/media"
	"github.com/switchboard-pbx/switchboard/internal/obs"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// relayAdapter fits the media relay to call control's Media port.
type relayAdapter struct {
	relay *media.Relay
	m     *obs.Metrics
}

func (r relayAdapter) NewSession(id string) (callctl.MediaSession, error) {
	s, err := r.relay.NewSession(id)
	if err != nil {
		return nil, err
	}
	return relaySession{s: s, m: r.m}, nil
}

type relaySession struct {
	s *media.Session
	m *obs.Metrics
}

func (r relaySession) Rewrite(fromCallee bool, sdp []byte) ([]byte, error) {
	side := media.SideA
	if fromCallee {
		side = media.SideB
	}
	return r.s.Rewrite(side, sdp)
}

// RTPPackets and Held implement callctl.MediaActivity (RTP inactivity).
func (r relaySession) RTPPackets() uint64 { return r.s.RTPPackets() }
func (r relaySession) Held() bool         { return r.s.Held() }

func (r relaySession) Close() {
	r.s.Close()
	st := r.s.Stats()
	r.m.MediaPackets.WithLabelValues("caller_to_callee").Add(float64(st.PacketsAtoB))
	r.m.MediaPackets.WithLabelValues("callee_to_caller").Add(float64(st.PacketsBtoA))
}

// cdrSink stores CDRs and counts calls by result.
type cdrSink struct{ n *node }

func (c cdrSink) Record(cdr pbx.CDR) {
	c.n.metrics.CallsTotal.WithLabelValues(string(cdr.Result)).Inc()
	c.n.live.cp.settle(cdr)   // Calling Plan accounting (callingplan.go)
	c.n.hybrid.recordCDR(cdr) // an edge queues it for the cloud
	c.n.cdrs.Record(cdr)      // journaled now, inserted with the next batch
}

func (n *node) registerGauges() {
	n.metrics.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_media_ports_in_use",
			Help: "RTP/RTCP port pairs allocated by the media relay."},
			func() float64 { return float64(n.relay.InUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_sip_dialogs",
			Help: "SIP dialogs (call legs) in progress."},
			func() float64 { return float64(n.sip.Dialogs()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_sip_overloaded",
			Help: "1 while the SIP UDP front refuses new calls with 503 (its socket's receive buffer more than half full)."},
			func() float64 {
				if n.sip.Overloaded() {
					return 1
				}
				return 0
			}),
	)
}

func (n *node) startHTTP() error {
	ln, err := net.Listen("tcp", n.cfg.HTTP)
	if err != nil {
		return err
	}
	prov := provision.NewService(n.st, n.reload)
	watch := newGatewayWatch(n.live, n.log) // gateway metrics, status and session alerts
	n.metrics.Registry.MustRegister(watch)
	h := api.New(api.Options{
		Token:     n.token,
		Provision: prov,
		Tokens:    n.st,
		Audit:     n.st.Audit,
		CDRs:      n.st.CDRs,
		Registrations: func() []pbx.Binding {
			return n.reg.All()
		},
		Tenants:       n.st.Tenants,
		Users:         n.st.Users,
		RouteTest:     n.live.routeTest,
		GatewayStatus: watch.status,
		CallingPlan:   n.live.cp.api(prov),
		Reload:        n.reloadFunc(),
		Hybrid:        n.hybrid,
		Metrics:       n.metrics.Handler(),
		Ready:         func() bool { return true },
		Log:           n.log,
	})
	n.httpLn = ln
	n.http = &http.Server{Handler: withPprof(h, n.token), ReadHeaderTimeout: 10 * time.Second}
	return nil
}
