package provision

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Limits enforced by Validate.
const (
	MinPasswordLen    = 8
	MaxDisplayNameLen = 100 // characters (runes), not bytes
	MaxNameLen        = 100 // object names (routes, policies, ...)
)

var (
	tenantRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	labelRe     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	digitsRe    = regexp.MustCompile(`^[0-9]+$`)
	userPartRe  = regexp.MustCompile(`^[a-z0-9._~!$&'*+=-]{1,64}$`)
	extensionRe = regexp.MustCompile(`^[0-9]{2,10}$`)
	e164Re      = regexp.MustCompile(`^\+[0-9]{8,15}$`)
	lineExtRe   = regexp.MustCompile(`^ext=[0-9]{1,10}$`)
)

// Validate returns every problem in d, in document order, or nil when d is
// valid. It validates the canonical form of d (see Canonical), so callers may
// pass a document exactly as written.
//
// Validate sees one document on its own, as the CLI does before sending it:
// a reference to a kind the document does not list (nil) is left to the
// server, which validates the tenant as it would be after the apply. An
// empty password is accepted here: whether it may be omitted depends on
// whether the user already exists, which Service.Apply decides.
func Validate(d Document) ValidationErrors {
	return validate(Canonical(d), false, nil)
}

// validate checks a canonical document. complete says that d is a whole
// tenant (absent kinds are empty, every reference can be checked). exists,
// when not nil, reports whether a sip address is an existing user of the
// tenant; a new user without a password is then an error.
func validate(d Document, complete bool, exists func(sipAddress string) bool) ValidationErrors {
	return validateMerged(d, complete, exists, 0)
}

// validateMerged is validate for a tenant whose first ownUsers users come
// from the document being applied (the rest are stored): a duplicate
// between the two is reported on the document's user.
func validateMerged(d Document, complete bool, exists func(sipAddress string) bool, ownUsers int) ValidationErrors {
	c := &checker{complete: complete, exists: exists, ownUsers: ownUsers}
	c.tenant(d.Tenant)
	c.domains(d.Domains)
	c.collectNames(d)
	c.settings(d.Settings)
	c.edges(d.Edges)
	c.usages(d.PSTNUsages)
	c.translationRules(d.TranslationRules)
	c.gateways(d.PSTNGateways)
	c.voiceRoutes(d.VoiceRoutes)
	c.policies(d.VoiceRoutingPolicies)
	c.dialPlans(d.DialPlans)
	c.callerIDPolicies(d.CallerIDPolicies)
	c.emergencyPolicies(d.EmergencyRoutingPolicies)
	c.locations(d.EmergencyLocations)
	c.users(d.Users)
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// checker accumulates the problems of one document. Each name set is nil
// when its kind is unknown (absent from a partial document), which turns
// the checks of references into that kind off.
type checker struct {
	errs     ValidationErrors
	complete bool
	exists   func(string) bool
	ownUsers int // users of the applied document, first in the list

	domainSet, edgeSet, usageSet, ruleSet, gatewaySet, policySet,
	dialPlanSet, callerIDSet, emergencySet map[string]bool
}

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// nameSet returns the set of names of a kind, nil when the kind is unknown.
func nameSet[T any](c *checker, list []T, name func(T) string) map[string]bool {
	if list == nil && !c.complete {
		return nil
	}
	set := make(map[string]bool, len(list))
	for _, v := range list {
		set[name(v)] = true
	}
	return set
}

func (c *checker) collectNames(d Document) {
	c.domainSet = nameSet(c, d.Domains, func(s string) string { return s })
	c.edgeSet = nameSet(c, d.Edges, func(e Edge) string { return e.Name })
	c.usageSet = nameSet(c, d.PSTNUsages, func(s string) string { return s })
	c.ruleSet = nameSet(c, d.TranslationRules, func(r TranslationRule) string { return r.Name })
	c.gatewaySet = nameSet(c, d.PSTNGateways, func(g Gateway) string { return g.FQDN })
	c.policySet = nameSet(c, d.VoiceRoutingPolicies, func(p VoiceRoutingPolicy) string { return p.Name })
	c.dialPlanSet = nameSet(c, d.DialPlans, func(p DialPlan) string { return p.Name })
	c.callerIDSet = nameSet(c, d.CallerIDPolicies, func(p CallerIDPolicy) string { return p.Name })
	c.emergencySet = nameSet(c, d.EmergencyRoutingPolicies, func(p EmergencyRoutingPolicy) string { return p.Name })
}

// ref checks that name is in set (when the set is known).
func (c *checker) ref(field, what string, set map[string]bool, name string) {
	if set != nil && !set[name] {
		c.add(field, "%s %q does not exist", what, name)
	}
}

// refs checks a list of references: each known, none twice.
func (c *checker) refs(field, what string, set map[string]bool, names []string) {
	seen := map[string]int{}
	for i, n := range names {
		f := fmt.Sprintf("%s[%d]", field, i)
		if n == "" {
			c.add(f, "must not be empty")
			continue
		}
		if j, dup := seen[n]; dup {
			c.add(f, "duplicate %s %q (also %s[%d])", what, n, field, j)
			continue
		}
		seen[n] = i
		c.ref(f, what, set, n)
	}
}

// name checks an object name and that it is unique in its kind.
func (c *checker) name(field, name string, seen map[string]string, kindPath string) {
	switch {
	case name == "":
		c.add(field, "must not be empty")
	case utf8.RuneCountInString(name) > MaxNameLen:
		c.add(field, "must be at most %d characters", MaxNameLen)
	case strings.ContainsFunc(name, unicode.IsControl) || !utf8.ValidString(name) || strings.Contains(name, "/"):
		c.add(field, "%q must not contain control characters or '/'", name)
	default:
		if prev, dup := seen[name]; dup {
			c.add(field, "duplicate name %q (also %s)", name, prev)
		} else {
			seen[name] = kindPath
		}
	}
}

func (c *checker) text(field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		c.add(field, "must be at most %d characters", max)
	}
	if strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s) {
		c.add(field, "must not contain control characters")
	}
}

