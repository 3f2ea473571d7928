package signaling

import (
	"bytes"
	"context"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// The requests we send on the call path go through these three: over UDP,
// with the front up and an IP destination, as our own client transactions
// (udpclient.go); otherwise (TCP, TLS, a name to resolve) through sipgo's
// client as before. A request is built once — our Via added when it has
// none, then sipgo's defaults for what else is missing — and sent as built:
// a request that already has a Via (a CANCEL copies its INVITE's, an ACK
// resent) is sent exactly as it is.

// overFront says whether r goes out through the UDP front's own
// transactions, and where to.
func (s *Server) overFront(r *sip.Request) (*udpClients, netip.AddrPort, bool) {
	if !strings.EqualFold(r.Transport(), "UDP") {
		return nil, netip.AddrPort{}, false
	}
	c := s.clients.Load() // not s.mu: Close holds it while the front's readers, which may be sending an ACK, finish
	if c == nil {
		return nil, netip.AddrPort{}, false
	}
	to, ok := udpDestination(r)
	return c, to, ok
}

// prepare completes r once: a Via when it has none (ours when it leaves
// through the front, where sipgo will not fill in the sent-by), then the
// mandatory headers it lacks. A request with a Via is left as built.
func (s *Server) prepare(r *sip.Request, front bool) {
	if hasHeader(r, "Via", "v") {
		return
	}
	if front {
		via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP",
			Host: s.host, Port: s.port, Params: sip.NewParams()}
		via.Params.Add("branch", newBranch())
		via.Params.Add("rport", "")
		r.PrependHeader(via)
		if complete(r) {
			return
		}
	}
	_ = sipgo.ClientRequestBuild(s.cli, r) // sipgo's Via when we added none
}

// complete says whether r, built by us, has every header sipgo's
// ClientRequestBuild would add (RFC 3261 §8.1.1, and a Content-Length),
// giving it its Content-Length if not: then it need not go through
// ClientRequestBuild, which copies the header list even to add nothing.
// (Our builders always set them; the getters read sipgo's references, set
// as each header was appended, without a lookup.) TestCompleteMatchesSipgo.
func complete(r *sip.Request) bool {
	if r.From() == nil || r.To() == nil || r.CallID() == nil || r.CSeq() == nil || r.MaxForwards() == nil {
		return false
	}
	if !hasHeader(r, "Content-Length", "l") {
		setBody(r, r.Body())
	}
	return true
}

// transaction sends r in a client transaction and returns it.
func (s *Server) transaction(r *sip.Request) (sip.ClientTransaction, error) {
	c, to, front := s.overFront(r)
	s.prepare(r, front)
	if front {
		return c.request(r, to, nil)
	}
	return s.cli.TransactionRequest(context.Background(), r, sipNoBuild)
}

// transactionTo is transaction with the responses handed to sink, in order,
// until the final one, or the end when none came. It never waits on the
// network. Over the front the responses are handed on the reader that
// received them. A request sipgo sends (TCP, TLS, a host name) goes on a
// goroutine of its own, as creating the transaction may wait for a
// connection or a DNS answer; the goroutine then reads the responses, and
// a failure to send reaches sink as the end.
func (s *Server) transactionTo(r *sip.Request, sink responseSink) (sip.ClientTransaction, error) {
	c, to, front := s.overFront(r)
	s.prepare(r, front)
	if front {
		return c.request(r, to, sink)
	}
	l := newLaterTx()
	go func() {
		tx, err := s.cli.TransactionRequest(context.Background(), r, sipNoBuild)
		if err != nil {
			s.log.Warn("send request", "method", string(r.Method), "to", r.Destination(),
				"transport", r.Transport(), "err", err)
			l.fail(err)
			sink.ended(l, err)
			return
		}
		if !l.set(tx) { // given up meanwhile: the leg is over
			tx.Terminate()
			sink.ended(l, sip.ErrTransactionCanceled)
			return
		}
		pump(tx, sink)
	}()
	return l, nil
}

// pump hands sipgo's transaction's responses to sink up to the final one,
// or its end when none came.
func pump(tx sip.ClientTransaction, sink responseSink) {
	growStack()
	for {
		select {
		case res := <-tx.Responses():
			sink.response(tx, res)
			if !res.IsProvisional() {
				return
			}
		case <-tx.Done():
			for { // a final response that came before the end wins
				select {
				case res := <-tx.Responses():
					sink.response(tx, res)
					if !res.IsProvisional() {
						return
					}
				default:
					sink.ended(tx, tx.Err())
					return
				}
			}
		}
	}
}

// do sends r and returns its final response (as sipgo's Client.Do); ctx
// bounds the wait. Our transaction is left to absorb retransmitted
// responses (Timer K, D or M) unless ctx ends it.
func (s *Server) do(ctx context.Context, r *sip.Request) (*sip.Response, error) {
	c, to, front := s.overFront(r)
	s.prepare(r, front)
	if !front {
		res, err := s.cli.Do(ctx, r, sipNoBuild)
		if res == nil && err == nil { // sipgo ended the transaction without an answer (shutting down)
			err = sip.ErrTransactionTerminated
		}
		return res, err
	}
	tx, err := c.request(r, to, nil)
	if err != nil {
		return nil, err
	}
	return finalResponse(ctx, tx)
}

// finalResponse waits for tx's final response; ctx ending terminates tx.
func finalResponse(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return res, nil
			}
		case <-tx.Done():
			for { // a final response that came before the end wins
				select {
				case res := <-tx.Responses():
					if !res.IsProvisional() {
						return res, nil
					}
				default:
					return nil, tx.Err()
				}
			}
		case <-ctx.Done():
			tx.Terminate()
			return nil, ctx.Err()
		}
	}
}

// ackAnswer sends r, the ACK of tx's 2xx (no transaction of its own: RFC
// 3261 §13.2.2.4), and sees that a retransmitted 2xx gets it again: over
// the front, tx retires with the ACK's bytes (udpClientTx.answered2xx);
// otherwise the transaction keeps a closure for Timer M.
func (s *Server) ackAnswer(tx sip.ClientTransaction, r *sip.Request) error {
	c, to, front := s.overFront(r)
	s.prepare(r, front)
	if !front {
		s.reackOn(tx, func() error { return s.cli.WriteRequest(r.Clone(), sipNoBuild) })
		return s.cli.WriteRequest(r, sipNoBuild)
	}
	buf := c.bufs.get(r)
	defer c.bufs.put(buf)
	err := c.write(buf.Bytes(), to)
	if ut, ok := tx.(*udpClientTx); ok {
		ut.answered2xx(buf.Bytes(), to) // copied into its record
		return err
	}
	b := bytes.Clone(buf.Bytes())
	s.reackOn(tx, func() error { return c.write(b, to) })
	return err
}

// reackOn has tx's retransmitted 2xx answered with ack (Timer M keeps the
// closure: it must hold bytes or a request, never the leg).
func (s *Server) reackOn(tx sip.ClientTransaction, ack func() error) {
	tx.OnRetransmission(func(res *sip.Response) {
		if res.IsSuccess() {
			if err := ack(); err != nil {
				s.log.Debug("ack", "err", err)
			}
		}
	})
}
