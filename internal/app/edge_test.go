package app

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/hybrid"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

func edgeObjects(t *testing.T, tenant string, edges ...provision.Edge) []pbx.Object {
	t.Helper()
	var out []pbx.Object
	for _, e := range edges {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pbx.Object{Tenant: tenant, Kind: "edges", Name: e.Name, Spec: b})
	}
	return out
}

func TestHybridViewOnTheCloud(t *testing.T) {
	h := &hybridNode{self: hybrid.Online, now: time.Now, resolved: map[string]resolvedIPs{}}
	v := h.newView()
	h.addTenant(v, "contoso", edgeObjects(t, "contoso",
		provision.Edge{Name: "redmond", SIPAddress: "127.0.0.1:5080"},
		provision.Edge{Name: "paris", SIPAddress: "127.0.0.1"}))
	for _, c := range []struct {
		ip        string
		port      int
		transport string
		want      string
	}{
		{"127.0.0.1", 5080, "udp", "edge:contoso/redmond"},
		{"127.0.0.1", 5060, "udp", "edge:contoso/paris"}, // default port
		{"127.0.0.1", 40000, "udp", ""},                  // a phone on the same address
		{"127.0.0.1", 40000, "tcp", "edge:contoso/"},     // tcp: the address alone
		{"127.0.0.2", 5080, "udp", ""},
	} {
		p, ok := v.peer(c.ip, c.port, c.transport)
		switch {
		case c.want == "" && ok:
			t.Errorf("%s:%d/%s is peer %+v", c.ip, c.port, c.transport, p)
		case c.want != "" && (!ok || len(p.key) < len(c.want) || p.key[:len(c.want)] != c.want):
			t.Errorf("%s:%d/%s = %+v %v, want %s", c.ip, c.port, c.transport, p, ok, c.want)
		}
	}
	if a, ok := v.addrOf("contoso", "paris"); !ok || a.addr != "127.0.0.1:5060" || a.transport() != "udp" {
		t.Errorf("addrOf paris = %+v %v", a, ok)
	}
	if _, ok := v.addrOf("contoso", "nowhere"); ok {
		t.Error("an unknown edge has an address")
	}
	if peerNode("edge:contoso/redmond") != "redmond" || peerNode("cloud") != hybrid.Online || peerNode("contoso/sbc1") != "" {
		t.Error("peerNode")
	}
}

func TestHybridViewOnAnEdge(t *testing.T) {
	h := &hybridNode{self: "redmond", now: time.Now, resolved: map[string]resolvedIPs{},
		cloud: &config.Cloud{SIP: "127.0.0.1:5060", Tenant: "contoso", Edge: "redmond"}}
	v := h.newView()
	h.addTenant(v, "contoso", edgeObjects(t, "contoso",
		provision.Edge{Name: "redmond", SIPAddress: "127.0.0.1:5080"},
		provision.Edge{Name: "paris", SIPAddress: "127.0.0.3:5090"}))
	if p, ok := v.peer("127.0.0.1", 5060, "udp"); !ok || p.key != peerKeyCloud || p.tenant != "contoso" {
		t.Errorf("the cloud is not a peer: %+v %v", p, ok)
	}
	if _, ok := v.peer("127.0.0.3", 5090, "udp"); ok {
		t.Error("an edge takes trunk calls from another edge")
	}
	// Everything is reached through the cloud; phones are sent to each home.
	if a, _ := v.addrOf("contoso", "paris"); a.addr != "127.0.0.1:5060" {
		t.Errorf("paris reached at %s, want the cloud", a.addr)
	}
	if a, _ := v.redirectAddr("contoso", "paris"); a != "127.0.0.3:5090" {
		t.Errorf("paris phones sent to %s", a)
	}
	if a, _ := v.redirectAddr("contoso", hybrid.Online); a != "127.0.0.1:5060" {
		t.Errorf("cloud phones sent to %s", a)
	}
	// Gateways: the site's SBC is local, the others through the cloud.
	tr := &tenantRouting{name: "contoso", gateways: map[string]*gateway{
		"sbc1": {spec: provision.Gateway{FQDN: "sbc1", Edge: "redmond"}, addr: "127.0.0.20:5067"},
		"sbc2": {spec: provision.Gateway{FQDN: "sbc2"}, addr: "127.0.0.21:5067"},
		"sbc3": {spec: provision.Gateway{FQDN: "sbc3", Edge: "paris"}, addr: "127.0.0.22:5067"},
	}}
	h.reroute(v, tr)
	for fqdn, want := range map[string][2]string{"sbc1": {"", "127.0.0.20:5067"}, "sbc2": {hybrid.Online, "127.0.0.1:5060"},
		"sbc3": {"paris", "127.0.0.1:5060"}} {
		if g := tr.gateways[fqdn]; g.via != want[0] || g.addr != want[1] {
			t.Errorf("%s: via %q at %s, want %q at %s", fqdn, g.via, g.addr, want[0], want[1])
		}
	}
	// A nil hybrid node is a standalone node.
	var none *hybridNode
	if v := none.newView(); v.self != hybrid.Online || len(v.bySrc) != 0 {
		t.Errorf("nil view %+v", v)
	}
	none.addTenant(v, "contoso", nil)
	none.reroute(v, tr)
	none.afterReload(t.Context())
	none.recordCDR(pbx.CDR{})
}

