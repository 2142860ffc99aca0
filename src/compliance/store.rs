//! Durable compliance flags (tables `pci_flag`, `pci_evidence`, `pci_ack`
//! of migration 0005).
//!
//! [`ComplianceStore::record`] upserts: the first observation of an (ATA,
//! port, reason) creates the flag, later ones move `last_seen` and count
//! calls; every observation adds an evidence row. Acknowledging appends to
//! the flag's acknowledgement history (the latest is shown as current).
//! There is deliberately no way to delete a flag or its evidence.
//!
//! The call history (table `pci_call`, migration 0008) keeps the
//! classifier's verdict on every bridged call of a port, voice and fax
//! included ([`ComplianceStore::record_call`]), for 13 months. Calls it
//! only suspected of carrying a card terminal (a tone without a handshake
//! signature) are never flags; [`ComplianceStore::suspected_lines`] lists
//! their lines from the history. Each observation of a flag keeps the
//! classifier's confidence (migration 0010).

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{FlagEvidence, Reason};
use crate::media::classifier::{Confidence, Direction, Evidence, Signal};
use crate::store::Store;

/// Why a compliance operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceStoreError {
    /// The database refused a query.
    #[error(
        "compliance store query failed: {0}; check that the database is reachable and writable"
    )]
    Db(#[from] sqlx::Error),
    /// No flag has this id.
    #[error("no compliance flag `{0}`; `faxbridge pci report` lists the flag ids")]
    NoSuchFlag(String),
    /// Free text that looks like a card number.
    #[error(
        "the {0} contains digits that pass the card-number check; card data must never be \
         stored: remove them and try again"
    )]
    CardData(&'static str),
    /// A required field is empty.
    #[error("the {0} is empty; say who acknowledges and why")]
    Empty(&'static str),
    /// A stored row is not one this version writes.
    #[error("stored compliance row is invalid: {0}; the database may be from a newer faxbridge")]
    Corrupt(String),
}

/// One acknowledgement of a flag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Acknowledgement {
    /// Who acknowledged.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// Why / what is being done.
    pub note: String,
}

/// One stored observation of a flag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlagEvidenceRecord {
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// Call start, when from a call.
    pub call_started_ms: Option<i64>,
    /// Call end, when from a call.
    pub call_ended_ms: Option<i64>,
    /// The dialled number that matched an acquirer prefix.
    pub number: Option<String>,
    /// Signals heard.
    pub signals: Vec<Evidence>,
    /// How sure the classifier was (modem handshakes only).
    pub confidence: Option<Confidence>,
    /// Context in plain English.
    pub detail: String,
}

/// A line whose calls the classifier only suspected of carrying a card
/// terminal (a modem tone or band without a handshake signature): shown in
/// the report, never a finding, never alerted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SuspectedLine {
    /// ATA.
    pub ata: String,
    /// Port.
    pub port: String,
    /// Building.
    pub building: String,
    /// Start of the first suspected call, ms since the Unix epoch.
    pub first_seen_ms: i64,
    /// End of the latest one.
    pub last_seen_ms: i64,
    /// Suspected calls in the history.
    pub calls: i64,
    /// What the classifier suspected (distinct verdicts, e.g. `suspected
    /// data modem (V.29 FastPOS)`).
    pub verdicts: Vec<String>,
    /// Signals heard in the latest suspected call.
    pub signals: Vec<Evidence>,
}

/// A flagged line with its evidence and acknowledgements.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Flag {
    /// Stable id (derived from ATA, port and reason).
    pub id: String,
    /// ATA.
    pub ata: String,
    /// Port.
    pub port: String,
    /// Building.
    pub building: String,
    /// Why.
    pub reason: Reason,
    /// First observation, ms since the Unix epoch.
    pub first_seen_ms: i64,
    /// Latest observation.
    pub last_seen_ms: i64,
    /// Calls observed.
    pub calls: i64,
    /// Observations, oldest first.
    pub evidence: Vec<FlagEvidenceRecord>,
    /// Acknowledgements, oldest first; the last is the current one.
    pub acknowledgements: Vec<Acknowledgement>,
}

impl Flag {
    /// The current acknowledgement, if any.
    pub fn acknowledged(&self) -> Option<&Acknowledgement> {
        self.acknowledgements.last()
    }
}

/// How long the call history is kept: 13 months (PCI-DSS 10.5.1 asks
/// for 12 months of audit history).
pub const CALL_HISTORY_MS: i64 = 396 * 24 * 3_600_000;

