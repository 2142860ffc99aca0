//! The registrar of the Mediatrix ATAs (RFC 3261 §10).
//!
//! Each FXS port of an ATA registers its SIP user with faxbridge; the
//! analogue bridge then sends calls for the port to the contact the port
//! registered (its SIP port may not be 5060, and Mediatrix units route
//! priority calls around a mere outbound proxy, so faxbridge must be their
//! registrar). Without a live binding the bridge falls back to
//! `[bridge] ata_sip_port` of the unit's address.
//!
//! Who may register: the endpoint first judges the REGISTER like any
//! request ([`super::acl`]: address, and digest when the peer has an
//! account, so an ATA with credentials is challenged with 401 first).
//! Then the registrar accepts only a source that is a configured unit and
//! an address-of-record whose user is one of that unit's ports; anything
//! else gets `403 Forbidden`.
//!
//! The binding rules ([`BindingTable`], sans-IO) follow RFC 3261 §10.3:
//!
//! * each contact's lifetime is its `expires` parameter, else the
//!   `Expires` header, else [`ExpiryPolicy::default_secs`]; a lifetime
//!   below [`ExpiryPolicy::min_secs`] (other than 0) is refused with
//!   `423 Interval Too Brief` and a `Min-Expires` header (step 7), one above
//!   [`ExpiryPolicy::max_secs`] is shortened;
//! * `Expires: 0` (or `;expires=0`) removes that contact, and `Contact: *`
//!   with `Expires: 0` removes every contact of the address-of-record
//!   (step 6; `*` with any other expiry, or beside other contacts, is 400);
//! * a REGISTER with the Call-ID of an existing binding and a CSeq not
//!   higher than the one stored is out of order and changes nothing (400);
//! * the 200 lists every current contact with its remaining `expires`
//!   (step 8), so a REGISTER without Contact is a query.
//!
//! Bindings are written to the database (table `sip_bindings`, migration
//! 0007) before the 200 is sent, and loaded again at start, so a restart
//! keeps them; expired rows are never used and are purged periodically.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rsipstack::sip::{Header, StatusCode, prelude::HeadersExt};
use rsipstack::transaction::transaction::Transaction;
use sqlx::Row;
use tracing::{debug, info, warn};

use crate::store::Store;

/// Most contacts one address-of-record may hold; an FXS port registers one.
pub const MAX_CONTACTS_PER_AOR: usize = 4;

/// Lifetimes the registrar grants (RFC 3261 §10.2.1.1, §10.3 step 7),
/// from `[sip] register_min_expires`, `register_max_expires` and
/// `register_default_expires` ([`crate::sip::config::SipConfig::register_expiry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryPolicy {
    /// Shorter requests get `423 Interval Too Brief` with this `Min-Expires`.
    pub min_secs: u32,
    /// Longer requests are shortened to this.
    pub max_secs: u32,
    /// Granted when the REGISTER names no lifetime (RFC 3261 suggests 3600).
    pub default_secs: u32,
}

/// RFC 3261's suggested hour as default and ceiling, and a minute as the
/// floor (Mediatrix firmware asks for no less by default).
impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy {
            min_secs: 60,
            max_secs: 3600,
            default_secs: 3600,
        }
    }
}

/// One contact a REGISTER asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedContact {
    /// The contact URI, without angle brackets or header parameters.
    pub uri: String,
    /// Its `expires` parameter, if given.
    pub expires: Option<u32>,
}

/// The Contact header field values of a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactList {
    /// `Contact: *`: every binding of the address-of-record.
    Wildcard,
    /// Contact URIs (empty: a query for the current bindings).
    Contacts(Vec<RequestedContact>),
}

/// A REGISTER the registrar cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// A Contact value could not be read.
    #[error("Contact value `{0}` is not a SIP URI; send e.g. <sip:2001@10.1.2.3:5062>")]
    BadContact(String),
    /// The `Expires` header is not a number of seconds (§20.19).
    #[error("Expires `{0}` is not a number of seconds; send e.g. Expires: 3600")]
    BadExpires(String),
    /// `*` with a non-zero expiry or beside other contacts (§10.3 step 6).
    #[error("`Contact: *` must come alone and with Expires: 0")]
    Wildcard,
    /// The same Call-ID with a CSeq not above the stored one (§10.3 step 7).
    #[error("REGISTER out of order: CSeq {cseq} is not above {stored} for Call-ID {call_id}")]
    OutOfOrder {
        /// Call-ID of the request.
        call_id: String,
        /// Its CSeq.
        cseq: u32,
        /// The CSeq stored with the binding.
        stored: u32,
    },
    /// More contacts than [`MAX_CONTACTS_PER_AOR`].
    #[error("more than {MAX_CONTACTS_PER_AOR} contacts for one port; register one contact")]
    TooManyContacts,
}

