package signaling

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Reading and setting headers without sipgo's name lookups.
//
// sipgo's GetHeader and GetHeaders, and the lazy getters behind Via(),
// ContentLength() and the like when the message has no such header yet,
// lowercase the name of every header of the message on every call: one
// allocation per header outside their short list of common names (Subject,
// Allow, Supported, Authorization, …). On a call that was ≈ 58 of the ≈ 515
// objects allocated (docs/performance.md, session 8). These helpers compare
// names with strings.EqualFold instead, which allocates nothing.

// message is a request or a response: sip.Message with its header list.
type message interface {
	sip.Message
	Headers() []sip.Header
}

// isNamed says whether h is called name or, when compact is not "", by its
// compact form (RFC 3261 §7.3.3).
func isNamed(h sip.Header, name, compact string) bool {
	n := h.Name()
	return sameName(n, name) || (compact != "" && sameName(n, compact))
}

// sameName says whether two header names are the same in any ASCII case.
// The length first: most comparisons end there. Header names are ASCII
// tokens (RFC 3261 §25.1), so a name that folds to ours only through
// Unicode (the Kelvin sign for K, ſ for s) is not ours.
func sameName(a, b string) bool { return len(a) == len(b) && strings.EqualFold(a, b) }

// headerNamed returns m's first header called name (any case), or nil.
func headerNamed(m message, name string) sip.Header {
	return headerIn(m.Headers(), name)
}

// headerIn returns the first of hs called name (any case), or nil.
func headerIn(hs []sip.Header, name string) sip.Header {
	return firstNamed(hs, name, "")
}

// firstNamed returns the first of hs called name or compact, or nil.
func firstNamed(hs []sip.Header, name, compact string) sip.Header {
	for _, h := range hs {
		if isNamed(h, name, compact) {
			return h
		}
	}
	return nil
}

// firstValue returns the value of m's first header called name or compact.
func firstValue(m message, name, compact string) (string, bool) {
	if h := firstNamed(m.Headers(), name, compact); h != nil {
		return h.Value(), true
	}
	return "", false
}

// hasHeader says whether m has a header called name or compact. (Not
// through firstValue: the Value of a parsed Via, From, … is written anew.)
func hasHeader(m message, name, compact string) bool {
	return firstNamed(m.Headers(), name, compact) != nil
}

// listHas says whether a comma-separated header value (Supported, Require,
// Allow, Accept, …) has an element equal to tag, case-insensitively.
func listHas(v, tag string) bool {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(strings.TrimSpace(t), tag) {
			return true
		}
	}
	return false
}

// setBody sets m's body and its Content-Length. sipgo's SetBody looks the
// Content-Length up by name, with the allocations above, when the message
// has none yet; a new message gets its Content-Length here first, at the
// place SetBody would have appended it.
func setBody(m message, body []byte) {
	if !hasHeader(m, "Content-Length", "l") {
		cl := sip.ContentLengthHeader(len(body))
		m.AppendHeader(&cl)
	}
	m.SetBody(body)
}
