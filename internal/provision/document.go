// Package provision turns tenant documents (the YAML admins write, the JSON
// the API takes) into validated domain objects. Its validation is the one used
// by the API, the CLI and apply alike; its Service applies documents to a
// Store with a diff, atomically, and records every change in the audit log.
package provision

import "github.com/switchboard-pbx/switchboard/internal/pbx"

// Document is one tenant document as written by an administrator: every
// object kind of PRODUCT.md §2. A list that is absent (nil) leaves that kind
// alone when applied; a present list, even empty, is what the document says
// about that kind (see Options.Prune).
//
// The yaml tags (omitempty) shape the output of "switchboard get -o yaml";
// the json tags keep empty lists, so that "pstnGateways: []" survives the
// trip from the CLI to the API.
type Document struct {
	Tenant                   string                   `yaml:"tenant" json:"tenant"`
	Domains                  []string                 `yaml:"domains,omitempty" json:"domains"`
	Settings                 *Settings                `yaml:"settings,omitempty" json:"settings,omitempty"`
	Edges                    []Edge                   `yaml:"edges,omitempty" json:"edges"`
	PSTNUsages               []string                 `yaml:"pstnUsages,omitempty" json:"pstnUsages"`
	TranslationRules         []TranslationRule        `yaml:"translationRules,omitempty" json:"translationRules"`
	PSTNGateways             []Gateway                `yaml:"pstnGateways,omitempty" json:"pstnGateways"`
	VoiceRoutes              []VoiceRoute             `yaml:"voiceRoutes,omitempty" json:"voiceRoutes"`
	VoiceRoutingPolicies     []VoiceRoutingPolicy     `yaml:"voiceRoutingPolicies,omitempty" json:"voiceRoutingPolicies"`
	DialPlans                []DialPlan               `yaml:"dialPlans,omitempty" json:"dialPlans"`
	CallerIDPolicies         []CallerIDPolicy         `yaml:"callerIdPolicies,omitempty" json:"callerIdPolicies"`
	EmergencyRoutingPolicies []EmergencyRoutingPolicy `yaml:"emergencyRoutingPolicies,omitempty" json:"emergencyRoutingPolicies"`
	EmergencyLocations       []EmergencyLocation      `yaml:"emergencyLocations,omitempty" json:"emergencyLocations"`
	Users                    []UserSpec               `yaml:"users,omitempty" json:"users"`
}

// Settings are tenant-wide settings.
type Settings struct {
	DisplayName          string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	DefaultUsageLocation string `yaml:"defaultUsageLocation,omitempty" json:"defaultUsageLocation,omitempty"` // ISO 3166 alpha-2
	// DeniedPrefixes are E.164 prefixes (premium rate, high-risk
	// destinations) no PSTN call of the tenant may reach, whatever its voice
	// routes say (toll fraud); emergency numbers are never denied.
	DeniedPrefixes []string `yaml:"deniedPrefixes,omitempty" json:"deniedPrefixes,omitempty"`
	// CallingPlan is the tenant's toll-fraud allow-list for calls through
	// the operator's Calling Plan; absent or empty (a new tenant): domestic
	// calls only, no premium-rate numbers.
	CallingPlan *CallingPlanSettings `yaml:"callingPlan,omitempty" json:"callingPlan,omitempty"`
}

// CallingPlanSettings allow destinations of Calling Plan calls per country
// (docs/calling-plan.md, "Allowed destinations"). Emergency numbers never
// need them.
type CallingPlanSettings struct {
	// InternationalCountries may be called by users whose usageLocation is
	// another country (ISO 3166 alpha-2).
	InternationalCountries []string `yaml:"internationalCountries,omitempty" json:"internationalCountries,omitempty"`
	// PremiumRateCountries are the countries whose premium-rate numbers may
	// be called (abroad, the country must also be in internationalCountries).
	PremiumRateCountries []string `yaml:"premiumRateCountries,omitempty" json:"premiumRateCountries,omitempty"`
}

