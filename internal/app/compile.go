package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/numbering"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/routing"
	"github.com/switchboard-pbx/switchboard/internal/signaling"
	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

// compiled is everything the call path reads, built from the store after
// each change and published atomically: the hot path never reads the
// database and never compiles a pattern.
type compiled struct {
	peers   *peers // this configuration as signaling.Peers (live.peers)
	dir     *directory.Directory
	tenants map[string]*tenantRouting
	byKey   map[string]*gateway   // tenant/fqdn → gateway
	bySrc   map[string][]*gateway // source IP → lab gateways (udp/tcp)
	cidrs   []srcPrefix           // the keys of bySrc that are CIDRs, parsed once
	atAddr  map[string][]string   // host → FQDNs configured there
	hy      *hybridView           // cloud–edge: nodes and trunk peers (edge_view.go)
}

// srcPrefix is a gateway source given as a CIDR (allowedAddresses).
type srcPrefix struct {
	src string
	p   netip.Prefix
	gws []*gateway
}

// prefixesOf parses the CIDR sources of bySrc once, in a stable order:
// every INVITE from a phone asks whether its source is a gateway, and must
// not parse them again.
func prefixesOf(bySrc map[string][]*gateway) []srcPrefix {
	var out []srcPrefix
	for src, list := range bySrc {
		if p, err := netip.ParsePrefix(src); err == nil {
			out = append(out, srcPrefix{src: src, p: p, gws: list})
		}
	}
	slices.SortFunc(out, func(a, b srcPrefix) int { return strings.Compare(a.src, b.src) })
	return out
}

type tenantRouting struct {
	name     string
	domain   string
	table    *routing.Table
	gateways map[string]*gateway // fqdn → gateway
	callerID map[string]provision.CallerIDPolicy
	denied   []string          // settings.deniedPrefixes
	allowed  numbering.Allowed // settings.callingPlan: Calling Plan destinations
}

type gateway struct {
	tenant                                     string
	key                                        string
	spec                                       provision.Gateway
	addr                                       string // host:port to send to
	via                                        string // hybrid: the node it is reached through ("" here)
	viaTransport                               string // hybrid: the trunk's transport to that node (udp | tls)
	inCalled, inCalling, outCalled, outCalling []*routing.Translation
}

