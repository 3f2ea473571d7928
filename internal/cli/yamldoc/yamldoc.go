// Package yamldoc decodes YAML files strictly (github.com/goccy/go-yaml) and
// reports every problem with the line it is on and the path of the field, in
// the shape people fix files by: "FILE:LINE: users[1].extension: message".
//
// Decoding is type-directed: keys that match no field, and values of the
// wrong kind (a list where a string belongs), are all reported at once
// rather than only the first. A plain scalar decoded into a string field
// keeps its text exactly as written, so "lineUri: +14255550100" and
// "extension: 0100" are not turned into numbers and back (which would drop
// the "+" or read 0100 as octal).
package yamldoc

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Problem is one thing wrong in a YAML file.
type Problem struct {
	Line    int    // 1-based; 0 when not known
	Path    string // field path such as "users[1].extension"; empty for the document itself
	Message string // what is wrong, lowercase
}

// Format renders p as "FILE:LINE: path: message", leaving out the parts
// that are empty.
func (p Problem) Format(file string) string {
	var b strings.Builder
	b.WriteString(file)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Doc is one non-empty document of a YAML stream.
type Doc struct {
	body  ast.Node
	line  int                     // line of the document's first node
	lines map[string]int          // field path -> line, filled by Decode
	paths map[*token.Token]string // token -> field path, filled by Decode
}

// Parse splits data into its documents ("---" separated), skipping empty
// ones. A syntax error is returned as a single problem.
//
// The stream is split into documents here rather than by the library's
// parser, which in v1.19.2 silently drops every document that follows an
// empty or comment-only one (goccy/go-yaml#731, #765, #870).
func Parse(data []byte) (docs []*Doc, problem *Problem) {
	defer func() {
		if r := recover(); r != nil { // malformed input must be reported, not crash the process
			docs, problem = nil, &Problem{Message: fmt.Sprintf("cannot parse YAML: %v", r)}
		}
	}()
	tokens := lexer.Tokenize(string(data))
	if tk := tokens.InvalidToken(); tk != nil {
		return nil, &Problem{Line: tk.Position.Line, Message: tk.Error}
	}
	for _, group := range splitDocuments(tokens) {
		f, err := parser.Parse(group, 0)
		if err != nil {
			return nil, syntaxProblem(err)
		}
		for _, d := range f.Docs {
			if d == nil || d.Body == nil {
				continue
			}
			if t := d.Body.Type(); t == ast.CommentType || t == ast.DirectiveType {
				continue // the library gives "%YAML 1.2" a document of its own
			}
			line := 0
			if tk := d.Body.GetToken(); tk != nil {
				line = tk.Position.Line
			}
			docs = append(docs, &Doc{body: d.Body, line: line})
		}
	}
	return docs, nil
}

// splitDocuments cuts a token stream before each "---" and after each
// "...". Directives and comments before a "---" stay with its document.
func splitDocuments(tokens token.Tokens) []token.Tokens {
	var groups []token.Tokens
	var cur token.Tokens
	content := false   // cur holds more than directives and comments
	directiveLine := 0 // a directive's arguments follow it on its line
	flush := func() {
		if len(cur) > 0 {
			groups = append(groups, cur)
		}
		cur, content = nil, false
	}
	for _, tk := range tokens {
		switch tk.Type {
		case token.DocumentHeaderType:
			if content {
				flush()
			}
			cur = append(cur, tk)
			content = true
		case token.DocumentEndType:
			cur = append(cur, tk)
			flush()
		case token.DirectiveType:
			directiveLine = tk.Position.Line
			cur = append(cur, tk)
		default:
			cur = append(cur, tk)
			if tk.Type != token.CommentType && tk.Position.Line != directiveLine {
				content = true
			}
		}
	}
	flush()
	return groups
}

func syntaxProblem(err error) *Problem {
	p := Problem{Message: err.Error()}
	var yerr yaml.Error
	if errors.As(err, &yerr) {
		p.Message = yerr.GetMessage()
		if tk := yerr.GetToken(); tk != nil {
			p.Line = tk.Position.Line
		}
	}
	return &p
}

// Line returns the line where the document starts.
func (d *Doc) Line() int { return d.line }

// LineOf returns the line of the field at path ("users[1].extension"). When
// that field is absent it returns the line of its nearest ancestor that is
// present, and at worst the document's first line. Decode must have run.
func (d *Doc) LineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		path = parent(path)
	}
	return d.line
}

// parent strips the last element of a field path: "a.b[1]" -> "a.b" -> "a".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// Decode decodes the document into v, which must be a non-nil pointer,
// rejecting unknown keys. It returns every problem found, in document
// order; v is only fully set when there are none.
func (d *Doc) Decode(v any) (problems []Problem) {
	defer func() {
		if r := recover(); r != nil { // see Parse
			problems = []Problem{{Line: d.line, Message: fmt.Sprintf("cannot decode YAML: %v", r)}}
		}
	}()
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return []Problem{{Message: fmt.Sprintf("cannot decode into %T", v)}}
	}
	w := &walker{lines: map[string]int{}, paths: map[*token.Token]string{}}
	d.body = w.check(d.body, rv.Type().Elem(), "", true)
	d.lines, d.paths = w.lines, w.paths
	if len(w.problems) > 0 {
		return w.problems
	}
	if err := yaml.NodeToValue(d.body, v, yaml.Strict()); err != nil {
		return []Problem{d.fromLibrary(err)}
	}
	return nil
}