// UserSpec is a user as written in a tenant document. Password is plaintext
// here only; it is hashed to HA1 credentials before anything is stored.
type UserSpec struct {
	SIPAddress             string               `yaml:"sipAddress" json:"sipAddress"`
	DisplayName            string               `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	Password               string               `yaml:"password,omitempty" json:"password,omitempty"`
	Extension              string               `yaml:"extension,omitempty" json:"extension,omitempty"`
	LineURI                string               `yaml:"lineUri,omitempty" json:"lineUri,omitempty"`
	NumberType             string               `yaml:"numberType,omitempty" json:"numberType,omitempty"`
	EnterpriseVoiceEnabled bool                 `yaml:"enterpriseVoiceEnabled,omitempty" json:"enterpriseVoiceEnabled,omitempty"`
	VoiceRoutingPolicy     string               `yaml:"voiceRoutingPolicy,omitempty" json:"voiceRoutingPolicy,omitempty"`
	DialPlan               string               `yaml:"dialPlan,omitempty" json:"dialPlan,omitempty"`
	CallingPlan            string               `yaml:"callingPlan,omitempty" json:"callingPlan,omitempty"`
	UsageLocation          string               `yaml:"usageLocation,omitempty" json:"usageLocation,omitempty"`
	Home                   string               `yaml:"home,omitempty" json:"home,omitempty"`
	EmergencyRoutingPolicy string               `yaml:"emergencyRoutingPolicy,omitempty" json:"emergencyRoutingPolicy,omitempty"`
	CallerIDPolicy         string               `yaml:"callerIdPolicy,omitempty" json:"callerIdPolicy,omitempty"`
	CallingSettings        *pbx.CallingSettings `yaml:"callingSettings,omitempty" json:"callingSettings,omitempty"`
}

// Edge is an on-premises Switchboard node (hybrid, PRODUCT.md §5).
type Edge struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	SIPAddress  string `yaml:"sipAddress" json:"sipAddress"` // HOST[:PORT] the cloud reaches it at
	// Transport of the cloud–edge trunk: udp (default; labs, identified by
	// address) or tls (mutual TLS: the cloud dials sipAddress, the edge's
	// sipTls listener, and each node is identified by its certificate,
	// which must name the host of sipAddress).
	Transport string `yaml:"transport,omitempty" json:"transport,omitempty"`
}

// Gateway is a customer SBC paired for Direct Routing (a pstnGateway). Its
// fqdn is its identity. The four translation lists name translationRules,
// applied in order:
//
//	inboundCalledNumberTranslationRules   called number of calls from the SBC   (Teams: InboundTeamsNumberTranslationRules)
//	inboundCallingNumberTranslationRules  calling number of calls from the SBC  (Teams: InboundPstnNumberTranslationRules)
//	outboundCalledNumberTranslationRules  called number of calls to the SBC     (Teams: OutboundPstnNumberTranslationRules)
//	outboundCallingNumberTranslationRules calling number of calls to the SBC    (Teams: OutboundTeamsNumberTranslationRules)
type Gateway struct {
	FQDN                                  string   `yaml:"fqdn" json:"fqdn"`
	Description                           string   `yaml:"description,omitempty" json:"description,omitempty"`
	SIPSignalingPort                      int      `yaml:"sipSignalingPort" json:"sipSignalingPort"` // default 5061 (tls) or 5060
	Transport                             string   `yaml:"transport" json:"transport"`               // tls (default) | tcp | udp
	Address                               string   `yaml:"address,omitempty" json:"address,omitempty"`
	AllowedAddresses                      []string `yaml:"allowedAddresses,omitempty" json:"allowedAddresses,omitempty"` // IPs or CIDRs accepted as this SBC (tcp/udp)
	Edge                                  string   `yaml:"edge,omitempty" json:"edge,omitempty"`
	Enabled                               bool     `yaml:"enabled" json:"enabled"`
	SendSIPOptions                        *bool    `yaml:"sendSipOptions" json:"sendSipOptions"`               // default true
	FailoverResponseCodes                 []int    `yaml:"failoverResponseCodes" json:"failoverResponseCodes"` // default 408, 503, 504
	FailoverTimeSeconds                   int      `yaml:"failoverTimeSeconds" json:"failoverTimeSeconds"`     // default 10
	MaxConcurrentSessions                 int      `yaml:"maxConcurrentSessions,omitempty" json:"maxConcurrentSessions,omitempty"`
	EnforceMaxConcurrentSessions          bool     `yaml:"enforceMaxConcurrentSessions,omitempty" json:"enforceMaxConcurrentSessions,omitempty"`
	ForwardPAI                            bool     `yaml:"forwardPai,omitempty" json:"forwardPai,omitempty"`
	ForwardCallHistory                    bool     `yaml:"forwardCallHistory,omitempty" json:"forwardCallHistory,omitempty"`
	MediaBypass                           bool     `yaml:"mediaBypass,omitempty" json:"mediaBypass,omitempty"`
	InboundCalledNumberTranslationRules   []string `yaml:"inboundCalledNumberTranslationRules,omitempty" json:"inboundCalledNumberTranslationRules,omitempty"`
	InboundCallingNumberTranslationRules  []string `yaml:"inboundCallingNumberTranslationRules,omitempty" json:"inboundCallingNumberTranslationRules,omitempty"`
	OutboundCalledNumberTranslationRules  []string `yaml:"outboundCalledNumberTranslationRules,omitempty" json:"outboundCalledNumberTranslationRules,omitempty"`
	OutboundCallingNumberTranslationRules []string `yaml:"outboundCallingNumberTranslationRules,omitempty" json:"outboundCallingNumberTranslationRules,omitempty"`
}

// VoiceRoute sends numbers matching NumberPattern to its gateways when the
// caller's policy has one of its usages. Lower Priority is tried first.
type VoiceRoute struct {
	Name                  string   `yaml:"name" json:"name"`
	Description           string   `yaml:"description,omitempty" json:"description,omitempty"`
	NumberPattern         string   `yaml:"numberPattern" json:"numberPattern"`
	Priority              int      `yaml:"priority" json:"priority"`
	OnlinePSTNGatewayList []string `yaml:"onlinePstnGatewayList" json:"onlinePstnGatewayList"`
	OnlinePSTNUsages      []string `yaml:"onlinePstnUsages" json:"onlinePstnUsages"`
}

// VoiceRoutingPolicy is an ordered list of usages assigned to users.
type VoiceRoutingPolicy struct {
	Name             string   `yaml:"name" json:"name"`
	Description      string   `yaml:"description,omitempty" json:"description,omitempty"`
	OnlinePSTNUsages []string `yaml:"onlinePstnUsages" json:"onlinePstnUsages"`
}

// DialPlan is an ordered list of normalisation rules.
type DialPlan struct {
	Name                 string              `yaml:"name" json:"name"`
	Description          string              `yaml:"description,omitempty" json:"description,omitempty"`
	ExternalAccessPrefix string              `yaml:"externalAccessPrefix,omitempty" json:"externalAccessPrefix,omitempty"`
	NormalizationRules   []NormalizationRule `yaml:"normalizationRules" json:"normalizationRules"`
}

// NormalizationRule rewrites a dialled string matching Pattern to Translation.
type NormalizationRule struct {
	Name                string `yaml:"name" json:"name"`
	Description         string `yaml:"description,omitempty" json:"description,omitempty"`
	Pattern             string `yaml:"pattern" json:"pattern"`
	Translation         string `yaml:"translation" json:"translation"`
	IsInternalExtension bool   `yaml:"isInternalExtension,omitempty" json:"isInternalExtension,omitempty"`
}

// TranslationRule rewrites a number on a gateway (see Gateway).
type TranslationRule struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	Pattern     string `yaml:"pattern" json:"pattern"`
	Translation string `yaml:"translation" json:"translation"`
}

// Caller ID substitutes of a CallerIDPolicy.
const (
	CallerIDLineURI   = "LineUri"   // the user's own number (default)
	CallerIDAnonymous = "Anonymous" // no number shown
	CallerIDService   = "Service"   // ServiceNumber (a resource account's number)
)

// CallerIDPolicy decides the calling number shown on outbound PSTN calls.
type CallerIDPolicy struct {
	Name                      string `yaml:"name" json:"name"`
	Description               string `yaml:"description,omitempty" json:"description,omitempty"`
	CallingIDSubstitute       string `yaml:"callingIdSubstitute" json:"callingIdSubstitute"`
	ServiceNumber             string `yaml:"serviceNumber,omitempty" json:"serviceNumber,omitempty"`
	EnableUserOverride        bool   `yaml:"enableUserOverride,omitempty" json:"enableUserOverride,omitempty"`
	BlockIncomingPSTNCallerID bool   `yaml:"blockIncomingPstnCallerId,omitempty" json:"blockIncomingPstnCallerId,omitempty"`
}

// EmergencyRoutingPolicy lists the emergency numbers of its users.
type EmergencyRoutingPolicy struct {
	Name             string            `yaml:"name" json:"name"`
	Description      string            `yaml:"description,omitempty" json:"description,omitempty"`
	EmergencyNumbers []EmergencyNumber `yaml:"emergencyNumbers" json:"emergencyNumbers"`
}

// EmergencyNumber is one emergency dial string, the masks that also dial
// it, and the usage whose routes carry it.
type EmergencyNumber struct {
	DialString      string   `yaml:"dialString" json:"dialString"`
	DialMasks       []string `yaml:"dialMasks,omitempty" json:"dialMasks,omitempty"`
	OnlinePSTNUsage string   `yaml:"onlinePstnUsage" json:"onlinePstnUsage"`
}

// EmergencyLocation is a civic address given to emergency services.
type EmergencyLocation struct {
	Name            string `yaml:"name" json:"name"`
	Description     string `yaml:"description,omitempty" json:"description,omitempty"`
	CompanyName     string `yaml:"companyName,omitempty" json:"companyName,omitempty"`
	StreetAddress   string `yaml:"streetAddress" json:"streetAddress"`
	City            string `yaml:"city" json:"city"`
	StateOrProvince string `yaml:"stateOrProvince,omitempty" json:"stateOrProvince,omitempty"`
	PostalCode      string `yaml:"postalCode,omitempty" json:"postalCode,omitempty"`
	CountryOrRegion string `yaml:"countryOrRegion" json:"countryOrRegion"` // ISO 3166 alpha-2
	ELIN            string `yaml:"elin,omitempty" json:"elin,omitempty"`
}