impl RegisterError {
    /// The status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            RegisterError::TooManyContacts => 403,
            _ => 400,
        }
    }
}

/// Reads Contact header field values (RFC 3261 §20.10): `*`, `<uri>;params`
/// or a bare `uri;params` (whose `;params` are then header parameters),
/// several per value separated by commas.
pub fn parse_contacts(values: &[String]) -> Result<ContactList, RegisterError> {
    let mut contacts = Vec::new();
    let mut wildcard = false;
    for value in values {
        for item in split_commas(value) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if item == "*" {
                wildcard = true;
                continue;
            }
            let (uri, params) = match (item.find('<'), item.find('>')) {
                (Some(open), Some(close)) if open < close => {
                    (&item[open + 1..close], &item[close + 1..])
                }
                (None, None) => match item.find(';') {
                    Some(semi) => (&item[..semi], &item[semi..]),
                    None => (item, ""),
                },
                _ => return Err(RegisterError::BadContact(item.to_string())),
            };
            let uri = uri.trim();
            let lower = uri.to_ascii_lowercase();
            if !(lower.starts_with("sip:") || lower.starts_with("sips:")) || uri.len() < 5 {
                return Err(RegisterError::BadContact(item.to_string()));
            }
            let mut expires = None;
            for p in params.split(';') {
                if let Some((k, v)) = p.split_once('=')
                    && k.trim().eq_ignore_ascii_case("expires")
                {
                    expires = Some(
                        parse_delta(v)
                            .ok_or_else(|| RegisterError::BadContact(item.to_string()))?,
                    );
                }
            }
            contacts.push(RequestedContact {
                uri: uri.to_string(),
                expires,
            });
        }
    }
    match (wildcard, contacts.is_empty()) {
        (true, true) => Ok(ContactList::Wildcard),
        (true, false) => Err(RegisterError::Wildcard),
        (false, _) => Ok(ContactList::Contacts(contacts)),
    }
}

/// A delta-seconds value; larger than 2^32-1 reads as 2^32-1 (§20.19).
fn parse_delta(v: &str) -> Option<u32> {
    let v = v.trim().trim_matches('"');
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        v.parse::<u64>()
            .map_or(u32::MAX, |n| n.min(u64::from(u32::MAX)) as u32),
    )
}

/// Splits on commas outside `<…>` and quoted strings.
fn split_commas(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut angle, mut quoted) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !angle && !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// A REGISTER, as the binding rules see it.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// The unit the request came from.
    pub unit: String,
    /// The address-of-record's user: the port's SIP user.
    pub user: String,
    /// What the Contact headers ask for.
    pub contacts: ContactList,
    /// The `Expires` header, if any.
    pub expires: Option<u32>,
    /// Call-ID of the request.
    pub call_id: String,
    /// CSeq number of the request.
    pub cseq: u32,
    /// Where the request came from.
    pub source: SocketAddr,
}

/// One contact of one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The unit's name (`[[ata.units]] name`).
    pub unit: String,
    /// The port's SIP user.
    pub user: String,
    /// The contact URI calls for the port go to.
    pub contact: String,
    /// When it lapses, Unix epoch milliseconds.
    pub expires_at_ms: i64,
    /// Call-ID of the REGISTER that made it.
    pub call_id: String,
    /// Its CSeq.
    pub cseq: u32,
    /// Where that REGISTER came from.
    pub source: SocketAddr,
    /// When it was written, Unix epoch milliseconds.
    pub updated_ms: i64,
}

impl Binding {
    fn remaining_secs(&self, now_ms: i64) -> u32 {
        u32::try_from((self.expires_at_ms - now_ms).max(0) / 1000).unwrap_or(u32::MAX)
    }
}

/// What a REGISTER does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterPlan {
    /// Write `upserts`, delete `removals`; then answer 200 with `contacts`
    /// (each with its remaining lifetime in seconds).
    Update {
        /// Bindings to insert or refresh.
        upserts: Vec<Binding>,
        /// Bindings to delete (unit, user, contact).
        removals: Vec<(String, String, String)>,
        /// The Contact list of the 200.
        contacts: Vec<(String, u32)>,
    },
    /// `423 Interval Too Brief` with `Min-Expires: min_secs`.
    IntervalTooBrief {
        /// The shortest lifetime granted.
        min_secs: u32,
    },
}

/// The bindings of every port (sans-IO; the [`Registrar`] drives it).
#[derive(Debug, Clone, Default)]
pub struct BindingTable {
    by_aor: HashMap<(String, String), Vec<Binding>>,
}