func (c *checker) country(field, code string) {
	if code != "" && phonenumbers.GetCountryCodeForRegion(code) == 0 {
		c.add(field, "%q is not an ISO 3166 country code known to the numbering plan (e.g. US, GB, DE)", code)
	}
}

func (c *checker) tenant(name string) {
	switch {
	case name == "":
		c.add("tenant", "must not be empty")
	case !tenantRe.MatchString(name):
		c.add("tenant", "%q is not a valid tenant name (expected 1 to 63 lowercase letters, digits or '-', starting with a letter or digit)", name)
	}
}

func (c *checker) domains(list []string) {
	if len(list) == 0 && (list != nil || c.complete) {
		c.add("domains", "at least one domain is required")
	}
	seen := make(map[string]int, len(list))
	for i, dom := range list {
		field := fmt.Sprintf("domains[%d]", i)
		switch {
		case dom == "":
			c.add(field, "must not be empty")
		case !validDomain(dom):
			c.add(field, "%q is not a valid domain name", dom)
		default:
			if j, dup := seen[dom]; dup {
				c.add(field, "duplicate domain %q (also domains[%d])", dom, j)
			} else {
				seen[dom] = i
			}
		}
	}
}

func (c *checker) settings(s *Settings) {
	if s == nil {
		return
	}
	c.text("settings.displayName", s.DisplayName, MaxDisplayNameLen)
	c.country("settings.defaultUsageLocation", s.DefaultUsageLocation)
	for i, p := range s.DeniedPrefixes {
		if !deniedPrefix(p) {
			c.add(fmt.Sprintf("settings.deniedPrefixes[%d]", i), "%q is not an E.164 prefix (expected + and 1 to 15 digits)", p)
		}
	}
	if cp := s.CallingPlan; cp != nil {
		c.countries("settings.callingPlan.internationalCountries", cp.InternationalCountries)
		c.countries("settings.callingPlan.premiumRateCountries", cp.PremiumRateCountries)
	}
}

// countries checks a list of ISO 3166 country codes: known, none twice.
func (c *checker) countries(field string, list []string) {
	seen := map[string]int{}
	for i, cc := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if cc == "" {
			c.add(f, "must not be empty")
			continue
		}
		c.country(f, cc)
		if j, dup := seen[cc]; dup {
			c.add(f, "duplicate country %q (also %s[%d])", cc, field, j)
		}
		seen[cc] = i
	}
}

func deniedPrefix(p string) bool {
	if len(p) < 2 || len(p) > 16 || p[0] != '+' {
		return false
	}
	for _, r := range p[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// inDomain returns the tenant domain host belongs to (equal or a
// subdomain), or "".
func (c *checker) inDomain(host string) (string, bool) {
	for d := range c.domainSet {
		if host == d || strings.HasSuffix(host, "."+d) {
			return d, true
		}
	}
	return "", false
}

// validDomain reports whether s is a DNS name of at least two labels whose
// top-level label is not numeric (so IP addresses are not domains).
func validDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !labelRe.MatchString(l) {
			return false
		}
	}
	return !digitsRe.MatchString(labels[len(labels)-1])
}

// checkE164 returns what is wrong with a +E.164 number, or "".
func checkE164(num string) string {
	if !e164Re.MatchString(num) {
		return fmt.Sprintf("%q is not an E.164 number (expected + and 8 to 15 digits)", num)
	}
	// Only a parse failure (an unknown country code) is rejected: numbers
	// libphonenumber considers unassigned are fine for a PBX.
	if _, err := phonenumbers.Parse(num, ""); err != nil {
		return fmt.Sprintf("%q is not an E.164 number (unknown country code)", num)
	}
	return ""
}

// checkLineURI returns what is wrong with a canonical lineUri, or "".
// Accepted: +E164 or tel:+E164, optionally followed by ;ext=DIGITS.
func checkLineURI(s string) string {
	num, params, hasParams := strings.Cut(strings.TrimPrefix(s, "tel:"), ";")
	if msg := checkE164(num); msg != "" {
		return msg
	}
	if hasParams && !lineExtRe.MatchString(params) {
		return fmt.Sprintf("%q has an invalid extension (expected ;ext= and 1 to 10 digits)", s)
	}
	return ""
}
