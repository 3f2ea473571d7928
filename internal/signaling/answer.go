package signaling

import (
	"bytes"
	"net"

	"github.com/emiago/sipgo/sip"
)

// answer is one response of ours to a request we received, built one of
// two ways behind one set of methods (ADR 0007, step 1b): written straight
// into the bytes that go on the wire when its transaction sends bytes
// (wireTx: the UDP front's non-INVITE transactions), else as a sipgo
// response (TCP, TLS, sipgo's transactions and the front's INVITE ones).
// A REGISTER's 401 and 200 built as sipgo objects were ≈ 20 allocations
// and ≈ 4 µs of a registration, their serialization 1.6 µs more.
//
// Handlers build every header through the same calls either way, so the
// two cannot say different things; TestAnswerWireMatchesSipgo holds them
// to the same bytes.
type answer struct {
	s     *Server
	tx    sip.ServerTransaction
	wire  wireTx // nil: res is built
	code  int
	stale bool          // a challenge with stale=true was written (the guard's failedChallenge)
	buf   *bytes.Buffer // wire: the response so far; sipgo: the header value being built
	res   *sip.Response
	name  string // sipgo: the header being built
}

// wireTx is a server transaction that sends a response written as bytes
// by an answer: code is its status, stale whether it carries a challenge
// with stale=true (the guard counts failed challenges), b the whole
// message. b is the caller's: the transaction copies what it keeps.
// wireTag is the To-tag to write into a response other than 100 to a
// request without one ("": a fresh one).
type wireTx interface {
	respondWire(code int, stale bool, b []byte) error
	wireTag() string
}

// wireOf returns tx as a wireTx, or nil when it takes sipgo responses
// only.
func wireOf(tx sip.ServerTransaction) wireTx {
	if w, ok := tx.(*watchedTx); ok {
		if _, ok := w.ServerTransaction.(wireTx); !ok {
			return nil
		}
	}
	t, _ := tx.(wireTx)
	return t
}

// answer starts the response to req (responseTo's headers); add headers,
// then send it. tx must not be nil.
func (s *Server) answer(req *sip.Request, tx sip.ServerTransaction, code int, reason string) answer {
	a := answer{s: s, tx: tx, wire: wireOf(tx), code: code}
	if a.wire != nil {
		tag := ""
		if to := req.To(); code > 100 && to != nil && !to.Params.Has("tag") {
			tag = a.wire.wireTag()
		}
		a.buf = s.bufs.take()
		writeResponseHead(a.buf, req, code, reason, tag)
		return a
	}
	a.res = responseTo(req, code, reason)
	return a
}

// header adds name: value.
func (a *answer) header(name, value string) {
	a.begin(name)
	a.buf.WriteString(value)
	a.end()
}

// sipHeader adds h as it is.
func (a *answer) sipHeader(h sip.Header) {
	if a.wire == nil {
		a.res.AppendHeader(h)
		return
	}
	writeHeaderLine(a.buf, h)
}

// begin starts a header called name whose value the caller writes into
// value(), then ends with end.
func (a *answer) begin(name string) {
	if a.wire != nil {
		a.buf.WriteString(name)
		a.buf.WriteString(": ")
		return
	}
	if a.buf == nil {
		a.buf = a.s.bufs.take()
	}
	a.buf.Reset()
	a.name = name
}

// value is where the value of the header begun is written.
func (a *answer) value() *bytes.Buffer { return a.buf }

func (a *answer) end() {
	if a.wire != nil {
		a.buf.WriteString("\r\n")
		return
	}
	a.res.AppendHeader(sip.NewHeader(a.name, a.buf.String()))
}

// send adds our Server header and sends the response; the answer is
// spent.
func (a *answer) send() {
	var err error
	if a.wire != nil {
		a.s.endResponse(a.buf)
		err = a.wire.respondWire(a.code, a.stale, a.buf.Bytes())
	} else {
		a.res.AppendHeader(a.s.fixed.server)
		err = a.tx.Respond(a.res)
	}
	if a.buf != nil {
		a.s.bufs.put(a.buf)
		a.buf = nil
	}
	if err != nil {
		a.s.log.Debug("respond", "err", err, "status", a.code)
	}
}

