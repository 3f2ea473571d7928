package app

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/hybrid"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// hybridView is the compiled cloud–edge part of the configuration,
// published with the rest of it (compiled.hy): where each edge is, and
// which source addresses are the other nodes of the deployment.
type hybridView struct {
	self        string                         // hybrid.Online, or this edge's name
	cloud       *nodeAddr                      // edge: the cloud
	cloudTenant string                         // edge: the tenant it serves
	edges       map[string]map[string]nodeAddr // tenant → edge name → address
	bySrc       map[string][]peerRef           // source IP → nodes there
}

// nodeAddr is where a node of the deployment is.
type nodeAddr struct {
	addr string // HOST:PORT as configured (redirects, requests)
	port int
	tls  bool // the trunk to it is mutual TLS: it is identified by its certificate
}

// transport is the trunk's transport towards the node.
func (a nodeAddr) transport() string {
	if a.tls {
		return "tls"
	}
	return "udp"
}

// names says whether a verified certificate with these names (CN, DNS and
// IP SANs) is the node's: one of them is the host of its address.
func (a nodeAddr) names(names []string) bool {
	host := hostOfAddr(a.addr)
	ip := net.ParseIP(host)
	for _, n := range names {
		if ip != nil && ip.Equal(net.ParseIP(n)) || ip == nil && strings.EqualFold(strings.TrimSuffix(n, "."), strings.TrimSuffix(host, ".")) {
			return true
		}
	}
	return false
}

// peerRef is a node that may send us trunk requests.
type peerRef struct {
	key    string // callctl FromTrunk: peerKeyCloud or peerKeyEdge+tenant/name
	tenant string
	node   string // hybrid.Online or an edge name
	port   int
}

const (
	peerKeyCloud = "cloud"
	peerKeyEdge  = "edge:"
)

// newView starts the view of one reload. Like every method the rest of
// the node calls, it works on a nil hybridNode (a node built without one,
// e.g. NewAdminAPI): a standalone node.
func (h *hybridNode) newView() *hybridView {
	if h == nil {
		return &hybridView{self: hybrid.Online, edges: map[string]map[string]nodeAddr{}, bySrc: map[string][]peerRef{}}
	}
	v := &hybridView{self: h.self, edges: map[string]map[string]nodeAddr{}, bySrc: map[string][]peerRef{}}
	if h.cloud != nil {
		a := parseNodeAddr(h.cloud.SIP)
		a.tls = h.cloud.TrunkTransport() == config.TrunkTLS
		v.cloud, v.cloudTenant = &a, h.cloud.Tenant
		if a.tls {
			return v // identified by its certificate, never by address
		}
		for _, ip := range h.ips(hostOfAddr(a.addr)) {
			v.bySrc[ip] = append(v.bySrc[ip], peerRef{key: peerKeyCloud, tenant: h.cloud.Tenant, node: hybrid.Online, port: a.port})
		}
	}
	return v
}

// addTenant reads the edges of a tenant.
func (h *hybridNode) addTenant(v *hybridView, tenant string, objs []pbx.Object) {
	if h == nil {
		return
	}
	for _, o := range objs {
		if o.Kind != "edges" {
			continue
		}
		var e provision.Edge
		if err := json.Unmarshal(o.Spec, &e); err != nil || e.Name == "" || e.SIPAddress == "" {
			continue
		}
		a := parseNodeAddr(e.SIPAddress)
		a.tls = strings.EqualFold(e.Transport, "tls")
		if v.edges[tenant] == nil {
			v.edges[tenant] = map[string]nodeAddr{}
		}
		v.edges[tenant][e.Name] = a
		if h.cloud != nil || e.Name == h.self {
			continue // an edge takes trunk calls from the cloud only
		}
		if a.tls {
			if h.n != nil && h.n.cfg.SIPTLS == "" {
				h.n.log.Warn("hybrid: the edge's trunk is tls but this node has no sipTls: calls to it fail",
					"tenant", tenant, "edge", e.Name)
			}
			continue // identified by its certificate (byCert), never by address
		}
		for _, ip := range h.ips(hostOfAddr(a.addr)) {
			v.bySrc[ip] = append(v.bySrc[ip], peerRef{key: peerKeyEdge + tenant + "/" + e.Name, tenant: tenant,
				node: e.Name, port: a.port})
		}
	}
}

