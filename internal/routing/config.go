// Package routing is the pure core of outbound call routing (PRODUCT.md §3):
// emergency numbers, dial plans and their normalisation rules, the built-in
// country rules of the caller's usageLocation, and Direct Routing voice route
// selection, turned into a Decision that call control acts on and that
// `switchboard route test` prints.
//
// A tenant's objects are compiled once per configuration change into a
// Table (every pattern compiled, every reference checked, routes sorted per
// usage); the Table is immutable and safe for concurrent use, so the hot path
// only matches. The package does no I/O: gateway health and user lookup come
// in through small ports (a health func and a Resolver).
package routing

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
)

// GlobalName is the name of the dial plan, voice routing policy and
// emergency routing policy that apply to users without one of their own.
const GlobalName = "Global"

// TenantConfig is every routing object of one tenant, as the admin wrote it.
type TenantConfig struct {
	Name                     string                   `json:"tenant"`
	DialPlans                []DialPlan               `json:"dialPlans,omitempty"`
	PstnUsages               []string                 `json:"pstnUsages,omitempty"`
	Gateways                 []Gateway                `json:"pstnGateways,omitempty"`
	VoiceRoutes              []VoiceRoute             `json:"voiceRoutes,omitempty"`
	VoiceRoutingPolicies     []VoiceRoutingPolicy     `json:"voiceRoutingPolicies,omitempty"`
	EmergencyRoutingPolicies []EmergencyRoutingPolicy `json:"emergencyRoutingPolicies,omitempty"`
}

// DialPlan is an ordered list of normalisation rules.
type DialPlan struct {
	Name                 string `json:"name"`
	NormalizationRules   []Rule `json:"normalizationRules"`
	ExternalAccessPrefix string `json:"externalAccessPrefix,omitempty"`
}

// Rule is one normalisation rule: when Pattern matches the dialled string,
// the string becomes Translation (with $1... expanded).
type Rule struct {
	Name                string `json:"name"`
	Pattern             string `json:"pattern"`
	Translation         string `json:"translation"`
	IsInternalExtension bool   `json:"isInternalExtension,omitempty"`
}

// Gateway is what route selection needs to know of a pstnGateway (an SBC).
// Its live health comes from the health func given to Table.Route.
type Gateway struct {
	FQDN    string `json:"fqdn"`
	Enabled bool   `json:"enabled"`
	// Edge is the hybrid edge node the gateway sits at (the site's SBC):
	// calls to it are carried through that edge. Empty: reached directly.
	Edge string `json:"edge,omitempty"`
}

// VoiceRoute sends numbers matching NumberPattern to its gateways; it is
// reachable through each of its PSTN usages.
type VoiceRoute struct {
	Name                  string   `json:"name"`
	NumberPattern         string   `json:"numberPattern"`
	Priority              int      `json:"priority"`
	OnlinePstnGatewayList []string `json:"onlinePstnGatewayList"`
	OnlinePstnUsages      []string `json:"onlinePstnUsages"`
}

// VoiceRoutingPolicy is the ordered list of PSTN usages a user may call through.
type VoiceRoutingPolicy struct {
	Name             string   `json:"name"`
	OnlinePstnUsages []string `json:"onlinePstnUsages"`
}

// EmergencyRoutingPolicy lists the emergency numbers of a set of users.
type EmergencyRoutingPolicy struct {
	Name             string            `json:"name"`
	EmergencyNumbers []EmergencyNumber `json:"emergencyNumbers"`
}

// EmergencyNumber is one emergency dial string (e.g. 911), the other strings
// that mean it (dial masks, e.g. 112), and the usage whose routes carry it.
type EmergencyNumber struct {
	DialString      string   `json:"dialString"`
	DialMasks       []string `json:"dialMasks,omitempty"`
	OnlinePstnUsage string   `json:"onlinePstnUsage,omitempty"`
}

// ConfigError is one problem in a TenantConfig. Field is a path in the shape
// of the tenant document ("voiceRoutes[2].numberPattern") so that `apply`
// can point at the line; Message names the object.
type ConfigError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e ConfigError) Error() string { return e.Field + ": " + e.Message }

// ConfigErrors is every problem Compile found, in document order.
type ConfigErrors []ConfigError

