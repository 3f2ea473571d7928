package signaling

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/registrar"
)

func (s *Server) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil || to.Address.User == "" {
		s.hook("error")
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	aor := aorOf(to.Address)
	user, ok := s.authenticate(req, tx, aor)
	if !ok {
		s.hook("challenge")
		return
	}
	if s.redirectRegister(req, tx, user) { // homed on another node (edge.go)
		return
	}
	r := registrar.Request{AOR: user.SIPAddress, Expires: -1, Source: req.Source(),
		Transport: transportName(req.Transport())}
	if cid := req.CallID(); cid != nil {
		r.CallID = string(*cid)
	}
	if cseq := req.CSeq(); cseq != nil {
		r.CSeq = cseq.SeqNo
	}
	if ua := headerNamed(req, "User-Agent"); ua != nil {
		r.UserAgent = ua.Value()
	}
	if h := headerNamed(req, "Expires"); h != nil {
		v, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || v < 0 {
			s.hook("error")
			s.respond(req, tx, 400, "Bad Request")
			return
		}
		r.Expires = v
	}
	for _, h := range req.Headers() {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		c := registrar.Contact{Expires: -1}
		if ch.Address.Wildcard {
			c.Star = true
		} else {
			c.URI = uriString(&ch.Address)
		}
		if v, ok := ch.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				s.hook("error")
				s.respond(req, tx, 400, "Bad Request")
				return
			}
			c.Expires = n
		}
		if v, ok := ch.Params.Get("+sip.instance"); ok {
			c.Instance = strings.Trim(v, `"`)
		}
		r.Contacts = append(r.Contacts, c)
	}
	// No deadline: the registrar's store is write-behind (store.BindingWriter)
	// and returns at once; a context with a timer cost four allocations.
	bindings, err := s.deps.Registrar.Register(context.Background(), r)
	if err != nil {
		code, reason, hdrs := registerStatus(err)
		s.hook("error")
		s.respond(req, tx, code, reason, hdrs...)
		return
	}
	s.hook("ok")
	a := s.answer(req, tx, 200, "OK")
	now := time.Now()
	for _, b := range bindings {
		secs := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		if secs < 0 {
			secs = 0
		}
		a.begin("Contact")
		v := a.value()
		v.WriteByte('<')
		v.WriteString(b.Contact)
		v.WriteString(">;expires=")
		writeInt(v, secs)
		a.end()
	}
	a.sipHeader(s.dateHeader(now))
	a.send()
}

// dateHeader is the Date header of a 200 to a REGISTER (RFC 3261 §10.3
// step 8, §20.17), formatted once a second and shared by the responses of
// that second (no header is changed in place once in a message).
type dateHeader struct {
	sec int64
	h   sip.Header
}

// sipDate is RFC 3261's SIP-date: an RFC 1123 date, always in "GMT"
// (time.RFC1123 would write the zone's name, "UTC").
const sipDate = "Mon, 02 Jan 2006 15:04:05 GMT"

func (s *Server) dateHeader(now time.Time) sip.Header {
	sec := now.Unix()
	if d := s.date.Load(); d != nil && d.sec == sec {
		return d.h
	}
	d := &dateHeader{sec: sec, h: sip.NewHeader("Date", now.UTC().Format(sipDate))}
	s.date.Store(d)
	return d.h
}

func (s *Server) hook(outcome string) {
	if s.deps.Hooks.Register != nil {
		s.deps.Hooks.Register(outcome)
	}
}

// registerStatus is the table from registrar errors to SIP responses.
func registerStatus(err error) (int, string, []sip.Header) {
	var brief *registrar.IntervalTooBriefError
	switch {
	case errors.As(err, &brief):
		return 423, "Interval Too Brief", []sip.Header{
			sip.NewHeader("Min-Expires", strconv.Itoa(int(brief.Min/time.Second)))}
	case errors.Is(err, registrar.ErrBadRequest):
		return 400, "Bad Request", nil
	case errors.Is(err, registrar.ErrOutOfOrder):
		return 500, "Server Internal Error", []sip.Header{sip.NewHeader("Retry-After", "1")}
	default:
		return 500, "Server Internal Error", nil
	}
}

// transportName is a transport in lower case ("udp", "tcp", "tls"), as
// bindings keep it, without allocating for sipgo's upper-case names.
func transportName(t string) string {
	switch t {
	case "UDP":
		return "udp"
	case "TCP":
		return "tcp"
	case "TLS":
		return "tls"
	}
	return strings.ToLower(t)
}

// uriString is u.String() (the same bytes: wirewrite.go) in one
// allocation instead of sipgo's three.
func uriString(u *sip.Uri) string {
	var arr [256]byte
	b := bytes.NewBuffer(arr[:0])
	writeURI(b, u)
	return b.String()
}