/// Compares contact URIs as §10.3 step 5 asks, loosely: scheme and host
/// case-insensitively (the user part too: ATAs send digits).
fn same_contact(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl BindingTable {
    /// A table holding `bindings` (e.g. loaded from the database).
    pub fn from_bindings(bindings: impl IntoIterator<Item = Binding>) -> Self {
        let mut t = BindingTable::default();
        for b in bindings {
            t.by_aor
                .entry((b.unit.clone(), b.user.clone()))
                .or_default()
                .push(b);
        }
        t
    }

    /// Every binding, live or not.
    pub fn all(&self) -> impl Iterator<Item = &Binding> {
        self.by_aor.values().flatten()
    }

    /// The live contact of a port: the most recently refreshed binding that
    /// has not lapsed at `now_ms`.
    pub fn contact_for(&self, unit: &str, user: &str, now_ms: i64) -> Option<&str> {
        self.by_aor
            .get(&(unit.to_string(), user.to_string()))?
            .iter()
            .filter(|b| b.expires_at_ms > now_ms)
            .max_by_key(|b| b.updated_ms)
            .map(|b| b.contact.as_str())
    }

    /// Decides what `req` does, without changing anything.
    pub fn plan(
        &self,
        req: &RegisterRequest,
        policy: &ExpiryPolicy,
        now_ms: i64,
    ) -> Result<RegisterPlan, RegisterError> {
        let key = (req.unit.clone(), req.user.clone());
        let current: Vec<&Binding> = self
            .by_aor
            .get(&key)
            .map(|v| v.iter().filter(|b| b.expires_at_ms > now_ms).collect())
            .unwrap_or_default();
        let check_order = |b: &Binding| {
            if b.call_id == req.call_id && req.cseq <= b.cseq {
                Err(RegisterError::OutOfOrder {
                    call_id: req.call_id.clone(),
                    cseq: req.cseq,
                    stored: b.cseq,
                })
            } else {
                Ok(())
            }
        };
        let mut upserts = Vec::new();
        let mut removals = Vec::new();
        match &req.contacts {
            ContactList::Wildcard => {
                if req.expires != Some(0) {
                    return Err(RegisterError::Wildcard);
                }
                for b in &current {
                    check_order(b)?;
                }
                // Lapsed rows go too.
                for b in self.by_aor.get(&key).into_iter().flatten() {
                    removals.push((b.unit.clone(), b.user.clone(), b.contact.clone()));
                }
            }
            ContactList::Contacts(list) => {
                // Step 7 first for every contact, so a 423 changes nothing.
                for c in list {
                    let asked = c.expires.or(req.expires).unwrap_or(policy.default_secs);
                    if asked != 0 && asked < policy.min_secs {
                        return Ok(RegisterPlan::IntervalTooBrief {
                            min_secs: policy.min_secs,
                        });
                    }
                }
                let mut live: Vec<String> = current.iter().map(|b| b.contact.clone()).collect();
                for c in list {
                    let asked = c.expires.or(req.expires).unwrap_or(policy.default_secs);
                    if let Some(b) = current.iter().find(|b| same_contact(&b.contact, &c.uri)) {
                        check_order(b)?;
                    }
                    if asked == 0 {
                        if let Some(b) = self
                            .by_aor
                            .get(&key)
                            .into_iter()
                            .flatten()
                            .find(|b| same_contact(&b.contact, &c.uri))
                        {
                            removals.push((b.unit.clone(), b.user.clone(), b.contact.clone()));
                        }
                        live.retain(|l| !same_contact(l, &c.uri));
                        upserts.retain(|u: &Binding| !same_contact(&u.contact, &c.uri));
                        continue;
                    }
                    let granted = asked.min(policy.max_secs);
                    // Keep the stored spelling of a contact already bound.
                    let contact = self
                        .by_aor
                        .get(&key)
                        .into_iter()
                        .flatten()
                        .find(|b| same_contact(&b.contact, &c.uri))
                        .map_or_else(|| c.uri.clone(), |b| b.contact.clone());
                    upserts.retain(|u: &Binding| !same_contact(&u.contact, &contact));
                    upserts.push(Binding {
                        unit: req.unit.clone(),
                        user: req.user.clone(),
                        contact: contact.clone(),
                        expires_at_ms: now_ms + i64::from(granted) * 1000,
                        call_id: req.call_id.clone(),
                        cseq: req.cseq,
                        source: req.source,
                        updated_ms: now_ms,
                    });
                    if !live.iter().any(|l| same_contact(l, &contact)) {
                        live.push(contact);
                    }
                }
                if live.len() > MAX_CONTACTS_PER_AOR {
                    return Err(RegisterError::TooManyContacts);
                }
            }
        }
        // The 200 lists what is bound once the plan is applied.
        let mut after = self.clone();
        after.apply(&upserts, &removals);
        let contacts = after
            .by_aor
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|b| b.expires_at_ms > now_ms)
            .map(|b| (b.contact.clone(), b.remaining_secs(now_ms)))
            .collect();
        Ok(RegisterPlan::Update {
            upserts,
            removals,
            contacts,
        })
    }

    /// Carries out a plan's changes.
    pub fn apply(&mut self, upserts: &[Binding], removals: &[(String, String, String)]) {
        for (unit, user, contact) in removals {
            let key = (unit.clone(), user.clone());
            if let Some(v) = self.by_aor.get_mut(&key) {
                v.retain(|b| !same_contact(&b.contact, contact));
                if v.is_empty() {
                    self.by_aor.remove(&key);
                }
            }
        }
        for u in upserts {
            let v = self
                .by_aor
                .entry((u.unit.clone(), u.user.clone()))
                .or_default();
            v.retain(|b| !same_contact(&b.contact, &u.contact));
            v.push(u.clone());
        }
    }

    /// Removes and returns the bindings lapsed at `now_ms`.
    pub fn expire(&mut self, now_ms: i64) -> Vec<Binding> {
        let mut gone = Vec::new();
        self.by_aor.retain(|_, v| {
            let (dead, live): (Vec<Binding>, Vec<Binding>) =
                v.drain(..).partition(|b| b.expires_at_ms <= now_ms);
            gone.extend(dead);
            *v = live;
            !v.is_empty()
        });
        gone
    }
}