// endResponse ends a response written by writeResponseHead and its
// caller's headers: our Server header and the empty line.
func (s *Server) endResponse(b *bytes.Buffer) {
	b.WriteString("Server: ")
	b.WriteString(s.cfg.UserAgent)
	b.WriteString("\r\n\r\n")
}

// trying is our 100 Trying to req written, at its exact length (kept for
// retransmissions): s.response(req, 100, "Trying") without building it.
func (s *Server) trying(req *sip.Request) []byte {
	buf := s.bufs.take()
	writeResponseHead(buf, req, 100, "Trying", "")
	s.endResponse(buf)
	b := bytes.Clone(buf.Bytes())
	s.bufs.put(buf)
	return b
}

// writeResponseHead writes what responseTagged builds, as writeMessage
// writes it: the status line, then every header it copies or makes,
// Content-Length: 0 last, each line ended with CRLF. The caller adds its
// headers and the empty line.
func writeResponseHead(b *bytes.Buffer, req *sip.Request, code int, reason, tag string) {
	b.WriteString(req.SipVersion)
	b.WriteByte(' ')
	writeInt(b, code)
	b.WriteByte(' ')
	b.WriteString(reason)
	b.WriteString("\r\n")
	hs := req.Headers()
	if copiesRecordRoute(req, code) {
		for _, h := range hs {
			if isNamed(h, "Record-Route", "") {
				writeHeaderLine(b, h)
			}
		}
	}
	eachVia(req, func(h sip.Header, rport *sip.ViaHeader) {
		if rport != nil {
			writeViaAnswered(b, rport, req.Source())
			return
		}
		writeHeaderLine(b, h)
	})
	if h := req.From(); h != nil {
		writeHeaderLine(b, h)
	}
	if h := req.To(); h != nil {
		if code > 100 {
			b.WriteString("To: ")
			writeNameAddr(b, h.DisplayName, &h.Address, h.Params)
			if !h.Params.Has("tag") {
				if tag == "" {
					tag = newTag()
				}
				b.WriteString(";tag=")
				b.WriteString(tag)
			}
			b.WriteString("\r\n")
		} else {
			writeHeaderLine(b, h)
		}
	}
	if h := req.CallID(); h != nil {
		writeHeaderLine(b, h)
	}
	if h := req.CSeq(); h != nil {
		writeHeaderLine(b, h)
	}
	if code == 100 {
		if h := headerNamed(req, "Timestamp"); h != nil {
			writeHeaderLine(b, h)
		}
	}
	b.WriteString("Content-Length: 0\r\n")
}

// copiesRecordRoute says whether the response copies the request's
// Record-Route headers (RFC 3261 §20, Table 3; §12.1.1 for early-dialog
// responses).
func copiesRecordRoute(req *sip.Request, code int) bool {
	return req.Method != sip.REGISTER && !req.IsAck() &&
		((code >= 180 && code < 300) || (req.IsInvite() && code > 100 && code < 200))
}

// writeHeaderLine writes h as writeMessage does, then CRLF.
func writeHeaderLine(b *bytes.Buffer, h sip.Header) {
	b.WriteString(h.Name())
	b.WriteString(": ")
	writeHeaderValue(b, h)
	b.WriteString("\r\n")
}

// writeViaAnswered writes the Via viaAnswered makes of v, then CRLF.
func writeViaAnswered(b *bytes.Buffer, v *sip.ViaHeader, source string) {
	host, port, _ := net.SplitHostPort(source)
	var arr [8]sip.HeaderKV
	ps := arr[:0]
	for _, kv := range v.Params {
		if kv.K == "rport" {
			kv.V = port
		}
		ps = append(ps, kv)
	}
	ps = append(ps, sip.HeaderKV{K: "received", V: host})
	b.WriteString("Via: ")
	writeVia(b, v, ps)
	b.WriteString("\r\n")
}
