-- Outgoing fax jobs (email-to-fax and `faxbridge send`).
--
-- Portable SQL like 0001: times are Unix epoch milliseconds (BIGINT),
-- booleans 0/1 (BIGINT), identifiers chosen by the application (TEXT).
-- Every state change of a job is committed, together with its history row,
-- before the daemon acts on it.

-- One row per fax to send.
-- state: 'queued' → 'dialling' → 'sending' → 'done'
--        'dialling' | 'sending' → 'deferred' (next_attempt_ms, last_cause)
--        → 'dialling' again, or 'failed' (failure_reason);
--        'queued' | 'deferred' → 'cancelled'; operators may requeue
--        'deferred' | 'failed' | 'cancelled'.
-- idempotency_key: chosen by the submitter (message-id + recipient), so a
-- message submitted again after a crash finds its job instead of adding one.
-- budget_*: where the retry budget (attempts, age) counts from: the job's
-- creation, or the operator's last `jobs retry`.
CREATE TABLE IF NOT EXISTS fax_job (
    id                   TEXT PRIMARY KEY,
    idempotency_key      TEXT NOT NULL UNIQUE,
    destination          TEXT NOT NULL,
    route                TEXT NOT NULL,
    document_path        TEXT NOT NULL,
    pages_total          BIGINT NOT NULL,
    pages_confirmed      BIGINT NOT NULL,
    submitter            TEXT NOT NULL,
    state                TEXT NOT NULL,
    next_attempt_ms      BIGINT NOT NULL,
    last_cause           TEXT,
    failure_reason       TEXT,
    attempts             BIGINT NOT NULL,
    budget_attempts_base BIGINT NOT NULL,
    budget_since_ms      BIGINT NOT NULL,
    created_at_ms        BIGINT NOT NULL,
    updated_at_ms        BIGINT NOT NULL,
    finished_at_ms       BIGINT
);

CREATE INDEX IF NOT EXISTS fax_job_due ON fax_job (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS fax_job_route ON fax_job (route, state);

-- One row per call placed for a job, inserted when the job is claimed
-- (before dialling). pages_confirmed is raised as the far end confirms pages
-- (MCF), so a crash mid-call still knows where to resume. success = 1 only
-- when T.30 succeeded and every page of the document is confirmed.
CREATE TABLE IF NOT EXISTS fax_job_attempt (
    job_id          TEXT NOT NULL REFERENCES fax_job (id),
    number          BIGINT NOT NULL,
    started_at_ms   BIGINT NOT NULL,
    ended_at_ms     BIGINT,
    cause           TEXT,
    sip_status      BIGINT,
    t30_code        BIGINT,
    t30_text        TEXT,
    first_page      BIGINT NOT NULL,
    pages_confirmed BIGINT NOT NULL,
    planned         TEXT NOT NULL,
    transport       TEXT,
    ecm             BIGINT,
    modem           TEXT,
    success         BIGINT NOT NULL,
    PRIMARY KEY (job_id, number)
);

-- The job's history: one row per transition, written in the same
-- transaction as the transition.
CREATE TABLE IF NOT EXISTS fax_job_event (
    job_id     TEXT NOT NULL REFERENCES fax_job (id),
    seq        BIGINT NOT NULL,
    at_ms      BIGINT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    detail     TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- What the interop fallback ladder learnt about a destination number:
-- the settings of the last success and the last failure per settings
-- ("t38/ecm/v17@<ms>;…").
CREATE TABLE IF NOT EXISTS destination_profile (
    destination    TEXT PRIMARY KEY,
    success        TEXT,
    success_at_ms  BIGINT,
    failures       TEXT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
