//! The finance digest of flagged card-payment lines goes through the
//! durable mail outbox once per period and recipient, into the local
//! Maildir (no relay configured), and says what was flagged.

use faxbridge::compliance::digest::{last_period, queue_digest};
use faxbridge::compliance::store::ComplianceStore;
use faxbridge::compliance::{FinanceDigest, PortFacts, evaluate_inventory};
use faxbridge::mail::{MailConfig, Outbox};
use faxbridge::store::Store;

#[tokio::test]
async fn digest_is_mailed_once_per_period_and_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path();
    faxbridge::daemon::prepare_spool(spool).unwrap();
    let store = Store::open_in_spool(spool).await.unwrap();
    let outbox = Outbox::open(&MailConfig::default(), spool, store.clone())
        .await
        .unwrap();
    let flags = ComplianceStore::new(store.clone());
    let cfg = FinanceDigest {
        to: vec![
            "Finance <finance@example.ac.uk>".into(),
            "audit@example.ac.uk".into(),
        ],
        interval_hours: 24,
    };
    let day = 24 * 3_600_000i64;
    let now = 20_000 * day + 5_000;

    // Nothing flagged: nothing to say.
    assert_eq!(queue_digest(&cfg, &flags, &outbox, now).await.unwrap(), 0);

    let port = PortFacts {
        ata: "shop-ata".into(),
        port: "Port2".into(),
        building: "Student Union".into(),
        role: "pdq".into(),
        takes_payments: true,
        encrypted: false,
    };
    let (since, _) = last_period(cfg.interval_hours, now);
    flags
        .record(&evaluate_inventory(&[port], since + 1000))
        .await
        .unwrap();
    assert_eq!(queue_digest(&cfg, &flags, &outbox, now).await.unwrap(), 2);
    // The next hourly check in the same period queues nothing new.
    assert_eq!(
        queue_digest(&cfg, &flags, &outbox, now + 3_600_000)
            .await
            .unwrap(),
        0
    );
    let delivered = outbox.deliver_due().await.unwrap();
    assert_eq!(delivered, 2);

    let new = spool.join("maildir/new");
    let mails: Vec<_> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 2);
    for m in &mails {
        assert!(
            m.contains("Subject: PCI-DSS: 1 open card payment line finding(s)"),
            "{m}"
        );
        assert!(m.contains("Student Union"), "{m}");
        assert!(m.contains("shop-ata"), "{m}");
        assert!(m.contains("Auto-Submitted: auto-generated"), "{m}");
    }
    assert!(mails.iter().any(|m| m.contains("finance@example.ac.uk")));
    assert!(mails.iter().any(|m| m.contains("audit@example.ac.uk")));
}
