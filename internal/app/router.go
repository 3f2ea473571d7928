package app

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/routing"
	"github.com/switchboard-pbx/switchboard/internal/signaling"
	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

// live publishes the compiled configuration to the call path.
type live struct {
	vel    *velocity // international velocity limit (toll fraud)
	p      atomic.Pointer[compiled]
	health *trunk.Health
	cp     *callingPlan // the operator's Calling Plan; nil: none (callingplan.go)
}

func (l *live) load() *compiled { return l.p.Load() }

// peers is the current configuration's signaling.Peers: the one built when
// it was swapped in, so that a request asking for it allocates nothing.
func (l *live) peers() signaling.Peers {
	c := l.load()
	if c.peers != nil {
		return c.peers
	}
	return &peers{c: c, cp: l.cp}
}

// causeStatus is the one table from a routing rejection to a SIP status.
func causeStatus(c routing.Cause) int {
	switch c {
	case routing.CauseNotFound, routing.CauseInvalidNumber:
		return 404
	case routing.CauseEnterpriseVoiceDisabled:
		// A user without enterprise voice reaches users only: any other
		// number is not found for them (as before Direct Routing existed).
		return 404
	default:
		return 403
	}
}

// Route implements callctl.Router; call control uses RouteCall
// (callingplan.go), which also takes the Calling Plan's calls. Without a
// Call-ID to reserve minutes under, the Calling Plan refuses them.
func (l *live) Route(caller *pbx.User, dialed string) callctl.Route {
	return l.RouteCall("", caller, dialed)
}

// dialedString is what the caller dialled. Signaling hands call control the
// Request-URI as user@host (sip:4255551234@contoso.com); routing reads
// anything with an "@" as a SIP address, so a number dialled at a domain or
// address is routed as the number (emergency, dial plan, voice routes) and
// only a name stays a SIP address.
func dialedString(target string) string {
	user, _, ok := strings.Cut(target, "@")
	if !ok || user == "" {
		return target
	}
	user, _, _ = strings.Cut(user, ";") // ;phone-context=... and the like
	if user != "" && strings.Trim(user, "0123456789+*#-.() ") == "" {
		return user
	}
	return target
}

// Explain is route test: the decision with its steps, without a call.
func (l *live) Explain(caller *pbx.User, dialed string) (routing.Decision, bool) {
	c := l.load()
	tr, ok := c.tenants[caller.Tenant]
	if !ok {
		return routing.Decision{}, false
	}
	return l.cp.explain(caller, tr.allowed, dialed, tr.table.Explain(routingCaller(caller), dialed, l.statusFunc(tr))), true
}

func routingCaller(u *pbx.User) routing.Caller {
	return routing.Caller{SIPAddress: u.SIPAddress, DialPlan: u.DialPlan, VoiceRoutingPolicy: u.VoiceRoutingPolicy,
		EmergencyRoutingPolicy: u.EmergencyRoutingPolicy, UsageLocation: u.UsageLocation,
		EnterpriseVoiceEnabled: u.EnterpriseVoiceEnabled}
}

func (l *live) statusFunc(tr *tenantRouting) func(string) routing.Status {
	return func(fqdn string) routing.Status {
		g, ok := tr.gateways[strings.ToLower(fqdn)]
		if !ok {
			return routing.Disabled
		}
		return routing.Status(l.health.Status(g.health()))
	}
}

func (l *live) toCallctl(c *compiled, tr *tenantRouting, caller *pbx.User, d routing.Decision) callctl.Route {
	switch d.Target {
	case routing.TargetUser:
		u, ok := c.dir.User(d.User)
		if !ok {
			return callctl.Route{Kind: callctl.KindRejected, Code: 404, Reason: "Not Found"}
		}
		return callctl.Route{Kind: callctl.KindUser, User: u}
	case routing.TargetPSTN, routing.TargetEmergency:
		via := d.Via
		if _, ok := routing.EdgeOf(via); ok {
			// Direct Routing carried through an edge: counted (user PSTN
			// call limit) and recorded in the CDR as Direct Routing.
			via = routing.ViaDirectRouting
		}
		r := callctl.Route{Kind: callctl.KindPSTN, Number: d.Normalized, Via: via}
		if d.Target == routing.TargetEmergency {
			r.Kind = callctl.KindEmergency
		}
		seen := map[string]bool{}
		for _, rc := range d.Routes {
			for _, fqdn := range rc.Gateways {
				g, ok := tr.gateways[strings.ToLower(fqdn)]
				if !ok || seen[g.key] {
					continue
				}
				seen[g.key] = true
				r.Gateways = append(r.Gateways, g.target(caller, d.Normalized, tr.callerID[caller.CallerIDPolicy]))
			}
		}
		if len(r.Gateways) == 0 {
			return callctl.Route{Kind: callctl.KindRejected, Code: 403, Reason: "No Usable Gateway"}
		}
		return r
	}
	return callctl.Route{Kind: callctl.KindRejected, Code: causeStatus(d.Cause), Reason: reasonPhrase(d.Reason)}
}

