package routing

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// countryRules are the built-in normalisation rules of one country (the
// caller's usageLocation), derived from libphonenumber metadata:
//
//  1. "<CC> international (<idd>)": the international prefix (011 in the US,
//     00 in GB, DE and FR) followed by a number → "+" and that number;
//  2. "<CC> national (trunk prefix <p>)": the national (trunk) prefix (1 in
//     the US, 0 in GB, DE and FR) followed by a national number → E.164;
//  3. "<CC> national": a national number without the trunk prefix → E.164,
//     only where that is how numbers are dialled (countries without a trunk
//     prefix, and the North American Numbering Plan where the 1 is optional).
//
// A rule matches only when the result is a possible number (libphonenumber's
// IsPossibleNumber, not merely "possible locally") whose national number has
// the shape of the country's numbers (its general description), so a
// subscriber number without its area code is left alone.
type countryRules struct {
	region string
	cc     int32
	meta   *phonenumbers.PhoneMetadata
	rules  []countryRule
}

type countryRule struct {
	name string
	re   *regexp.Regexp
	kind int
}

const (
	ruleInternational = iota // re's group 1 is the number after the international prefix
	ruleNational             // re only gates; libphonenumber parses the national form
)

// metaIndex is libphonenumber's territory metadata by region and by country
// calling code (the main country of a shared code, e.g. US for +1).
type metaIndex struct {
	byRegion map[string]*phonenumbers.PhoneMetadata
	byCode   map[int32]*phonenumbers.PhoneMetadata
}

func buildMetaIndex() *metaIndex {
	idx := &metaIndex{
		byRegion: map[string]*phonenumbers.PhoneMetadata{},
		byCode:   map[int32]*phonenumbers.PhoneMetadata{},
	}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return idx // the embedded metadata always decodes; no country rules otherwise
	}
	for _, md := range coll.GetMetadata() {
		if id := md.GetId(); len(id) == 2 {
			idx.byRegion[id] = md
		}
		cc := md.GetCountryCode()
		if _, ok := idx.byCode[cc]; !ok || md.GetMainCountryForCode() {
			idx.byCode[cc] = md
		}
	}
	return idx
}

// countryCache builds each country's rules once per Table, on first use.
type countryCache struct {
	index   func() *metaIndex
	regions sync.Map // region → *countryRules (nil for an unknown region)
}

func newCountryCache() *countryCache {
	return &countryCache{index: sync.OnceValue(buildMetaIndex)}
}

// rules returns the rules of an ISO 3166 region ("US", "gb"), or nil.
func (c *countryCache) rules(region string) *countryRules {
	if len(region) != 2 {
		return nil
	}
	region = strings.ToUpper(region)
	if v, ok := c.regions.Load(region); ok {
		return v.(*countryRules)
	}
	cr := c.build(region)
	c.regions.Store(region, cr)
	return cr
}

func (c *countryCache) build(region string) *countryRules {
	md := c.index().byRegion[region]
	if md == nil {
		return nil
	}
	id := md.GetId()
	cr := &countryRules{region: id, cc: md.GetCountryCode(), meta: md}
	if ip := md.GetInternationalPrefix(); ip != "" {
		shown := md.GetPreferredInternationalPrefix()
		if shown == "" {
			shown = ip
		}
		if re, err := regexp.Compile(`^(?:` + ip + `)([1-9][0-9]*)$`); err == nil {
			cr.rules = append(cr.rules, countryRule{name: id + " international (" + shown + ")", re: re, kind: ruleInternational})
		}
	}
	np := md.GetNationalPrefix()
	if np != "" {
		if re, err := regexp.Compile(`^` + regexp.QuoteMeta(np) + `[0-9]+$`); err == nil {
			cr.rules = append(cr.rules, countryRule{name: id + " national (trunk prefix " + np + ")", re: re, kind: ruleNational})
		}
	}
	if np == "" || phonenumbers.IsNANPACountry(id) {
		cr.rules = append(cr.rules, countryRule{name: id + " national", re: regexp.MustCompile(`^[0-9]+$`), kind: ruleNational})
	}
	return cr
}

// apply returns the E.164 form of s by the first country rule that matches.
func (c *countryCache) apply(cr *countryRules, s string) (out, rule string, ok bool) {
	for _, r := range cr.rules {
		if !r.re.MatchString(s) {
			continue
		}
		var num phonenumbers.PhoneNumber
		var desc *phonenumbers.PhoneNumberDesc
		if r.kind == ruleInternational {
			loc := r.re.FindStringSubmatchIndex(s)
			if phonenumbers.ParseToNumber("+"+s[loc[2]:loc[3]], "", &num) != nil {
				continue
			}
			if md := c.index().byCode[num.GetCountryCode()]; md != nil {
				desc = md.GetGeneralDesc()
			}
		} else {
			if phonenumbers.ParseToNumber(s, cr.region, &num) != nil || num.GetCountryCode() != cr.cc {
				continue
			}
			desc = cr.meta.GetGeneralDesc()
		}
		if e164, ok := possible(&num, desc); ok {
			return e164, r.name, true
		}
	}
	return "", "", false
}

// possible returns the E.164 form of num when it is a possible number (not
// only locally) whose national number fits desc.
func possible(num *phonenumbers.PhoneNumber, desc *phonenumbers.PhoneNumberDesc) (string, bool) {
	if phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
		return "", false
	}
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	if desc != nil && desc.GetNationalNumberPattern() != "" && !phonenumbers.MatchNationalNumber(nsn, desc, false) {
		return "", false
	}
	return "+" + strconv.Itoa(int(num.GetCountryCode())) + nsn, true
}