// fromLibrary turns an error of the YAML library into a Problem. The walker
// catches almost everything first; this covers what it leaves to the
// library (number overflow, aliases, tags).
func (d *Doc) fromLibrary(err error) Problem {
	var yerr yaml.Error
	if !errors.As(err, &yerr) {
		return Problem{Line: d.line, Message: err.Error()}
	}
	p := Problem{Line: d.line, Message: yerr.GetMessage()}
	if tk := yerr.GetToken(); tk != nil {
		p.Line = tk.Position.Line
		p.Path = d.paths[tk]
	}
	var (
		te *yaml.TypeError
		oe *yaml.OverflowError
		ue *yaml.UnknownFieldError
		ne *yaml.UnexpectedNodeTypeError
	)
	switch {
	case errors.As(err, &te):
		p.Message = "expected " + kindName(te.DstType)
	case errors.As(err, &oe):
		p.Message = "number out of range"
	case errors.As(err, &ue):
		p.Message = "unknown field"
	case errors.As(err, &ne):
		p.Message = "expected a " + ne.Expected.YAMLName()
	}
	return p
}

// decodesItself reports whether t takes care of its own decoding.
func decodesItself(t reflect.Type) bool {
	switch reflect.New(t).Interface().(type) {
	case yaml.BytesUnmarshaler, yaml.BytesUnmarshalerContext,
		yaml.InterfaceUnmarshaler, yaml.InterfaceUnmarshalerContext,
		yaml.NodeUnmarshaler, yaml.NodeUnmarshalerContext,
		encoding.TextUnmarshaler:
		return true
	}
	return false
}

// walker checks an AST against a Go type, recording problems and the line
// of every field path it meets.
type walker struct {
	problems []Problem
	lines    map[string]int
	paths    map[*token.Token]string
}

func (w *walker) fail(tk *token.Token, path, msg string) {
	line := 0
	if tk != nil {
		line = tk.Position.Line
	}
	w.problems = append(w.problems, Problem{Line: line, Path: path, Message: msg})
}

// check verifies n against t and returns the node to keep in its place:
// n itself, or, for a plain scalar going into a string and when replace is
// set, a string node with the scalar's text as written.
func (w *walker) check(n ast.Node, t reflect.Type, path string, replace bool) ast.Node {
	if n == nil {
		return n
	}
	tk := n.GetToken()
	if tk != nil {
		w.paths[tk] = path
		if _, seen := w.lines[path]; !seen && path != "" {
			w.lines[path] = tk.Position.Line
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := n.(type) {
	case *ast.NullNode, *ast.AliasNode:
		return n // zero value; aliases are resolved and checked by the library
	case *ast.AnchorNode:
		v.Value = w.check(v.Value, t, path, replace)
		return n
	case *ast.TagNode:
		w.check(v.Value, t, path, false) // keep the tagged node as it is
		return n
	}
	if t.Kind() == reflect.Interface || decodesItself(t) {
		return n
	}
	switch t.Kind() {
	case reflect.Struct:
		w.checkStruct(n, t, path)
	case reflect.Map:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			w.fail(tk, path, "expected a mapping")
			return n
		}
		for _, mv := range m.Values {
			key := keyName(mv.Key)
			p := join(path, key)
			w.record(mv.Key, p)
			mv.Value = w.check(mv.Value, t.Elem(), p, true)
		}
	case reflect.Slice, reflect.Array:
		s, ok := n.(*ast.SequenceNode)
		if !ok {
			w.fail(tk, path, "expected a list")
			return n
		}
		for i, e := range s.Values {
			s.Values[i] = w.check(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", true)
		}
	case reflect.String:
		switch n.(type) {
		case *ast.StringNode, *ast.LiteralNode:
		case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
			if replace {
				return ast.String(tk)
			}
		default:
			w.fail(tk, path, "expected a string")
		}
	case reflect.Bool:
		if _, ok := n.(*ast.BoolNode); !ok {
			w.fail(tk, path, "expected true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, ok := n.(*ast.IntegerNode); !ok {
			w.fail(tk, path, "expected an integer")
		}
	case reflect.Float32, reflect.Float64:
		switch n.(type) {
		case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		default:
			w.fail(tk, path, "expected a number")
		}
	}
	return n
}

func (w *walker) record(key ast.Node, path string) {
	if tk := key.GetToken(); tk != nil {
		w.paths[tk] = path
		w.lines[path] = tk.Position.Line
	}
}

// checkStruct checks a mapping against the fields of a struct, the way the
// library names them: the yaml tag, else the json tag, else the lowercased
// field name; inline structs contribute their fields.
func (w *walker) checkStruct(n ast.Node, t reflect.Type, path string) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		w.fail(n.GetToken(), path, "expected a mapping")
		return
	}
	fields := map[string]reflect.Type{}
	structFields(t, fields)
	for _, mv := range m.Values {
		if _, merge := mv.Key.(*ast.MergeKeyNode); merge {
			continue // "<<: *base" is resolved by the library
		}
		key := keyName(mv.Key)
		p := join(path, key)
		w.record(mv.Key, p)
		ft, ok := fields[key]
		if !ok {
			w.fail(mv.Key.GetToken(), p, unknownField(key, fields))
			continue
		}
		mv.Value = w.check(mv.Value, ft, p, true)
	}
}

func structFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" {
			tag = f.Tag.Get("json")
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if hasOption(opts, "inline") && ft.Kind() == reflect.Struct {
			structFields(ft, into)
			continue
		}
		into[name] = f.Type
	}
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

func unknownField(key string, fields map[string]reflect.Type) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return fmt.Sprintf("unknown field (did you mean %q?)", name)
		}
	}
	return "unknown field"
}

func keyName(k ast.MapKeyNode) string {
	switch k := k.(type) {
	case *ast.StringNode:
		return k.Value
	case *ast.MappingKeyNode:
		if s, ok := k.Value.(*ast.StringNode); ok {
			return s.Value
		}
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "a " + t.String()
}
