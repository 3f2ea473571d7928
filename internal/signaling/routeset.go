package signaling

import "github.com/emiago/sipgo/sip"

// Route sets (RFC 3261 §12.1): proxies that record-route a dialog (an SBC
// fronted by Kamailio, a carrier's load balancer) must see its in-dialog
// requests again, with their Route headers. Each leg keeps the route set
// of its dialog; its requests still go to the address the dialog's first
// message came from or went to (the nearest hop: the first Route, or the
// peer itself when there is none), as NAT traversal wants. Loose routing
// (;lr) is assumed: the Request-URI stays the remote target.

// recordRoutes returns the Record-Route URIs of m in order, or reversed
// (the UAC's view, from a 2xx).
func recordRoutes(m message, reversed bool) []sip.Uri {
	var out []sip.Uri
	for _, h := range m.Headers() {
		rr, ok := h.(*sip.RecordRouteHeader)
		if !ok {
			continue
		}
		out = append(out, *rr.Address.Clone())
	}
	if reversed {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// addRoutes writes the route set into r as Route headers.
func addRoutes(r *sip.Request, routes []sip.Uri) {
	for i := range routes {
		r.AppendHeader(&sip.RouteHeader{Address: *routes[i].Clone()})
	}
}
