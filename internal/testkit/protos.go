package testkit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProtosCase is one PROTOS c07-sip test case of the shared corpus: an
// INVITE and its teardown, with the suite's placeholders still in.
type ProtosCase struct {
	Name             string
	Invite, Teardown []byte
}

// ReadProtosCase splits a case file: "<len> <INVITE>" then "<len>
// <teardown>", each length the byte count of the message after it.
func ReadProtosCase(path string) (ProtosCase, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ProtosCase{}, err
	}
	c := ProtosCase{Name: filepath.Base(path)}
	var msgs [][]byte
	for len(msgs) < 2 {
		sp := bytes.IndexByte(b, ' ')
		if sp <= 0 {
			return c, fmt.Errorf("%s: no length prefix for message %d", c.Name, len(msgs)+1)
		}
		n, err := strconv.Atoi(string(b[:sp]))
		if err != nil || n < 0 || sp+1+n > len(b) {
			return c, fmt.Errorf("%s: bad length prefix %q", c.Name, b[:sp])
		}
		msgs = append(msgs, b[sp+1:sp+1+n])
		b = b[sp+1+n:]
	}
	c.Invite, c.Teardown = msgs[0], msgs[1]
	return c, nil
}

// ProtosFill replaces the suite's placeholders (see the corpus README).
type ProtosFill struct {
	To, From, Addr string
	Port           int
	CallID, Branch string
	Teardown       string // CANCEL or BYE
}

// Apply returns msg with the placeholders filled in, Content-Length last
// (the length of the body as filled).
func (f ProtosFill) Apply(msg []byte) []byte {
	s := string(msg)
	r := strings.NewReplacer(
		"<To>", f.To, "<From>", f.From, "<From-Address>", f.Addr, "<From-IP>", f.Addr,
		"<Local-Port>", strconv.Itoa(f.Port), "<Call-ID>", f.CallID, "<CSeq>", "1",
		"<Branch-ID>", f.Branch, "<Teardown-Method>", f.Teardown)
	s = r.Replace(s)
	body := ""
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		body = s[i+4:]
	}
	return []byte(strings.ReplaceAll(s, "<Content-Length>", strconv.Itoa(len(body))))
}
