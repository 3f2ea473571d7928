package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// ApplyTenant creates or replaces tenant t with exactly its domains and the
// given users, in one transaction: nothing changes when it fails. A domain,
// SIP address, extension or line URI already held elsewhere yields an error
// wrapping store.ErrConflict that names the field and value.
func (db *DB) ApplyTenant(ctx context.Context, t pbx.Tenant, users []pbx.User) error {
	domains, us, err := normalize(t, users)
	if err != nil {
		return fmt.Errorf("apply tenant %q: %w", t.Name, err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply tenant %q: %w", t.Name, err)
	}
	defer rollback(tx)
	a := applier{tx: tx, tenant: t.Name, now: formatTime(time.Now())}
	if err := a.apply(ctx, domains, us); err != nil {
		return fmt.Errorf("apply tenant %q: %w", t.Name, conflictErr(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply tenant %q: %w", t.Name, err)
	}
	db.log.InfoContext(ctx, "tenant applied", slog.String("tenant", t.Name),
		slog.Int("domains", len(domains)), slog.Int("users", len(us)))
	return nil
}

// normalize validates the input of ApplyTenant and returns the domains and
// users as stored: lowercase, deduplicated domains and users sorted by SIP
// address, each with its tenant set.
func normalize(t pbx.Tenant, users []pbx.User) ([]string, []pbx.User, error) {
	if t.Name == "" {
		return nil, nil, errors.New("empty tenant name")
	}
	domains := make([]string, 0, len(t.Domains))
	for _, d := range t.Domains {
		d = strings.ToLower(d)
		if d == "" {
			return nil, nil, errors.New("empty domain name")
		}
		domains = append(domains, d)
	}
	slices.Sort(domains)
	domains = slices.Compact(domains)

	us := make([]pbx.User, 0, len(users))
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		u.SIPAddress = strings.ToLower(u.SIPAddress)
		if u.SIPAddress == "" {
			return nil, nil, errors.New("user with empty sip address")
		}
		if u.Tenant != "" && u.Tenant != t.Name {
			return nil, nil, fmt.Errorf("user %q names tenant %q", u.SIPAddress, u.Tenant)
		}
		u.Tenant = t.Name
		if seen[u.SIPAddress] {
			return nil, nil, fmt.Errorf("%w: sip_address %q listed twice", store.ErrConflict, u.SIPAddress)
		}
		seen[u.SIPAddress] = true
		type credKey struct{ realm, username, alg string }
		creds := make(map[credKey]bool, len(u.Credentials))
		for _, c := range u.Credentials {
			k := credKey{c.Realm, c.Username, c.Algorithm}
			if creds[k] {
				return nil, nil, fmt.Errorf("%w: credential (realm %q, username %q, algorithm %q) of %q listed twice",
					store.ErrConflict, c.Realm, c.Username, c.Algorithm, u.SIPAddress)
			}
			creds[k] = true
		}
		u.Credentials = slices.Clone(u.Credentials)
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b pbx.User) int { return strings.Compare(a.SIPAddress, b.SIPAddress) })
	return domains, us, nil
}

// applier runs the statements of one ApplyTenant transaction.
type applier struct {
	tx     *sql.Tx
	tenant string
	now    string
}

func (a applier) apply(ctx context.Context, domains []string, users []pbx.User) error {
	if _, err := a.tx.ExecContext(ctx,
		`INSERT INTO tenants (name, created_at, updated_at) VALUES (?1, ?2, ?2)
		 ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at`,
		a.tenant, a.now); err != nil {
		return fmt.Errorf("upsert tenant: %w", err)
	}
	if err := a.domains(ctx, domains); err != nil {
		return err
	}
	return a.users(ctx, users)
}

// domains replaces the tenant's domains.
func (a applier) domains(ctx context.Context, domains []string) error {
	list, err := jsonList(domains)
	if err != nil {
		return err
	}
	var taken string
	err = a.tx.QueryRowContext(ctx,
		`SELECT name FROM domains
		 WHERE tenant <> ?1 AND name IN (SELECT value FROM json_each(?2))
		 ORDER BY name LIMIT 1`, a.tenant, list).Scan(&taken)
	switch {
	case err == nil:
		return fmt.Errorf("%w: domain %q belongs to another tenant", store.ErrConflict, taken)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("check domains: %w", err)
	}
	if _, err := a.tx.ExecContext(ctx,
		`DELETE FROM domains WHERE tenant = ?1 AND name NOT IN (SELECT value FROM json_each(?2))`,
		a.tenant, list); err != nil {
		return fmt.Errorf("delete domains: %w", err)
	}
	for _, d := range domains {
		if _, err := a.tx.ExecContext(ctx,
			`INSERT INTO domains (name, tenant) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING`,
			d, a.tenant); err != nil {
			return fmt.Errorf("insert domain %q: %w", d, err)
		}
	}
	return nil
}

// users makes the tenant's users exactly the given ones (sorted by SIP
// address, so the first conflict reported is deterministic).
func (a applier) users(ctx context.Context, users []pbx.User) error {
	addrs := make([]string, len(users))
	for i, u := range users {
		addrs[i] = u.SIPAddress
	}
	list, err := jsonList(addrs)
	if err != nil {
		return err
	}
	var taken string
	err = a.tx.QueryRowContext(ctx,
		`SELECT sip_address FROM users
		 WHERE tenant <> ?1 AND sip_address IN (SELECT value FROM json_each(?2))
		 ORDER BY sip_address LIMIT 1`, a.tenant, list).Scan(&taken)
	switch {
	case err == nil:
		return fmt.Errorf("%w: sip_address %q belongs to another tenant", store.ErrConflict, taken)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("check users: %w", err)
	}
	if _, err := a.tx.ExecContext(ctx,
		`DELETE FROM users WHERE tenant = ?1 AND sip_address NOT IN (SELECT value FROM json_each(?2))`,
		a.tenant, list); err != nil {
		return fmt.Errorf("delete users: %w", err)
	}
	// Release the tenant's extensions and line URIs first, so users may swap
	// them within one apply; each user then claims its own back below.
	if _, err := a.tx.ExecContext(ctx,
		`UPDATE users SET extension = '', line_uri = '' WHERE tenant = ?1`, a.tenant); err != nil {
		return fmt.Errorf("release numbers: %w", err)
	}
	for _, u := range users {
		if err := a.user(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

func (a applier) user(ctx context.Context, u pbx.User) error {
	if u.Extension != "" {
		var holder string
		err := a.tx.QueryRowContext(ctx,
			`SELECT sip_address FROM users WHERE tenant = ?1 AND extension = ?2`,
			a.tenant, u.Extension).Scan(&holder)
		switch {
		case err == nil:
			return fmt.Errorf("%w: extension %q of %q is already assigned to %q",
				store.ErrConflict, u.Extension, u.SIPAddress, holder)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("check extension: %w", err)
		}
	}
	if u.LineURI != "" {
		var holder, tenant string
		err := a.tx.QueryRowContext(ctx,
			`SELECT sip_address, tenant FROM users WHERE line_uri = ?1`,
			u.LineURI).Scan(&holder, &tenant)
		switch {
		case err == nil && tenant == a.tenant:
			return fmt.Errorf("%w: line_uri %q of %q is already assigned to %q",
				store.ErrConflict, u.LineURI, u.SIPAddress, holder)
		case err == nil: // do not reveal another tenant's users
			return fmt.Errorf("%w: line_uri %q of %q is assigned in another tenant",
				store.ErrConflict, u.LineURI, u.SIPAddress)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("check line_uri: %w", err)
		}
	}
	prof, err := encodeProfile(u)
	if err != nil {
		return fmt.Errorf("encode profile of %q: %w", u.SIPAddress, err)
	}
	if _, err := a.tx.ExecContext(ctx,
		`INSERT INTO users (sip_address, tenant, display_name, extension, line_uri, profile, created_at, updated_at)
		 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
		 ON CONFLICT (sip_address) DO UPDATE SET
		   display_name = excluded.display_name,
		   extension = excluded.extension,
		   line_uri = excluded.line_uri,
		   profile = excluded.profile,
		   updated_at = excluded.updated_at`,
		u.SIPAddress, a.tenant, u.DisplayName, u.Extension, u.LineURI, prof, a.now); err != nil {
		return fmt.Errorf("upsert user %q: %w", u.SIPAddress, err)
	}
	if _, err := a.tx.ExecContext(ctx,
		`DELETE FROM credentials WHERE sip_address = ?1`, u.SIPAddress); err != nil {
		return fmt.Errorf("delete credentials of %q: %w", u.SIPAddress, err)
	}
	for _, c := range u.Credentials {
		if _, err := a.tx.ExecContext(ctx,
			`INSERT INTO credentials (sip_address, realm, username, algorithm, ha1)
			 VALUES (?1, ?2, ?3, ?4, ?5)`,
			u.SIPAddress, c.Realm, c.Username, c.Algorithm, c.HA1); err != nil {
			return fmt.Errorf("insert credential of %q: %w", u.SIPAddress, err)
		}
	}
	return nil
}

// Tenants lists every tenant sorted by name, each with its domains sorted.
func (db *DB) Tenants(ctx context.Context) ([]pbx.Tenant, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT t.name, d.name FROM tenants t
		 LEFT JOIN domains d ON d.tenant = t.name
		 ORDER BY t.name, d.name`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	out := []pbx.Tenant{}
	for rows.Next() {
		var name string
		var domain sql.NullString
		if err := rows.Scan(&name, &domain); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, pbx.Tenant{Name: name, Domains: []string{}})
		}
		if domain.Valid {
			last := &out[len(out)-1]
			last.Domains = append(last.Domains, domain.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// Users lists the users of tenant ("" = every tenant) sorted by SIP address,
// each with its credentials sorted by realm, username and algorithm.
func (db *DB) Users(ctx context.Context, tenant string) ([]pbx.User, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT u.tenant, u.sip_address, u.display_name, u.extension, u.line_uri, u.profile,
		        c.realm, c.username, c.algorithm, c.ha1
		 FROM users u
		 LEFT JOIN credentials c ON c.sip_address = u.sip_address
		 WHERE ?1 = '' OR u.tenant = ?1
		 ORDER BY u.sip_address, c.realm, c.username, c.algorithm`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []pbx.User{}
	for rows.Next() {
		var u pbx.User
		var prof string
		var realm, username, alg, ha1 sql.NullString
		if err := rows.Scan(&u.Tenant, &u.SIPAddress, &u.DisplayName, &u.Extension, &u.LineURI, &prof,
			&realm, &username, &alg, &ha1); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].SIPAddress != u.SIPAddress {
			if err := decodeProfile(prof, &u); err != nil {
				return nil, fmt.Errorf("list users: profile of %q: %w", u.SIPAddress, err)
			}
			out = append(out, u)
		}
		if realm.Valid {
			last := &out[len(out)-1]
			last.Credentials = append(last.Credentials, pbx.Credential{
				Realm: realm.String, Username: username.String, Algorithm: alg.String, HA1: ha1.String,
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// jsonList encodes values as a JSON array for json_each, which lets one
// statement take a whole list as a single parameter.
func jsonList(values []string) (string, error) {
	if values == nil {
		values = []string{}
	}
	b, err := json.Marshal(values)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// conflictErr wraps store.ErrConflict around a UNIQUE or PRIMARY KEY
// violation that the explicit checks did not catch first.
func conflictErr(err error) error {
	const (
		constraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
		constraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
	)
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code() == constraintUnique || se.Code() == constraintPrimaryKey) &&
		!errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}

// profile is the JSON form of a user's voice settings (users.profile).
type profile struct {
	NumberType             string              `json:"numberType,omitempty"`
	EnterpriseVoiceEnabled bool                `json:"enterpriseVoiceEnabled,omitempty"`
	VoiceRoutingPolicy     string              `json:"voiceRoutingPolicy,omitempty"`
	DialPlan               string              `json:"dialPlan,omitempty"`
	CallingPlan            string              `json:"callingPlan,omitempty"`
	UsageLocation          string              `json:"usageLocation,omitempty"`
	Home                   string              `json:"home,omitempty"`
	EmergencyRoutingPolicy string              `json:"emergencyRoutingPolicy,omitempty"`
	CallerIDPolicy         string              `json:"callerIdPolicy,omitempty"`
	CallingSettings        pbx.CallingSettings `json:"callingSettings"`
}

func encodeProfile(u pbx.User) (string, error) {
	b, err := json.Marshal(profile{
		NumberType: u.NumberType, EnterpriseVoiceEnabled: u.EnterpriseVoiceEnabled,
		VoiceRoutingPolicy: u.VoiceRoutingPolicy, DialPlan: u.DialPlan, CallingPlan: u.CallingPlan,
		UsageLocation: u.UsageLocation, Home: u.Home, EmergencyRoutingPolicy: u.EmergencyRoutingPolicy,
		CallerIDPolicy: u.CallerIDPolicy, CallingSettings: u.CallingSettings,
	})
	return string(b), err
}

func decodeProfile(s string, u *pbx.User) error {
	var p profile
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return err
	}
	u.NumberType, u.EnterpriseVoiceEnabled = p.NumberType, p.EnterpriseVoiceEnabled
	u.VoiceRoutingPolicy, u.DialPlan, u.CallingPlan = p.VoiceRoutingPolicy, p.DialPlan, p.CallingPlan
	u.UsageLocation, u.Home, u.EmergencyRoutingPolicy = p.UsageLocation, p.Home, p.EmergencyRoutingPolicy
	u.CallerIDPolicy, u.CallingSettings = p.CallerIDPolicy, p.CallingSettings
	return nil
}
