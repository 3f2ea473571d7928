package signaling

import (
	"bytes"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// wireBufs are the UDP front's buffers to serialize messages into: pooled,
// sized for SIP once (wireSize), so that writing a message neither grows a
// buffer step by step nor leaves one behind per message. What is kept for
// retransmissions (a request, an ACK, a final response) is copied out at
// its exact length.
type wireBufs struct{ p sync.Pool }

// wireSize fits a call's INVITE with its SDP offer and a 200 with its
// answer, the largest messages of a call, without growing.
const wireSize = 4096

// get returns m serialized in a pooled buffer; put it back once its bytes
// are sent or copied.
func (w *wireBufs) get(m sip.Message) *bytes.Buffer {
	buf := w.take()
	writeMessage(buf, m) // wirewrite.go
	return buf
}

// take returns an empty pooled buffer; put it back once its bytes are
// sent or copied.
func (w *wireBufs) take() *bytes.Buffer {
	buf, _ := w.p.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
		buf.Grow(wireSize)
	}
	buf.Reset()
	return buf
}

func (w *wireBufs) put(buf *bytes.Buffer) {
	if buf.Cap() > 4*wireSize { // an outsized message: do not keep its buffer
		return
	}
	w.p.Put(buf)
}

// bytes returns m serialized, in a slice of its own at its exact length.
func (w *wireBufs) bytes(m sip.Message) []byte {
	buf := w.get(m)
	b := bytes.Clone(buf.Bytes())
	w.put(buf)
	return b
}
