package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/cli/yamldoc"

	"github.com/switchboard-pbx/switchboard/internal/numbering"
)

// CallingPlan is the operator's Calling Plan, the callingPlan section of the
// server configuration (docs/calling-plan.md). Its keys are a contract.
type CallingPlan struct {
	// Countries where the Calling Plan is sold (ISO 3166 alpha-2).
	Countries []string `yaml:"countries" json:"countries"`
	// Carriers are the upstream carrier trunks.
	Carriers []CarrierConfig `yaml:"carriers" json:"carriers"`
	// Plans are per country: the licences offered there and their monthly
	// minutes per user.
	Plans map[string]PlansConfig `yaml:"plans" json:"plans"`
	// Rates are per destination prefix and minute, for Communications Credits.
	Rates []RateConfig `yaml:"rates" json:"rates"`
	// NumberInventory lists the number ranges tenants acquire numbers from.
	NumberInventory []RangeConfig `yaml:"numberInventory" json:"numberInventory"`
	// QuarantineDays a released number waits before reuse (default 30).
	QuarantineDays int `yaml:"quarantineDays" json:"quarantineDays,omitempty"`
	// TestMinuteSeconds shortens the billed minute, for tests only: the
	// acceptance tests of minutes and credits would otherwise run for
	// minutes each. 0 (the default) is a real minute; the server warns at
	// start when it is set.
	TestMinuteSeconds int `yaml:"testMinuteSeconds" json:"testMinuteSeconds,omitempty"`
}

// CarrierConfig is one carrier trunk.
type CarrierConfig struct {
	Name      string   `yaml:"name" json:"name"`
	Address   string   `yaml:"address" json:"address"`     // HOST:PORT
	Transport string   `yaml:"transport" json:"transport"` // udp (default) | tcp | tls
	Countries []string `yaml:"countries" json:"countries"` // destination countries it serves
	Priority  int      `yaml:"priority" json:"priority"`   // lower first
}

// PlansConfig are the licences offered in one country; absent means not
// offered.
type PlansConfig struct {
	Domestic                 *AllowanceConfig `yaml:"Domestic" json:"Domestic,omitempty"`
	DomesticAndInternational *AllowanceConfig `yaml:"DomesticAndInternational" json:"DomesticAndInternational,omitempty"`
	PayAsYouGo               *AllowanceConfig `yaml:"PayAsYouGo" json:"PayAsYouGo,omitempty"`
}

// AllowanceConfig is the monthly minutes one licence adds to its pools.
type AllowanceConfig struct {
	DomesticMinutes      int `yaml:"domesticMinutes" json:"domesticMinutes"`
	InternationalMinutes int `yaml:"internationalMinutes" json:"internationalMinutes"`
}

// RateConfig is the price per minute of calls to a prefix.
type RateConfig struct {
	Prefix    string  `yaml:"prefix" json:"prefix"` // "+44"
	PerMinute float64 `yaml:"perMinute" json:"perMinute"`
}

// RangeConfig is a range of the number inventory.
type RangeConfig struct {
	Country  string `yaml:"country" json:"country"`
	AreaCode string `yaml:"areaCode" json:"areaCode,omitempty"`
	Range    string `yaml:"range" json:"range"` // "+14255550000-+14255550999"
	Type     string `yaml:"type" json:"type"`   // user | service
}

// Numbering converts the section for the numbering package, with every
// problem found (paths relative to the section).
func (cp CallingPlan) Numbering() (numbering.Config, []numbering.Problem) {
	c := numbering.Config{Countries: cp.Countries, Plans: map[string]numbering.Plans{},
		Quarantine: time.Duration(cp.QuarantineDays) * 24 * time.Hour,
		Minute:     time.Duration(cp.TestMinuteSeconds) * time.Second}
	var ps []numbering.Problem
	for _, cr := range cp.Carriers {
		tp := cr.Transport
		if tp == "" {
			tp = "udp"
		}
		c.Carriers = append(c.Carriers, numbering.Carrier{Name: cr.Name, Address: cr.Address, Transport: tp,
			Countries: cr.Countries, Priority: cr.Priority})
	}
	for cc, p := range cp.Plans {
		c.Plans[cc] = numbering.Plans{Domestic: p.Domestic.allowance(),
			DomesticAndInternational: p.DomesticAndInternational.allowance(), PayAsYouGo: p.PayAsYouGo.allowance()}
	}
	for i, r := range cp.Rates {
		m, err := numbering.MoneyFromFloat(r.PerMinute)
		if err != nil {
			ps = append(ps, numbering.Problem{Path: fmt.Sprintf("rates[%d].perMinute", i), Message: err.Error()})
		}
		c.Rates = append(c.Rates, numbering.Rate{Prefix: r.Prefix, PerMinute: m})
	}
	for _, r := range cp.NumberInventory {
		c.Inventory = append(c.Inventory, numbering.Range{Country: r.Country, AreaCode: r.AreaCode, Range: r.Range,
			Type: r.Type})
	}
	return c, append(ps, c.Validate()...)
}

func (a *AllowanceConfig) allowance() *numbering.Allowance {
	if a == nil {
		return nil
	}
	return &numbering.Allowance{DomesticMinutes: a.DomesticMinutes, InternationalMinutes: a.InternationalMinutes}
}

// LocateCallingPlan formats problems of the callingPlan section of the
// config file at path as "FILE:LINE: callingPlan.PATH: message", one error
// per problem (joined), for problems found after Load (a hot reload that
// the live state refuses). The line is 0 (left out) when the file cannot
// be read again.
func LocateCallingPlan(path string, problems []numbering.Problem) error {
	var doc *yamldoc.Doc
	if data, err := os.ReadFile(path); err == nil {
		if docs, perr := yamldoc.Parse(data); perr == nil && len(docs) == 1 {
			var c Config
			_ = docs[0].Decode(&c) // records the lines of the fields
			doc = docs[0]
		}
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		full := "callingPlan." + p.Path
		line := 0
		if doc != nil {
			line = doc.LineOf(full)
		}
		errs[i] = errors.New(yamldoc.Problem{Line: line, Path: full, Message: p.Message}.Format(path))
	}
	return errors.Join(errs...)
}

// RestartKeys lists the keys whose value differs between the running
// configuration and next, apart from callingPlan (hot-reloadable, see
// numbering.Service.Reconfigure): they only take effect after a restart.
// Values are never part of the answer (adminToken is a secret).
func RestartKeys(running, next Config) []string {
	flat := func(c Config) map[string]string {
		c.CallingPlan = nil
		b, _ := json.Marshal(c) // plain strings and structs: never fails
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		out := map[string]string{}
		for k, v := range m {
			out[k] = string(v)
		}
		return out
	}
	a, b := flat(running), flat(next)
	var keys []string
	for k, v := range b {
		if a[k] != v {
			keys = append(keys, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	if (running.CallingPlan == nil) != (next.CallingPlan == nil) {
		keys = append(keys, "callingPlan")
	}
	slices.Sort(keys)
	return keys
}