// reroute makes the gateways of tr that sit at another node of the
// deployment (pstnGateways[].edge names another edge, or none on an edge)
// reached through that node's trunk: their INVITEs and OPTIONS go to it,
// with the gateway's FQDN in the Request-URI, and it relays them.
func (h *hybridNode) reroute(v *hybridView, tr *tenantRouting) {
	if h == nil {
		return
	}
	if h.cloud != nil && tr.name != h.cloud.Tenant {
		return // an edge serves its own tenant only
	}
	for _, g := range tr.gateways {
		at := g.spec.Edge
		if at == "" {
			at = hybrid.Online
		}
		if at == h.self {
			continue
		}
		if a, ok := v.addrOf(tr.name, at); ok {
			g.via, g.addr, g.viaTransport = at, a.addr, a.transport()
		}
	}
}

// addrOf returns where node (hybrid.Online or an edge) of tenant is
// reached from this node: an edge reaches everything through the cloud.
func (v *hybridView) addrOf(tenant, node string) (nodeAddr, bool) {
	if v.cloud != nil {
		return *v.cloud, true
	}
	a, ok := v.edges[tenant][node]
	return a, ok
}

// redirectAddr is where a phone of a user homed on node registers:
// HOST:PORT, with ";transport=tls" when that node's trunk is TLS (its
// address is then its TLS listener).
func (v *hybridView) redirectAddr(tenant, node string) (string, bool) {
	a, ok := v.edges[tenant][node]
	if node == hybrid.Online && v.cloud != nil {
		a, ok = *v.cloud, true
	}
	if !ok {
		return "", false
	}
	if a.tls {
		return a.addr + ";transport=tls", true
	}
	return a.addr, true
}

// byCert finds the node whose TLS trunk presented a certificate with these
// names: on an edge the cloud, on the cloud one of the edges.
func (v *hybridView) byCert(names []string) (peerRef, bool) {
	if v.cloud != nil {
		if v.cloud.tls && v.cloud.names(names) {
			return peerRef{key: peerKeyCloud, tenant: v.cloudTenant, node: hybrid.Online}, true
		}
		return peerRef{}, false
	}
	for tenant, edges := range v.edges {
		for name, a := range edges {
			if a.tls && a.names(names) {
				return peerRef{key: peerKeyEdge + tenant + "/" + name, tenant: tenant, node: name}, true
			}
		}
	}
	return peerRef{}, false
}

// tlsHosts lists the hosts of the nodes this node dials over TLS by IP
// address: their certificates must name that address (signaling checks a
// server certificate dialled by IP against Peers.AtAddress("")).
func (v *hybridView) tlsHosts() []string {
	var out []string
	add := func(a nodeAddr) {
		if h := hostOfAddr(a.addr); a.tls && net.ParseIP(h) != nil {
			out = append(out, h)
		}
	}
	if v.cloud != nil {
		add(*v.cloud)
		return out
	}
	for _, edges := range v.edges {
		for _, a := range edges {
			add(a)
		}
	}
	return out
}

// peer finds the node a request from ip:port came from. Over UDP every
// node sends from its SIP socket, so the port must match too (several
// nodes may share an address in a lab); over TCP the address alone.
func (v *hybridView) peer(ip string, port int, transport string) (peerRef, bool) {
	for _, p := range v.bySrc[ip] {
		if transport == "udp" && p.port != port {
			continue
		}
		return p, true
	}
	return peerRef{}, false
}

// parseNodeAddr reads HOST[:PORT] (default port 5060: the lab trunk is UDP).
func parseNodeAddr(s string) nodeAddr {
	s = strings.TrimSpace(s)
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "5060"
	}
	p, _ := strconv.Atoi(port)
	return nodeAddr{addr: net.JoinHostPort(host, strconv.Itoa(p)), port: p}
}

func hostOfAddr(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
