// Package hybrid is the domain of the cloud–edge deployment (PRODUCT.md §1
// topology 3, §5): one SIP domain split between the cloud ("online") and
// edge nodes on customer sites. It decides where a user is homed, where a
// call to them goes from a given node, where their phone must register, when
// an edge runs on its own (survivable), what the cloud shows of each edge,
// and what an edge's configuration snapshot is.
//
// It does no I/O: the composition root (internal/app) feeds it the clock,
// the directory and the results of the sync and trunk probes, and turns its
// answers into SIP and HTTP through the adapters.
package hybrid

import (
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Online is the home of users served by the cloud (a user's home is
// "online" or the name of an edge of the tenant).
const Online = "online"

// Vias written into CDRs (pbx.CDR.Via) of calls that left a node over the
// cloud–edge trunk.
const (
	ViaEdge  = "edge"  // the cloud sent the call to an edge
	ViaCloud = "cloud" // an edge sent the call to the cloud
)

// Mode is how an edge currently works.
type Mode string

// Modes of a node. An edge starts connecting, is connected while it reaches
// the cloud and survivable when it has not for LossAfter.
const (
	ModeConnecting Mode = "connecting"
	ModeConnected  Mode = "connected"
	ModeSurvivable Mode = "survivable"
	// ModeCloud is the mode of a node without a cloud section that serves
	// edges; ModeStandalone one that serves none (topology 4, or a plain
	// cloud node).
	ModeCloud      Mode = "cloud"
	ModeStandalone Mode = "standalone"
)

// Home returns the node a user is homed on: Online or an edge name.
func Home(u *pbx.User) string {
	if u == nil {
		return Online
	}
	h := strings.TrimSpace(u.Home)
	if h == "" || strings.EqualFold(h, Online) {
		return Online
	}
	return h
}

// Node is one node of a deployment as placement sees it.
type Node struct {
	// Self is Online for the cloud (or a standalone node), else this edge's name.
	Self string
	// Mode matters on an edge: survivable changes registrations and calls.
	Mode Mode
}

// IsEdge says whether the node is an edge.
func (n Node) IsEdge() bool { return n.Self != "" && n.Self != Online }

// Placement is where a call to a user goes from a node.
type Placement struct {
	// Local: deliver to the user's devices registered here.
	Local bool
	// Peer is the node to send the call to over the trunk (an edge name,
	// or Online for the cloud) when not Local and Reject is 0.
	Peer string
	// Reject is the SIP status to answer when the user's home cannot be
	// reached (an edge in survivable mode, with no fallback registration).
	Reject int
}

// PlaceUser decides where a call to a user homed on home goes from n.
// fromPeer names the node the call came from over the trunk ("" when it
// came from a phone or an SBC of this node): a call is never sent back to
// the node it came from, so two nodes whose directories briefly disagree
// (during a move) cannot loop a call. hasLocal says whether the user has a
// registration on this node (a fallback registration at a survivable edge).
func (n Node) PlaceUser(home, fromPeer string, hasLocal func() bool) Placement {
	if home == "" {
		home = Online
	}
	if home == n.Self {
		return Placement{Local: true}
	}
	if n.IsEdge() {
		if fromPeer != "" {
			return Placement{Local: true} // the cloud sent it here: deliver or fail here
		}
		if n.Mode == ModeSurvivable {
			if hasLocal != nil && hasLocal() {
				return Placement{Local: true}
			}
			return Placement{Reject: 480}
		}
		// Users of the cloud and of other edges are all reached through
		// the cloud (hub and spokes).
		return Placement{Peer: Online}
	}
	// The cloud: the user is homed on an edge.
	if fromPeer == home {
		return Placement{Local: true}
	}
	return Placement{Peer: home}
}

// RegisterAt says where a user homed on home must register when their
// phone registers at n: "" means here; otherwise the node to redirect the
// phone to. A survivable edge accepts every user of its tenant (fallback
// registration of cloud users at the site).
func (n Node) RegisterAt(home string) string {
	if home == "" {
		home = Online
	}
	if home == n.Self {
		return ""
	}
	if n.IsEdge() && n.Mode == ModeSurvivable {
		return ""
	}
	return home
}

// Keeps says whether a registration of a user homed on home stays on n
// after a configuration change (a move makes the old home drop it).
func (n Node) Keeps(home string) bool { return n.RegisterAt(home) == "" }

// Uploadable says whether an edge uploads a CDR to the cloud: the cloud
// records the calls that crossed the trunk itself, so only calls that never
// reached it (local calls, the local SBC, everything while survivable) are
// uploaded. via is the CDR's via, fromCloud whether the call came from the
// cloud over the trunk.
func Uploadable(via string, fromCloud bool) bool {
	return !fromCloud && via != ViaCloud
}
