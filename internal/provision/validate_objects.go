package provision

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Limits of gateway settings.
const (
	MinFailoverTimeSeconds = 1
	MaxFailoverTimeSeconds = 120
	MaxDescriptionLen      = 500
)

var (
	dialStringRe   = regexp.MustCompile(`^\+?[0-9*#]{1,15}$`)
	accessPrefixRe = regexp.MustCompile(`^[0-9*#]{1,4}$`)
)

func (c *checker) edges(list []Edge) {
	seen := map[string]string{}
	for i, e := range list {
		p := fmt.Sprintf("edges[%d]", i)
		c.name(p+".name", e.Name, seen, p)
		c.text(p+".description", e.Description, MaxDescriptionLen)
		if e.SIPAddress == "" {
			c.add(p+".sipAddress", "must not be empty")
		} else if msg := checkHostPort(e.SIPAddress); msg != "" {
			c.add(p+".sipAddress", "%s", msg)
		}
		switch e.Transport {
		case "", "udp", "tls":
		default:
			c.add(p+".transport", "%q is not a trunk transport (expected udp or tls)", e.Transport)
		}
	}
}

func (c *checker) usages(list []string) {
	seen := map[string]string{}
	for i, u := range list {
		p := fmt.Sprintf("pstnUsages[%d]", i)
		c.name(p, u, seen, p)
	}
}

func (c *checker) translationRules(list []TranslationRule) {
	seen := map[string]string{}
	for i, r := range list {
		p := fmt.Sprintf("translationRules[%d]", i)
		c.name(p+".name", r.Name, seen, p)
		c.text(p+".description", r.Description, MaxDescriptionLen)
		c.checkPattern(p+".pattern", r.Pattern, p+".translation", r.Translation)
	}
}

func (c *checker) gateways(list []Gateway) {
	seen := map[string]string{}
	for i, g := range list {
		p := fmt.Sprintf("pstnGateways[%d].", i)
		switch {
		case g.FQDN == "":
			c.add(p+"fqdn", "must not be empty")
		case !validDomain(g.FQDN):
			c.add(p+"fqdn", "%q is not a valid fully qualified domain name", g.FQDN)
		default:
			if _, ok := c.inDomain(g.FQDN); !ok && c.domainSet != nil {
				c.add(p+"fqdn", "%q is not in one of the tenant's domains", g.FQDN)
			}
			if prev, dup := seen[g.FQDN]; dup {
				c.add(p+"fqdn", "duplicate gateway %q (also %s)", g.FQDN, prev)
			} else {
				seen[g.FQDN] = fmt.Sprintf("pstnGateways[%d]", i)
			}
		}
		c.text(p+"description", g.Description, MaxDescriptionLen)
		if g.SIPSignalingPort < 1 || g.SIPSignalingPort > 65535 {
			c.add(p+"sipSignalingPort", "%d is out of range (1 to 65535)", g.SIPSignalingPort)
		}
		switch g.Transport {
		case "tls", "tcp", "udp":
		default:
			c.add(p+"transport", "%q is not a transport (expected tls, tcp or udp)", g.Transport)
		}
		if g.Address != "" && !validDomain(g.Address) && net.ParseIP(g.Address) == nil {
			c.add(p+"address", "%q is not an IP address or host name", g.Address)
		}
		for j, a := range g.AllowedAddresses {
			if _, err := netip.ParsePrefix(a); err != nil {
				if _, err := netip.ParseAddr(a); err != nil {
					c.add(fmt.Sprintf("%sallowedAddresses[%d]", p, j), "%q is not an IP address or CIDR prefix", a)
				}
			}
		}
		if g.Edge != "" {
			c.ref(p+"edge", "edge", c.edgeSet, g.Edge)
		}
		codes := map[int]int{}
		for j, code := range g.FailoverResponseCodes {
			f := fmt.Sprintf("%sfailoverResponseCodes[%d]", p, j)
			if code < 400 || code > 699 {
				c.add(f, "%d is not a SIP failure response code (400 to 699)", code)
			} else if k, dup := codes[code]; dup {
				c.add(f, "duplicate code %d (also failoverResponseCodes[%d])", code, k)
			} else {
				codes[code] = j
			}
		}
		if t := g.FailoverTimeSeconds; t < MinFailoverTimeSeconds || t > MaxFailoverTimeSeconds {
			c.add(p+"failoverTimeSeconds", "%d is out of range (%d to %d)", t, MinFailoverTimeSeconds, MaxFailoverTimeSeconds)
		}
		if g.MaxConcurrentSessions < 0 {
			c.add(p+"maxConcurrentSessions", "must not be negative")
		}
		if g.EnforceMaxConcurrentSessions && g.MaxConcurrentSessions == 0 {
			c.add(p+"enforceMaxConcurrentSessions", "needs maxConcurrentSessions")
		}
		c.refs(p+"inboundCalledNumberTranslationRules", "translation rule", c.ruleSet, g.InboundCalledNumberTranslationRules)
		c.refs(p+"inboundCallingNumberTranslationRules", "translation rule", c.ruleSet, g.InboundCallingNumberTranslationRules)
		c.refs(p+"outboundCalledNumberTranslationRules", "translation rule", c.ruleSet, g.OutboundCalledNumberTranslationRules)
		c.refs(p+"outboundCallingNumberTranslationRules", "translation rule", c.ruleSet, g.OutboundCallingNumberTranslationRules)
	}
}

