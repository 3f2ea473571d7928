package provision

import "strings"

// FieldError is one problem found in a document. Field is a path into the
// document in the same shape as the YAML: "users[1].extension", "domains[0]".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationErrors is every problem found in one document, in document order.
type ValidationErrors []FieldError

func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}
