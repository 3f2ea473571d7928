package app

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/hybrid"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/signaling"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// hybridNode is this node's part in a cloud–edge deployment (issue 6,
// docs/adr/0003-hybrid-edge.md). Every node has one: with a cloud section
// it is an edge (sync, trunk keepalive, survivability, CDR upload); without
// one it serves the edges its tenants list (or none: standalone). It
// implements callctl.Placer and signaling.Hybrid.
type hybridNode struct {
	n     *node
	self  string        // hybrid.Online, or this edge's name
	cloud *config.Cloud // nil unless this node is an edge
	hs    store.Hybrid  // nil when the store keeps no hybrid state
	mon   *hybrid.Monitor
	now   func() time.Time
	httpc *http.Client
	m     *hybridMetrics

	wake chan struct{} // edge: upload the CDR queue now

	mu        sync.Mutex
	lastSync  map[string]time.Time    // cloud: tenant/edge → last sync served
	fromCloud map[string]time.Time    // edge: Call-IDs of calls the cloud sent (not uploaded)
	syncedAt  time.Time               // edge: last sync answered
	version   string                  // edge: ETag of the configuration applied
	resolved  map[string]resolvedIPs  // host → addresses (peer identification)
	snapshots map[string]snapshotJSON // cloud: tenant → encoded snapshot, until the next reload
	snapGen   uint64                  // cloud: reloads so far (a snapshot read before one is not cached)
	refusal   string                  // edge: the last sync refusal logged (no repeats)

	uploadMu sync.Mutex // cloud: one CDR upload at a time (idempotency check)
}

type snapshotJSON struct {
	body []byte
	etag string
}

type resolvedIPs struct {
	ips []string
	at  time.Time
}

// maxFromCloud bounds the Call-IDs an edge remembers (one per call in progress).
const maxFromCloud = 100000

func newHybridNode(n *node, now func() time.Time) *hybridNode {
	h := &hybridNode{n: n, self: hybrid.Online, now: now, wake: make(chan struct{}, 1),
		lastSync: map[string]time.Time{}, fromCloud: map[string]time.Time{}, resolved: map[string]resolvedIPs{}, snapshots: map[string]snapshotJSON{}}
	h.m = newHybridMetrics(h)
	if hs, ok := n.st.(store.Hybrid); ok {
		h.hs = hs
	}
	if c := n.cfg.Cloud; c != nil {
		cp := *c
		h.cloud, h.self = &cp, strings.TrimSpace(c.Edge)
		h.mon = hybrid.NewMonitor(hybrid.LossAfter, now())
		h.httpc = &http.Client{Timeout: syncTimeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}}
	}
	return h
}

func (h *hybridNode) isEdge() bool { return h != nil && h.cloud != nil }

// mode is this node's mode (an edge's from its monitor).
func (h *hybridNode) mode() hybrid.Mode {
	if h.mon != nil {
		return h.mon.Mode()
	}
	v := h.view()
	if v != nil && len(v.edges) > 0 {
		return hybrid.ModeCloud
	}
	return hybrid.ModeStandalone
}

func (h *hybridNode) node() hybrid.Node { return hybrid.Node{Self: h.self, Mode: h.mode()} }

func (h *hybridNode) view() *hybridView {
	if c := h.n.live.load(); c != nil {
		return c.hy
	}
	return nil
}

// serves says whether users of tenant follow the split domain here: an
// edge serves its own tenant only (others are local, as on a standalone node).
func (h *hybridNode) serves(tenant string) bool { return h.cloud == nil || tenant == h.cloud.Tenant }

// ips returns the addresses of host: itself when it is an IP, else the
// last lookup (refreshed in the background: a reload never waits for DNS).
func (h *hybridNode) ips(host string) []string {
	if ip := net.ParseIP(host); ip != nil {
		return []string{ip.String()}
	}
	if host == "" {
		return nil
	}
	h.mu.Lock()
	r, ok := h.resolved[host]
	stale := !ok || h.now().Sub(r.at) > time.Minute
	if stale {
		h.resolved[host] = resolvedIPs{ips: r.ips, at: h.now()} // one lookup at a time
	}
	h.mu.Unlock()
	if stale {
		go h.lookup(host)
	}
	return r.ips
}

func (h *hybridNode) lookup(host string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		h.n.log.Warn("hybrid: cannot resolve a node's address", "host", host, "err", err)
		return
	}
	h.mu.Lock()
	h.resolved[host] = resolvedIPs{ips: addrs, at: h.now()}
	h.mu.Unlock()
}

