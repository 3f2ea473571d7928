package provision

import (
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Defaults filled in by Canonical.
const (
	DefaultTransport              = "tls"
	DefaultTLSPort                = 5061
	DefaultPort                   = 5060 // tcp and udp
	DefaultFailoverTimeSeconds    = 10
	DefaultUnansweredDelaySeconds = 20
	HomeOnline                    = "online"
	ForwardToVoicemail            = "voicemail"
)

// DefaultFailoverResponseCodes returns the failover codes of a gateway that
// does not set its own.
func DefaultFailoverResponseCodes() []int { return []int{408, 503, 504} }

// Canonical returns d in canonical form: every string trimmed, domains, sip
// addresses and gateway FQDNs lowercased (a leading "sip:" on an address is
// dropped), lineUri lowercased ("TEL:" → "tel:"), enumerations spelled as
// documented whatever their case, and every default written out (transport,
// ports, sendSipOptions, failover settings, home, calling settings), so that
// two documents meaning the same thing are equal. Passwords are left exactly
// as written. A nil list stays nil (the kind is absent). The input is not
// modified.
func Canonical(d Document) Document {
	out := Document{Tenant: strings.TrimSpace(d.Tenant)}
	out.Domains = mapList(d.Domains, lowerTrim)
	if d.Settings != nil {
		out.Settings = &Settings{
			DisplayName:          strings.TrimSpace(d.Settings.DisplayName),
			DefaultUsageLocation: strings.ToUpper(strings.TrimSpace(d.Settings.DefaultUsageLocation)),
			DeniedPrefixes:       mapList(d.Settings.DeniedPrefixes, strings.TrimSpace),
		}
		if cp := d.Settings.CallingPlan; cp != nil {
			upper := func(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
			out.Settings.CallingPlan = &CallingPlanSettings{
				InternationalCountries: mapList(cp.InternationalCountries, upper),
				PremiumRateCountries:   mapList(cp.PremiumRateCountries, upper),
			}
		}
	}
	out.Edges = mapList(d.Edges, func(e Edge) Edge {
		return Edge{Name: strings.TrimSpace(e.Name), Description: strings.TrimSpace(e.Description),
			SIPAddress: lowerTrim(e.SIPAddress), Transport: lowerTrim(e.Transport)}
	})
	out.PSTNUsages = mapList(d.PSTNUsages, strings.TrimSpace)
	out.TranslationRules = mapList(d.TranslationRules, func(r TranslationRule) TranslationRule {
		return TranslationRule{Name: strings.TrimSpace(r.Name), Description: strings.TrimSpace(r.Description),
			Pattern: strings.TrimSpace(r.Pattern), Translation: strings.TrimSpace(r.Translation)}
	})
	out.PSTNGateways = mapList(d.PSTNGateways, canonicalGateway)
	out.VoiceRoutes = mapList(d.VoiceRoutes, func(r VoiceRoute) VoiceRoute {
		return VoiceRoute{Name: strings.TrimSpace(r.Name), Description: strings.TrimSpace(r.Description),
			NumberPattern: strings.TrimSpace(r.NumberPattern), Priority: r.Priority,
			OnlinePSTNGatewayList: nonNil(mapList(r.OnlinePSTNGatewayList, lowerTrim)),
			OnlinePSTNUsages:      nonNil(mapList(r.OnlinePSTNUsages, strings.TrimSpace))}
	})
	out.VoiceRoutingPolicies = mapList(d.VoiceRoutingPolicies, func(p VoiceRoutingPolicy) VoiceRoutingPolicy {
		return VoiceRoutingPolicy{Name: strings.TrimSpace(p.Name), Description: strings.TrimSpace(p.Description),
			OnlinePSTNUsages: nonNil(mapList(p.OnlinePSTNUsages, strings.TrimSpace))}
	})
	out.DialPlans = mapList(d.DialPlans, func(p DialPlan) DialPlan {
		return DialPlan{Name: strings.TrimSpace(p.Name), Description: strings.TrimSpace(p.Description),
			ExternalAccessPrefix: strings.TrimSpace(p.ExternalAccessPrefix),
			NormalizationRules: nonNil(mapList(p.NormalizationRules, func(r NormalizationRule) NormalizationRule {
				return NormalizationRule{Name: strings.TrimSpace(r.Name), Description: strings.TrimSpace(r.Description),
					Pattern: strings.TrimSpace(r.Pattern), Translation: strings.TrimSpace(r.Translation),
					IsInternalExtension: r.IsInternalExtension}
			}))}
	})
	out.CallerIDPolicies = mapList(d.CallerIDPolicies, func(p CallerIDPolicy) CallerIDPolicy {
		p.Name, p.Description = strings.TrimSpace(p.Name), strings.TrimSpace(p.Description)
		p.CallingIDSubstitute = enum(p.CallingIDSubstitute, CallerIDLineURI, CallerIDLineURI, CallerIDAnonymous, CallerIDService)
		p.ServiceNumber = strings.TrimSpace(p.ServiceNumber)
		return p
	})
	out.EmergencyRoutingPolicies = mapList(d.EmergencyRoutingPolicies, func(p EmergencyRoutingPolicy) EmergencyRoutingPolicy {
		return EmergencyRoutingPolicy{Name: strings.TrimSpace(p.Name), Description: strings.TrimSpace(p.Description),
			EmergencyNumbers: nonNil(mapList(p.EmergencyNumbers, func(n EmergencyNumber) EmergencyNumber {
				return EmergencyNumber{DialString: strings.TrimSpace(n.DialString),
					DialMasks:       mapList(n.DialMasks, strings.TrimSpace),
					OnlinePSTNUsage: strings.TrimSpace(n.OnlinePSTNUsage)}
			}))}
	})
	out.EmergencyLocations = mapList(d.EmergencyLocations, func(l EmergencyLocation) EmergencyLocation {
		return EmergencyLocation{Name: strings.TrimSpace(l.Name), Description: strings.TrimSpace(l.Description),
			CompanyName: strings.TrimSpace(l.CompanyName), StreetAddress: strings.TrimSpace(l.StreetAddress),
			City: strings.TrimSpace(l.City), StateOrProvince: strings.TrimSpace(l.StateOrProvince),
			PostalCode: strings.TrimSpace(l.PostalCode), CountryOrRegion: strings.ToUpper(strings.TrimSpace(l.CountryOrRegion)),
			ELIN: strings.TrimSpace(l.ELIN)}
	})
	out.Users = mapList(d.Users, canonicalUser)
	return out
}

func canonicalGateway(g Gateway) Gateway {
	out := g
	out.FQDN = lowerTrim(g.FQDN)
	out.Description = strings.TrimSpace(g.Description)
	out.Transport = enum(strings.ToLower(g.Transport), DefaultTransport, "tls", "tcp", "udp")
	if out.SIPSignalingPort == 0 {
		out.SIPSignalingPort = DefaultPort
		if out.Transport == "tls" {
			out.SIPSignalingPort = DefaultTLSPort
		}
	}
	out.Address = lowerTrim(g.Address)
	out.AllowedAddresses = mapList(g.AllowedAddresses, lowerTrim)
	out.Edge = strings.TrimSpace(g.Edge)
	send := true
	if g.SendSIPOptions != nil {
		send = *g.SendSIPOptions
	}
	out.SendSIPOptions = &send
	if g.FailoverResponseCodes == nil {
		out.FailoverResponseCodes = DefaultFailoverResponseCodes()
	} else {
		out.FailoverResponseCodes = slices.Clone(g.FailoverResponseCodes)
	}
	if out.FailoverTimeSeconds == 0 {
		out.FailoverTimeSeconds = DefaultFailoverTimeSeconds
	}
	out.InboundCalledNumberTranslationRules = mapList(g.InboundCalledNumberTranslationRules, strings.TrimSpace)
	out.InboundCallingNumberTranslationRules = mapList(g.InboundCallingNumberTranslationRules, strings.TrimSpace)
	out.OutboundCalledNumberTranslationRules = mapList(g.OutboundCalledNumberTranslationRules, strings.TrimSpace)
	out.OutboundCallingNumberTranslationRules = mapList(g.OutboundCallingNumberTranslationRules, strings.TrimSpace)
	return out
}

func canonicalUser(u UserSpec) UserSpec {
	addr := canonicalAddress(u.SIPAddress)
	out := UserSpec{
		SIPAddress:             addr,
		DisplayName:            strings.TrimSpace(u.DisplayName),
		Password:               u.Password,
		Extension:              strings.TrimSpace(u.Extension),
		LineURI:                lowerTrim(u.LineURI),
		NumberType:             enum(u.NumberType, "", "DirectRouting", "CallingPlan"),
		EnterpriseVoiceEnabled: u.EnterpriseVoiceEnabled,
		VoiceRoutingPolicy:     strings.TrimSpace(u.VoiceRoutingPolicy),
		DialPlan:               strings.TrimSpace(u.DialPlan),
		CallingPlan:            enum(u.CallingPlan, "", "Domestic", "DomesticAndInternational", "PayAsYouGo"),
		UsageLocation:          strings.ToUpper(strings.TrimSpace(u.UsageLocation)),
		Home:                   strings.TrimSpace(u.Home),
		EmergencyRoutingPolicy: strings.TrimSpace(u.EmergencyRoutingPolicy),
		CallerIDPolicy:         strings.TrimSpace(u.CallerIDPolicy),
	}
	if strings.EqualFold(out.CallingPlan, "none") {
		out.CallingPlan = ""
	}
	if out.Home == "" || strings.EqualFold(out.Home, HomeOnline) {
		out.Home = HomeOnline
	}
	cs := pbx.CallingSettings{}
	if u.CallingSettings != nil {
		cs = *u.CallingSettings
	}
	cs.Forwarding = pbx.Forwarding{
		Immediate:    canonicalTarget(cs.Forwarding.Immediate),
		Busy:         canonicalTarget(cs.Forwarding.Busy),
		Unanswered:   canonicalTarget(cs.Forwarding.Unanswered),
		Unregistered: canonicalTarget(cs.Forwarding.Unregistered),
	}
	cs.SimultaneousRing = mapList(cs.SimultaneousRing, canonicalTarget)
	if cs.UnansweredDelaySeconds == 0 {
		cs.UnansweredDelaySeconds = DefaultUnansweredDelaySeconds
	}
	cs.Voicemail.NotifyEmail = strings.TrimSpace(cs.Voicemail.NotifyEmail)
	out.CallingSettings = &cs
	return out
}

// canonicalAddress lowercases a sip address and drops a leading "sip:".
func canonicalAddress(s string) string {
	addr := lowerTrim(s)
	if rest, ok := strings.CutPrefix(addr, "sip:"); ok && !strings.Contains(rest, ":") {
		addr = strings.TrimSpace(rest)
	}
	return addr
}

// canonicalTarget canonicalises a forwarding target: "voicemail", a sip
// address (lowercased) or a number (kept as written).
func canonicalTarget(s string) string {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, ForwardToVoicemail) || strings.Contains(s, "@") {
		return canonicalAddress(s)
	}
	return s
}

// enum returns the allowed spelling of s matched case-insensitively, def
// when s is empty, and s unchanged when it matches none (Validate says so).
func enum(s, def string, allowed ...string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a
		}
	}
	return s
}

func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// mapList applies f to every element, keeping nil as nil.
func mapList[T any](in []T, f func(T) T) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// nonNil turns a nil list into an empty one, for lists inside objects where
// absent and empty mean the same.
func nonNil[T any](in []T) []T {
	if in == nil {
		return []T{}
	}
	return in
}
