package app

import (
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func TestInternationalVelocity(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	v := newVelocity(3, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	alice := &pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", UsageLocation: "US"}
	intl := callctl.Route{Kind: callctl.KindPSTN, Number: "+442071234567"}
	domestic := callctl.Route{Kind: callctl.KindPSTN, Number: "+14255551234"}
	emergency := callctl.Route{Kind: callctl.KindEmergency, Number: "911"}
	for i := range 3 {
		if r := v.check(alice, intl); r.Kind != callctl.KindPSTN {
			t.Fatalf("call %d refused", i)
		}
	}
	if r := v.check(alice, intl); r.Kind != callctl.KindRejected || r.Code != 403 {
		t.Fatalf("4th international call: %+v", r)
	}
	if r := v.check(alice, domestic); r.Kind != callctl.KindPSTN {
		t.Fatal("domestic call refused by the international limit")
	}
	if r := v.check(alice, emergency); r.Kind != callctl.KindEmergency {
		t.Fatal("emergency call refused")
	}
	bob := &pbx.User{Tenant: "fabrikam", SIPAddress: "bob@fabrikam.com", UsageLocation: "US"}
	if r := v.check(bob, intl); r.Kind != callctl.KindPSTN {
		t.Fatal("another tenant limited")
	}
	now = now.Add(time.Hour)
	if r := v.check(alice, intl); r.Kind != callctl.KindPSTN {
		t.Fatal("limit not lifted after the window")
	}
	if international(&pbx.User{}, "+442071234567") || !international(alice, "+33123456789") ||
		international(alice, "+14165550100") { // Canada shares +1: not international by code
		t.Fatal("international classification")
	}
}

func TestDeniedPrefixes(t *testing.T) {
	tr := &tenantRouting{denied: []string{"+1900", "+881"}}
	cases := []struct {
		r    callctl.Route
		kind callctl.RouteKind
	}{
		{callctl.Route{Kind: callctl.KindPSTN, Number: "+19005551234"}, callctl.KindRejected},
		{callctl.Route{Kind: callctl.KindPSTN, Number: "+8816123"}, callctl.KindRejected},
		{callctl.Route{Kind: callctl.KindPSTN, Number: "+14255551234"}, callctl.KindPSTN},
		{callctl.Route{Kind: callctl.KindEmergency, Number: "+1900"}, callctl.KindEmergency},
	}
	for _, c := range cases {
		if got := tr.deny(c.r); got.Kind != c.kind {
			t.Errorf("%s: kind %v, want %v", c.r.Number, got.Kind, c.kind)
		}
	}
}
