-- Delivery reports for outgoing faxes, and an outbox for any message.
--
-- Portable SQL like 0001–0003: the same statements run on SQLite and
-- PostgreSQL.
--
-- 1. mail_outbox carries any message, not only received faxes.
--
-- Until now every outbox row referenced received_fax (fax_id NOT NULL
-- REFERENCES received_fax), so a delivery report, an alert or a digest could
-- not use the outbox's retries and dead letters. SQLite cannot drop a NOT
-- NULL constraint with ALTER TABLE, so the table is rebuilt the way SQLite
-- documents for schema changes ALTER cannot make (CREATE the new table, copy,
-- DROP the old one, RENAME), which PostgreSQL runs as well. The migration runs
-- in one transaction: a crash leaves the old table or the new one. Nothing
-- references mail_outbox, so dropping it breaks no foreign key.
--
-- kind: 'fax' for a received fax (fax_id set; the message can be rebuilt
-- from received_fax if its file is lost); any other value names a message
-- queued through Outbox::enqueue_message (e.g. 'job-report'), whose row id is
-- '<kind>:<key>' and whose spool file is the only copy (fax_id NULL).
CREATE TABLE mail_outbox_v4 (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    fax_id          TEXT REFERENCES received_fax (id),
    recipient       TEXT NOT NULL,
    message_path    TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_error      TEXT,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL,
    sent_at_ms      BIGINT,
    CHECK ((kind = 'fax' AND fax_id IS NOT NULL) OR (kind <> 'fax' AND fax_id IS NULL))
);

INSERT INTO mail_outbox_v4 (id, kind, fax_id, recipient, message_path, state, attempts,
    next_attempt_ms, last_error, created_at_ms, updated_at_ms, sent_at_ms)
SELECT id, 'fax', fax_id, recipient, message_path, state, attempts,
    next_attempt_ms, last_error, created_at_ms, updated_at_ms, sent_at_ms
FROM mail_outbox;

-- Dropping the table drops its indexes (mail_outbox_due, mail_outbox_fax).
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_v4 RENAME TO mail_outbox;

CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_ms);
CREATE INDEX mail_outbox_fax ON mail_outbox (fax_id);

-- 2. What each call learnt about the far end, for the sender's report:
-- remote_ident: the receiver's CSI (T.30 Called Subscriber Identification)
-- as it sent it; duration_ms: wall time from answer to hang-up; bit_rate:
-- the last page-data modem rate trained, bit/s. NULL when the call was not
-- answered or no fax session ran.
ALTER TABLE fax_job_attempt ADD COLUMN remote_ident TEXT;
ALTER TABLE fax_job_attempt ADD COLUMN duration_ms BIGINT;
ALTER TABLE fax_job_attempt ADD COLUMN bit_rate BIGINT;

-- 3. fax_job.report_state (0003) gains one value: 'unsendable', for a report
-- that cannot be built at all (report_to is not a mail address); the
-- reporter logs it instead of trying for ever. The reporter polls for
-- 'pending' rows, hence the index.
CREATE INDEX fax_job_report ON fax_job (report_state);
