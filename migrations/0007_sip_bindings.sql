-- Registrations of the Mediatrix ATAs' ports (RFC 3261 §10): faxbridge is
-- their registrar, and the analogue bridge reaches a port at the contact
-- it registered. Kept here so that a restart does not lose them: an ATA
-- re-registers only when its binding is about to expire, up to an hour
-- later, and calls to its ports would go to the wrong SIP port meanwhile.
--
-- Portable SQL like 0001: times are Unix epoch milliseconds (BIGINT). One
-- row per (unit, port user, contact URI); a row whose expires_at_ms has
-- passed is never used and is deleted by the registrar's purge.
CREATE TABLE IF NOT EXISTS sip_bindings (
    unit           TEXT NOT NULL,
    aor_user       TEXT NOT NULL,
    contact        TEXT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    call_id        TEXT NOT NULL,
    cseq           BIGINT NOT NULL,
    source         TEXT NOT NULL,
    updated_ms     BIGINT NOT NULL,
    PRIMARY KEY (unit, aor_user, contact)
);