// --- signaling.Hybrid ---

// Peer implements signaling.Hybrid.
func (h *hybridNode) Peer(ip string, port int, transport string) (signaling.HybridPeer, bool) {
	v := h.view()
	if v == nil {
		return signaling.HybridPeer{}, false
	}
	p, ok := v.peer(ip, port, transport)
	if !ok {
		return signaling.HybridPeer{}, false
	}
	return signaling.HybridPeer{Key: p.key, Tenant: p.tenant}, true
}

// PeerByCert implements signaling.Hybrid: the node of a mutually
// authenticated TLS trunk, by the names of its verified certificate.
func (h *hybridNode) PeerByCert(names []string) (signaling.HybridPeer, bool) {
	v := h.view()
	if v == nil {
		return signaling.HybridPeer{}, false
	}
	p, ok := v.byCert(names)
	if !ok {
		return signaling.HybridPeer{}, false
	}
	return signaling.HybridPeer{Key: p.key, Tenant: p.tenant}, true
}

// RegisterAt implements signaling.Hybrid: a phone registering at the wrong
// node is redirected to the user's home (a survivable edge takes everyone).
func (h *hybridNode) RegisterAt(u *pbx.User) string {
	if !h.serves(u.Tenant) {
		return ""
	}
	target := h.node().RegisterAt(hybrid.Home(u))
	if target == "" {
		return ""
	}
	v := h.view()
	if v == nil {
		return ""
	}
	addr, ok := v.redirectAddr(u.Tenant, target)
	if !ok {
		return "" // a home we cannot name: better registered here than nowhere
	}
	return addr
}

// --- callctl.Placer ---

// peerNode is the node a call came from over the trunk, "" for others.
func peerNode(fromTrunk string) string {
	switch {
	case fromTrunk == peerKeyCloud:
		return hybrid.Online
	case strings.HasPrefix(fromTrunk, peerKeyEdge):
		_, name, _ := strings.Cut(strings.TrimPrefix(fromTrunk, peerKeyEdge), "/")
		return name
	}
	return ""
}

// Place implements callctl.Placer.
func (h *hybridNode) Place(req callctl.InviteRequest, callee *pbx.User) (callctl.Route, bool) {
	c := h.n.live.load()
	if c == nil || c.hy == nil {
		return callctl.Route{}, false
	}
	from := peerNode(req.FromTrunk)
	if from != "" {
		if h.isEdge() {
			h.noteFromCloud(req.CallID)
		}
		if r, ok := h.relay(c, req, from); ok {
			return r, true
		}
		if callee == nil {
			return callctl.Route{Kind: callctl.KindRejected, Code: 404, Reason: "Not Found"}, true
		}
	}
	if callee == nil || !h.serves(callee.Tenant) {
		return callctl.Route{}, false
	}
	pl := h.node().PlaceUser(hybrid.Home(callee), from, func() bool {
		return h.n.reg != nil && len(h.n.reg.Lookup(callee.SIPAddress)) > 0
	})
	switch {
	case pl.Local:
		return callctl.Route{}, false
	case pl.Reject != 0:
		return callctl.Route{Kind: callctl.KindRejected, Code: pl.Reject, Reason: "Home Node Unreachable"}, true
	}
	addr, ok := c.hy.addrOf(callee.Tenant, pl.Peer)
	if !ok {
		return callctl.Route{}, false // an edge without an address: deliver here if registered
	}
	via := hybrid.ViaEdge
	if h.isEdge() {
		via = hybrid.ViaCloud
	}
	return callctl.Route{Kind: callctl.KindPSTN, Number: callee.SIPAddress, Via: via,
		Gateways: []callctl.TrunkTarget{{Key: "hybrid:" + callee.Tenant + "/" + pl.Peer, FQDN: callee.Domain(),
			Address: addr.addr, Transport: addr.transport(), Called: callee.Username(), Peer: true}}}, true
}

// relay sends a PSTN call another node handed over (Request-URI
// number@gateway-fqdn) to that gateway as this node reaches it: directly,
// or through the cloud towards another edge, never back where it came from.
func (h *hybridNode) relay(c *compiled, req callctl.InviteRequest, from string) (callctl.Route, bool) {
	number, host, ok := strings.Cut(req.Target, "@")
	if !ok || number == "" {
		return callctl.Route{}, false
	}
	tr, ok := c.tenants[req.Tenant]
	if !ok {
		return callctl.Route{}, false
	}
	g, ok := tr.gateways[strings.ToLower(host)]
	if !ok {
		return callctl.Route{}, false
	}
	if g.via == from {
		return callctl.Route{Kind: callctl.KindRejected, Code: 482, Reason: "Loop Detected"}, true
	}
	t := g.target(&pbx.User{}, number, provision.CallerIDPolicy{})
	t.Called, t.Calling = number, "" // translated by the node that chose the gateway
	return callctl.Route{Kind: callctl.KindPSTN, Number: number, Via: "directRouting",
		Gateways: []callctl.TrunkTarget{t}}, true
}

