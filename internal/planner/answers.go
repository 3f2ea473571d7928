// Package planner is the decision guide of PRODUCT.md §1: it takes a
// buyer's answers to a handful of questions (an existing on-prem server,
// where users are homed, the carrier, an existing PBX, local survivability,
// ...), recommends one or more of the four deployment topologies with their
// infrastructure requirements, explains the choice question by question,
// advises when to move to a simpler topology, and writes a starter
// configuration for the recommendation.
//
// The decision is a pure function (Recommend) over Answers; the same types
// serve the CLI ("switchboard plan"), the API (POST /api/v1/plan) and the
// web console. Answers and Recommendation are stable JSON/YAML contracts.
//
// planner is a domain package: it imports only the standard library.
package planner

import (
	"fmt"
	"slices"
	"strings"
)

// Homing says where an organisation's users are homed today.
type Homing string

// The accepted values of Answers.UsersHomed.
const (
	HomedOnPrem Homing = "onprem"
	HomedCloud  Homing = "cloud"
	HomedBoth   Homing = "both"
)

// Homings returns the accepted values of Answers.UsersHomed.
func Homings() []Homing { return []Homing{HomedOnPrem, HomedCloud, HomedBoth} }

// Answers are the buyer's answers to the questions of the decision guide.
// Field names are the keys of the answers file and of the API body.
type Answers struct {
	// ExistingOnPremServer: an on-prem Switchboard / Skype for Business-like
	// server runs today.
	ExistingOnPremServer bool `yaml:"existingOnPremServer" json:"existingOnPremServer"`
	// UsersHomed is where users are homed today; empty means cloud.
	UsersHomed Homing `yaml:"usersHomed" json:"usersHomed"`
	// MoveUsersToCloud: on-prem users are to move to the cloud.
	MoveUsersToCloud bool `yaml:"moveUsersToCloud" json:"moveUsersToCloud"`
	// Country is the ISO 3166-1 alpha-2 code of the users' country.
	Country string `yaml:"country" json:"country"`
	// CallingPlanAvailable overrides the operator's list of Calling Plan
	// countries; nil means "look Country up in that list".
	CallingPlanAvailable *bool `yaml:"callingPlanAvailable,omitempty" json:"callingPlanAvailable,omitempty"`
	// KeepCarrier: the current carrier must be kept (e.g. a contract).
	KeepCarrier bool `yaml:"keepCarrier" json:"keepCarrier"`
	// MixCarrierAndCallingPlan: some calls go through the Calling Plan and
	// others through the organisation's own carrier.
	MixCarrierAndCallingPlan bool `yaml:"mixCarrierAndCallingPlan" json:"mixCarrierAndCallingPlan"`
	// ExistingPbx: a third-party PBX or equipment (pagers, analog) to keep.
	ExistingPbx bool `yaml:"existingPbx" json:"existingPbx"`
	// PbxUniqueFeatures: that PBX has features the business depends on.
	PbxUniqueFeatures bool `yaml:"pbxUniqueFeatures" json:"pbxUniqueFeatures"`
	// NeedFeaturesCloudLacks: users need features the cloud does not offer.
	NeedFeaturesCloudLacks bool `yaml:"needFeaturesCloudLacks" json:"needFeaturesCloudLacks"`
	// NeedLocalSurvivability: calls must keep working without the cloud.
	NeedLocalSurvivability bool `yaml:"needLocalSurvivability" json:"needLocalSurvivability"`
}

// Homed returns UsersHomed in canonical form, cloud when empty.
func (a Answers) Homed() Homing {
	h := Homing(strings.ToLower(strings.TrimSpace(string(a.UsersHomed))))
	if h == "" {
		return HomedCloud
	}
	return h
}

// CountryCode returns Country trimmed and in upper case.
func (a Answers) CountryCode() string { return strings.ToUpper(strings.TrimSpace(a.Country)) }

// Operator is what the decision needs from the operator's configuration.
type Operator struct {
	// CallingPlanCountries are the ISO 3166-1 alpha-2 codes of the
	// countries where the operator sells the Calling Plan.
	CallingPlanCountries []string `json:"callingPlanCountries"`
}