/// One bridged call of an ATA port with the classifier's verdict: the call
/// history (table `pci_call`, migration 0008). No number, no audio.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallEvidence {
    /// SIP Call-ID of the call's first leg.
    pub call_id: String,
    /// ATA.
    pub ata: String,
    /// Port.
    pub port: String,
    /// Building.
    pub building: String,
    /// Start, ms since the Unix epoch.
    pub started_ms: i64,
    /// End, ms since the Unix epoch.
    pub ended_ms: i64,
    /// What the call carried (`voice`, `fax`, `data modem (…)`,
    /// `unknown`), or `not analysed` when the classifier did not run.
    pub label: String,
    /// How sure: `low`, `medium`, `high` (empty when not analysed).
    pub confidence: String,
    /// Speech-like audio heard, ms.
    pub speech_ms: i64,
    /// Audio analysed, ms.
    pub analysed_ms: i64,
    /// Signals heard (times relative to the call start).
    pub signals: Vec<Evidence>,
    /// Ids of the flags the call raised (new or not).
    pub flags: Vec<String>,
}

/// What [`ComplianceStore::record_observations`] did with one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The flag's id.
    pub id: String,
    /// The observation created the flag: the first time this (ATA, port,
    /// reason) was seen.
    pub new: bool,
}

/// The id of the flag for (ATA, port, reason): 12 hex digits of SHA-256,
/// stable across restarts so repeated observations find their flag.
pub fn flag_id(ata: &str, port: &str, reason: Reason) -> String {
    let mut h = Sha256::new();
    for part in [ata, port, reason.as_str()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let hex: String = d.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("pci-{hex}")
}

/// Signals as stored: `SIGNAL@DIRECTION+AT/DURATION;…`.
fn encode_signals(signals: &[Evidence]) -> String {
    signals
        .iter()
        .map(|e| format!("{}@{}+{}/{}", e.signal, e.direction, e.at_ms, e.duration_ms))
        .collect::<Vec<_>>()
        .join(";")
}

fn decode_signals(text: &str) -> Result<Vec<Evidence>, ComplianceStoreError> {
    let bad = || ComplianceStoreError::Corrupt(format!("signals `{text}`"));
    text.split(';')
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (signal, rest) = item.split_once('@').ok_or_else(bad)?;
            let (direction, times) = rest.split_once('+').ok_or_else(bad)?;
            let (at, dur) = times.split_once('/').ok_or_else(bad)?;
            Ok(Evidence {
                signal: Signal::parse(signal).ok_or_else(bad)?,
                direction: Direction::parse(direction).ok_or_else(bad)?,
                at_ms: at.parse().map_err(|_| bad())?,
                duration_ms: dur.parse().map_err(|_| bad())?,
            })
        })
        .collect()
}

/// A stored confidence: empty for none.
fn decode_confidence(text: &str) -> Result<Option<Confidence>, ComplianceStoreError> {
    if text.is_empty() {
        return Ok(None);
    }
    Confidence::parse(text)
        .map(Some)
        .ok_or_else(|| ComplianceStoreError::Corrupt(format!("confidence `{text}`")))
}

/// Refuse free text with card-like digits.
fn guard(text: &str, what: &'static str) -> Result<(), ComplianceStoreError> {
    if super::pan::scan(text).is_empty() {
        Ok(())
    } else {
        Err(ComplianceStoreError::CardData(what))
    }
}

/// The compliance tables of the database.
#[derive(Debug, Clone)]
pub struct ComplianceStore {
    store: Store,
}

impl ComplianceStore {
    /// Compliance flags in `store`.
    pub fn new(store: Store) -> ComplianceStore {
        ComplianceStore { store }
    }