func (c *checker) voiceRoutes(list []VoiceRoute) {
	seen := map[string]string{}
	for i, r := range list {
		p := fmt.Sprintf("voiceRoutes[%d]", i)
		c.name(p+".name", r.Name, seen, p)
		c.text(p+".description", r.Description, MaxDescriptionLen)
		c.checkPattern(p+".numberPattern", r.NumberPattern, "", "")
		if r.Priority < 0 {
			c.add(p+".priority", "must not be negative")
		}
		if len(r.OnlinePSTNGatewayList) == 0 {
			c.add(p+".onlinePstnGatewayList", "at least one gateway is required")
		}
		c.refs(p+".onlinePstnGatewayList", "gateway", c.gatewaySet, r.OnlinePSTNGatewayList)
		if len(r.OnlinePSTNUsages) == 0 {
			c.add(p+".onlinePstnUsages", "at least one usage is required")
		}
		c.refs(p+".onlinePstnUsages", "usage", c.usageSet, r.OnlinePSTNUsages)
	}
}

func (c *checker) policies(list []VoiceRoutingPolicy) {
	seen := map[string]string{}
	for i, pol := range list {
		p := fmt.Sprintf("voiceRoutingPolicies[%d]", i)
		c.name(p+".name", pol.Name, seen, p)
		c.text(p+".description", pol.Description, MaxDescriptionLen)
		c.refs(p+".onlinePstnUsages", "usage", c.usageSet, pol.OnlinePSTNUsages)
	}
}

func (c *checker) dialPlans(list []DialPlan) {
	seen := map[string]string{}
	for i, dp := range list {
		p := fmt.Sprintf("dialPlans[%d]", i)
		c.name(p+".name", dp.Name, seen, p)
		c.text(p+".description", dp.Description, MaxDescriptionLen)
		if dp.ExternalAccessPrefix != "" && !accessPrefixRe.MatchString(dp.ExternalAccessPrefix) {
			c.add(p+".externalAccessPrefix", "%q is not an access prefix (expected 1 to 4 of 0-9, * and #)", dp.ExternalAccessPrefix)
		}
		rules := map[string]string{}
		for j, r := range dp.NormalizationRules {
			rp := fmt.Sprintf("%s.normalizationRules[%d]", p, j)
			c.name(rp+".name", r.Name, rules, rp)
			c.text(rp+".description", r.Description, MaxDescriptionLen)
			c.checkPattern(rp+".pattern", r.Pattern, rp+".translation", r.Translation)
		}
	}
}

