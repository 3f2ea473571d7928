package obs

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Outcomes of a REGISTER request (label "outcome" of RegisterTotal).
const (
	OutcomeOK        = "ok"        // binding saved, removed or listed
	OutcomeChallenge = "challenge" // 401 with a digest challenge
	OutcomeFailed    = "failed"    // rejected (bad credentials, bad request, forbidden)
	OutcomeError     = "error"     // internal error
	OutcomeOverload  = "overload"  // a new registration refused with 503: the SIP UDP front was overloaded
)

// Media directions (label "direction" of MediaPackets).
const (
	DirCallerToCallee = "caller_to_callee"
	DirCalleeToCaller = "callee_to_caller"
)

// Metrics are the node's metrics, all registered in Registry (never in the
// default Prometheus registry). Other components may register their own
// collectors in Registry.
type Metrics struct {
	ActiveCalls   prometheus.Gauge       // switchboard_active_calls
	CallsTotal    *prometheus.CounterVec // switchboard_calls_total{result}, result = pbx.CallResult
	RegisterTotal *prometheus.CounterVec // switchboard_register_requests_total{outcome}, Outcome*
	MediaPackets  *prometheus.CounterVec // switchboard_media_packets_total{direction}, Dir*
	Shed          prometheus.Counter     // switchboard_sip_overload_refused_total: new calls refused with 503 (overloaded)
	Registry      *prometheus.Registry
}

// NewMetrics returns the node's metrics in a registry of their own, together
// with the Go and process collectors and the gauge switchboard_registrations
// read from registrations (current bindings; nil reads 0). Known label values
// start at 0 so every series is visible from the first scrape.
func NewMetrics(registrations func() float64) *Metrics {
	if registrations == nil {
		registrations = func() float64 { return 0 }
	}
	m := &Metrics{
		ActiveCalls: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_active_calls", Help: "Calls in progress."}),
		CallsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_calls_total", Help: "Finished calls by result."}, []string{"result"}),
		RegisterTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_register_requests_total", Help: "REGISTER requests by outcome."}, []string{"outcome"}),
		MediaPackets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_media_packets_total", Help: "RTP packets relayed by direction."}, []string{"direction"}),
		Shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_sip_overload_refused_total",
			Help: "New calls refused with 503 because the SIP UDP front was overloaded (falling behind its socket)."}),
		Registry: prometheus.NewRegistry(),
	}
	for _, r := range []pbx.CallResult{
		pbx.ResultAnswered, pbx.ResultBusy, pbx.ResultCancelled, pbx.ResultUnavailable,
		pbx.ResultNotFound, pbx.ResultNoAnswer, pbx.ResultRejected, pbx.ResultFailed,
	} {
		m.CallsTotal.WithLabelValues(string(r))
	}
	for _, o := range []string{OutcomeOK, OutcomeChallenge, OutcomeFailed, OutcomeError} {
		m.RegisterTotal.WithLabelValues(o)
	}
	m.MediaPackets.WithLabelValues(DirCallerToCallee)
	m.MediaPackets.WithLabelValues(DirCalleeToCaller)

	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_registrations", Help: "Current registered contacts (bindings)."}, registrations),
		m.ActiveCalls, m.CallsTotal, m.RegisterTotal, m.MediaPackets, m.Shed,
	)
	return m
}

// Handler serves the registry in the Prometheus exposition formats (for /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
