package provision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Actions of a Change.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// SecretChanged stands for a secret's value in diffs and the audit log.
const SecretChanged = "(changed)"

// Change is one object created, updated or deleted by an apply. Fields lists
// the changed fields of an update (passwords only as "(changed)").
type Change struct {
	Action string            `json:"action"`
	Kind   string            `json:"kind"` // document key: "voiceRoutes"; "settings" for tenant settings
	Name   string            `json:"name"`
	Fields []pbx.FieldChange `json:"fields,omitempty"`

	before, after json.RawMessage
}

// diffObject compares two encodings of one object (nil = absent).
func diffObject(kind, name string, before, after json.RawMessage, passwordChanged bool) (Change, bool) {
	c := Change{Kind: kind, Name: name, before: before, after: after}
	switch {
	case before == nil && after == nil:
		return c, false
	case before == nil:
		c.Action = ActionCreate
		return c, true
	case after == nil:
		c.Action = ActionDelete
		return c, true
	}
	c.Action = ActionUpdate
	c.Fields = fieldChanges(before, after)
	if passwordChanged {
		c.Fields = append(c.Fields, pbx.FieldChange{Field: "password", Before: SecretChanged, After: SecretChanged})
	}
	return c, len(c.Fields) > 0
}

// fieldChanges lists the leaves that differ between two JSON objects, by
// path ("onlinePstnUsages[1]", "callingSettings.voicemail.enabled"), sorted.
func fieldChanges(before, after json.RawMessage) []pbx.FieldChange {
	if bytes.Equal(before, after) {
		return nil
	}
	b, a := map[string]string{}, map[string]string{}
	flatten(before, "", b)
	flatten(after, "", a)
	var out []pbx.FieldChange
	for path, bv := range b {
		if av := a[path]; av != bv {
			out = append(out, pbx.FieldChange{Field: path, Before: bv, After: av})
		}
	}
	for path, av := range a {
		if _, ok := b[path]; !ok {
			out = append(out, pbx.FieldChange{Field: path, After: av})
		}
	}
	slices.SortFunc(out, func(x, y pbx.FieldChange) int { return strings.Compare(x.Field, y.Field) })
	return out
}

// flatten records every leaf of a JSON value: scalars JSON-encoded, empty
// lists as "[]" and empty objects as "{}".
func flatten(data json.RawMessage, path string, into map[string]string) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		into[path] = string(data)
		return
	}
	flattenValue(v, path, into)
}

func flattenValue(v any, path string, into map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			into[path] = "{}"
		}
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flattenValue(e, p, into)
		}
	case []any:
		if len(x) == 0 {
			into[path] = "[]"
		}
		for i, e := range x {
			flattenValue(e, fmt.Sprintf("%s[%d]", path, i), into)
		}
	default:
		b, _ := json.Marshal(x)
		into[path] = string(b)
	}
}