// compile builds the routing view of every tenant. A tenant whose routing
// does not compile (the admin API validates first, so only after a bug or a
// manual database edit) keeps routing nothing and is logged.
func (n *node) compile(ctx context.Context, dir *directory.Directory, tenants []pbx.Tenant) (*compiled, error) {
	c := &compiled{dir: dir, tenants: map[string]*tenantRouting{}, byKey: map[string]*gateway{},
		bySrc: map[string][]*gateway{}, atAddr: map[string][]string{}, hy: n.hybrid.newView()}
	for _, t := range tenants {
		objs, err := n.st.Objects(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		n.hybrid.addTenant(c.hy, t.Name, objs)
		tr, err := compileTenant(t, objs, dir)
		if err != nil {
			n.log.Error("tenant routing does not compile; its PSTN calls are refused", "tenant", t.Name, "err", err)
			continue
		}
		c.tenants[t.Name] = tr
		n.hybrid.reroute(c.hy, tr) // gateways at another node of the deployment
		for _, g := range tr.gateways {
			c.byKey[g.key] = g
			if g.via != "" {
				continue // reached through that node, never identified by address
			}
			host, _, _ := net.SplitHostPort(g.addr)
			c.atAddr[host] = append(c.atAddr[host], g.spec.FQDN)
			if g.spec.Transport == "tls" && net.ParseIP(host) != nil {
				// A TLS peer dialled by IP gets no SNI, so its address is
				// unknown when its certificate is checked (signaling.Peers).
				c.atAddr[""] = append(c.atAddr[""], g.spec.FQDN)
			}
			if g.spec.Transport == "tls" {
				continue
			}
			srcs := g.spec.AllowedAddresses
			if len(srcs) == 0 {
				srcs = []string{host}
			}
			for _, s := range srcs {
				c.bySrc[s] = append(c.bySrc[s], g)
			}
		}
	}
	c.cidrs = prefixesOf(c.bySrc)
	// Nodes of the deployment dialled over TLS by IP address: their
	// certificates must name that address (signaling.Peers.AtAddress).
	for _, ip := range c.hy.tlsHosts() {
		c.atAddr[""] = append(c.atAddr[""], ip)
		c.atAddr[ip] = append(c.atAddr[ip], ip)
	}
	return c, nil
}

func compileTenant(t pbx.Tenant, objs []pbx.Object, dir *directory.Directory) (*tenantRouting, error) {
	var doc provision.Document
	rules := map[string]provision.TranslationRule{}
	for _, o := range objs {
		var err error
		switch o.Kind {
		case "pstnGateways":
			var g provision.Gateway
			err = json.Unmarshal(o.Spec, &g)
			doc.PSTNGateways = append(doc.PSTNGateways, g)
		case "voiceRoutes":
			var v provision.VoiceRoute
			err = json.Unmarshal(o.Spec, &v)
			doc.VoiceRoutes = append(doc.VoiceRoutes, v)
		case "voiceRoutingPolicies":
			var v provision.VoiceRoutingPolicy
			err = json.Unmarshal(o.Spec, &v)
			doc.VoiceRoutingPolicies = append(doc.VoiceRoutingPolicies, v)
		case "dialPlans":
			var v provision.DialPlan
			err = json.Unmarshal(o.Spec, &v)
			doc.DialPlans = append(doc.DialPlans, v)
		case "emergencyRoutingPolicies":
			var v provision.EmergencyRoutingPolicy
			err = json.Unmarshal(o.Spec, &v)
			doc.EmergencyRoutingPolicies = append(doc.EmergencyRoutingPolicies, v)
		case "pstnUsages":
			doc.PSTNUsages = append(doc.PSTNUsages, o.Name)
		case "settings":
			var v provision.Settings
			err = json.Unmarshal(o.Spec, &v)
			doc.Settings = &v
		case "callerIdPolicies":
			var v provision.CallerIDPolicy
			err = json.Unmarshal(o.Spec, &v)
			doc.CallerIDPolicies = append(doc.CallerIDPolicies, v)
		case "translationRules":
			var v provision.TranslationRule
			err = json.Unmarshal(o.Spec, &v)
			rules[v.Name] = v
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.Kind, o.Name, err)
		}
	}
	cfg := routing.TenantConfig{Name: t.Name, PstnUsages: doc.PSTNUsages}
	for _, g := range doc.PSTNGateways {
		cfg.Gateways = append(cfg.Gateways, routing.Gateway{FQDN: g.FQDN, Enabled: g.Enabled, Edge: g.Edge})
	}
	for _, v := range doc.VoiceRoutes {
		cfg.VoiceRoutes = append(cfg.VoiceRoutes, routing.VoiceRoute{Name: v.Name, NumberPattern: v.NumberPattern,
			Priority: v.Priority, OnlinePstnGatewayList: v.OnlinePSTNGatewayList, OnlinePstnUsages: v.OnlinePSTNUsages})
	}
	for _, p := range doc.VoiceRoutingPolicies {
		cfg.VoiceRoutingPolicies = append(cfg.VoiceRoutingPolicies, routing.VoiceRoutingPolicy{Name: p.Name,
			OnlinePstnUsages: p.OnlinePSTNUsages})
	}
	for _, d := range doc.DialPlans {
		dp := routing.DialPlan{Name: d.Name, ExternalAccessPrefix: d.ExternalAccessPrefix}
		for _, r := range d.NormalizationRules {
			dp.NormalizationRules = append(dp.NormalizationRules, routing.Rule{Name: r.Name, Pattern: r.Pattern,
				Translation: r.Translation, IsInternalExtension: r.IsInternalExtension})
		}
		cfg.DialPlans = append(cfg.DialPlans, dp)
	}
	for _, e := range doc.EmergencyRoutingPolicies {
		ep := routing.EmergencyRoutingPolicy{Name: e.Name}
		for _, en := range e.EmergencyNumbers {
			ep.EmergencyNumbers = append(ep.EmergencyNumbers, routing.EmergencyNumber{DialString: en.DialString,
				DialMasks: en.DialMasks, OnlinePstnUsage: en.OnlinePSTNUsage})
		}
		cfg.EmergencyRoutingPolicies = append(cfg.EmergencyRoutingPolicies, ep)
	}
	table, err := routing.Compile(cfg, routing.WithResolver(dir))
	if err != nil {
		return nil, err
	}
	tr := &tenantRouting{name: t.Name, table: table, gateways: map[string]*gateway{},
		callerID: map[string]provision.CallerIDPolicy{}}
	for _, p := range doc.CallerIDPolicies {
		tr.callerID[p.Name] = p
	}
	if doc.Settings != nil {
		tr.denied = doc.Settings.DeniedPrefixes
		if cp := doc.Settings.CallingPlan; cp != nil {
			tr.allowed = numbering.Allowed{International: cp.InternationalCountries, PremiumRate: cp.PremiumRateCountries}
		}
	}
	if len(t.Domains) > 0 {
		tr.domain = t.Domains[0]
	}
	for _, g := range doc.PSTNGateways {
		gw, err := compileGateway(t.Name, g, rules)
		if err != nil {
			return nil, err
		}
		tr.gateways[strings.ToLower(g.FQDN)] = gw
	}
	return tr, nil
}

