-- Received faxes and their outgoing mail (fax-to-email).
--
-- Portable SQL: the same statements run on SQLite and PostgreSQL, so the
-- store has one code path. Times are Unix epoch milliseconds (BIGINT),
-- booleans are 0/1 (BIGINT), identifiers are chosen by the application (TEXT).

-- One row per fax received by the fax engine, written before conversion.
-- state: 'received' (recorded; PDF not made yet)
--      → 'converted' (PDF and thumbnail in the spool, or conversion_error set)
--      → 'queued' (one outbox row per recipient exists, written in the same
--        transaction as this state).
CREATE TABLE IF NOT EXISTS received_fax (
    id               TEXT PRIMARY KEY,
    tiff_path        TEXT NOT NULL,
    caller           TEXT NOT NULL,
    called           TEXT NOT NULL,
    remote_csi       TEXT NOT NULL,
    pages_received   BIGINT NOT NULL,
    pages_expected   BIGINT,
    started_at_ms    BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    bit_rate         BIGINT NOT NULL,
    ecm              BIGINT NOT NULL,
    result_text      TEXT NOT NULL,
    success          BIGINT NOT NULL,
    recipients       TEXT NOT NULL,
    attach_tiff      BIGINT NOT NULL,
    state            TEXT NOT NULL,
    convert_attempts BIGINT NOT NULL,
    pdf_path         TEXT,
    thumb_path       TEXT,
    pdf_pages        BIGINT,
    conversion_error TEXT,
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS received_fax_state ON received_fax (state);

-- One row per (fax, recipient): the message file in the spool and its
-- delivery state: 'pending' → 'sending' → 'sent' | 'deferred' → 'dead'.
CREATE TABLE IF NOT EXISTS mail_outbox (
    id              TEXT PRIMARY KEY,
    fax_id          TEXT NOT NULL REFERENCES received_fax (id),
    recipient       TEXT NOT NULL,
    message_path    TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_error      TEXT,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL,
    sent_at_ms      BIGINT
);

CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS mail_outbox_fax ON mail_outbox (fax_id);
