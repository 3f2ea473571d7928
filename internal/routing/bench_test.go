package routing

import "testing"

// The hot path: a compiled table, no per-call compilation.

func BenchmarkNormalize(b *testing.B) {
	tbl := compileFixture(b, contoso(), 1)
	cs := callers()
	for _, bc := range []struct{ name, caller, dial string }{
		{"e164", "alice", "+1 (425) 555-0123"},
		{"dialPlanRule", "redmond", "9 555 0142"},
		{"dotnetRule", "redmond", "84255550177"},
		{"countryNational", "alice", "(206) 555-0100"},
		{"countryInternational", "london", "00 49 30 1234 5678"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := cs[bc.caller]
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tbl.Normalize(c, bc.dial); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRoute(b *testing.B) {
	tbl := compileFixture(b, contoso(), 1)
	cs := callers()
	health := func(fqdn string) Status {
		if fqdn == sbc2 {
			return Demoted
		}
		return Active
	}
	for _, bc := range []struct{ name, caller, dial string }{
		{"e164Local", "alice", "+14255550123"},
		{"lookaheadRoute", "alice", "+12065550100"},
		{"countryNational", "alice", "(206) 555-0100"},
		{"extensionToUser", "alice", "1002"},
		{"emergency", "alice", "911"},
		{"noRoute", "alice", "+442079460000"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := cs[bc.caller]
			b.ReportAllocs()
			for b.Loop() {
				if d := tbl.Route(c, bc.dial, health); d.Target == "" {
					b.Fatal("no target")
				}
			}
		})
	}
}
