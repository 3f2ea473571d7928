package hybrid

import (
	"sync"
	"time"
)

// Defaults of survivability (PRODUCT.md §5: the loss of the cloud is
// detected within 10 s).
const (
	// LossAfter without any contact with the cloud (a sync answered or an
	// OPTIONS answered) makes an edge survivable.
	LossAfter = 6 * time.Second
	// StaleAfter without a sync makes the cloud show an edge as survivable.
	StaleAfter = 10 * time.Second
)

// Edge statuses as the cloud shows them (field status of get edges).
const (
	StatusConnected  = "connected"
	StatusSurvivable = "survivable"
	StatusUnknown    = "unknown"
)

// Monitor decides an edge's mode from its contacts with the cloud. It is
// safe for concurrent use; the clock is the caller's.
type Monitor struct {
	lossAfter time.Duration

	mu   sync.Mutex
	last time.Time // last contact, or the start
	mode Mode
}

// NewMonitor returns a monitor started at now, connecting; lossAfter <= 0
// means LossAfter.
func NewMonitor(lossAfter time.Duration, now time.Time) *Monitor {
	if lossAfter <= 0 {
		lossAfter = LossAfter
	}
	return &Monitor{lossAfter: lossAfter, last: now, mode: ModeConnecting}
}

// Contact records a successful exchange with the cloud at now; the edge is
// connected from then on. It reports whether the mode changed and the
// previous one.
func (m *Monitor) Contact(now time.Time) (changed bool, was Mode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.After(m.last) {
		m.last = now
	}
	was = m.mode
	m.mode = ModeConnected
	return was != ModeConnected, was
}

// Evaluate updates the mode at now: survivable once nothing was heard from
// the cloud for lossAfter. It reports whether the mode changed.
func (m *Monitor) Evaluate(now time.Time) (mode Mode, changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mode != ModeSurvivable && now.Sub(m.last) >= m.lossAfter {
		m.mode = ModeSurvivable
		return m.mode, true
	}
	return m.mode, false
}

// Mode is the current mode.
func (m *Monitor) Mode() Mode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mode
}

// LastContact is the time of the last contact (the start when none).
func (m *Monitor) LastContact() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// EdgeStatus is an edge as the cloud shows it: its configuration and what
// the cloud knows of it from its syncs.
type EdgeStatus struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	SIPAddress  string `json:"sipAddress"`
	// Status is connected (synced within StaleAfter), survivable (synced
	// before, not lately: it runs on its own) or unknown (never synced
	// since this node started).
	Status   string     `json:"status"`
	LastSync *time.Time `json:"lastSync,omitempty"`
	// Users is how many users are homed on the edge.
	Users int `json:"users"`
}

// StatusOf says what the cloud shows of an edge last synced at lastSync
// (zero: never).
func StatusOf(lastSync, now time.Time) string {
	switch {
	case lastSync.IsZero():
		return StatusUnknown
	case now.Sub(lastSync) <= StaleAfter:
		return StatusConnected
	default:
		return StatusSurvivable
	}
}

// NodeStatus is what `switchboard status` shows of a node.
type NodeStatus struct {
	// Role is edge, cloud (it serves edges) or standalone.
	Role string `json:"role"`
	// Mode is connecting, connected or survivable on an edge; cloud or
	// standalone otherwise.
	Mode   Mode       `json:"mode"`
	Tenant string     `json:"tenant,omitempty"` // edge: its tenant
	Edge   string     `json:"edge,omitempty"`   // edge: its name
	Cloud  *CloudLink `json:"cloud,omitempty"`
	// LastContact is the edge's last exchange with the cloud; LastSync its
	// last configuration sync (answered, changed or not).
	LastContact *time.Time `json:"lastContact,omitempty"`
	LastSync    *time.Time `json:"lastSync,omitempty"`
	// Version is the ETag of the configuration the edge runs.
	Version string `json:"version,omitempty"`
	// PendingCDRs is how many CDRs wait for upload to the cloud.
	PendingCDRs int `json:"pendingCdrs"`
	// Edges are the edges a cloud node serves.
	Edges []EdgeStatus `json:"edges,omitempty"`
}

// CloudLink is where an edge reaches its cloud.
type CloudLink struct {
	API string `json:"api"`
	SIP string `json:"sip"`
}

// Roles of a node.
const (
	RoleEdge       = "edge"
	RoleCloud      = "cloud"
	RoleStandalone = "standalone"
)
