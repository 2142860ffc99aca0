-- PCI-DSS compliance flags: analogue lines that carry card payments.
--
-- Portable SQL like 0001: times are Unix epoch milliseconds (BIGINT).
-- Flags and their evidence are never deleted; acknowledgements are kept
-- as history (one row per acknowledgement). No card numbers and no audio
-- are stored: `number` holds only a dialled number that matched a
-- configured acquirer prefix.

-- One row per (ATA, port, reason). id is derived from those three.
CREATE TABLE IF NOT EXISTS pci_flag (
    id            TEXT PRIMARY KEY,
    ata           TEXT NOT NULL,
    port          TEXT NOT NULL,
    building      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL,
    calls         BIGINT NOT NULL,
    UNIQUE (ata, port, reason)
);

-- One row per observation (a call or an inventory check).
-- signals: "SIGNAL@DIRECTION+AT_MS/DURATION_MS" separated by ';'.
CREATE TABLE IF NOT EXISTS pci_evidence (
    flag_id         TEXT NOT NULL REFERENCES pci_flag (id),
    seq             BIGINT NOT NULL,
    at_ms           BIGINT NOT NULL,
    call_started_ms BIGINT,
    call_ended_ms   BIGINT,
    number          TEXT,
    signals         TEXT NOT NULL,
    detail          TEXT NOT NULL,
    PRIMARY KEY (flag_id, seq)
);

-- Acknowledgements, append-only; the latest is the current one.
CREATE TABLE IF NOT EXISTS pci_ack (
    flag_id  TEXT NOT NULL REFERENCES pci_flag (id),
    seq      BIGINT NOT NULL,
    by_name  TEXT NOT NULL,
    at_ms    BIGINT NOT NULL,
    note     TEXT NOT NULL,
    PRIMARY KEY (flag_id, seq)
);
