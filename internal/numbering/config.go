// Package numbering is the operator's Calling Plan (PRODUCT.md §1–§3,
// topology 1): the carriers that take PSTN calls of licensed users, the
// number inventory that tenants acquire numbers from, licences, minute pools
// per tenant, country, plan type and calendar month, prepaid Communications
// Credits and the admission of each outbound call (international, premium
// rate and emergency rules).
//
// It is a domain package: no I/O besides the Store port, clocks injected.
// The composition root turns the server configuration into a Config, wires a
// Store and asks Admit for every outbound call that Direct Routing does not
// take; call control meters the answered call through Meter.Grant and the
// CDR sink settles it with Settle.
package numbering

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Licences (a user's callingPlan).
const (
	Domestic                 = "Domestic"
	DomesticAndInternational = "DomesticAndInternational"
	PayAsYouGo               = "PayAsYouGo"
)

// Kinds of minutes of a pool.
const (
	KindDomestic      = "domestic"
	KindInternational = "international"
)

// Number types of the inventory.
const (
	TypeUser    = "user"
	TypeService = "service"
)

// DefaultQuarantine is how long a released number waits before it can be
// acquired again.
const DefaultQuarantine = 30 * 24 * time.Hour

// Config is the operator's Calling Plan as the server configuration says
// (the callingPlan section; docs/calling-plan.md).
type Config struct {
	Countries []string         // where the Calling Plan is sold (ISO 3166 alpha-2)
	Carriers  []Carrier        // upstream carrier trunks
	Plans     map[string]Plans // per country: the plans offered there
	Rates     []Rate           // per destination prefix, for credits
	Inventory []Range          // number ranges tenants acquire from
	// Quarantine of released numbers; 0 means DefaultQuarantine.
	Quarantine time.Duration
	// Minute is the length of one billed minute; 0 means a real minute.
	// Only tests shorten it (see docs/calling-plan.md).
	Minute time.Duration
}

// Carrier is one trunk to an upstream carrier.
type Carrier struct {
	Name      string   `json:"name"`
	Address   string   `json:"address"`   // host:port
	Transport string   `json:"transport"` // udp | tcp | tls
	Countries []string `json:"countries"` // destination countries it terminates
	Priority  int      `json:"priority"`  // lower first
}

// Key is the carrier's key in gateway health ("carrier/<name>").
func (c Carrier) Key() string { return "carrier/" + c.Name }

// Plans are the licences offered in one country; nil means not offered.
type Plans struct {
	Domestic                 *Allowance `json:"Domestic,omitempty"`
	DomesticAndInternational *Allowance `json:"DomesticAndInternational,omitempty"`
	PayAsYouGo               *Allowance `json:"PayAsYouGo,omitempty"`
}

// get returns the allowance of a licence.
func (p Plans) get(licence string) *Allowance {
	switch licence {
	case Domestic:
		return p.Domestic
	case DomesticAndInternational:
		return p.DomesticAndInternational
	case PayAsYouGo:
		return p.PayAsYouGo
	}
	return nil
}

// Allowance is what one licence adds to its pools each month.
type Allowance struct {
	DomesticMinutes      int `json:"domesticMinutes"`
	InternationalMinutes int `json:"internationalMinutes"`
}

// minutes returns the allowance of a kind of minutes.
func (a Allowance) minutes(kind string) int {
	if kind == KindInternational {
		return a.InternationalMinutes
	}
	return a.DomesticMinutes
}

// Rate is the per-minute price of calls to numbers starting with Prefix.
type Rate struct {
	Prefix    string `json:"prefix"`
	PerMinute Money  `json:"perMinute"`
}

// Range is a range of numbers of the inventory.
type Range struct {
	Country  string `json:"country"`
	AreaCode string `json:"areaCode,omitempty"`
	Range    string `json:"range"` // "+14255550000-+14255550999"
	Type     string `json:"type"`  // user | service
}

// Problem is one thing wrong in a Config; Path uses the configuration's
// keys ("carriers[1].address").
type Problem struct {
	Path    string
	Message string
}

// Validate returns every problem of c, in order.
func (c Config) Validate() []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	sold := map[string]bool{}
	for i, cc := range c.Countries {
		if !knownRegion(cc) {
			add(fmt.Sprintf("countries[%d]", i), "%q is not an ISO 3166 country libphonenumber knows", cc)
		}
		sold[cc] = true
	}
	names := map[string]bool{}
	for i, cr := range c.Carriers {
		p := fmt.Sprintf("carriers[%d]", i)
		switch {
		case cr.Name == "":
			add(p+".name", "must not be empty")
		case strings.ContainsAny(cr.Name, "/ \t"):
			add(p+".name", "%q must not contain '/' or spaces", cr.Name)
		case names[cr.Name]:
			add(p+".name", "%q is already the name of another carrier", cr.Name)
		}
		names[cr.Name] = true
		if msg := checkAddress(cr.Address); msg != "" {
			add(p+".address", "%s", msg)
		}
		switch cr.Transport {
		case "", "udp", "tcp", "tls":
		default:
			add(p+".transport", "%q is not udp, tcp or tls", cr.Transport)
		}
		if len(cr.Countries) == 0 {
			add(p+".countries", "must name at least one country")
		}
		for j, cc := range cr.Countries {
			if !knownRegion(cc) {
				add(fmt.Sprintf("%s.countries[%d]", p, j), "%q is not an ISO 3166 country libphonenumber knows", cc)
			}
		}
		if cr.Priority < 0 {
			add(p+".priority", "must not be negative")
		}
	}
	for _, cc := range sortedKeys(c.Plans) {
		p := "plans." + cc
		if !sold[cc] {
			add(p, "%s is not in countries: plans are only offered where the Calling Plan is sold", cc)
		}
		for _, a := range []struct {
			name string
			a    *Allowance
		}{{Domestic, c.Plans[cc].Domestic}, {DomesticAndInternational, c.Plans[cc].DomesticAndInternational},
			{PayAsYouGo, c.Plans[cc].PayAsYouGo}} {
			if a.a == nil {
				continue
			}
			if a.a.DomesticMinutes < 0 {
				add(p+"."+a.name+".domesticMinutes", "must not be negative")
			}
			if a.a.InternationalMinutes < 0 {
				add(p+"."+a.name+".internationalMinutes", "must not be negative")
			}
			if a.name != DomesticAndInternational && a.a.InternationalMinutes > 0 {
				add(p+"."+a.name+".internationalMinutes", "only DomesticAndInternational includes international minutes")
			}
			if a.name == PayAsYouGo && a.a.DomesticMinutes > 0 {
				add(p+"."+a.name+".domesticMinutes", "PayAsYouGo includes no minutes (calls are paid by credits)")
			}
		}
	}
	prefixes := map[string]bool{}
	for i, r := range c.Rates {
		p := fmt.Sprintf("rates[%d]", i)
		if !validPrefix(r.Prefix) {
			add(p+".prefix", "%q is not \"+\" followed by 1 to 15 digits", r.Prefix)
		} else if prefixes[r.Prefix] {
			add(p+".prefix", "%q has another rate already", r.Prefix)
		}
		prefixes[r.Prefix] = true
		if r.PerMinute < 0 {
			add(p+".perMinute", "must not be negative")
		}
	}
	var parsed []span
	for i, r := range c.Inventory {
		p := fmt.Sprintf("numberInventory[%d]", i)
		if !knownRegion(r.Country) {
			add(p+".country", "%q is not an ISO 3166 country libphonenumber knows", r.Country)
		}
		switch r.Type {
		case TypeUser, TypeService:
		default:
			add(p+".type", "%q is not user or service", r.Type)
		}
		s, err := parseSpan(r.Range)
		if err != nil {
			add(p+".range", "%v", err)
			continue
		}
		if r.AreaCode != "" && !strings.HasPrefix(s.lo, "+"+fmt.Sprint(phonenumbers.GetCountryCodeForRegion(r.Country))+r.AreaCode) {
			add(p+".areaCode", "%q: the range %s is not in that area code of %s", r.AreaCode, r.Range, r.Country)
		}
		for j, o := range parsed {
			if o.overlaps(s) {
				add(p+".range", "overlaps numberInventory[%d]", j)
				break
			}
		}
		parsed = append(parsed, s)
	}
	if c.Quarantine < 0 {
		add("quarantineDays", "must not be negative")
	}
	if c.Minute < 0 {
		add("testMinuteSeconds", "must not be negative")
	}
	return ps
}

func knownRegion(cc string) bool {
	return cc != "" && cc == strings.ToUpper(cc) && phonenumbers.GetCountryCodeForRegion(cc) != 0
}

func validPrefix(p string) bool {
	if len(p) < 2 || len(p) > 16 || p[0] != '+' {
		return false
	}
	return digits(p[1:])
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// checkAddress accepts host:port with a port of 1–65535.
func checkAddress(s string) string {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return fmt.Sprintf("%q is not HOST:PORT", s)
	}
	port := s[i+1:]
	n := 0
	for _, r := range port {
		if r < '0' || r > '9' {
			return fmt.Sprintf("port %q must be a number from 1 to 65535", port)
		}
		n = n*10 + int(r-'0')
		if n > 65535 {
			break
		}
	}
	if n < 1 || n > 65535 {
		return fmt.Sprintf("port %q must be a number from 1 to 65535", port)
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// carriersFor returns the carriers serving region, by priority then name.
func carriersFor(all []Carrier, region string) []Carrier {
	var out []Carrier
	for _, c := range all {
		if slices.Contains(c.Countries, region) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Carrier) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Name, b.Name))
	})
	return out
}
