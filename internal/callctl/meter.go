package callctl

import (
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// CallRouter is a Router that also takes the caller leg's Call-ID, to key
// per-call state such as a Calling Plan reservation that the call's CDR
// settles. The engine prefers it when the Router implements it.
type CallRouter interface {
	RouteCall(callID string, caller *pbx.User, dialed string) Route
}

// routeCall asks the router where the call goes.
func (e *Engine) routeCall(req InviteRequest) Route {
	if cr, ok := e.router.(CallRouter); ok {
		return cr.RouteCall(req.CallID, req.Caller, req.Target)
	}
	return e.router.Route(req.Caller, req.Target)
}

// renew asks the route's meter for more time: at answer, then each time the
// time granted runs out. When none is granted (prepaid credit exhausted)
// the call is released as by MaxDuration.
func (c *call) renew() {
	if c.ended || !c.answered {
		return
	}
	d := c.grant()
	if d <= 0 {
		c.limitReached()
		return
	}
	c.timer = time.AfterFunc(d, func() { c.post(c.renew) })
}
