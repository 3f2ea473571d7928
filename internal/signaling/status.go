package signaling

import "strconv"

// reasons is the one table of SIP status codes to reason phrases used for
// the responses we generate.
var reasons = map[int]string{
	100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 407: "Proxy Authentication Required", 408: "Request Timeout",
	415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
	423: "Interval Too Brief", 480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
	483: "Too Many Hops", 486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
	491: "Request Pending", 500: "Server Internal Error", 501: "Not Implemented",
	503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
	600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
}

func reasonFor(code int) string {
	if r, ok := reasons[code]; ok {
		return r
	}
	return "Status " + strconv.Itoa(code)
}

func atoiSafe(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
