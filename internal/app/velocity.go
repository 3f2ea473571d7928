package app

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// velocity is the per-tenant international velocity limit against toll
// fraud (Direct Routing and Calling Plan alike): more than limit
// international calls placed by a tenant within one hour are refused with
// 403 and logged as a security event. Emergency calls are never counted.
type velocity struct {
	limit int
	now   func() time.Time
	log   *slog.Logger

	mu    sync.Mutex
	calls map[string][]time.Time // tenant → admissions within the window
	alert map[string]bool        // tenant → alerted in the current burst
}

const velocityWindow = time.Hour

func newVelocity(limit int, now func() time.Time, log *slog.Logger) *velocity {
	return &velocity{limit: limit, now: now, log: log, calls: map[string][]time.Time{}, alert: map[string]bool{}}
}

// check turns an international PSTN route of caller into a rejection when
// the tenant is over its limit; other routes pass unchanged.
func (v *velocity) check(caller *pbx.User, r callctl.Route) callctl.Route {
	if v == nil || v.limit <= 0 || r.Kind != callctl.KindPSTN || !international(caller, r.Number) {
		return r
	}
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	recent := v.calls[caller.Tenant][:0]
	for _, t := range v.calls[caller.Tenant] {
		if now.Sub(t) < velocityWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= v.limit {
		v.calls[caller.Tenant] = recent
		if !v.alert[caller.Tenant] {
			v.alert[caller.Tenant] = true
			v.log.Warn("security event", "event", "international-velocity", "tenant", caller.Tenant,
				"user", caller.SIPAddress, "limit", v.limit, "window", velocityWindow)
		}
		return callctl.Route{Kind: callctl.KindRejected, Code: 403, Reason: "International Call Limit Reached"}
	}
	v.alert[caller.Tenant] = false
	v.calls[caller.Tenant] = append(recent, now)
	return r
}

// international reports whether number is in another country than the
// caller's usage location (unknown location or number: not international).
func international(caller *pbx.User, number string) bool {
	loc := strings.ToUpper(caller.UsageLocation)
	if loc == "" || !strings.HasPrefix(number, "+") {
		return false
	}
	n, err := phonenumbers.Parse(number, "")
	if err != nil {
		return false
	}
	return int(n.GetCountryCode()) != phonenumbers.GetCountryCodeForRegion(loc)
}
