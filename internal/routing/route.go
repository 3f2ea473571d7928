package routing

import (
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// MaxDialLen is the longest dialled string Route considers.
const MaxDialLen = 256

// Caller is what routing needs to know of the user placing the call.
// Empty policy and dial plan names mean "the tenant's Global one".
type Caller struct {
	SIPAddress             string `json:"sipAddress"`
	DialPlan               string `json:"dialPlan,omitempty"`
	VoiceRoutingPolicy     string `json:"voiceRoutingPolicy,omitempty"`
	EmergencyRoutingPolicy string `json:"emergencyRoutingPolicy,omitempty"`
	UsageLocation          string `json:"usageLocation,omitempty"` // ISO 3166 country, e.g. US
	EnterpriseVoiceEnabled bool   `json:"enterpriseVoiceEnabled"`
}

// Resolver finds the user of a tenant that a dialled target names: an
// extension, a SIP address or user part, or an E.164 number.
// *directory.Directory implements it.
type Resolver interface {
	Resolve(tenant, target string) (*pbx.User, bool)
}

// ResolverFunc adapts a function to Resolver (e.g. one that reads the
// current directory snapshot).
type ResolverFunc func(tenant, target string) (*pbx.User, bool)

// Resolve calls f.
func (f ResolverFunc) Resolve(tenant, target string) (*pbx.User, bool) { return f(tenant, target) }

// Status is a gateway's health as route selection sees it (PRODUCT.md §4).
type Status string

// Gateway statuses. Any other value a health func returns counts as Active.
const (
	Active   Status = "Active"   // answered or sent OPTIONS within the health window
	Demoted  Status = "Demoted"  // tried last, never skipped
	Disabled Status = "Disabled" // enabled: false; takes no new calls
)

// Target says where a call goes.
type Target string

// Targets.
const (
	TargetUser      Target = "user"
	TargetPSTN      Target = "pstn"
	TargetEmergency Target = "emergency"
	TargetRejected  Target = "rejected"
)

// ViaDirectRouting is Decision.Via of a call to the tenant's own SBCs,
// reached directly.
const ViaDirectRouting = "directRouting"

// viaEdgePrefix starts Decision.Via of a call whose first gateway sits at a
// hybrid edge: "edge redmond".
const viaEdgePrefix = "edge "

// ViaEdge is Decision.Via of a Direct Routing call carried through the
// named edge node (the chosen gateway has edge: name).
func ViaEdge(name string) string { return viaEdgePrefix + name }

// EdgeOf returns the edge a Decision.Via names, if it is ViaEdge.
func EdgeOf(via string) (string, bool) {
	name, ok := strings.CutPrefix(via, viaEdgePrefix)
	return name, ok && name != ""
}

// Cause classifies a rejection for the one table that maps it to a SIP
// status (suggested: notFound and invalidNumber 404, the others 403).
type Cause string

// Causes.
const (
	CauseInvalidNumber           Cause = "invalidNumber"           // empty, too long or control characters
	CauseNotFound                Cause = "notFound"                // a SIP address that is no user of the tenant
	CauseConfiguration           Cause = "configuration"           // the caller names a dial plan or policy that does not exist
	CauseEnterpriseVoiceDisabled Cause = "enterpriseVoiceDisabled" // may call users, not the PSTN
	CauseNoVoiceRoutingPolicy    Cause = "noVoiceRoutingPolicy"    // none assigned and no Global policy
	CauseNoRoute                 Cause = "noRoute"                 // no usage has a matching route
	CauseNoGateway               Cause = "noGateway"               // routes match but every gateway is disabled
)

// Decision is where a call goes and why. Its JSON form is the stable
// contract of `switchboard route test -o json`: every key is always present
// (routes is [] rather than null); steps only in Explain.
type Decision struct {
	Dialed     string        `json:"dialed"`
	Normalized string        `json:"normalized"`
	Rule       string        `json:"rule"` // the normalisation rule that matched, if any
	Target     Target        `json:"target"`
	User       string        `json:"user"` // the callee's sipAddress when Target is user
	Via        string        `json:"via"`  // directRouting, "edge NAME" (through that edge), callingPlan
	Usage      string        `json:"usage"`
	Routes     []RouteChoice `json:"routes"` // in the order they are tried
	Reason     string        `json:"reason"` // why, when Target is rejected
	Cause      Cause         `json:"cause"`
	Emergency  bool          `json:"emergency"` // an emergency number, even when rejected
	Steps      []string      `json:"steps,omitempty"`
}

// RouteChoice is one matching voice route and its gateways in try order.
// Status runs parallel to Gateways, and so does Edges when any of them sits
// at a hybrid edge (the edge's name, "" for a gateway reached directly);
// Excluded lists its disabled gateways. A route without a usable gateway is
// still listed, to explain.
type RouteChoice struct {
	Name     string   `json:"name"`
	Priority int      `json:"priority"`
	Gateways []string `json:"gateways"`
	Status   []Status `json:"status"`
	Edges    []string `json:"edges,omitempty"`
	Excluded []string `json:"excluded,omitempty"`
}

// Route decides where a call from c to dialled goes, without explanation
// steps: the hot path. health reports a gateway's status by FQDN; nil means
// every enabled gateway is Active. Gateways with enabled: false are Disabled
// whatever health says.
func (t *Table) Route(c Caller, dialled string, health func(fqdn string) Status) Decision {
	return t.route(c, dialled, health, false)
}

// Explain is Route with Decision.Steps filled in for humans (route test).
func (t *Table) Explain(c Caller, dialled string, health func(fqdn string) Status) Decision {
	return t.route(c, dialled, health, true)
}

type decider struct {
	t       *Table
	c       Caller
	health  func(string) Status
	explain bool
	d       Decision
}

// step adds an explanation line. Callers check x.explain first, so that
// the hot path does not even box the arguments.
func (x *decider) step(format string, args ...any) {
	x.d.Steps = append(x.d.Steps, fmt.Sprintf(format, args...))
}

func (x *decider) reject(cause Cause, format string, args ...any) Decision {
	x.d.Target, x.d.Via, x.d.Cause, x.d.Reason = TargetRejected, "", cause, fmt.Sprintf(format, args...)
	if x.explain {
		x.step("rejected: %s", x.d.Reason)
	}
	return x.d
}

func (t *Table) route(c Caller, dialled string, health func(string) Status, explain bool) Decision {
	x := &decider{t: t, c: c, health: health, explain: explain,
		d: Decision{Dialed: dialled, Normalized: dialled, Routes: []RouteChoice{}}}
	if x.explain {
		x.step("%s dialled %q", orUnknown(c.SIPAddress), dialled)
	}
	switch {
	case strings.TrimSpace(dialled) == "":
		return x.reject(CauseInvalidNumber, "nothing was dialled")
	case len(dialled) > MaxDialLen:
		return x.reject(CauseInvalidNumber, "the dialled string is longer than %d characters", MaxDialLen)
	case strings.ContainsFunc(dialled, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return x.reject(CauseInvalidNumber, "the dialled string contains control characters")
	}
	target := TrimScheme(dialled)
	if strings.Contains(target, "@") {
		x.d.Normalized = target
		if u, ok := t.resolve(target); ok {
			return x.toUser(u)
		}
		return x.reject(CauseNotFound, "%q is not a user of tenant %q", target, t.tenant)
	}

	if ep := x.emergencyPolicy(); ep != nil {
		if et, ok := ep.masks[StripSeparators(target)]; ok {
			return x.emergency(ep, et)
		}
	}

	n, err := t.Normalize(c, dialled)
	x.d.Normalized, x.d.Rule = n.Output, n.Rule
	if err != nil {
		return x.reject(CauseConfiguration, "%v", err)
	}
	if x.explain {
		x.d.Steps = append(x.d.Steps, explainNormalization(n)...)
	}
	if u, ok := t.resolve(n.Output); ok {
		return x.toUser(u)
	}
	if x.explain {
		if n.IsInternalExtension {
			x.step("rule %q marks an internal extension, but %q is no user of the tenant: routing it as a number", n.Rule, n.Output)
		} else {
			x.step("%q is not a user of the tenant: it is a PSTN call", n.Output)
		}
	}

	if !c.EnterpriseVoiceEnabled {
		return x.reject(CauseEnterpriseVoiceDisabled, "enterprise voice is disabled for %s: they can call users but not the PSTN", orUnknown(c.SIPAddress))
	}
	pol, cause, why := x.policy()
	if pol == nil {
		return x.reject(cause, "%s", why)
	}
	usage, routes := x.selectRoutes(pol.usages, n.Output, nil)
	if usage == "" {
		return x.reject(CauseNoRoute, "no route matches %q in usages [%s] of voice routing policy %q",
			n.Output, strings.Join(pol.usages, ", "), pol.name)
	}
	x.d.Usage, x.d.Routes = usage, routes
	x.d.Target, x.d.Via = TargetPSTN, ViaDirectRouting
	return x.finish()
}

// finish rejects a decision whose routes have no usable gateway. Otherwise
// the gateway tried first decides Via: through its edge when it has one.
func (x *decider) finish() Decision {
	for _, r := range x.d.Routes {
		if len(r.Gateways) > 0 {
			if len(r.Edges) > 0 && r.Edges[0] != "" {
				x.d.Via = ViaEdge(r.Edges[0])
				if x.explain {
					x.step("gateway %s sits at edge %q: the call is carried through that edge", r.Gateways[0], r.Edges[0])
				}
			}
			if x.explain {
				x.step("target %s via %s, usage %q, %d route(s)", x.d.Target, x.d.Via, x.d.Usage, len(x.d.Routes))
			}
			return x.d
		}
	}
	names := make([]string, len(x.d.Routes))
	for i, r := range x.d.Routes {
		names[i] = fmt.Sprintf("%q", r.Name)
	}
	return x.reject(CauseNoGateway, "all gateways of the matching routes %s in usage %q are disabled",
		strings.Join(names, ", "), x.d.Usage)
}

func (x *decider) toUser(u *pbx.User) Decision {
	x.d.Target, x.d.User = TargetUser, u.SIPAddress
	if x.explain {
		x.step("%q is user %s: calling them wherever they are", x.d.Normalized, u.SIPAddress)
	}
	return x.d
}

func (t *Table) resolve(target string) (*pbx.User, bool) {
	if t.resolver == nil || target == "" {
		return nil, false
	}
	return t.resolver.Resolve(t.tenant, target)
}

// policy returns the caller's voice routing policy, else Global, or the
// cause and reason there is none.
func (x *decider) policy() (*policy, Cause, string) {
	name := x.c.VoiceRoutingPolicy
	if name != "" {
		p, ok := x.t.policies[name]
		if !ok {
			return nil, CauseConfiguration, fmt.Sprintf("voice routing policy %q does not exist", name)
		}
		if x.explain {
			x.step("voice routing policy %q: usages [%s]", name, strings.Join(p.usages, ", "))
		}
		return p, "", ""
	}
	p, ok := x.t.policies[GlobalName]
	if !ok {
		return nil, CauseNoVoiceRoutingPolicy, fmt.Sprintf("no voice routing policy: %s has none and tenant %q has no %s policy",
			orUnknown(x.c.SIPAddress), x.t.tenant, GlobalName)
	}
	if x.explain {
		x.step("voice routing policy %q (the caller has none): usages [%s]", GlobalName, strings.Join(p.usages, ", "))
	}
	return p, "", ""
}

// selectRoutes walks usages in order; the first usage with any route whose
// pattern matches number wins and later usages are never evaluated. Its
// matching routes come back by priority (then name), each with its gateways
// ordered; routes named in skip are left out.
func (x *decider) selectRoutes(usages []string, number string, skip []RouteChoice) (string, []RouteChoice) {
	for i, u := range usages {
		var matched []RouteChoice
		for _, r := range x.t.usages[u] {
			ok, err := r.pattern.MatchString(number)
			if err != nil {
				if x.explain {
					x.step("usage %q: route %q: numberPattern: %v; treated as not matching", u, r.name, err)
				}
				continue
			}
			if ok && !listed(skip, r.name) {
				matched = append(matched, x.order(r))
			}
		}
		if len(matched) == 0 {
			if x.explain {
				x.step("usage %q: no route matches %q", u, number)
			}
			continue
		}
		if x.explain {
			x.explainRoutes(u, matched)
			if i+1 < len(usages) {
				if x.explain {
					x.step("usages after %q are not evaluated", u)
				}
			}
		}
		return u, matched
	}
	return "", nil
}

func listed(rs []RouteChoice, name string) bool {
	for _, r := range rs {
		if r.Name == name {
			return true
		}
	}
	return false
}

func (x *decider) explainRoutes(usage string, rs []RouteChoice) {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = fmt.Sprintf("%q (priority %d)", r.Name, r.Priority)
	}
	x.step("usage %q: matching routes by priority: %s", usage, strings.Join(names, ", "))
	for _, r := range rs {
		gws := make([]string, len(r.Gateways))
		for i, g := range r.Gateways {
			gws[i] = fmt.Sprintf("%s (%s)", g, r.Status[i])
			if i < len(r.Edges) && r.Edges[i] != "" {
				gws[i] = fmt.Sprintf("%s (%s, via edge %s)", g, r.Status[i], r.Edges[i])
			}
		}
		line := fmt.Sprintf("route %q: gateways in try order: %s", r.Name, strings.Join(gws, ", "))
		if len(gws) == 0 {
			line = fmt.Sprintf("route %q: no usable gateway", r.Name)
		}
		if len(r.Excluded) > 0 {
			line += "; disabled, not tried: " + strings.Join(r.Excluded, ", ")
		}
		x.step("%s", line)
	}
}

// order returns a route's usable gateways shuffled, Active before Demoted;
// Disabled ones are excluded.
func (x *decider) order(r *route) RouteChoice {
	rc := RouteChoice{Name: r.name, Priority: r.priority,
		Gateways: make([]string, 0, len(r.gateways)), Status: make([]Status, 0, len(r.gateways))}
	var buf [8]gatewayState
	gs := buf[:0]
	for _, g := range r.gateways {
		st := x.status(g)
		if st == Disabled {
			rc.Excluded = append(rc.Excluded, g.FQDN)
			continue
		}
		gs = append(gs, gatewayState{g.FQDN, g.Edge, st})
	}
	for i := len(gs) - 1; i > 0; i-- {
		j := x.t.intN(i + 1)
		gs[i], gs[j] = gs[j], gs[i]
	}
	edges := false
	for _, want := range [...]Status{Active, Demoted} {
		for _, g := range gs {
			if g.status == want {
				rc.Gateways = append(rc.Gateways, g.fqdn)
				rc.Status = append(rc.Status, g.status)
				edges = edges || g.edge != ""
			}
		}
	}
	if edges {
		rc.Edges = make([]string, 0, len(rc.Gateways))
		for _, want := range [...]Status{Active, Demoted} {
			for _, g := range gs {
				if g.status == want {
					rc.Edges = append(rc.Edges, g.edge)
				}
			}
		}
	}
	return rc
}

type gatewayState struct {
	fqdn   string
	edge   string
	status Status
}

func (x *decider) status(g *Gateway) Status {
	if !g.Enabled {
		return Disabled
	}
	if x.health == nil {
		return Active
	}
	switch s := x.health(g.FQDN); s {
	case Disabled, Demoted:
		return s
	default:
		return Active
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "the caller"
	}
	return s
}
