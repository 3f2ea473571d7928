package routing

import (
	"fmt"
	"strings"
)

// RuleSource says where the rule that normalised a number came from.
type RuleSource string

// Rule sources.
const (
	SourceDialPlan RuleSource = "dialPlan" // a rule of the caller's (or the Global) dial plan
	SourceCountry  RuleSource = "country"  // a built-in rule of the caller's usageLocation
	SourceE164     RuleSource = "e164"     // the string starts with +: not normalised
	SourceNone     RuleSource = "none"     // no rule matched: the string is used as it is
)

// Normalization is how a dialled string became the number that is routed,
// step by step.
type Normalization struct {
	Input               string     `json:"input"`
	Stripped            string     `json:"stripped"`               // scheme and visual separators removed
	AccessPrefix        string     `json:"accessPrefix,omitempty"` // external access prefix removed
	Matched             string     `json:"matched"`                // what the rules were matched against
	DialPlan            string     `json:"dialPlan,omitempty"`     // effective dial plan, if any
	Country             string     `json:"country,omitempty"`      // region whose rules were consulted
	Source              RuleSource `json:"source"`
	Rule                string     `json:"rule,omitempty"` // the rule that matched
	Output              string     `json:"output"`
	IsInternalExtension bool       `json:"isInternalExtension"`
	Warnings            []string   `json:"warnings,omitempty"` // e.g. a pattern that timed out
}

// TrimScheme removes a leading "sip:", "sips:" or "tel:" (any case).
func TrimScheme(s string) string {
	for _, p := range [...]string{"sip:", "sips:", "tel:"} {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):]
		}
	}
	return s
}

// StripSeparators removes the visual separators people type or paste into
// numbers: space, '-', '.', '(' and ')'.
func StripSeparators(s string) string {
	if !strings.ContainsAny(s, " -.()") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '-', '.', '(', ')':
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// Normalize applies the caller's effective dial plan to a dialled string:
// a sip:/tel: scheme and the visual separators are removed; a string starting with + is left as it is;
// otherwise the external access prefix is removed, and the first matching
// rule of the caller's dial plan (or the Global one), then of the built-in
// rules of the caller's usageLocation, gives the number. The error says that
// the caller's dial plan does not exist.
func (t *Table) Normalize(c Caller, dialled string) (Normalization, error) {
	stripped := StripSeparators(TrimScheme(dialled))
	n := Normalization{Input: dialled, Stripped: stripped, Matched: stripped, Output: stripped, Source: SourceNone}
	plan, err := t.dialPlan(c)
	if err != nil {
		return n, err
	}
	if plan != nil {
		n.DialPlan = plan.name
	}
	if strings.HasPrefix(stripped, "+") {
		n.Source = SourceE164
		return n, nil
	}
	if plan != nil && plan.accessPrefix != "" && len(stripped) > len(plan.accessPrefix) &&
		strings.HasPrefix(stripped, plan.accessPrefix) {
		n.AccessPrefix = plan.accessPrefix
		n.Matched = stripped[len(plan.accessPrefix):]
		n.Output = n.Matched
	}
	if plan != nil {
		for i := range plan.rules {
			r := &plan.rules[i]
			out, ok, err := r.t.Apply(n.Matched)
			if err != nil {
				n.Warnings = append(n.Warnings, fmt.Sprintf("dial plan %q rule %q: %v; treated as not matching", plan.name, r.name, err))
				continue
			}
			if ok {
				n.Source, n.Rule, n.Output, n.IsInternalExtension = SourceDialPlan, r.name, out, r.extension
				return n, nil
			}
		}
	}
	if c.UsageLocation == "" {
		return n, nil
	}
	cr := t.countries.rules(c.UsageLocation)
	if cr == nil {
		n.Warnings = append(n.Warnings, fmt.Sprintf("usageLocation %q is not a country libphonenumber knows: no country rules", c.UsageLocation))
		return n, nil
	}
	n.Country = cr.region
	if out, rule, ok := t.countries.apply(cr, n.Matched); ok {
		n.Source, n.Rule, n.Output = SourceCountry, rule, out
	}
	return n, nil
}

// dialPlan returns the caller's dial plan, else the Global one, else nil.
func (t *Table) dialPlan(c Caller) (*dialPlan, error) {
	if c.DialPlan != "" {
		p, ok := t.dialPlans[c.DialPlan]
		if !ok {
			return nil, fmt.Errorf("dial plan %q does not exist", c.DialPlan)
		}
		return p, nil
	}
	return t.dialPlans[GlobalName], nil
}

// explainNormalization turns a Normalization into human steps.
func explainNormalization(n Normalization) []string {
	var s []string
	if trimmed := TrimScheme(n.Input); trimmed != n.Input {
		s = append(s, fmt.Sprintf("scheme removed: %q", trimmed))
		if n.Stripped != trimmed {
			s = append(s, fmt.Sprintf("visual separators removed: %q", n.Stripped))
		}
	} else if n.Stripped != n.Input {
		s = append(s, fmt.Sprintf("visual separators removed: %q", n.Stripped))
	}
	if n.Source == SourceE164 {
		return append(s, fmt.Sprintf("%q starts with +: not normalised", n.Stripped))
	}
	if n.AccessPrefix != "" {
		s = append(s, fmt.Sprintf("external access prefix %q removed: %q", n.AccessPrefix, n.Matched))
	}
	s = append(s, n.Warnings...)
	plan := "no dial plan"
	if n.DialPlan != "" {
		plan = fmt.Sprintf("dial plan %q", n.DialPlan)
	}
	switch n.Source {
	case SourceDialPlan:
		ext := ""
		if n.IsInternalExtension {
			ext = " (internal extension)"
		}
		s = append(s, fmt.Sprintf("%s: rule %q matched%s: %q → %q", plan, n.Rule, ext, n.Matched, n.Output))
	case SourceCountry:
		s = append(s, fmt.Sprintf("%s: no rule matched; country rule %q matched: %q → %q", plan, n.Rule, n.Matched, n.Output))
	default:
		where := "no country rules"
		if n.Country != "" {
			where = "no " + n.Country + " country rule matched"
		}
		s = append(s, fmt.Sprintf("%s: no rule matched; %s: %q is used as it is", plan, where, n.Output))
	}
	return s
}
