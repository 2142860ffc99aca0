-- PCI-DSS call history: the classifier's verdict on every bridged call of
-- an ATA port, voice and fax included, so a finding can be set against
-- what the line usually carries and a clean line can be shown to be clean.
--
-- Portable SQL like 0001: times are Unix epoch milliseconds (BIGINT). No
-- card data and no audio: the classifier keeps band energies only, and no
-- dialled number is kept here (a number that matched an acquirer prefix is
-- in pci_evidence). Rows older than 13 months are removed as new calls
-- arrive (PCI-DSS 10.5.1 asks for 12 months of audit history).

-- One row per (call, ATA port): a call between two ports has two.
-- signals: "SIGNAL@DIRECTION+AT_MS/DURATION_MS" separated by ';' (as in
-- pci_evidence); flags: ids of the pci_flag rows the call raised,
-- separated by spaces.
CREATE TABLE IF NOT EXISTS pci_call (
    call_id     TEXT NOT NULL,
    ata         TEXT NOT NULL,
    port        TEXT NOT NULL,
    building    TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    ended_ms    BIGINT NOT NULL,
    label       TEXT NOT NULL,
    confidence  TEXT NOT NULL,
    speech_ms   BIGINT NOT NULL,
    analysed_ms BIGINT NOT NULL,
    signals     TEXT NOT NULL,
    flags       TEXT NOT NULL,
    PRIMARY KEY (call_id, ata, port)
);

CREATE INDEX IF NOT EXISTS pci_call_by_end ON pci_call (ended_ms);
