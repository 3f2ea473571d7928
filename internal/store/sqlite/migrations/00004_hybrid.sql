-- Hybrid (cloud–edge, issue 6): edge-scoped API tokens on the cloud, the
-- queue of CDRs an edge has not uploaded to its cloud yet, and an index to
-- find an uploaded CDR by Call-ID (uploads are idempotent).
--
-- An edge keeps its tenant's configuration in the ordinary tables (synced
-- from the cloud with SaveTenant); nothing else is specific to it.

-- +goose Up
-- An edge token is an ordinary tenant token (tokens) that may also read its
-- tenant's snapshot with HA1 hashes and upload CDRs, and nothing else.
CREATE TABLE edge_tokens (
    token_id TEXT NOT NULL PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
    tenant   TEXT NOT NULL,
    edge     TEXT NOT NULL
) STRICT;

-- CDRs waiting for upload, oldest first; a row is deleted once the cloud
-- has acknowledged it.
CREATE TABLE hybrid_outbox (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id   TEXT NOT NULL,
    tenant    TEXT NOT NULL DEFAULT '',
    cdr       TEXT NOT NULL CHECK (json_valid(cdr)),
    queued_at TEXT NOT NULL
) STRICT;

CREATE INDEX cdrs_tenant_call_id ON cdrs (tenant, call_id);

-- +goose Down
DROP INDEX cdrs_tenant_call_id;
DROP TABLE hybrid_outbox;
DROP TABLE edge_tokens;
