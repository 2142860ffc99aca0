-- Last known state of each Mediatrix unit, written by the ATA monitor after
-- every poll and read by `faxbridge lines` and the web UI.
--
-- Portable SQL like 0001: times are Unix epoch milliseconds (BIGINT),
-- booleans 0/1 (BIGINT). status_json holds the whole status (system group,
-- firmware, line and registration states, problems) as written by
-- faxbridge's ata::status::UnitStatus; the columns beside it are what lists
-- and alarms filter on.
CREATE TABLE IF NOT EXISTS ata_status (
    unit          TEXT PRIMARY KEY,
    reachable     BIGINT NOT NULL,
    last_poll_ms  BIGINT NOT NULL,
    last_seen_ms  BIGINT,
    problems      BIGINT NOT NULL,
    status_json   TEXT NOT NULL
);
