package obs

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q", ct)
	}
	return rec.Body.String()
}

func TestMetricsExposition(t *testing.T) {
	m := NewMetrics(func() float64 { return 3 })
	m.ActiveCalls.Inc()
	m.ActiveCalls.Inc()
	m.ActiveCalls.Dec()
	m.CallsTotal.WithLabelValues("answered").Inc()
	m.RegisterTotal.WithLabelValues(OutcomeChallenge).Add(2)
	m.MediaPackets.WithLabelValues(DirCallerToCallee).Add(50)

	body := scrape(t, m.Handler())
	for _, want := range []string{
		"# TYPE switchboard_registrations gauge\nswitchboard_registrations 3\n",
		"# TYPE switchboard_active_calls gauge\nswitchboard_active_calls 1\n",
		"# TYPE switchboard_calls_total counter\n",
		`switchboard_calls_total{result="answered"} 1` + "\n",
		`switchboard_calls_total{result="no-answer"} 0` + "\n",
		"# TYPE switchboard_register_requests_total counter\n",
		`switchboard_register_requests_total{outcome="challenge"} 2` + "\n",
		`switchboard_register_requests_total{outcome="ok"} 0` + "\n",
		"# TYPE switchboard_media_packets_total counter\n",
		`switchboard_media_packets_total{direction="caller_to_callee"} 50` + "\n",
		`switchboard_media_packets_total{direction="callee_to_caller"} 0` + "\n",
		"# TYPE go_goroutines gauge\n",
		"go_info{version=",
		"# TYPE process_start_time_seconds gauge\n",
		"# HELP switchboard_active_calls Calls in progress.\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q; got:\n%s", want, body)
		}
	}
}

func TestMetricsHaveOwnRegistries(t *testing.T) {
	a, b := NewMetrics(nil), NewMetrics(nil)
	a.ActiveCalls.Set(7)
	if strings.Contains(scrape(t, b.Handler()), "switchboard_active_calls 7") {
		t.Error("two Metrics share state")
	}
	if !strings.Contains(scrape(t, b.Handler()), "switchboard_registrations 0\n") {
		t.Error("nil registrations func should read 0")
	}
}

// value reads a counter or gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	if pb.Counter != nil {
		return pb.Counter.GetValue()
	}
	return pb.Gauge.GetValue()
}

func TestConcurrentUpdates(t *testing.T) {
	m := NewMetrics(nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				m.CallsTotal.WithLabelValues("busy").Inc()
				m.ActiveCalls.Add(1)
				m.ActiveCalls.Sub(1)
			}
		})
		wg.Go(func() {
			if _, err := m.Registry.Gather(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := value(t, m.CallsTotal.WithLabelValues("busy")); got != 8000 {
		t.Errorf("busy = %v, want 8000", got)
	}
	if got := value(t, m.ActiveCalls); got != 0 {
		t.Errorf("active = %v, want 0", got)
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "WARN")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "call_id", "abc")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "msg=shown call_id=abc") {
		t.Errorf("log output = %q", out)
	}
	for _, lvl := range []string{"", "debug", "info", "warn", "error"} {
		if _, err := NewLogger(io.Discard, lvl); err != nil {
			t.Errorf("NewLogger(%q) = %v", lvl, err)
		}
	}
	_, err = NewLogger(io.Discard, "verbose")
	if err == nil || err.Error() != `obs: unknown log level "verbose" (expected debug, info, warn or error)` {
		t.Errorf("NewLogger(verbose) error = %v", err)
	}
}
