// Package provision turns tenant documents (the YAML admins write, the JSON
// the API takes) into validated domain objects. Its validation is the one used
// by the API, the CLI and apply alike.
package provision

// Document is one tenant document as written by an administrator.
type Document struct {
	Tenant  string     `yaml:"tenant" json:"tenant"`
	Domains []string   `yaml:"domains" json:"domains"`
	Users   []UserSpec `yaml:"users" json:"users"`
}

// UserSpec is a user as written in a tenant document. Password is plaintext
// here only; it is hashed to HA1 credentials before anything is stored.
type UserSpec struct {
	SIPAddress  string `yaml:"sipAddress" json:"sipAddress"`
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	Password    string `yaml:"password,omitempty" json:"password,omitempty"`
	Extension   string `yaml:"extension,omitempty" json:"extension,omitempty"`
	LineURI     string `yaml:"lineUri,omitempty" json:"lineUri,omitempty"`
}
