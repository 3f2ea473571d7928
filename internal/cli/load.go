// Package cli is the client side of the switchboard command: it loads
// tenant documents from YAML files, strictly and with every problem pointed
// at its line, and talks to a Switchboard server's admin API over HTTP.
package cli

import (
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/cli/yamldoc"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// StdinName is the file name that stands for standard input.
const StdinName = "-"

// DocError is every problem found while loading documents, one line each
// in the form "FILE:LINE: field.path: what is wrong".
type DocError struct {
	Lines []string
}

func (e *DocError) Error() string { return strings.Join(e.Lines, "\n") }

// Source is a tenant document together with where it came from, so that
// problems found later (by the server) can be pointed at their line too.
type Source struct {
	Document provision.Document
	file     string
	doc      *yamldoc.Doc
}

// Position returns "FILE:LINE" of the given field path of the document
// ("users[1].extension"), falling back to the nearest enclosing field that
// is present, then to the document's first line.
func (s Source) Position(field string) string {
	return fmt.Sprintf("%s:%d", s.file, s.doc.LineOf(field))
}

// Problem formats a problem with a field of the document as
// "FILE:LINE: field: message".
func (s Source) Problem(field, message string) string {
	return yamldoc.Problem{Line: s.doc.LineOf(field), Path: field, Message: message}.Format(s.file)
}

// LoadDocuments reads a multi-document YAML stream ("---" separated) of
// tenant documents. Decoding is strict (unknown fields and wrong types are
// errors) and every document is then checked with provision.Validate. All
// problems of all documents are returned together as a *DocError whose
// lines read "FILE:LINE: field.path: what is wrong". name is the file name
// used in messages; "-" (standard input) is shown as "<stdin>".
func LoadDocuments(name string, data []byte) ([]provision.Document, error) {
	srcs, err := Load(name, data)
	if err != nil {
		return nil, err
	}
	docs := make([]provision.Document, len(srcs))
	for i, s := range srcs {
		docs[i] = s.Document
	}
	return docs, nil
}

// Load is LoadDocuments keeping each document's positions.
func Load(name string, data []byte) ([]Source, error) {
	return load(name, data, validate)
}

// validate adapts provision.Validate to the loader.
func validate(d provision.Document) []provision.FieldError {
	return provision.Validate(d)
}

func load(name string, data []byte, check func(provision.Document) []provision.FieldError) ([]Source, error) {
	file := name
	if name == StdinName {
		file = "<stdin>"
	}
	docs, perr := yamldoc.Parse(data)
	if perr != nil {
		return nil, &DocError{Lines: []string{perr.Format(file)}}
	}
	if len(docs) == 0 {
		return nil, &DocError{Lines: []string{file + ": no tenant documents"}}
	}
	var lines []string
	var srcs []Source
	seen := map[string]Source{} // tenant -> where it was first defined
	for _, d := range docs {
		src := Source{file: file, doc: d}
		if problems := d.Decode(&src.Document); len(problems) > 0 {
			for _, p := range problems {
				lines = append(lines, p.Format(file))
			}
			continue
		}
		for _, fe := range check(src.Document) {
			lines = append(lines, src.Problem(fe.Field, fe.Message))
		}
		tenant := provision.Canonical(src.Document).Tenant
		if first, dup := seen[tenant]; dup && tenant != "" {
			lines = append(lines, src.Problem("tenant", fmt.Sprintf("tenant %q is already defined at %s", tenant, first.Position("tenant"))))
		} else {
			seen[tenant] = src
		}
		srcs = append(srcs, src)
	}
	if len(lines) > 0 {
		return nil, &DocError{Lines: lines}
	}
	return srcs, nil
}