/// A unit that may register its ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarUnit {
    /// The unit's name (`[[ata.units]] name`).
    pub name: String,
    /// The address its REGISTERs come from.
    pub address: IpAddr,
    /// The SIP users of its ports (`[[ata.ports]] sip_user`).
    pub users: Vec<String>,
}

/// Why the registrar could not start.
#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    /// The stored bindings could not be read or written.
    #[error("cannot use the SIP bindings table (sip_bindings): {0}; check the database")]
    Store(#[from] sqlx::Error),
}

use crate::clock::now_ms;

/// A lock per address-of-record (unit, user).
type AorLocks = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

/// The registrar: the units allowed to register, the binding table and
/// its copy in the database. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Registrar {
    units: Vec<RegistrarUnit>,
    policy: ExpiryPolicy,
    /// The bindings in memory. Its lock is held only for in-memory work,
    /// never across a database write, so lookups by calls and other ports'
    /// REGISTERs never wait for the disk.
    table: std::sync::Mutex<BindingTable>,
    /// One lock per address-of-record (unit, user), held from planning a
    /// REGISTER to applying it: RFC 3261 §10.3 asks a registrar to process
    /// the REGISTERs of one address-of-record atomically, and the database
    /// is written before the table ("durable before visible"). Bounded by
    /// the configured ports: only a configured port's REGISTER gets here.
    aor_locks: std::sync::Mutex<AorLocks>,
    store: Option<Store>,
}

impl Registrar {
    /// A registrar for `units`, keeping bindings in `store` (`None`: in
    /// memory only, lost at restart). Loads the stored bindings of the
    /// configured units that have not lapsed and deletes the others.
    pub async fn open(
        units: Vec<RegistrarUnit>,
        policy: ExpiryPolicy,
        store: Option<Store>,
    ) -> Result<Registrar, RegistrarError> {
        let mut loaded = Vec::new();
        if let Some(store) = &store {
            let now = now_ms();
            sqlx::query("DELETE FROM sip_bindings WHERE expires_at_ms <= $1")
                .bind(now)
                .execute(store.pool())
                .await?;
            let rows = sqlx::query(
                "SELECT unit, aor_user, contact, expires_at_ms, call_id, cseq, source, updated_ms \
                 FROM sip_bindings",
            )
            .fetch_all(store.pool())
            .await?;
            for r in rows {
                let unit: String = r.try_get(0)?;
                let user: String = r.try_get(1)?;
                let known = units
                    .iter()
                    .any(|u| u.name == unit && u.users.contains(&user));
                let source: String = r.try_get(6)?;
                let (Ok(source), true) = (source.parse::<SocketAddr>(), known) else {
                    // A unit or port no longer configured: it may not be reached.
                    continue;
                };
                let cseq: i64 = r.try_get(5)?;
                loaded.push(Binding {
                    unit,
                    user,
                    contact: r.try_get(2)?,
                    expires_at_ms: r.try_get(3)?,
                    call_id: r.try_get(4)?,
                    cseq: u32::try_from(cseq).unwrap_or(0),
                    source,
                    updated_ms: r.try_get(7)?,
                });
            }
            info!(bindings = loaded.len(), "SIP registrations restored");
        }
        Ok(Registrar {
            units,
            policy,
            table: std::sync::Mutex::new(BindingTable::from_bindings(loaded)),
            aor_locks: std::sync::Mutex::new(HashMap::new()),
            store,
        })
    }