// SellsCallingPlan reports whether the operator sells the Calling Plan in
// country (case-insensitive).
func (op Operator) SellsCallingPlan(country string) bool {
	country = strings.ToUpper(strings.TrimSpace(country))
	return country != "" && slices.ContainsFunc(op.CallingPlanCountries, func(c string) bool {
		return strings.EqualFold(strings.TrimSpace(c), country)
	})
}

// Resolve returns a in canonical form (country upper case, usersHomed
// lower case and defaulted) with CallingPlanAvailable filled in from the
// operator's list when the answers leave it open.
func (op Operator) Resolve(a Answers) Answers {
	a.Country = a.CountryCode()
	a.UsersHomed = a.Homed()
	if a.CallingPlanAvailable == nil {
		v := op.SellsCallingPlan(a.Country)
		a.CallingPlanAvailable = &v
	} else {
		v := *a.CallingPlanAvailable // never share the caller's pointer
		a.CallingPlanAvailable = &v
	}
	return a
}

// DefaultCallingPlanCountries is the list of Calling Plan countries used
// until the operator's configuration provides one.
func DefaultCallingPlanCountries() []string {
	return strings.Fields("AT AU BE CA CH CZ DE DK EE ES FI FR GB HR HU IE IT JP LT LU LV NL NO NZ PL PR PT RO SE SG SI SK US")
}

// FieldError is one problem with the answers. Field is the answer's key
// ("usersHomed"), as in the answers file.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationErrors is every problem found in one set of answers.
type ValidationErrors []FieldError

func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Validate checks a set of answers on its own: values out of range,
// unknown countries and answers that contradict each other. It returns
// ValidationErrors (one entry per problem, on the field to change) or nil.
// Pass answers through Operator.Resolve first to also catch contradictions
// with the operator's Calling Plan countries.
func Validate(a Answers) error {
	var errs ValidationErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	homed := a.Homed()
	homedOK := slices.Contains(Homings(), homed)
	if !homedOK {
		add("usersHomed", "%q is not one of onprem, cloud, both", a.UsersHomed)
	}

	switch c := a.CountryCode(); {
	case c == "" && a.CallingPlanAvailable == nil:
		add("country", "required: the ISO 3166-1 alpha-2 code of your users' country (e.g. US), which decides whether the Calling Plan is available")
	case c == "":
	case c == "UK":
		add("country", "%q is not an ISO 3166-1 alpha-2 code (the United Kingdom is GB)", a.Country)
	case !IsCountry(c):
		add("country", "%q is not an ISO 3166-1 alpha-2 country code (e.g. US, GB, DE)", a.Country)
	}

	if homedOK && homed != HomedCloud && !a.ExistingOnPremServer {
		add("usersHomed", "%q means users are homed on an on-prem server, but existingOnPremServer is false", homed)
	}
	if a.PbxUniqueFeatures && !a.ExistingPbx {
		add("pbxUniqueFeatures", "true, but existingPbx is false: there is no PBX whose features you need")
	}
	if a.MixCarrierAndCallingPlan {
		if a.CallingPlanAvailable != nil && !*a.CallingPlanAvailable {
			where := ""
			if c := a.CountryCode(); c != "" {
				where = " in " + c
			}
			add("mixCarrierAndCallingPlan", "true needs the Calling Plan, which is not available%s (callingPlanAvailable is false)", where)
		}
		if homed == HomedOnPrem && !a.MoveUsersToCloud {
			add("mixCarrierAndCallingPlan", "true needs users in the cloud, but usersHomed is onprem and moveUsersToCloud is false")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// IsCountry reports whether code is an officially assigned ISO 3166-1
// alpha-2 code (upper case).
func IsCountry(code string) bool {
	if len(code) != 2 {
		return false
	}
	for c := range strings.FieldsSeq(iso3166) {
		if c == code {
			return true
		}
	}
	return false
}

// iso3166 holds the 249 officially assigned ISO 3166-1 alpha-2 codes.
const iso3166 = `
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW
`
