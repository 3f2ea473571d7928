package provision

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Kind describes one list of a tenant document: its document key (also
// its URL segment in the API), its singular, the field that names an object
// and the ways the CLI may spell it. Items are the typed list elements
// (a Gateway, a string for pstnUsages and domains...).
type Kind struct {
	Name     string   // document key: "pstnGateways"
	Singular string   // "pstnGateway"
	Key      string   // field that names an object: "fqdn"; "" for lists of strings
	Aliases  []string // other spellings accepted by the CLI, lowercase

	list   func(d *Document) ([]any, bool) // items, and whether the list is present
	set    func(d *Document, items []any)  // replaces the list (nil items: absent)
	nameOf func(item any) string
	decode func(data []byte) (any, error)
	newPtr func() any
	deref  func(p any) any
}

// Kinds returns every list kind of a tenant document, in document order.
// Tenant settings are not a list and not among them.
func Kinds() []Kind {
	return []Kind{
		newKind("domains", "domain", "", []string{"domain"},
			func(d *Document) *[]string { return &d.Domains }, func(s string) string { return s }),
		newKind("edges", "edge", "name", []string{"edge"},
			func(d *Document) *[]Edge { return &d.Edges }, func(e Edge) string { return e.Name }),
		newKind("pstnUsages", "pstnUsage", "", []string{"pstnusage", "usages", "usage"},
			func(d *Document) *[]string { return &d.PSTNUsages }, func(s string) string { return s }),
		newKind("translationRules", "translationRule", "name", []string{"translationrule", "trules"},
			func(d *Document) *[]TranslationRule { return &d.TranslationRules }, func(r TranslationRule) string { return r.Name }),
		newKind("pstnGateways", "pstnGateway", "fqdn", []string{"pstngateway", "gateways", "gateway", "gw", "sbcs", "sbc"},
			func(d *Document) *[]Gateway { return &d.PSTNGateways }, func(g Gateway) string { return g.FQDN }),
		newKind("voiceRoutes", "voiceRoute", "name", []string{"voiceroute", "routes", "route"},
			func(d *Document) *[]VoiceRoute { return &d.VoiceRoutes }, func(r VoiceRoute) string { return r.Name }),
		newKind("voiceRoutingPolicies", "voiceRoutingPolicy", "name", []string{"voiceroutingpolicy", "policies", "policy", "vrp"},
			func(d *Document) *[]VoiceRoutingPolicy { return &d.VoiceRoutingPolicies },
			func(p VoiceRoutingPolicy) string { return p.Name }),
		newKind("dialPlans", "dialPlan", "name", []string{"dialplan"},
			func(d *Document) *[]DialPlan { return &d.DialPlans }, func(p DialPlan) string { return p.Name }),
		newKind("callerIdPolicies", "callerIdPolicy", "name", []string{"calleridpolicy"},
			func(d *Document) *[]CallerIDPolicy { return &d.CallerIDPolicies }, func(p CallerIDPolicy) string { return p.Name }),
		newKind("emergencyRoutingPolicies", "emergencyRoutingPolicy", "name", []string{"emergencyroutingpolicy", "emergencypolicies", "emergencypolicy"},
			func(d *Document) *[]EmergencyRoutingPolicy { return &d.EmergencyRoutingPolicies },
			func(p EmergencyRoutingPolicy) string { return p.Name }),
		newKind("emergencyLocations", "emergencyLocation", "name", []string{"emergencylocation", "locations", "location"},
			func(d *Document) *[]EmergencyLocation { return &d.EmergencyLocations },
			func(l EmergencyLocation) string { return l.Name }),
		newKind("users", "user", "sipAddress", []string{"user"},
			func(d *Document) *[]UserSpec { return &d.Users }, func(u UserSpec) string { return u.SIPAddress }),
	}
}

// KindByName finds a kind by its name, singular or an alias, in any case.
func KindByName(s string) (Kind, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, k := range Kinds() {
		if s == strings.ToLower(k.Name) || s == strings.ToLower(k.Singular) || slices.Contains(k.Aliases, s) {
			return k, true
		}
	}
	return Kind{}, false
}

func newKind[T any](name, singular, key string, aliases []string, field func(*Document) *[]T, nameOf func(T) string) Kind {
	return Kind{
		Name: name, Singular: singular, Key: key, Aliases: aliases,
		list: func(d *Document) ([]any, bool) {
			l := *field(d)
			if l == nil {
				return nil, false
			}
			out := make([]any, len(l))
			for i, v := range l {
				out[i] = v
			}
			return out, true
		},
		set: func(d *Document, items []any) {
			if items == nil {
				*field(d) = nil
				return
			}
			l := make([]T, len(items))
			for i, v := range items {
				l[i] = v.(T)
			}
			*field(d) = l
		},
		nameOf: func(item any) string { return nameOf(item.(T)) },
		newPtr: func() any { return new(T) },
		deref:  func(p any) any { return *p.(*T) },
		decode: func(data []byte) (any, error) {
			var v T
			err := json.Unmarshal(data, &v)
			return v, err
		},
	}
}

// New returns a pointer to a zero item of the kind, to decode into.
func (k Kind) New() any { return k.newPtr() }

// Deref returns the item a pointer made by New points to.
func (k Kind) Deref(p any) any { return k.deref(p) }

// Items returns the kind's items of d (nil when the list is absent).
func (k Kind) Items(d Document) []any {
	items, _ := k.list(&d)
	return items
}

// NameOf returns the name of an item of the kind.
func (k Kind) NameOf(item any) string { return k.nameOf(item) }

// Document returns a document of tenant listing exactly items of this kind.
func (k Kind) Document(tenant string, items ...any) Document {
	d := Document{Tenant: tenant}
	if items == nil {
		items = []any{}
	}
	k.set(&d, items)
	return d
}

// Decode decodes one item of the kind from JSON (not strictly: the API
// checks unknown fields first).
func (k Kind) Decode(data []byte) (any, error) { return k.decode(data) }

// present reports whether d lists the kind.
func (k Kind) present(d Document) bool {
	_, ok := k.list(&d)
	return ok
}

// find returns the item of d named name.
func (k Kind) find(d Document, name string) (any, bool) {
	items, _ := k.list(&d)
	for _, it := range items {
		if k.nameOf(it) == name {
			return it, true
		}
	}
	return nil, false
}

// merge returns the list of the kind after applying in on top of cur: the
// items of in first, in order, then (unless prune) the items of cur that in
// does not name. A kind absent from in keeps cur's list.
func (k Kind) merge(out *Document, cur, in Document, prune bool) {
	inItems, ok := k.list(&in)
	curItems, _ := k.list(&cur)
	if !ok {
		k.set(out, curItems)
		return
	}
	merged := slices.Clone(inItems)
	if !prune {
		named := make(map[string]bool, len(inItems))
		for _, it := range inItems {
			named[k.nameOf(it)] = true
		}
		for _, it := range curItems {
			if !named[k.nameOf(it)] {
				merged = append(merged, it)
			}
		}
	}
	if merged == nil {
		merged = []any{}
	}
	k.set(out, merged)
}

// encode returns the stored JSON of an item; users never carry a password.
func encodeItem(item any) (json.RawMessage, error) {
	if u, ok := item.(UserSpec); ok {
		u.Password = ""
		item = u
	}
	b, err := json.Marshal(item)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", item, err)
	}
	return b, nil
}