func (c *checker) callerIDPolicies(list []CallerIDPolicy) {
	seen := map[string]string{}
	for i, pol := range list {
		p := fmt.Sprintf("callerIdPolicies[%d]", i)
		c.name(p+".name", pol.Name, seen, p)
		c.text(p+".description", pol.Description, MaxDescriptionLen)
		switch pol.CallingIDSubstitute {
		case CallerIDLineURI, CallerIDAnonymous:
			if pol.ServiceNumber != "" {
				c.add(p+".serviceNumber", "only used with callingIdSubstitute %s", CallerIDService)
			}
		case CallerIDService:
			if pol.ServiceNumber == "" {
				c.add(p+".serviceNumber", "required with callingIdSubstitute %s", CallerIDService)
			} else if msg := checkE164(pol.ServiceNumber); msg != "" {
				c.add(p+".serviceNumber", "%s", msg)
			}
		default:
			c.add(p+".callingIdSubstitute", "%q is not a substitute (expected %s, %s or %s)",
				pol.CallingIDSubstitute, CallerIDLineURI, CallerIDAnonymous, CallerIDService)
		}
	}
}

func (c *checker) emergencyPolicies(list []EmergencyRoutingPolicy) {
	seen := map[string]string{}
	for i, pol := range list {
		p := fmt.Sprintf("emergencyRoutingPolicies[%d]", i)
		c.name(p+".name", pol.Name, seen, p)
		c.text(p+".description", pol.Description, MaxDescriptionLen)
		if len(pol.EmergencyNumbers) == 0 {
			c.add(p+".emergencyNumbers", "at least one emergency number is required")
		}
		dials := map[string]string{}
		for j, n := range pol.EmergencyNumbers {
			np := fmt.Sprintf("%s.emergencyNumbers[%d]", p, j)
			c.dialString(np+".dialString", n.DialString, dials)
			for k, m := range n.DialMasks {
				c.dialString(fmt.Sprintf("%s.dialMasks[%d]", np, k), m, dials)
			}
			if n.OnlinePSTNUsage == "" {
				c.add(np+".onlinePstnUsage", "must not be empty")
			} else {
				c.ref(np+".onlinePstnUsage", "usage", c.usageSet, n.OnlinePSTNUsage)
			}
		}
	}
}

// dialString checks an emergency dial string or mask, unique in its policy.
func (c *checker) dialString(field, s string, seen map[string]string) {
	switch {
	case s == "":
		c.add(field, "must not be empty")
	case !dialStringRe.MatchString(s):
		c.add(field, "%q is not a dial string (expected digits, * or #, optionally after +)", s)
	default:
		if prev, dup := seen[s]; dup {
			c.add(field, "duplicate dial string %q (also %s)", s, prev)
		} else {
			seen[s] = field[strings.LastIndex(field, "emergencyNumbers"):]
		}
	}
}

func (c *checker) locations(list []EmergencyLocation) {
	seen := map[string]string{}
	for i, l := range list {
		p := fmt.Sprintf("emergencyLocations[%d]", i)
		c.name(p+".name", l.Name, seen, p)
		c.text(p+".description", l.Description, MaxDescriptionLen)
		for _, f := range []struct{ field, value string }{
			{"companyName", l.CompanyName}, {"streetAddress", l.StreetAddress}, {"city", l.City},
			{"stateOrProvince", l.StateOrProvince}, {"postalCode", l.PostalCode},
		} {
			c.text(p+"."+f.field, f.value, MaxDisplayNameLen)
		}
		if l.StreetAddress == "" {
			c.add(p+".streetAddress", "must not be empty")
		}
		if l.City == "" {
			c.add(p+".city", "must not be empty")
		}
		if l.CountryOrRegion == "" {
			c.add(p+".countryOrRegion", "must not be empty")
		} else {
			c.country(p+".countryOrRegion", l.CountryOrRegion)
		}
		if l.ELIN != "" {
			if msg := checkE164(l.ELIN); msg != "" {
				c.add(p+".elin", "%s", msg)
			}
		}
	}
}

// checkHostPort returns what is wrong with HOST[:PORT], or "".
func checkHostPort(s string) string {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	if !validDomain(host) && net.ParseIP(host) == nil {
		return fmt.Sprintf("%q is not a host name or IP address, optionally with :PORT", s)
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port %q is out of range (1 to 65535)", port)
		}
	}
	return ""
}
