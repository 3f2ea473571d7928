package signaling

import (
	"net"

	"github.com/emiago/sipgo/sip"
)

// responseTo is the response to a request we received (RFC 3261 §8.2.6),
// as sipgo's NewResponseFromRequest builds it — the same headers in the
// same order, rport and received filled in (RFC 3581 §4), a To-tag on all
// but a 100 — except that it shares the request's header objects where it
// leaves them as they are (Via, From, Call-ID, CSeq, Record-Route) instead
// of copying each: a response is serialized once and dropped, and the
// copies were a tenth of the bytes a call allocated (docs/performance.md).
// What the response changes gets a copy of its own: the top Via when
// rport is filled in, and To (with its parameters) when the tag is added.
// Neither the request nor the response may have a shared header changed
// afterwards; the handlers add headers, they never edit one in place.
func responseTo(req *sip.Request, code int, reason string) *sip.Response {
	return responseTagged(req, code, reason, "")
}

// responseTagged is responseTo with tag as the To-tag of a response other
// than 100 (the dialog's), unless the request's To has one; "" makes one.
func responseTagged(req *sip.Request, code int, reason, tag string) *sip.Response {
	res := sip.NewResponse(code, reason)
	res.SipVersion = req.SipVersion
	if copiesRecordRoute(req, code) {
		for _, h := range req.Headers() {
			if isNamed(h, "Record-Route", "") {
				res.AppendHeader(h)
			}
		}
	}
	eachVia(req, func(h sip.Header, rport *sip.ViaHeader) {
		if rport != nil {
			h = viaAnswered(rport, req.Source())
		}
		res.AppendHeader(h)
	})
	if h := req.From(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.To(); h != nil {
		if code > 100 {
			// A copy of its own (tagged later or not), its parameters
			// allocated once, with room for the tag.
			ps := append(make(sip.HeaderParams, 0, len(h.Params)+1), h.Params...)
			if !ps.Has("tag") {
				if tag == "" {
					tag = newTag()
				}
				ps = append(ps, sip.HeaderKV{K: "tag", V: tag})
			}
			h = &sip.ToHeader{DisplayName: h.DisplayName, Address: h.Address, Params: ps}
		}
		res.AppendHeader(h)
	}
	if h := req.CallID(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.CSeq(); h != nil {
		res.AppendHeader(h)
	}
	if code == 100 {
		if h := headerNamed(req, "Timestamp"); h != nil {
			res.AppendHeader(h)
		}
	}
	setBody(res, nil)
	res.SetTransport(req.Transport())
	res.SetDestination(req.Source())
	return res
}

// eachVia calls f with each Via of req in order; rport is the top one when
// it asked for rport (RFC 3581 §4: the response fills it in), else nil.
func eachVia(req *sip.Request, f func(h sip.Header, rport *sip.ViaHeader)) {
	top := true
	for _, h := range req.Headers() {
		if !isNamed(h, "Via", "v") {
			continue
		}
		var rport *sip.ViaHeader
		if top {
			top = false
			if v := req.Via(); v != nil {
				if p, ok := v.Params.Get("rport"); ok && p == "" {
					rport = v
				}
			}
		}
		f(h, rport)
	}
}

// viaAnswered is a copy of the top Via of a request that asked for rport
// (RFC 3581 §4), with rport and received filled in from its source
// ("host:port"): its parameters allocated once, in order, rport in place.
func viaAnswered(v *sip.ViaHeader, source string) *sip.ViaHeader {
	host, port, _ := net.SplitHostPort(source)
	ps := make(sip.HeaderParams, 0, len(v.Params)+1)
	for _, kv := range v.Params {
		if kv.K == "rport" {
			kv.V = port
		}
		ps = append(ps, kv)
	}
	c := *v
	c.Params = append(ps, sip.HeaderKV{K: "received", V: host})
	return &c
}
