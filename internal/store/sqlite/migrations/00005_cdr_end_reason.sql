-- Why a call was ended by the system rather than by a party (issue 9,
-- dead calls): session-expired, refresh-failed, rtp-timeout. Empty for
-- calls a party hung up.

-- +goose Up
ALTER TABLE cdrs ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE cdrs DROP COLUMN end_reason;