    /// Record observations: create or update each flag and add its
    /// evidence, in one transaction. Returns the flag ids, in order.
    pub async fn record(
        &self,
        items: &[FlagEvidence],
    ) -> Result<Vec<String>, ComplianceStoreError> {
        Ok(self
            .record_observations(items)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }

    /// [`ComplianceStore::record`], also saying which flags the
    /// observations created (first time their id is seen), so that only
    /// those are alerted on.
    pub async fn record_observations(
        &self,
        items: &[FlagEvidence],
    ) -> Result<Vec<Recorded>, ComplianceStoreError> {
        for e in items {
            guard(&e.detail, "evidence detail")?;
        }
        let mut tx = self.store.pool().begin().await?;
        let mut ids = Vec::with_capacity(items.len());
        for e in items {
            let id = flag_id(&e.ata, &e.port, e.reason);
            let calls = i64::from(e.call.is_some());
            // Insert-or-nothing first: of two calls on the same line ending
            // together, exactly one creates the flag (and alerts on it).
            let inserted = sqlx::query(
                "INSERT INTO pci_flag (id, ata, port, building, reason, first_seen_ms, \
                 last_seen_ms, calls) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&id)
            .bind(&e.ata)
            .bind(&e.port)
            .bind(&e.building)
            .bind(e.reason.as_str())
            .bind(e.at_ms)
            .bind(e.at_ms)
            .bind(calls)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let new = inserted == 1;
            if new {
                // The caller alerts (see `alert`); this is the store's record.
                tracing::info!(
                    flag = %id, ata = %e.ata, port = %e.port, building = %e.building,
                    reason = %e.reason, "PCI-DSS: flag created: {}", e.reason.description()
                );
            } else {
                sqlx::query(
                    "UPDATE pci_flag SET building = $1, \
                     first_seen_ms = CASE WHEN first_seen_ms < $2 THEN first_seen_ms ELSE $2 END, \
                     last_seen_ms = CASE WHEN last_seen_ms > $2 THEN last_seen_ms ELSE $2 END, \
                     calls = calls + $3 WHERE id = $4",
                )
                .bind(&e.building)
                .bind(e.at_ms)
                .bind(calls)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
            let seq: i64 = sqlx::query(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM pci_evidence WHERE flag_id = $1",
            )
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
            sqlx::query(
                "INSERT INTO pci_evidence (flag_id, seq, at_ms, call_started_ms, call_ended_ms, \
                 number, signals, detail, confidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(seq)
            .bind(e.at_ms)
            .bind(e.call.map(|c| c.0))
            .bind(e.call.map(|c| c.1))
            .bind(e.number.clone())
            .bind(encode_signals(&e.signals))
            .bind(&e.detail)
            .bind(e.confidence.map_or("", Confidence::as_str))
            .execute(&mut *tx)
            .await?;
            ids.push(Recorded { id, new });
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Record standing observations (the inventory's `pdq` ports) only
    /// where their flag does not exist yet: a new flag gets the observation
    /// as its first evidence, an existing one is left as it is. Run at
    /// every start, so restarts neither add evidence nor alert again.
    pub async fn record_if_absent(
        &self,
        items: &[FlagEvidence],
    ) -> Result<Vec<Recorded>, ComplianceStoreError> {
        for e in items {
            guard(&e.detail, "evidence detail")?;
        }
        let mut tx = self.store.pool().begin().await?;
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            let id = flag_id(&e.ata, &e.port, e.reason);
            let new = sqlx::query(
                "INSERT INTO pci_flag (id, ata, port, building, reason, first_seen_ms, \
                 last_seen_ms, calls) VALUES ($1, $2, $3, $4, $5, $6, $7, 0) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&id)
            .bind(&e.ata)
            .bind(&e.port)
            .bind(&e.building)
            .bind(e.reason.as_str())
            .bind(e.at_ms)
            .bind(e.at_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if new {
                tracing::info!(
                    flag = %id, ata = %e.ata, port = %e.port, building = %e.building,
                    reason = %e.reason, "PCI-DSS: flag created: {}", e.reason.description()
                );
                sqlx::query(
                    "INSERT INTO pci_evidence (flag_id, seq, at_ms, call_started_ms, \
                     call_ended_ms, number, signals, detail, confidence) \
                     VALUES ($1, 1, $2, NULL, NULL, NULL, $3, $4, $5)",
                )
                .bind(&id)
                .bind(e.at_ms)
                .bind(encode_signals(&e.signals))
                .bind(&e.detail)
                .bind(e.confidence.map_or("", Confidence::as_str))
                .execute(&mut *tx)
                .await?;
            }
            out.push(Recorded { id, new });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Add one call to the call history (again for the same call and port
    /// changes nothing), and drop calls older than [`CALL_HISTORY_MS`].
    pub async fn record_call(&self, c: &CallEvidence) -> Result<(), ComplianceStoreError> {
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "INSERT INTO pci_call (call_id, ata, port, building, started_ms, ended_ms, label, \
             confidence, speech_ms, analysed_ms, signals, flags) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (call_id, ata, port) DO NOTHING",
        )
        .bind(&c.call_id)
        .bind(&c.ata)
        .bind(&c.port)
        .bind(&c.building)
        .bind(c.started_ms)
        .bind(c.ended_ms)
        .bind(&c.label)
        .bind(&c.confidence)
        .bind(c.speech_ms)
        .bind(c.analysed_ms)
        .bind(encode_signals(&c.signals))
        .bind(c.flags.join(" "))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM pci_call WHERE ended_ms < $1")
            .bind(c.ended_ms - CALL_HISTORY_MS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest `limit` calls of the call history, newest first.
    pub async fn calls(&self, limit: u32) -> Result<Vec<CallEvidence>, ComplianceStoreError> {
        let rows = sqlx::query(
            "SELECT call_id, ata, port, building, started_ms, ended_ms, label, confidence, \
             speech_ms, analysed_ms, signals, flags FROM pci_call \
             ORDER BY ended_ms DESC, call_id, ata, port LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.store.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                let signals: String = r.try_get(10)?;
                let flags: String = r.try_get(11)?;
                Ok(CallEvidence {
                    call_id: r.try_get(0)?,
                    ata: r.try_get(1)?,
                    port: r.try_get(2)?,
                    building: r.try_get(3)?,
                    started_ms: r.try_get(4)?,
                    ended_ms: r.try_get(5)?,
                    label: r.try_get(6)?,
                    confidence: r.try_get(7)?,
                    speech_ms: r.try_get(8)?,
                    analysed_ms: r.try_get(9)?,
                    signals: decode_signals(&signals)?,
                    flags: flags.split_whitespace().map(str::to_string).collect(),
                })
            })
            .collect()
    }

    /// The lines with calls the classifier only suspected (verdict
    /// `suspected …`, low confidence) in the call history, by building,
    /// ATA and port.
    pub async fn suspected_lines(&self) -> Result<Vec<SuspectedLine>, ComplianceStoreError> {
        let rows = sqlx::query(
            "SELECT ata, port, building, started_ms, ended_ms, label, signals FROM pci_call \
             WHERE confidence = 'low' AND label LIKE 'suspected %' \
             ORDER BY building, ata, port, ended_ms",
        )
        .fetch_all(self.store.pool())
        .await?;
        let mut lines: Vec<SuspectedLine> = Vec::new();
        for r in rows {
            let (ata, port, building): (String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let (started, ended): (i64, i64) = (r.try_get(3)?, r.try_get(4)?);
            let label: String = r.try_get(5)?;
            let signals: String = r.try_get(6)?;
            let signals = decode_signals(&signals)?;
            match lines.last_mut() {
                Some(l) if l.ata == ata && l.port == port && l.building == building => {
                    l.first_seen_ms = l.first_seen_ms.min(started);
                    l.last_seen_ms = l.last_seen_ms.max(ended);
                    l.calls += 1;
                    if !l.verdicts.contains(&label) {
                        l.verdicts.push(label);
                    }
                    l.signals = signals;
                }
                _ => lines.push(SuspectedLine {
                    ata,
                    port,
                    building,
                    first_seen_ms: started,
                    last_seen_ms: ended,
                    calls: 1,
                    verdicts: vec![label],
                    signals,
                }),
            }
        }
        Ok(lines)
    }

    /// Acknowledge a flag: appends to its history (earlier ones are kept).
    pub async fn acknowledge(
        &self,
        id: &str,
        by: &str,
        note: &str,
        at_ms: i64,
    ) -> Result<(), ComplianceStoreError> {
        if by.trim().is_empty() {
            return Err(ComplianceStoreError::Empty("name"));
        }
        if note.trim().is_empty() {
            return Err(ComplianceStoreError::Empty("note"));
        }
        guard(by, "name")?;
        guard(note, "note")?;
        let mut tx = self.store.pool().begin().await?;
        let exists = sqlx::query("SELECT id FROM pci_flag WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(ComplianceStoreError::NoSuchFlag(id.to_string()));
        }
        let seq: i64 =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM pci_ack WHERE flag_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        sqlx::query(
            "INSERT INTO pci_ack (flag_id, seq, by_name, at_ms, note) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(seq)
        .bind(by.trim())
        .bind(at_ms)
        .bind(note.trim())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every flag with its evidence and acknowledgements, by building,
    /// ATA, port and reason.
    pub async fn list(&self) -> Result<Vec<Flag>, ComplianceStoreError> {
        let pool = self.store.pool();
        let rows = sqlx::query(
            "SELECT id, ata, port, building, reason, first_seen_ms, last_seen_ms, calls \
             FROM pci_flag ORDER BY building, ata, port, reason",
        )
        .fetch_all(pool)
        .await?;
        let mut flags = Vec::with_capacity(rows.len());
        for r in rows {
            let reason: String = r.try_get(4)?;
            flags.push(Flag {
                id: r.try_get(0)?,
                ata: r.try_get(1)?,
                port: r.try_get(2)?,
                building: r.try_get(3)?,
                reason: Reason::parse(&reason)
                    .ok_or_else(|| ComplianceStoreError::Corrupt(format!("reason `{reason}`")))?,
                first_seen_ms: r.try_get(5)?,
                last_seen_ms: r.try_get(6)?,
                calls: r.try_get(7)?,
                evidence: Vec::new(),
                acknowledgements: Vec::new(),
            });
        }
        for f in &mut flags {
            let ev = sqlx::query(
                "SELECT at_ms, call_started_ms, call_ended_ms, number, signals, detail, \
                 confidence FROM pci_evidence WHERE flag_id = $1 ORDER BY seq",
            )
            .bind(&f.id)
            .fetch_all(pool)
            .await?;
            for r in ev {
                let signals: String = r.try_get(4)?;
                let confidence: String = r.try_get(6)?;
                f.evidence.push(FlagEvidenceRecord {
                    at_ms: r.try_get(0)?,
                    call_started_ms: r.try_get(1)?,
                    call_ended_ms: r.try_get(2)?,
                    number: r.try_get(3)?,
                    signals: decode_signals(&signals)?,
                    confidence: decode_confidence(&confidence)?,
                    detail: r.try_get(5)?,
                });
            }
            let acks = sqlx::query(
                "SELECT by_name, at_ms, note FROM pci_ack WHERE flag_id = $1 ORDER BY seq",
            )
            .bind(&f.id)
            .fetch_all(pool)
            .await?;
            for r in acks {
                f.acknowledgements.push(Acknowledgement {
                    by: r.try_get(0)?,
                    at_ms: r.try_get(1)?,
                    note: r.try_get(2)?,
                });
            }
        }
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip() {
        let s = vec![
            Evidence {
                signal: Signal::V22Carrier1200,
                direction: Direction::CallerToCallee,
                at_ms: 4200,
                duration_ms: 1800,
            },
            Evidence {
                signal: Signal::Bell2225,
                direction: Direction::CalleeToCaller,
                at_ms: 0,
                duration_ms: 400,
            },
        ];
        assert_eq!(decode_signals(&encode_signals(&s)).unwrap(), s);
        assert!(decode_signals("").unwrap().is_empty());
        assert!(decode_signals("Nope@x+1/2").is_err());
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = flag_id("ata1", "FXS1", Reason::RolePdq);
        assert_eq!(a, flag_id("ata1", "FXS1", Reason::RolePdq));
        assert_ne!(a, flag_id("ata1", "FXS1", Reason::ModemHandshake));
        assert_ne!(a, flag_id("ata1F", "XS1", Reason::RolePdq));
        assert_eq!(a.len(), 16);
    }

    #[tokio::test]
    async fn call_history_keeps_13_months_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = ComplianceStore::new(Store::open_in_spool(dir.path()).await.unwrap());
        let call = |id: &str, ended_ms| CallEvidence {
            call_id: id.into(),
            ata: "ata1".into(),
            port: "Port1".into(),
            building: "HQ".into(),
            started_ms: ended_ms - 30_000,
            ended_ms,
            label: "voice".into(),
            confidence: "high".into(),
            speech_ms: 20_000,
            analysed_ms: 30_000,
            signals: vec![Evidence {
                signal: Signal::Cng,
                direction: Direction::CallerToCallee,
                at_ms: 500,
                duration_ms: 500,
            }],
            flags: vec!["pci-1".into(), "pci-2".into()],
        };
        let now = 2 * CALL_HISTORY_MS;
        store.record_call(&call("old", 1_000)).await.unwrap();
        store.record_call(&call("a", now - 1_000)).await.unwrap();
        store.record_call(&call("a", now - 1_000)).await.unwrap();
        store.record_call(&call("b", now)).await.unwrap();
        let calls = store.calls(10).await.unwrap();
        let ids: Vec<&str> = calls.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(
            ids,
            ["b", "a"],
            "older than 13 months dropped, no duplicate"
        );
        assert_eq!(calls[0], call("b", now));
        assert_eq!(store.calls(1).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn suspected_calls_are_listed_by_line_and_confidence_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = ComplianceStore::new(Store::open_in_spool(dir.path()).await.unwrap());
        let call = |id: &str, port: &str, label: &str, confidence: &str, ended_ms| CallEvidence {
            call_id: id.into(),
            ata: "ata1".into(),
            port: port.into(),
            building: "HQ".into(),
            started_ms: ended_ms - 10_000,
            ended_ms,
            label: label.into(),
            confidence: confidence.into(),
            speech_ms: 0,
            analysed_ms: 10_000,
            signals: vec![Evidence {
                signal: Signal::V29Tone980,
                direction: Direction::CallerToCallee,
                at_ms: 200,
                duration_ms: 1500,
            }],
            flags: Vec::new(),
        };
        let t = 1_800_000_000_000;
        for c in [
            call(
                "a",
                "Port1",
                "suspected data modem (V.29 FastPOS)",
                "low",
                t,
            ),
            call(
                "b",
                "Port1",
                "suspected data modem (Bell 212A)",
                "low",
                t + 60_000,
            ),
            call("c", "Port2", "voice", "high", t),
            call("d", "Port3", "data modem (V.22/V.22bis)", "high", t),
        ] {
            store.record_call(&c).await.unwrap();
        }
        let lines = store.suspected_lines().await.unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let l = &lines[0];
        assert_eq!((l.port.as_str(), l.calls), ("Port1", 2));
        assert_eq!((l.first_seen_ms, l.last_seen_ms), (t - 10_000, t + 60_000));
        assert_eq!(
            l.verdicts,
            [
                "suspected data modem (V.29 FastPOS)",
                "suspected data modem (Bell 212A)"
            ]
        );
        assert_eq!(l.signals[0].signal, Signal::V29Tone980);

        let e = FlagEvidence {
            ata: "ata1".into(),
            port: "Port3".into(),
            building: "HQ".into(),
            reason: Reason::ModemHandshake,
            at_ms: t,
            call: Some((t - 10_000, t)),
            number: None,
            signals: Vec::new(),
            confidence: Some(Confidence::Medium),
            detail: "classifier".into(),
        };
        store.record(&[e]).await.unwrap();
        let flags = store.list().await.unwrap();
        assert_eq!(flags[0].evidence[0].confidence, Some(Confidence::Medium));
        assert_eq!(decode_confidence("").unwrap(), None);
        assert!(decode_confidence("sure").is_err());
    }

    #[tokio::test]
    async fn record_upserts_and_acks_append() {
        let dir = tempfile::tempdir().unwrap();
        let store = ComplianceStore::new(Store::open_in_spool(dir.path()).await.unwrap());
        let e = |at| FlagEvidence {
            ata: "ata1".into(),
            port: "FXS1".into(),
            building: "HQ".into(),
            reason: Reason::AcquirerNumber,
            at_ms: at,
            call: Some((at, at + 30_000)),
            number: Some("08009123456".into()),
            signals: Vec::new(),
            confidence: None,
            detail: "dialled".into(),
        };
        let first = store.record_observations(&[e(2000)]).await.unwrap();
        assert!(first[0].new, "the first observation creates the flag");
        let again = store.record_observations(&[e(1000)]).await.unwrap();
        assert_eq!(again[0].id, first[0].id);
        assert!(!again[0].new, "a flag is new once");
        let flags = store.list().await.unwrap();
        assert_eq!(flags.len(), 1);
        let f = &flags[0];
        assert_eq!(
            (f.first_seen_ms, f.last_seen_ms, f.calls, f.evidence.len()),
            (1000, 2000, 2, 2)
        );
        store
            .acknowledge(&f.id, "Jo", "replacing with IP terminal", 5)
            .await
            .unwrap();
        store.acknowledge(&f.id, "Al", "done", 6).await.unwrap();
        let f = &store.list().await.unwrap()[0];
        assert_eq!(f.acknowledgements.len(), 2);
        assert_eq!(f.acknowledged().unwrap().by, "Al");
        let err = store
            .acknowledge(&f.id, "Jo", "card 4111 1111 1111 1111", 7)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ComplianceStoreError::CardData("note")),
            "{err}"
        );
        let err = store
            .acknowledge("pci-000000000000", "Jo", "x", 7)
            .await
            .unwrap_err();
        assert!(matches!(err, ComplianceStoreError::NoSuchFlag(_)));
    }
}