// reasonPhrase keeps a reason usable as a SIP reason phrase.
func reasonPhrase(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:120]
	}
	if s == "" {
		s = "Forbidden"
	}
	return s
}

// target is one attempt through g for caller's call to number; policy is
// the caller's caller ID policy (zero when none).
func (g *gateway) target(caller *pbx.User, number string, policy provision.CallerIDPolicy) callctl.TrunkTarget {
	calling := caller.Number()
	if policy.CallingIDSubstitute == provision.CallerIDService && policy.ServiceNumber != "" {
		calling = policy.ServiceNumber
	}
	codes := g.spec.FailoverResponseCodes
	_, port, _ := net.SplitHostPort(g.addr)
	return callctl.TrunkTarget{Key: g.key, FQDN: g.spec.FQDN, Port: atoi(port), Address: g.addr,
		Transport: g.transport(), Called: translate(g.outCalled, number),
		Calling: translate(g.outCalling, calling), FailoverCodes: codes, FailoverTime: g.failoverTime(),
		MediaBypass: g.spec.MediaBypass, ForwardPAI: g.spec.ForwardPAI, ForwardHistory: g.spec.ForwardCallHistory,
		Anonymous:   policy.CallingIDSubstitute == provision.CallerIDAnonymous,
		MaxSessions: g.spec.MaxConcurrentSessions, Enforce: g.spec.EnforceMaxConcurrentSessions}
}

// transport is how this node sends to the gateway: its own transport, or
// the trunk's when it is reached through another node.
func (g *gateway) transport() string {
	if g.via != "" && g.viaTransport != "" {
		return g.viaTransport
	}
	return g.spec.Transport
}

// trunkHealth adapts trunk.Health to call control.
type trunkHealth struct{ l *live }

func (t trunkHealth) CallOutcome(key string, code int) { t.l.health.CallOutcome(key, code) }
func (t trunkHealth) SessionEnd(key string)            { t.l.health.SessionEnd(key) }
func (t trunkHealth) SessionStart(tt callctl.TrunkTarget) bool {
	return t.l.health.SessionStart(trunk.Gateway{Key: tt.Key, Enabled: true, MaxSessions: tt.MaxSessions,
		Enforce: tt.Enforce})
}

// peers implements signaling.Peers over the compiled configuration.
type peers struct {
	c  *compiled
	cp *callingPlan // carriers (callingplan.go)
}

func (p *peers) BySource(ip string, port int) (signaling.Gateway, bool) {
	gs := p.c.bySrc[ip]
	if len(gs) == 0 && len(p.c.cidrs) > 0 {
		if a, err := netip.ParseAddr(ip); err == nil {
			a = a.Unmap()
			for _, sp := range p.c.cidrs {
				if sp.p.Contains(a) {
					gs = sp.gws
					break
				}
			}
		}
	}
	if len(gs) == 0 {
		return p.cp.bySource(ip, port)
	}
	g := gs[0]
	return g.peer(p.c.tenants[g.tenant].domain), true
}

func (p *peers) Gateway(key string) (signaling.Gateway, bool) {
	g, ok := p.c.byKey[key]
	if !ok {
		return p.cp.peer(key)
	}
	return g.peer(p.c.tenants[g.tenant].domain), true
}

func (p *peers) ByFQDN(fqdn string) (signaling.Gateway, bool) {
	for _, g := range p.c.byKey {
		if strings.EqualFold(g.spec.FQDN, fqdn) && g.spec.Transport == "tls" && g.via == "" {
			return g.peer(p.c.tenants[g.tenant].domain), true
		}
	}
	return signaling.Gateway{}, false
}

func (p *peers) AtAddress(host string) []string { return p.c.atAddr[host] }

// gateways lists every gateway for the OPTIONS prober.
func (l *live) gateways() []trunk.Gateway {
	c := l.load()
	out := make([]trunk.Gateway, 0, len(c.byKey))
	for _, g := range c.byKey {
		out = append(out, g.health())
	}
	return append(out, l.cp.gateways()...) // operator carriers
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// deny refuses a PSTN route to a number under one of the tenant's denied
// prefixes (toll fraud); emergency routes are never denied.
func (tr *tenantRouting) deny(r callctl.Route) callctl.Route {
	if r.Kind != callctl.KindPSTN {
		return r
	}
	for _, p := range tr.denied {
		if strings.HasPrefix(r.Number, p) {
			return callctl.Route{Kind: callctl.KindRejected, Code: 403, Reason: "Destination Denied"}
		}
	}
	return r
}
