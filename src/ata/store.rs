//! The ATA statuses in the database (table `ata_status`, migration 0006).
//!
//! One row per unit, replaced after every poll: the monitor runs in the
//! daemon, while `faxbridge lines` and the web UI read from other processes.

use sqlx::Row;

use super::status::UnitStatus;
use crate::store::Store;

fn decode_error(e: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// Write (insert or replace) one unit's status.
pub async fn save(store: &Store, status: &UnitStatus) -> Result<(), sqlx::Error> {
    let json = serde_json::to_string(status).map_err(decode_error)?;
    sqlx::query(
        "INSERT INTO ata_status (unit, reachable, last_poll_ms, last_seen_ms, problems, status_json) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (unit) DO UPDATE SET reachable = excluded.reachable, \
         last_poll_ms = excluded.last_poll_ms, last_seen_ms = excluded.last_seen_ms, \
         problems = excluded.problems, status_json = excluded.status_json",
    )
    .bind(status.unit.clone())
    .bind(i64::from(status.reachable))
    .bind(status.last_poll)
    .bind(status.last_seen)
    .bind(i64::try_from(status.problems.len()).unwrap_or(i64::MAX))
    .bind(json)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Every stored status, by unit name.
pub async fn load_all(store: &Store) -> Result<Vec<UnitStatus>, sqlx::Error> {
    let rows = sqlx::query("SELECT status_json FROM ata_status ORDER BY unit")
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let json: String = r.try_get(0)?;
            serde_json::from_str(&json).map_err(decode_error)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ata::status::{LineState, Reading};

    #[tokio::test]
    async fn statuses_round_trip_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_spool(dir.path()).await.unwrap();
        let mut status = UnitStatus {
            unit: "ata1".into(),
            reachable: true,
            last_poll: 1000,
            last_seen: Some(1000),
            unreachable_since: None,
            error: None,
            reading: Some(Reading {
                uptime_ticks: 5,
                lines: [("Port1".to_string(), LineState::Unknown(7))].into(),
                ..Reading::default()
            }),
            booted_at: Some(950),
            upgrading_since: None,
            stuck: false,
            problems: vec!["Port1 unknown (7)".into()],
        };
        save(&store, &status).await.unwrap();
        status.reachable = false;
        status.last_poll = 2000;
        save(&store, &status).await.unwrap();
        let loaded = load_all(&store).await.unwrap();
        assert_eq!(loaded, vec![status]);
    }
}