    /// The live contact a port registered, if any.
    pub async fn contact_for(&self, unit: &str, user: &str) -> Option<String> {
        self.table()
            .contact_for(unit, user, now_ms())
            .map(str::to_string)
    }

    /// Every binding that has not lapsed.
    pub async fn bindings(&self) -> Vec<Binding> {
        let now = now_ms();
        let mut v: Vec<Binding> = self
            .table()
            .all()
            .filter(|b| b.expires_at_ms > now)
            .cloned()
            .collect();
        v.sort_by(|a, b| (&a.unit, &a.user, &a.contact).cmp(&(&b.unit, &b.user, &b.contact)));
        v
    }

    /// Deletes lapsed bindings from the table and the database; returns how
    /// many went.
    pub async fn purge(&self) -> Result<usize, RegistrarError> {
        let now = now_ms();
        if let Some(store) = &self.store {
            sqlx::query("DELETE FROM sip_bindings WHERE expires_at_ms <= $1")
                .bind(now)
                .execute(store.pool())
                .await?;
        }
        // A refresh written meanwhile expires later than `now`: it stays.
        let gone = self.table().expire(now);
        for b in &gone {
            info!(unit = %b.unit, user = %b.user, contact = %b.contact, "SIP registration lapsed");
        }
        Ok(gone.len())
    }

