package callctl

import "github.com/switchboard-pbx/switchboard/internal/pbx"

// Placer places calls on a hybrid node (cloud or edge, issue 6): a callee
// homed on another node is reached over the cloud–edge trunk (a TrunkTarget
// with Peer set), and a call a peer node relays to one of this node's
// gateways goes straight to it. It is optional; without it every user is
// local.
type Placer interface {
	// Place is asked for every new call once the target is known: callee
	// is the user the target names (nil if none). It returns the route to
	// use instead of the usual one (KindPSTN with the trunk legs, or
	// KindRejected) and true, or false to route the call as usual.
	Place(req InviteRequest, callee *pbx.User) (Route, bool)
}

// place asks the placer, if any.
func (e *Engine) place(req InviteRequest, callee *pbx.User) (Route, bool) {
	if e.placer == nil {
		return Route{}, false
	}
	return e.placer.Place(req, callee)
}