func (v ConfigErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Option configures Compile.
type Option func(*Table)

// WithResolver sets the port that finds the tenant's users; without one no
// dialled string ever resolves to a user.
func WithResolver(r Resolver) Option { return func(t *Table) { t.resolver = r } }

// WithRand sets the source of the gateway shuffle: it returns a number in
// [0, n). It must be safe for concurrent use if Route is called concurrently.
// The default is math/rand/v2.IntN.
func WithRand(intN func(n int) int) Option { return func(t *Table) { t.intN = intN } }

// Table is a tenant's compiled routing configuration. Build it with Compile;
// it never changes afterwards and is safe for concurrent use.
type Table struct {
	tenant    string
	dialPlans map[string]*dialPlan
	policies  map[string]*policy
	emergency map[string]*emergencyPolicy
	usages    map[string][]*route // usage → its routes by (priority, name)
	gateways  map[string]*Gateway // lower-case FQDN → gateway
	resolver  Resolver
	intN      func(n int) int
	countries *countryCache // built per usageLocation on first use
}

type dialPlan struct {
	name         string
	accessPrefix string
	rules        []compiledRule
}

type compiledRule struct {
	name      string
	t         *Translation
	extension bool
}

type policy struct {
	name   string
	usages []string
}

type route struct {
	name     string
	priority int
	pattern  *Pattern
	gateways []*Gateway
}

type emergencyPolicy struct {
	name  string
	masks map[string]emergencyTarget // dial string or mask → what it means
}

type emergencyTarget struct {
	dialString string
	usage      string
}

var (
	accessPrefixRe = regexp.MustCompile(`^[0-9*#]{1,4}$`)
	dialStringRe   = regexp.MustCompile(`^[0-9*#]{1,15}$`)
)

// Compile checks and compiles a tenant's routing objects. On any problem it
// returns ConfigErrors listing every one of them and no Table.
func Compile(cfg TenantConfig, opts ...Option) (*Table, error) {
	t := &Table{
		tenant:    cfg.Name,
		dialPlans: make(map[string]*dialPlan, len(cfg.DialPlans)),
		policies:  make(map[string]*policy, len(cfg.VoiceRoutingPolicies)),
		emergency: make(map[string]*emergencyPolicy, len(cfg.EmergencyRoutingPolicies)),
		usages:    make(map[string][]*route, len(cfg.PstnUsages)),
		gateways:  make(map[string]*Gateway, len(cfg.Gateways)),
		intN:      rand.IntN,
		countries: newCountryCache(),
	}
	for _, o := range opts {
		o(t)
	}
	var errs ConfigErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	for i, u := range cfg.PstnUsages {
		f := fmt.Sprintf("pstnUsages[%d]", i)
		switch _, dup := t.usages[u]; {
		case strings.TrimSpace(u) == "":
			add(f, "must not be empty")
		case dup:
			add(f, "PSTN usage %q is listed twice", u)
		default:
			t.usages[u] = []*route{}
		}
	}
	usageOK := func(field, owner, u string) {
		if _, ok := t.usages[u]; !ok {
			add(field, "%s names PSTN usage %q, which does not exist", owner, u)
		}
	}

	for i := range cfg.Gateways {
		g := cfg.Gateways[i]
		f := fmt.Sprintf("pstnGateways[%d].fqdn", i)
		key := strings.ToLower(g.FQDN)
		switch _, dup := t.gateways[key]; {
		case g.FQDN == "":
			add(f, "must not be empty")
		case dup:
			add(f, "gateway %q is listed twice", g.FQDN)
		default:
			t.gateways[key] = &g
		}
	}

	for i, dp := range cfg.DialPlans {
		f := fmt.Sprintf("dialPlans[%d]", i)
		owner := fmt.Sprintf("dial plan %q", dp.Name)
		if dp.Name == "" {
			add(f+".name", "must not be empty")
		} else if _, dup := t.dialPlans[dp.Name]; dup {
			add(f+".name", "dial plan %q is defined twice", dp.Name)
		}
		if dp.ExternalAccessPrefix != "" && !accessPrefixRe.MatchString(dp.ExternalAccessPrefix) {
			add(f+".externalAccessPrefix", "%s: %q must be 1 to 4 of 0-9, * and #", owner, dp.ExternalAccessPrefix)
		}
		plan := &dialPlan{name: dp.Name, accessPrefix: dp.ExternalAccessPrefix}
		names := map[string]bool{}
		for j, r := range dp.NormalizationRules {
			rf := fmt.Sprintf("%s.normalizationRules[%d]", f, j)
			rowner := fmt.Sprintf("%s rule %q", owner, r.Name)
			switch {
			case r.Name == "":
				add(rf+".name", "%s: rule %d has no name", owner, j+1)
			case names[r.Name]:
				add(rf+".name", "%s: rule %q is defined twice", owner, r.Name)
			}
			names[r.Name] = true
			p, err := CompilePattern(r.Pattern)
			if err != nil {
				add(rf+".pattern", "%s: pattern %q: %v", rowner, r.Pattern, err)
				continue
			}
			tr, err := newTranslation(p, r.Translation)
			if err != nil {
				add(rf+".translation", "%s: translation %q: %v", rowner, r.Translation, err)
				continue
			}
			plan.rules = append(plan.rules, compiledRule{name: r.Name, t: tr, extension: r.IsInternalExtension})
		}
		if dp.Name != "" {
			t.dialPlans[dp.Name] = plan
		}
	}

	routeNames := map[string]bool{}
	for i, vr := range cfg.VoiceRoutes {
		f := fmt.Sprintf("voiceRoutes[%d]", i)
		owner := fmt.Sprintf("voice route %q", vr.Name)
		if vr.Name == "" {
			add(f+".name", "must not be empty")
		} else if routeNames[vr.Name] {
			add(f+".name", "voice route %q is defined twice", vr.Name)
		}
		routeNames[vr.Name] = true
		if vr.Priority < 0 {
			add(f+".priority", "%s: priority %d must not be negative", owner, vr.Priority)
		}
		r := &route{name: vr.Name, priority: vr.Priority}
		p, err := CompilePattern(vr.NumberPattern)
		if err != nil {
			add(f+".numberPattern", "%s: numberPattern %q: %v", owner, vr.NumberPattern, err)
		}
		r.pattern = p
		seen := map[string]bool{}
		for j, fqdn := range vr.OnlinePstnGatewayList {
			gf := fmt.Sprintf("%s.onlinePstnGatewayList[%d]", f, j)
			g, ok := t.gateways[strings.ToLower(fqdn)]
			switch {
			case !ok:
				add(gf, "%s names gateway %q, which does not exist", owner, fqdn)
			case seen[g.FQDN]:
				add(gf, "%s lists gateway %q twice", owner, fqdn)
			default:
				seen[g.FQDN] = true
				r.gateways = append(r.gateways, g)
			}
		}
		for j, u := range vr.OnlinePstnUsages {
			usageOK(fmt.Sprintf("%s.onlinePstnUsages[%d]", f, j), owner, u)
			if rs, ok := t.usages[u]; ok && p != nil && !slices.Contains(rs, r) {
				t.usages[u] = append(rs, r)
			}
		}
	}
	for _, rs := range t.usages {
		slices.SortStableFunc(rs, func(a, b *route) int {
			if a.priority != b.priority {
				return a.priority - b.priority
			}
			return strings.Compare(a.name, b.name)
		})
	}

	for i, vp := range cfg.VoiceRoutingPolicies {
		f := fmt.Sprintf("voiceRoutingPolicies[%d]", i)
		owner := fmt.Sprintf("voice routing policy %q", vp.Name)
		if vp.Name == "" {
			add(f+".name", "must not be empty")
		} else if _, dup := t.policies[vp.Name]; dup {
			add(f+".name", "voice routing policy %q is defined twice", vp.Name)
		}
		for j, u := range vp.OnlinePstnUsages {
			uf := fmt.Sprintf("%s.onlinePstnUsages[%d]", f, j)
			usageOK(uf, owner, u)
			if slices.Index(vp.OnlinePstnUsages, u) < j {
				add(uf, "%s lists PSTN usage %q twice", owner, u)
			}
		}
		if vp.Name != "" {
			t.policies[vp.Name] = &policy{name: vp.Name, usages: slices.Clone(vp.OnlinePstnUsages)}
		}
	}

	for i, ep := range cfg.EmergencyRoutingPolicies {
		f := fmt.Sprintf("emergencyRoutingPolicies[%d]", i)
		owner := fmt.Sprintf("emergency routing policy %q", ep.Name)
		if ep.Name == "" {
			add(f+".name", "must not be empty")
		} else if _, dup := t.emergency[ep.Name]; dup {
			add(f+".name", "emergency routing policy %q is defined twice", ep.Name)
		}
		pol := &emergencyPolicy{name: ep.Name, masks: map[string]emergencyTarget{}}
		for j, en := range ep.EmergencyNumbers {
			nf := fmt.Sprintf("%s.emergencyNumbers[%d]", f, j)
			target := emergencyTarget{dialString: en.DialString, usage: en.OnlinePstnUsage}
			if en.OnlinePstnUsage != "" {
				usageOK(nf+".onlinePstnUsage", owner, en.OnlinePstnUsage)
			}
			strs := append([]string{en.DialString}, en.DialMasks...)
			for k, s := range strs {
				sf := nf + ".dialString"
				if k > 0 {
					sf = fmt.Sprintf("%s.dialMasks[%d]", nf, k-1)
				}
				if prev, dup := pol.masks[s]; dup {
					add(sf, "%s: %q already means emergency number %q", owner, s, prev.dialString)
				} else if !dialStringRe.MatchString(s) {
					add(sf, "%s: %q must be 1 to 15 of 0-9, * and #", owner, s)
				} else {
					pol.masks[s] = target
				}
			}
		}
		if ep.Name != "" {
			t.emergency[ep.Name] = pol
		}
	}

	if len(errs) > 0 {
		return nil, errs
	}
	return t, nil
}