func compileGateway(tenant string, g provision.Gateway, rules map[string]provision.TranslationRule) (*gateway, error) {
	if g.Transport == "" {
		g.Transport = "tls"
	}
	port := g.SIPSignalingPort
	if port == 0 {
		port = 5061
		if g.Transport != "tls" {
			port = 5060
		}
	}
	host := g.FQDN
	if g.Address != "" {
		host = g.Address
	}
	gw := &gateway{tenant: tenant, key: tenant + "/" + strings.ToLower(g.FQDN), spec: g,
		addr: net.JoinHostPort(host, strconv.Itoa(port))}
	lists := []struct {
		names []string
		dst   *[]*routing.Translation
	}{
		{g.InboundCalledNumberTranslationRules, &gw.inCalled},
		{g.InboundCallingNumberTranslationRules, &gw.inCalling},
		{g.OutboundCalledNumberTranslationRules, &gw.outCalled},
		{g.OutboundCallingNumberTranslationRules, &gw.outCalling},
	}
	for _, l := range lists {
		for _, name := range l.names {
			r, ok := rules[name]
			if !ok {
				return nil, fmt.Errorf("gateway %s: translation rule %q does not exist", g.FQDN, name)
			}
			t, err := routing.CompileTranslation(r.Pattern, r.Translation)
			if err != nil {
				return nil, fmt.Errorf("translation rule %s: %w", name, err)
			}
			*l.dst = append(*l.dst, t)
		}
	}
	return gw, nil
}

// translate applies an ordered list of translation rules: each rule that
// matches rewrites the number for the next (PRODUCT.md §3.7).
func translate(rules []*routing.Translation, number string) string {
	for _, r := range rules {
		if out, ok, err := r.Apply(number); err == nil && ok {
			number = out
		}
	}
	return number
}

func (g *gateway) health() trunk.Gateway {
	send := g.spec.SendSIPOptions == nil || *g.spec.SendSIPOptions
	return trunk.Gateway{Key: g.key, Enabled: g.spec.Enabled, SendOptions: send,
		MaxSessions: g.spec.MaxConcurrentSessions, Enforce: g.spec.EnforceMaxConcurrentSessions}
}

func (g *gateway) failoverTime() time.Duration {
	s := g.spec.FailoverTimeSeconds
	if s <= 0 {
		s = 10
	}
	return time.Duration(s) * time.Second
}

// signaling view of a gateway.
func (g *gateway) peer(domain string) signaling.Gateway {
	return signaling.Gateway{Key: g.key, Tenant: g.tenant, FQDN: g.spec.FQDN, Address: g.addr,
		Transport: g.transport(), Host: domain, Inbound: func(called, calling string) (string, string) {
			return translate(g.inCalled, called), translate(g.inCalling, calling)
		}}
}
