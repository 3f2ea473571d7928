package hybrid

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Snapshot is the configuration an edge keeps of its tenant: the tenant,
// every user of the shared domain with their HA1 credentials (so the edge
// can register cloud users when the cloud is gone) and every other object
// (gateways, routes, policies, dial plans, edges...). The edge stores it in
// its own database, so it survives a restart without the cloud.
type Snapshot struct {
	Tenant  pbx.Tenant   `json:"tenant"`
	Users   []User       `json:"users"`
	Objects []pbx.Object `json:"objects"`
}

// User is a user with the credentials pbx.User leaves out of its JSON.
type User struct {
	pbx.User
	Credentials []pbx.Credential `json:"credentials"`
}

// NewSnapshot builds the snapshot of a tenant from stored rows, sorted so
// that the same configuration always encodes to the same bytes (and ETag).
func NewSnapshot(t pbx.Tenant, users []pbx.User, objects []pbx.Object) Snapshot {
	s := Snapshot{Tenant: pbx.Tenant{Name: t.Name, Domains: slices.Clone(t.Domains)},
		Users: make([]User, 0, len(users)), Objects: make([]pbx.Object, 0, len(objects))}
	slices.Sort(s.Tenant.Domains)
	for _, u := range users {
		if u.Tenant != t.Name {
			continue
		}
		creds := slices.Clone(u.Credentials)
		slices.SortFunc(creds, func(a, b pbx.Credential) int {
			return strings.Compare(a.Realm+"\x00"+a.Username+"\x00"+a.Algorithm, b.Realm+"\x00"+b.Username+"\x00"+b.Algorithm)
		})
		u.Credentials = nil
		s.Users = append(s.Users, User{User: u, Credentials: creds})
	}
	slices.SortFunc(s.Users, func(a, b User) int { return strings.Compare(a.SIPAddress, b.SIPAddress) })
	for _, o := range objects {
		if o.Tenant == t.Name {
			s.Objects = append(s.Objects, o)
		}
	}
	slices.SortFunc(s.Objects, func(a, b pbx.Object) int {
		return strings.Compare(a.Kind+"\x00"+a.Name, b.Kind+"\x00"+b.Name)
	})
	return s
}

// Encode returns the snapshot's JSON and its ETag (a quoted SHA-256 of it).
func (s Snapshot) Encode() (body []byte, etag string, err error) {
	body, err = json.Marshal(s)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	return body, `"` + hex.EncodeToString(sum[:16]) + `"`, nil
}

// StoreUsers returns the users as the store keeps them (credentials inside).
func (s Snapshot) StoreUsers() []pbx.User {
	out := make([]pbx.User, len(s.Users))
	for i, u := range s.Users {
		out[i] = u.User
		out[i].Tenant = s.Tenant.Name
		out[i].Credentials = slices.Clone(u.Credentials)
	}
	return out
}

// Check returns what makes a received snapshot unusable, or "": the tenant
// must be the expected one and every user and object must belong to it.
func (s Snapshot) Check(tenant string) string {
	if s.Tenant.Name != tenant {
		return "snapshot of tenant " + s.Tenant.Name + ", expected " + tenant
	}
	for _, u := range s.Users {
		if u.Tenant != "" && u.Tenant != tenant || u.SIPAddress == "" {
			return "user " + u.SIPAddress + " does not belong to tenant " + tenant
		}
	}
	for _, o := range s.Objects {
		if o.Tenant != tenant || o.Kind == "" || o.Name == "" {
			return "object " + o.Kind + " " + o.Name + " does not belong to tenant " + tenant
		}
	}
	return ""
}

// CDRBatch is a set of CDRs an edge uploads to the cloud.
type CDRBatch struct {
	CDRs []pbx.CDR `json:"cdrs"`
}

// UploadResult is the cloud's answer to a CDR upload: received records,
// and how many were new (the others were already there: an upload is
// idempotent by Call-ID).
type UploadResult struct {
	Received int `json:"received"`
	Inserted int `json:"inserted"`
}

// MoveRequest moves a user to another home (POST .../users/{name}/move).
type MoveRequest struct {
	To string `json:"to"` // "online" or an edge of the tenant
}

// MoveResult is the answer to a move.
type MoveResult struct {
	SIPAddress string `json:"sipAddress"`
	From       string `json:"from"`
	To         string `json:"to"`
	Changed    bool   `json:"changed"`
}