// TestHybridViewTLS: over a TLS trunk each node is identified by the names
// of its certificate (the host of its address), never by source address.
func TestHybridViewTLS(t *testing.T) {
	cloud := &hybridNode{self: hybrid.Online, now: time.Now, resolved: map[string]resolvedIPs{}}
	v := cloud.newView()
	cloud.addTenant(v, "contoso", edgeObjects(t, "contoso",
		provision.Edge{Name: "redmond", SIPAddress: "edge1.contoso.com:5061", Transport: "tls"},
		provision.Edge{Name: "lab", SIPAddress: "127.0.0.1:5081", Transport: "tls"},
		provision.Edge{Name: "paris", SIPAddress: "127.0.0.3:5090"}))
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"edge1", "EDGE1.contoso.com."}, "edge:contoso/redmond"},
		{[]string{"cloud.contoso.com", "127.0.0.1"}, "edge:contoso/lab"},
		{[]string{"127.0.0.3"}, ""}, // paris's trunk is udp
		{[]string{"edge2.contoso.com", "127.0.0.2"}, ""},
	} {
		p, ok := v.byCert(c.names)
		if got := p.key; !ok && c.want != "" || got != c.want {
			t.Errorf("byCert(%q) = %q %v, want %q", c.names, got, ok, c.want)
		}
	}
	if _, ok := v.peer("127.0.0.1", 5081, "udp"); ok {
		t.Error("a tls edge is identified by its address")
	}
	if a, _ := v.addrOf("contoso", "redmond"); a.transport() != "tls" {
		t.Errorf("redmond reached over %s", a.transport())
	}
	if a, _ := v.redirectAddr("contoso", "redmond"); a != "edge1.contoso.com:5061;transport=tls" {
		t.Errorf("redmond phones sent to %s", a)
	}
	if got := v.tlsHosts(); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("tlsHosts = %q", got)
	}

	edge := &hybridNode{self: "redmond", now: time.Now, resolved: map[string]resolvedIPs{},
		cloud: &config.Cloud{SIP: "127.0.0.1:5061", Transport: "tls", Tenant: "contoso", Edge: "redmond"}}
	ev := edge.newView()
	if p, ok := ev.byCert([]string{"127.0.0.1"}); !ok || p.key != peerKeyCloud || p.tenant != "contoso" {
		t.Errorf("the cloud by its certificate: %+v %v", p, ok)
	}
	if _, ok := ev.byCert([]string{"other.contoso.com"}); ok {
		t.Error("a certificate for another name is the cloud")
	}
	if _, ok := ev.peer("127.0.0.1", 5061, "udp"); ok {
		t.Error("the tls cloud is identified by its address")
	}
	tr := &tenantRouting{name: "contoso", gateways: map[string]*gateway{
		"sbc2": {spec: provision.Gateway{FQDN: "sbc2", Transport: "udp"}, addr: "127.0.0.21:5067"},
	}}
	edge.reroute(ev, tr)
	if g := tr.gateways["sbc2"]; g.via != hybrid.Online || g.transport() != "tls" || g.addr != "127.0.0.1:5061" {
		t.Errorf("sbc2 via %q over %s at %s, want the cloud's tls trunk", g.via, g.transport(), g.addr)
	}
}
