-- Initial schema: tenants and their domains, users with digest credentials,
-- registrar bindings, call detail records and node metadata.
--
-- Conventions for this and later migrations:
--   * STRICT tables; text columns are NOT NULL with '' meaning "unset".
--   * Times are TEXT in UTC, fixed width with nanoseconds
--     (2006-01-02T15:04:05.000000000Z), so they sort lexically; NULL means
--     "never" where a time is optional.
--   * SIP addresses and domain names are stored lowercase.

-- +goose Up
CREATE TABLE tenants (
    name       TEXT NOT NULL PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE domains (
    name   TEXT NOT NULL PRIMARY KEY CHECK (name = lower(name)),
    tenant TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE ON UPDATE CASCADE
) STRICT;

CREATE INDEX domains_tenant ON domains (tenant);

CREATE TABLE users (
    sip_address  TEXT NOT NULL PRIMARY KEY CHECK (sip_address = lower(sip_address)),
    tenant       TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE ON UPDATE CASCADE,
    display_name TEXT NOT NULL DEFAULT '',
    extension    TEXT NOT NULL DEFAULT '',
    line_uri     TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE INDEX users_tenant ON users (tenant, sip_address);
CREATE UNIQUE INDEX users_tenant_extension ON users (tenant, extension) WHERE extension <> '';
CREATE UNIQUE INDEX users_line_uri ON users (line_uri) WHERE line_uri <> '';

CREATE TABLE credentials (
    sip_address TEXT NOT NULL REFERENCES users (sip_address) ON DELETE CASCADE ON UPDATE CASCADE,
    realm       TEXT NOT NULL,
    username    TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    ha1         TEXT NOT NULL,
    PRIMARY KEY (sip_address, realm, username, algorithm)
) STRICT;

CREATE TABLE bindings (
    aor        TEXT NOT NULL,
    contact    TEXT NOT NULL,
    source     TEXT NOT NULL DEFAULT '',
    transport  TEXT NOT NULL DEFAULT '',
    expires    TEXT NOT NULL,
    call_id    TEXT NOT NULL DEFAULT '',
    cseq       INTEGER NOT NULL DEFAULT 0,
    user_agent TEXT NOT NULL DEFAULT '',
    instance   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (aor, contact)
) STRICT;

CREATE INDEX bindings_expires ON bindings (expires);

-- CDRs keep the tenant name as plain text (no foreign key): records outlive
-- the tenants and users they mention.
CREATE TABLE cdrs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id     TEXT NOT NULL DEFAULT '',
    tenant      TEXT NOT NULL DEFAULT '',
    caller      TEXT NOT NULL DEFAULT '',
    callee      TEXT NOT NULL DEFAULT '',
    dialed      TEXT NOT NULL DEFAULT '',
    started_at  TEXT NOT NULL,
    answered_at TEXT,
    ended_at    TEXT NOT NULL,
    duration    INTEGER NOT NULL DEFAULT 0,
    result      TEXT NOT NULL DEFAULT '',
    cause       INTEGER NOT NULL DEFAULT 0,
    hangup_by   TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX cdrs_tenant_id ON cdrs (tenant, id);

CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE meta;
DROP TABLE cdrs;
DROP TABLE bindings;
DROP TABLE credentials;
DROP TABLE users;
DROP TABLE domains;
DROP TABLE tenants;