    /// Purges lapsed bindings every `every` until `stop` is cancelled.
    pub(crate) async fn purge_every(
        self: std::sync::Arc<Self>,
        every: Duration,
        stop: rsipstack::platform::CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            if let Err(e) = self.purge().await {
                warn!("{e}");
            }
        }
    }

    /// The binding table, locked for in-memory work only.
    fn table(&self) -> std::sync::MutexGuard<'_, BindingTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock of one address-of-record.
    fn aor_lock(&self, unit: &str, user: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.aor_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((unit.to_string(), user.to_string()))
            .or_default()
            .clone()
    }

    /// The unit at `source` and whether `user` is one of its ports.
    fn unit_for(&self, source: IpAddr, user: &str) -> Option<&RegistrarUnit> {
        let source = source.to_canonical();
        self.units
            .iter()
            .find(|u| u.address.to_canonical() == source && u.users.iter().any(|p| p == user))
    }

    async fn write(
        &self,
        upserts: &[Binding],
        removals: &[(String, String, String)],
    ) -> Result<(), sqlx::Error> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let mut tx = store.pool().begin().await?;
        for (unit, user, contact) in removals {
            sqlx::query(
                "DELETE FROM sip_bindings WHERE unit = $1 AND aor_user = $2 AND contact = $3",
            )
            .bind(unit.clone())
            .bind(user.clone())
            .bind(contact.clone())
            .execute(&mut *tx)
            .await?;
        }
        for b in upserts {
            sqlx::query(
                "INSERT INTO sip_bindings \
                 (unit, aor_user, contact, expires_at_ms, call_id, cseq, source, updated_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (unit, aor_user, contact) DO UPDATE SET \
                 expires_at_ms = excluded.expires_at_ms, call_id = excluded.call_id, \
                 cseq = excluded.cseq, source = excluded.source, updated_ms = excluded.updated_ms",
            )
            .bind(b.unit.clone())
            .bind(b.user.clone())
            .bind(b.contact.clone())
            .bind(b.expires_at_ms)
            .bind(b.call_id.clone())
            .bind(i64::from(b.cseq))
            .bind(b.source.to_string())
            .bind(b.updated_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Answers one REGISTER the endpoint admitted (address and digest).
    pub(crate) async fn serve(&self, tx: &mut Transaction, source: SocketAddr) {
        let req = &tx.original;
        let user = req
            .to_header()
            .ok()
            .and_then(|t| t.uri().ok())
            .and_then(|u| u.user().map(str::to_string))
            .unwrap_or_default();
        let Some(unit) = self.unit_for(source.ip(), &user) else {
            info!(%source, %user, "REGISTER for no port of a unit at this address refused");
            let _ = tx.reply(StatusCode::Forbidden).await;
            return;
        };
        let contact_values: Vec<String> = req
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Contact(c) => Some(c.value().to_string()),
                _ => None,
            })
            .collect();
        let expires = req
            .headers
            .iter()
            .find_map(|h| match h {
                Header::Expires(e) => Some(e.value().to_string()),
                _ => None,
            })
            .map(|v| parse_delta(&v).ok_or(RegisterError::BadExpires(v)));
        let parsed = match (parse_contacts(&contact_values), expires) {
            (_, Some(Err(e))) | (Err(e), _) => Err(e),
            (Ok(c), e) => Ok((c, e.and_then(Result::ok))),
        };
        let call_id = req
            .call_id_header()
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        let cseq = req
            .cseq_header()
            .ok()
            .and_then(|c| c.seq().ok())
            .unwrap_or(0);
        let (contacts, expires) = match parsed {
            Ok(x) => x,
            Err(e) => {
                info!(%source, %user, "REGISTER refused: {e}");
                let _ = tx.reply(StatusCode::from(e.status())).await;
                return;
            }
        };
        let request = RegisterRequest {
            unit: unit.name.clone(),
            user,
            contacts,
            expires,
            call_id,
            cseq,
            source,
        };
        let aor = self.aor_lock(&request.unit, &request.user);
        let _aor = aor.lock().await;
        let now = now_ms();
        let plan = self.table().plan(&request, &self.policy, now);
        match plan {
            Err(e) => {
                info!(%source, user = %request.user, "REGISTER refused: {e}");
                let _ = tx.reply(StatusCode::from(e.status())).await;
            }
            Ok(RegisterPlan::IntervalTooBrief { min_secs }) => {
                let _ = tx
                    .reply_with(
                        StatusCode::from(423),
                        vec![Header::MinExpires(min_secs.to_string().into())],
                        None,
                    )
                    .await;
            }
            Ok(RegisterPlan::Update {
                upserts,
                removals,
                contacts,
            }) => {
                // Durable before visible: the database first, then the
                // table and the 200.
                if let Err(e) = self.write(&upserts, &removals).await {
                    warn!(%source, "REGISTER not stored: {e}");
                    let _ = tx
                        .reply_with(
                            StatusCode::ServerInternalError,
                            vec![Header::RetryAfter("30".to_string().into())],
                            None,
                        )
                        .await;
                    return;
                }
                self.table().apply(&upserts, &removals);
                for b in &upserts {
                    debug!(unit = %b.unit, user = %b.user, contact = %b.contact, "registered");
                }
                for (_, user, contact) in &removals {
                    info!(unit = %request.unit, %user, %contact, "unregistered");
                }
                let headers = contacts
                    .iter()
                    .map(|(uri, secs)| Header::Contact(format!("<{uri}>;expires={secs}").into()))
                    .collect();
                let _ = tx.reply_with(StatusCode::OK, headers, None).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn req(
        contacts: ContactList,
        expires: Option<u32>,
        call_id: &str,
        cseq: u32,
    ) -> RegisterRequest {
        RegisterRequest {
            unit: "ho".into(),
            user: "2001".into(),
            contacts,
            expires,
            call_id: call_id.into(),
            cseq,
            source: "10.1.2.3:5062".parse().unwrap(),
        }
    }

    fn one(uri: &str, expires: Option<u32>) -> ContactList {
        ContactList::Contacts(vec![RequestedContact {
            uri: uri.into(),
            expires,
        }])
    }

    /// Plans and applies; returns the 200's contact list.
    fn register(t: &mut BindingTable, r: &RegisterRequest, now: i64) -> Vec<(String, u32)> {
        match t.plan(r, &ExpiryPolicy::default(), now).unwrap() {
            RegisterPlan::Update {
                upserts,
                removals,
                contacts,
            } => {
                t.apply(&upserts, &removals);
                contacts
            }
            other => panic!("{other:?}"),
        }
    }

    const C: &str = "sip:2001@10.1.2.3:5062";

    #[test]
    fn contacts_parse_as_rfc3261_writes_them() {
        let v = |s: &str| vec![s.to_string()];
        assert_eq!(parse_contacts(&v("*")).unwrap(), ContactList::Wildcard);
        assert_eq!(parse_contacts(&[]).unwrap(), ContactList::Contacts(vec![]));
        assert_eq!(
            parse_contacts(&v("\"Port, one\" <sip:2001@10.1.2.3:5062;transport=udp>;expires=120;q=0.5, sip:2001@10.1.2.3;expires=0")).unwrap(),
            ContactList::Contacts(vec![
                RequestedContact { uri: "sip:2001@10.1.2.3:5062;transport=udp".into(), expires: Some(120) },
                RequestedContact { uri: "sip:2001@10.1.2.3".into(), expires: Some(0) },
            ])
        );
        assert_eq!(
            parse_contacts(&v("<sip:a@b>;expires=99999999999")).unwrap(),
            ContactList::Contacts(vec![RequestedContact {
                uri: "sip:a@b".into(),
                expires: Some(u32::MAX)
            }])
        );
        for bad in [
            "<http://x>",
            "tel:+44",
            "<sip:a@b",
            "<sip:a@b>;expires=soon",
        ] {
            assert!(parse_contacts(&v(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            parse_contacts(&[String::from("*"), String::from("<sip:a@b>")]),
            Err(RegisterError::Wildcard)
        );
    }

    #[test]
    fn lifetimes_are_delta_seconds() {
        assert_eq!(parse_delta(" 3600 "), Some(3600));
        assert_eq!(parse_delta("0"), Some(0));
        assert_eq!(parse_delta("4294967296"), Some(u32::MAX));
        for bad in ["", "-1", "1h", "Thu, 01 Dec 1994 16:00:00 GMT"] {
            assert_eq!(parse_delta(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_binding_lives_as_long_as_granted() {
        let mut t = BindingTable::default();
        // No lifetime asked: the default (3600 s).
        let c = register(&mut t, &req(one(C, None), None, "a", 1), T0);
        assert_eq!(c, vec![(C.to_string(), 3600)]);
        assert_eq!(t.contact_for("ho", "2001", T0 + 3_599_000), Some(C));
        assert_eq!(t.contact_for("ho", "2001", T0 + 3_600_000), None, "lapsed");
        assert_eq!(t.contact_for("depot", "2001", T0), None, "another unit");
        // The Expires header, then the contact's own parameter, which wins.
        let c = register(&mut t, &req(one(C, None), Some(300), "a", 2), T0);
        assert_eq!(c, vec![(C.to_string(), 300)]);
        let c = register(&mut t, &req(one(C, Some(120)), Some(300), "a", 3), T0);
        assert_eq!(c, vec![(C.to_string(), 120)]);
        // Longer than the maximum: shortened.
        let c = register(&mut t, &req(one(C, Some(86_400)), None, "a", 4), T0);
        assert_eq!(c, vec![(C.to_string(), 3600)]);
        // Lapsed bindings are purged.
        assert!(t.expire(T0 + 3_599_999).is_empty());
        assert_eq!(t.expire(T0 + 3_600_000).len(), 1);
        assert_eq!(t.all().count(), 0);
    }

    /// `[sip] register_*_expires` reach the plan: the configured floor is
    /// the 423's `Min-Expires`, the ceiling shortens, the default fills in.
    #[test]
    fn configured_lifetimes_apply() {
        let cfg: crate::sip::config::SipConfig = toml::from_str(
            "register_min_expires = 300\nregister_default_expires = 900\nregister_max_expires = 1800",
        )
        .unwrap();
        cfg.validate().unwrap();
        let policy = cfg.register_expiry();
        let mut t = BindingTable::default();
        let plan = |t: &BindingTable, r: &RegisterRequest| t.plan(r, &policy, T0).unwrap();
        assert_eq!(
            plan(&t, &req(one(C, Some(299)), None, "a", 1)),
            RegisterPlan::IntervalTooBrief { min_secs: 300 }
        );
        let granted = |t: &mut BindingTable, r: &RegisterRequest| match plan(t, r) {
            RegisterPlan::Update {
                upserts,
                removals,
                contacts,
            } => {
                t.apply(&upserts, &removals);
                contacts
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            granted(&mut t, &req(one(C, None), None, "a", 2)),
            vec![(C.to_string(), 900)],
            "default"
        );
        assert_eq!(
            granted(&mut t, &req(one(C, None), Some(7200), "a", 3)),
            vec![(C.to_string(), 1800)],
            "shortened to the maximum"
        );
        assert_eq!(
            granted(&mut t, &req(one(C, Some(300)), None, "a", 4)),
            vec![(C.to_string(), 300)],
            "exactly the minimum"
        );
    }

    #[test]
    fn too_brief_is_423_and_changes_nothing() {
        let mut t = BindingTable::default();
        register(&mut t, &req(one(C, None), Some(600), "a", 1), T0);
        let plan = t
            .plan(
                &req(one("sip:2001@10.1.2.3:5070", Some(59)), None, "a", 2),
                &ExpiryPolicy::default(),
                T0,
            )
            .unwrap();
        assert_eq!(plan, RegisterPlan::IntervalTooBrief { min_secs: 60 });
        assert_eq!(t.contact_for("ho", "2001", T0), Some(C));
        // Exactly the minimum is granted; 0 is never "too brief".
        let c = register(&mut t, &req(one(C, Some(60)), None, "a", 3), T0);
        assert_eq!(c, vec![(C.to_string(), 60)]);
    }

    #[test]
    fn expires_zero_and_star_unregister() {
        let mut t = BindingTable::default();
        let other = "sip:2001@10.1.2.3:5070";
        register(&mut t, &req(one(C, None), None, "a", 1), T0);
        let c = register(&mut t, &req(one(other, None), None, "b", 1), T0 + 1000);
        assert_eq!(c.len(), 2);
        assert_eq!(
            t.contact_for("ho", "2001", T0 + 2000),
            Some(other),
            "the newest"
        );
        // Expires: 0 on one contact removes that one.
        let c = register(&mut t, &req(one(other, None), Some(0), "b", 2), T0 + 2000);
        assert_eq!(c, vec![(C.to_string(), 3598)]);
        assert_eq!(t.contact_for("ho", "2001", T0 + 2000), Some(C));
        // `*` needs Expires: 0.
        assert_eq!(
            t.plan(
                &req(ContactList::Wildcard, Some(60), "c", 1),
                &ExpiryPolicy::default(),
                T0
            ),
            Err(RegisterError::Wildcard)
        );
        assert_eq!(
            t.plan(
                &req(ContactList::Wildcard, None, "c", 1),
                &ExpiryPolicy::default(),
                T0
            ),
            Err(RegisterError::Wildcard)
        );
        let c = register(
            &mut t,
            &req(ContactList::Wildcard, Some(0), "c", 1),
            T0 + 3000,
        );
        assert!(c.is_empty());
        assert_eq!(t.contact_for("ho", "2001", T0 + 3000), None);
        assert_eq!(t.all().count(), 0);
    }

    #[test]
    fn a_query_lists_bindings_and_old_cseqs_are_refused() {
        let mut t = BindingTable::default();
        register(&mut t, &req(one(C, None), None, "a", 5), T0);
        let c = register(
            &mut t,
            &req(ContactList::Contacts(vec![]), None, "q", 1),
            T0 + 10_000,
        );
        assert_eq!(c, vec![(C.to_string(), 3590)], "no Contact: a query");
        assert_eq!(
            t.plan(
                &req(one(C, Some(0)), None, "a", 5),
                &ExpiryPolicy::default(),
                T0
            ),
            Err(RegisterError::OutOfOrder {
                call_id: "a".into(),
                cseq: 5,
                stored: 5
            })
        );
        // Another Call-ID (the ATA rebooted) may start again at CSeq 1.
        let c = register(&mut t, &req(one(C, None), Some(0), "new", 1), T0);
        assert!(c.is_empty());
    }

    #[test]
    fn contacts_per_port_are_bounded() {
        let t = BindingTable::default();
        let many = ContactList::Contacts(
            (0..=MAX_CONTACTS_PER_AOR)
                .map(|i| RequestedContact {
                    uri: format!("sip:2001@10.1.2.3:{}", 5060 + i),
                    expires: None,
                })
                .collect(),
        );
        assert_eq!(
            t.plan(&req(many, None, "a", 1), &ExpiryPolicy::default(), T0),
            Err(RegisterError::TooManyContacts)
        );
    }

    #[tokio::test]
    async fn bindings_survive_a_restart_and_lapsed_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_spool(dir.path()).await.unwrap();
        let units = vec![RegistrarUnit {
            name: "ho".into(),
            address: "10.1.2.3".parse().unwrap(),
            users: vec!["2001".into(), "2002".into()],
        }];
        let r = Registrar::open(units.clone(), ExpiryPolicy::default(), Some(store.clone()))
            .await
            .unwrap();
        let now = now_ms();
        let live = Binding {
            unit: "ho".into(),
            user: "2001".into(),
            contact: C.into(),
            expires_at_ms: now + 600_000,
            call_id: "a".into(),
            cseq: 1,
            source: "10.1.2.3:5062".parse().unwrap(),
            updated_ms: now,
        };
        let lapsed = Binding {
            user: "2002".into(),
            contact: "sip:2002@10.1.2.3:5062".into(),
            expires_at_ms: now - 1,
            ..live.clone()
        };
        let stranger = Binding {
            unit: "gone".into(),
            ..live.clone()
        };
        r.write(&[live.clone(), lapsed, stranger], &[])
            .await
            .unwrap();
        let again = Registrar::open(units, ExpiryPolicy::default(), Some(store.clone()))
            .await
            .unwrap();
        assert_eq!(again.bindings().await, vec![live]);
        assert_eq!(again.contact_for("ho", "2001").await.as_deref(), Some(C));
        assert_eq!(again.contact_for("ho", "2002").await, None);
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM sip_bindings")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(left, 2, "the lapsed row was deleted at start");
    }
}
