package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-pbx/switchboard/internal/hybrid"
)

// hybridMetrics are the cloud–edge metrics:
//
//	switchboard_hybrid_mode{mode}                  1 for this node's mode (edge: connecting|connected|survivable)
//	switchboard_hybrid_mode_changes_total{mode}    edge: mode changes
//	switchboard_hybrid_sync_total{result}          edge: config polls (applied|unchanged|unreachable|refused|error)
//	switchboard_hybrid_cdrs_pending                edge: CDRs waiting for upload
//	switchboard_hybrid_cdrs_uploaded_total         edge: CDRs acknowledged by the cloud
//	switchboard_edge_connected{tenant,edge}        cloud: 1 when the edge synced within 10 s
type hybridMetrics struct {
	h        *hybridNode
	changes  *prometheus.CounterVec
	syncs    *prometheus.CounterVec
	uploads  prometheus.Counter
	mode     *prometheus.Desc
	pending  *prometheus.Desc
	edgeConn *prometheus.Desc
}

func newHybridMetrics(h *hybridNode) *hybridMetrics {
	m := &hybridMetrics{h: h,
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_hybrid_mode_changes_total",
			Help: "Edge mode changes, by the mode entered."}, []string{"mode"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_hybrid_sync_total",
			Help: "Edge configuration polls of the cloud, by result."}, []string{"result"}),
		uploads: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_hybrid_cdrs_uploaded_total",
			Help: "CDRs the edge uploaded and the cloud acknowledged."}),
		mode: prometheus.NewDesc("switchboard_hybrid_mode", "1 for the node's current hybrid mode.", []string{"mode"}, nil),
		pending: prometheus.NewDesc("switchboard_hybrid_cdrs_pending",
			"CDRs the edge keeps until the cloud acknowledges them.", nil, nil),
		edgeConn: prometheus.NewDesc("switchboard_edge_connected",
			"1 when the edge synced with this cloud within 10 s.", []string{"tenant", "edge"}, nil),
	}
	for _, r := range []string{"applied", "unchanged", "unreachable", "refused", "error"} {
		m.syncs.WithLabelValues(r)
	}
	return m
}

func (m *hybridMetrics) register(reg *prometheus.Registry) {
	reg.MustRegister(m.changes, m.syncs, m.uploads, m)
}

func (m *hybridMetrics) setMode(mode hybrid.Mode) { m.changes.WithLabelValues(string(mode)).Inc() }
func (m *hybridMetrics) sync(result string)       { m.syncs.WithLabelValues(result).Inc() }
func (m *hybridMetrics) uploaded(n int)           { m.uploads.Add(float64(n)) }

// Describe implements prometheus.Collector.
func (m *hybridMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.mode
	ch <- m.pending
	ch <- m.edgeConn
}

// Collect implements prometheus.Collector.
func (m *hybridMetrics) Collect(ch chan<- prometheus.Metric) {
	h := m.h
	ch <- prometheus.MustNewConstMetric(m.mode, prometheus.GaugeValue, 1, string(h.mode()))
	if h.isEdge() && h.hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		n, err := h.hs.CountQueuedCDRs(ctx)
		cancel()
		if err == nil {
			ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(n))
		}
		return
	}
	for _, e := range h.edgeStatuses("") {
		v := 0.0
		if e.status.Status == hybrid.StatusConnected {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(m.edgeConn, prometheus.GaugeValue, v, e.tenant, e.status.Name)
	}
}