// noteFromCloud remembers a call the cloud sent to this edge: the cloud has
// its CDR, so the edge's own is not uploaded.
func (h *hybridNode) noteFromCloud(callID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.fromCloud) >= maxFromCloud {
		cutoff := h.now().Add(-24 * time.Hour)
		for id, at := range h.fromCloud {
			if at.Before(cutoff) {
				delete(h.fromCloud, id)
			}
		}
		if len(h.fromCloud) >= maxFromCloud {
			return
		}
	}
	h.fromCloud[callID] = h.now()
}

func (h *hybridNode) takeFromCloud(callID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.fromCloud[callID]
	delete(h.fromCloud, callID)
	return ok
}

// --- reloads and bindings ---

// afterReload drops the registrations this node no longer keeps: those of
// users moved to another home (and, on an edge back from survivable, the
// fallback registrations of cloud users). Each of their contacts first gets
// an unsolicited NOTIFY (Event: check-sync): the phone re-registers at once
// and that REGISTER is redirected (302) to the new home.
func (h *hybridNode) afterReload(ctx context.Context) {
	if h == nil {
		return
	}
	h.mu.Lock()
	clear(h.snapshots) // the configuration may have changed
	h.snapGen++
	h.mu.Unlock()
	if h.n.reg == nil {
		return
	}
	dir := h.n.dir.Load()
	node := h.node()
	dropped := map[string]bool{}
	var aors []string
	for _, b := range h.n.reg.All() {
		u, ok := dir.User(b.AOR)
		if !ok || !h.serves(u.Tenant) || node.Keeps(hybrid.Home(u)) {
			continue
		}
		h.n.log.Info("hybrid: dropping the registration of a user homed elsewhere; the phone is told to re-register",
			"user", u.SIPAddress, "home", hybrid.Home(u), "contact", b.Contact)
		h.notifyMoved(b)
		if !dropped[b.AOR] {
			dropped[b.AOR] = true
			aors = append(aors, b.AOR)
		}
	}
	for _, aor := range aors {
		h.n.reg.RemoveAOR(ctx, aor)
	}
}

// notifyTimeout bounds the wait for a phone's answer to check-sync (a
// phone that is gone must not hold anything up: the NOTIFY runs on its own).
const notifyTimeout = 5 * time.Second

// notifyMoved sends the check-sync NOTIFY to one contact, in the
// background: the bindings are dropped meanwhile, and the phone's
// re-REGISTER is redirected whether or not they are gone yet.
func (h *hybridNode) notifyMoved(b pbx.Binding) {
	if h.n.sip == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		defer cancel()
		code, err := h.n.sip.NotifyCheckSync(ctx, b)
		if err != nil {
			h.n.log.Warn("hybrid: check-sync NOTIFY to a moved user's phone got no answer", "user", b.AOR,
				"contact", b.Contact, "err", err)
			return
		}
		h.n.log.Info("hybrid: check-sync NOTIFY answered", "user", b.AOR, "contact", b.Contact, "status", code)
	}()
}

// cdrQueueTimeout bounds queueing a CDR for upload (a write to the store).
const cdrQueueTimeout = 5 * time.Second

// recordCDR is the edge's part of storing a CDR: queue it for upload when
// the cloud does not have it. It runs before the CDR is stored locally, so
// a crash in between loses nothing the cloud needs. Its context (and
// timer) is made only for a CDR that is queued: not on a cloud node's calls.
func (h *hybridNode) recordCDR(c pbx.CDR) {
	if h == nil || !h.isEdge() || h.hs == nil || !h.serves(c.Tenant) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cdrQueueTimeout)
	defer cancel()
	if !hybrid.Uploadable(c.Via, h.takeFromCloud(c.CallID)) {
		return
	}
	if err := h.hs.QueueCDR(ctx, c); err != nil {
		h.n.log.Error("hybrid: queue cdr for upload", "call_id", c.CallID, "err", err)
		return
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}
