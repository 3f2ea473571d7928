-- Calling Plan (issue 5): how each PSTN call left and whether it was an
-- emergency call, the operator's number inventory as tenants hold it, and
-- the accounts: credit balances, spend limits, settled usage and the
-- reservations of calls in progress.
--
-- Amounts are INTEGER millionths of the operator's currency (numbering.Money).
-- Months are 'YYYY-MM' in UTC. Tenant and user names are plain text (no
-- foreign keys): accounting records outlive what they name.

-- +goose Up
ALTER TABLE cdrs ADD COLUMN via TEXT NOT NULL DEFAULT '';
ALTER TABLE cdrs ADD COLUMN emergency INTEGER NOT NULL DEFAULT 0;

-- A row exists while a number is acquired by a tenant (tenant <> '') or
-- quarantined after its release (tenant = '', quarantined_until set); free
-- numbers of the inventory have no row.
CREATE TABLE cp_numbers (
    number            TEXT NOT NULL PRIMARY KEY,
    country           TEXT NOT NULL,
    area_code         TEXT NOT NULL DEFAULT '',
    type              TEXT NOT NULL CHECK (type IN ('user', 'service')),
    tenant            TEXT NOT NULL DEFAULT '',
    assigned_to       TEXT NOT NULL DEFAULT '',
    since             TEXT NOT NULL,
    quarantined_until TEXT,
    CHECK (assigned_to = '' OR tenant <> '')
) STRICT;

CREATE INDEX cp_numbers_tenant ON cp_numbers (tenant, number);

CREATE TABLE cp_credits (
    tenant  TEXT NOT NULL PRIMARY KEY,
    balance INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE cp_topups (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE cp_spend_limits (
    tenant        TEXT NOT NULL,
    user          TEXT NOT NULL,
    monthly_limit INTEGER NOT NULL CHECK (monthly_limit >= 0),
    PRIMARY KEY (tenant, user)
) STRICT;

-- One row per settled call, keyed by its reservation: a reservation is
-- settled at most once (a crash never double-debits).
CREATE TABLE cp_usage (
    id         TEXT NOT NULL PRIMARY KEY,
    call_id    TEXT NOT NULL,
    tenant     TEXT NOT NULL,
    user       TEXT NOT NULL,
    number     TEXT NOT NULL,
    month      TEXT NOT NULL,
    funding    TEXT NOT NULL CHECK (funding IN ('pool', 'credits')),
    country    TEXT NOT NULL DEFAULT '',
    plan       TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT '',
    rate       INTEGER NOT NULL DEFAULT 0,
    minutes    INTEGER NOT NULL,
    amount     INTEGER NOT NULL,
    answered_at TEXT,
    settled_at TEXT NOT NULL,
    recovered  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX cp_usage_tenant_month ON cp_usage (tenant, month);

-- Reservations of calls in progress (the minutes they hold); deleted when
-- the call is settled. Left over after a crash, they are settled at start.
CREATE TABLE cp_reservations (
    id          TEXT NOT NULL PRIMARY KEY,
    call_id     TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    user        TEXT NOT NULL,
    number      TEXT NOT NULL,
    month       TEXT NOT NULL,
    funding     TEXT NOT NULL CHECK (funding IN ('pool', 'credits')),
    country     TEXT NOT NULL DEFAULT '',
    plan        TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL DEFAULT '',
    rate        INTEGER NOT NULL DEFAULT 0,
    minutes     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    answered_at TEXT
) STRICT;

-- +goose Down
DROP TABLE cp_reservations;
DROP TABLE cp_usage;
DROP TABLE cp_spend_limits;
DROP TABLE cp_topups;
DROP TABLE cp_credits;
DROP TABLE cp_numbers;
ALTER TABLE cdrs DROP COLUMN emergency;
ALTER TABLE cdrs DROP COLUMN via;
