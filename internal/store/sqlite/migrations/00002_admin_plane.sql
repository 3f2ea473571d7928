-- Admin plane: the voice settings of users, every other tenant object kind,
-- tenant-scoped API tokens and the audit log.
--
-- Users keep typed rows (cross-tenant uniqueness of addresses and numbers is
-- enforced here); their voice settings, read only to build the in-memory
-- directory, are one JSON column. Every other kind (gateways, usages, voice
-- routes, policies, dial plans, translation rules, caller ID and emergency
-- policies, emergency locations, edges, tenant settings) is one row per
-- object holding its validated JSON: see docs/adr/0002-admin-plane.md.

-- +goose Up
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';

CREATE TABLE objects (
    tenant     TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE ON UPDATE CASCADE,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    spec       TEXT NOT NULL CHECK (json_valid(spec)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, name)
) STRICT;

-- Tokens are stored as the hex SHA-256 of the secret; tenant '' is an
-- operator token. No foreign key: a token may be made before its tenant.
CREATE TABLE tokens (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    tenant     TEXT NOT NULL DEFAULT '',
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT ''
) STRICT;

-- The audit log keeps names as plain text: entries outlive what they name.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    tenant     TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL DEFAULT '',
    before     TEXT,
    after      TEXT,
    changes    TEXT NOT NULL DEFAULT '[]'
) STRICT;

CREATE INDEX audit_tenant_id ON audit (tenant, id);

-- +goose Down
DROP TABLE audit;
DROP TABLE tokens;
DROP TABLE objects;
ALTER TABLE users DROP COLUMN profile;
