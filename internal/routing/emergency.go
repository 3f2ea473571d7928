package routing

import "fmt"

// emergencyPolicy returns the caller's emergency routing policy, else the
// Global one, else nil. A policy the caller names that does not exist falls
// back to Global: an emergency call must not fail on a configuration slip.
func (x *decider) emergencyPolicy() *emergencyPolicy {
	if name := x.c.EmergencyRoutingPolicy; name != "" {
		if p, ok := x.t.emergency[name]; ok {
			return p
		}
		if x.explain {
			x.step("emergency routing policy %q does not exist: using %q", name, GlobalName)
		}
	}
	return x.t.emergency[GlobalName]
}

// emergency routes an emergency call: checked before the dial plan, never
// refused for licences or enterprise voice, sent through the emergency
// number's usage and then the caller's own routes.
func (x *decider) emergency(ep *emergencyPolicy, et emergencyTarget) Decision {
	x.d.Emergency = true
	x.d.Normalized = et.dialString
	x.d.Target, x.d.Via = TargetEmergency, ViaDirectRouting
	if x.explain {
		x.step("emergency number %q of emergency routing policy %q (checked before the dial plan; never refused for licences or limits)",
			et.dialString, ep.name)
	}
	var routes []RouteChoice
	if et.usage != "" {
		if u, rs := x.selectRoutes([]string{et.usage}, et.dialString, nil); u != "" {
			x.d.Usage, routes = u, rs
		}
	}
	if pol, _, why := x.policy(); pol != nil {
		if u, rs := x.selectRoutes(pol.usages, et.dialString, routes); u != "" {
			if x.d.Usage == "" {
				x.d.Usage = u
			}
			if x.explain {
				x.step("then the caller's own routes of usage %q", u)
			}
			routes = append(routes, rs...)
		}
	} else {
		if x.explain {
			x.step("no fallback to the caller's own routes: %s", why)
		}
	}
	if len(routes) == 0 {
		where := "the caller's voice routing policy"
		if et.usage != "" {
			where = fmt.Sprintf("usage %q nor in %s", et.usage, where)
		}
		return x.reject(CauseNoRoute, "emergency number %q: no route matches it in %s", et.dialString, where)
	}
	x.d.Routes = routes
	return x.finish()
}
