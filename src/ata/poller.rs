//! SNMP polling of Mediatrix units and the monitor task.
//!
//! One poll of a unit reads, over SNMPv2c or SNMPv3 (USM, SHA/AES):
//!
//! * SNMPv2-MIB system group: sysDescr, sysObjectID, sysUpTime, sysName;
//! * firmware: the DGW firmware pack in use (MX-FPU-MIB
//!   `mfpInstalledInfoTable`, the row whose bank is `mainInUse`), else the
//!   older units' `sysSoftwareVersion` (1.3.6.1.4.1.4935.10.15.1.3);
//! * MX-FPU-MIB `status` (is an upgrade under way?) and MX-EPADM-MIB
//!   `unitAdminState`/`unitOpState`;
//! * MX-POTS-MIB `lineTable.lineState` for every line;
//! * MX-SIPEP-MIB `registrationStatusTable` (endpoint and state).
//!
//! SNMP runs over UDP, so every request is bounded by the unit's timeout and
//! resent up to `retries` times. Each resend uses a fresh socket and request
//! ID so that a late answer to an abandoned request can never be taken for
//! the answer to a later one. A unit that does not answer costs
//! `timeout × (retries + 1)` and is reported unreachable.
//!
//! [`Monitor`] polls every unit on a timer, judges each poll with
//! [`super::status::assess`], logs the events with `tracing`, keeps the
//! statuses in memory for the daemon and writes them to the store for
//! `faxbridge lines`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use snmp2::{AsyncSession, Oid, Value};
use tokio::sync::{RwLock, watch};
use tracing::{error, info, warn};

use super::AtaConfig;
use super::inventory::{AuthProtocol, PrivProtocol, SnmpSettings, SnmpVersion, UnitConfig};
use super::status::{
    AtaEvent, Expectations, LineState, Millis, Reading, Registration, Snapshot, UnitStatus, assess,
};
use crate::store::Store;

/// SNMPv2-MIB system group scalars.
const SYS_DESCR: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 1, 0];
const SYS_OBJECT_ID: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 2, 0];
const SYS_UPTIME: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
const SYS_NAME: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];

/// Root of the DGW services MIBs (MX-SMI2 `mediatrixServices`).
const DGW: &[u64] = &[1, 3, 6, 1, 4, 1, 4935, 1000, 100, 200, 100];
/// Older units' MX-SYSMGMT `sysSoftwareVersion`.
const OLD_SOFTWARE_VERSION: &[u64] = &[1, 3, 6, 1, 4, 1, 4935, 10, 15, 1, 3];

/// A DGW OID: the services root followed by `tail`.
fn dgw(tail: &[u64]) -> Vec<u64> {
    let mut v = DGW.to_vec();
    v.extend_from_slice(tail);
    v
}

/// At most this many rows per table walk: a unit has a handful of lines; a
/// walk that goes on is an agent bug, not data.
const MAX_WALK_ROWS: usize = 2048;

/// Why a unit could not be polled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    /// No answer within the timeout, after every retry.
    #[error(
        "no SNMP response after {tries} tries of {timeout_ms} ms; check that the unit is \
         powered and reachable and that its SNMP community or v3 user matches"
    )]
    NoResponse {
        /// Requests sent.
        tries: u32,
        /// Wait for each.
        timeout_ms: u64,
    },
    /// The socket could not be opened.
    #[error("cannot open a UDP socket towards {addr}: {reason}")]
    Socket {
        /// The agent's address.
        addr: SocketAddr,
        /// The system error.
        reason: String,
    },
    /// The address refused the requests (ICMP port unreachable).
    #[error(
        "{addr} refuses SNMP (port unreachable); check that the unit's SNMP agent is enabled \
         and listens on that port"
    )]
    Refused {
        /// The agent's address.
        addr: SocketAddr,
    },
    /// The agent answered with an error or something unreadable.
    #[error("SNMP error from {addr}: {reason}")]
    Protocol {
        /// The agent's address.
        addr: SocketAddr,
        /// What went wrong.
        reason: String,
    },
    /// The agent answers but not with the system group.
    #[error("{addr} answers SNMP but has no sysUpTime; is it an SNMP agent of a Mediatrix unit?")]
    NotAUnit {
        /// The agent's address.
        addr: SocketAddr,
    },
}

/// An SNMP value copied out of the response buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnmpValue {
    /// INTEGER.
    Int(i64),
    /// OCTET STRING.
    Bytes(Vec<u8>),
    /// OBJECT IDENTIFIER, dotted.
    Oid(String),
    /// TimeTicks (hundredths of a second).
    Ticks(u32),
    /// Counter32, Gauge32/Unsigned32, Counter64.
    Unsigned(u64),
    /// noSuchObject, noSuchInstance or endOfMibView.
    Missing,
    /// Any other type.
    Other,
}

impl SnmpValue {
    fn from_value(v: &Value<'_>) -> SnmpValue {
        match v {
            Value::Integer(i) => SnmpValue::Int(*i),
            Value::OctetString(b) => SnmpValue::Bytes(b.to_vec()),
            Value::ObjectIdentifier(o) => SnmpValue::Oid(o.to_id_string()),
            Value::Timeticks(t) => SnmpValue::Ticks(*t),
            Value::Counter32(c) | Value::Unsigned32(c) => SnmpValue::Unsigned(u64::from(*c)),
            Value::Counter64(c) => SnmpValue::Unsigned(*c),
            Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => SnmpValue::Missing,
            _ => SnmpValue::Other,
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            SnmpValue::Int(i) => Some(*i),
            SnmpValue::Unsigned(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            SnmpValue::Bytes(b) => Some(String::from_utf8_lossy(b).trim().to_string()),
            SnmpValue::Oid(o) => Some(o.clone()),
            _ => None,
        }
    }
}

/// One variable binding, owned.
pub(crate) type Varbind = (Vec<u64>, SnmpValue);

/// The variable bindings of a response, copied out of its buffer.
pub(crate) fn varbinds_of(pdu: snmp2::Pdu<'_>) -> Vec<Varbind> {
    pdu.varbinds
        .map(|(o, v)| (oid_arcs(&o), SnmpValue::from_value(&v)))
        .collect()
}

fn oid_arcs(oid: &Oid<'_>) -> Vec<u64> {
    oid.iter().map(|i| i.collect()).unwrap_or_default()
}

fn to_oid(arcs: &[u64]) -> Oid<'static> {
    // Only called with the constant OIDs above and OIDs an agent returned,
    // whose arcs are valid.
    Oid::from(arcs).unwrap_or_else(|_| Oid::from(&[0, 0]).expect("0.0 is a valid OID"))
}

/// An SNMP client for one unit: sessions, timeouts and retries.
pub struct SnmpClient {
    addr: SocketAddr,
    settings: SnmpSettings,
    session: Option<AsyncSession>,
    req_id: i32,
}

impl SnmpClient {
    /// A client for the agent at `addr` (nothing is sent yet).
    pub fn new(addr: SocketAddr, settings: SnmpSettings) -> Self {
        SnmpClient {
            addr,
            settings,
            session: None,
            req_id: rand::random::<i32>() & 0x3fff_ffff,
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.settings.timeout_ms.max(1))
    }

    fn security(&self) -> snmp2::v3::Security {
        use snmp2::v3::{Auth, AuthProtocol as P, Cipher, Security};
        let s = &self.settings;
        let auth = match s.privacy {
            PrivProtocol::None => Auth::AuthNoPriv,
            PrivProtocol::Aes => Auth::AuthPriv {
                cipher: Cipher::Aes128,
                privacy_password: s.privacy_password.as_bytes().to_vec(),
            },
        };
        Security::new(s.user.as_bytes(), s.auth_password.as_bytes())
            .with_auth(auth)
            .with_auth_protocol(match s.auth {
                AuthProtocol::Sha => P::Sha1,
                AuthProtocol::Sha256 => P::Sha256,
            })
            .with_context_name(&s.context)
    }

    /// A new session (socket, and for v3 the engine discovery of RFC 3414
    /// §4), bounded by the timeout.
    async fn open(&mut self) -> Result<AsyncSession, PollError> {
        self.req_id = self.req_id.wrapping_add(1000) & 0x3fff_ffff;
        let socket_err = |e: std::io::Error| PollError::Socket {
            addr: self.addr,
            reason: e.to_string(),
        };
        match self.settings.version {
            SnmpVersion::V2c => {
                AsyncSession::new_v2c(self.addr, self.settings.community.as_bytes(), self.req_id)
                    .await
                    .map_err(socket_err)
            }
            SnmpVersion::V3 => {
                let mut session = AsyncSession::new_v3(self.addr, self.req_id, self.security())
                    .await
                    .map_err(socket_err)?;
                match tokio::time::timeout(self.timeout(), session.init()).await {
                    Ok(Ok(())) => Ok(session),
                    Ok(Err(snmp2::Error::Receive | snmp2::Error::Send)) => {
                        Err(PollError::Refused { addr: self.addr })
                    }
                    Ok(Err(e)) => Err(PollError::Protocol {
                        addr: self.addr,
                        reason: format!("SNMPv3 engine discovery failed: {e}"),
                    }),
                    Err(_) => Err(PollError::NoResponse {
                        tries: 1,
                        timeout_ms: self.settings.timeout_ms,
                    }),
                }
            }
        }
    }

    /// Send one request with timeout and retries; `op` builds and sends it
    /// on a session and copies the varbinds out.
    async fn request<F>(&mut self, op: F) -> Result<Vec<Varbind>, PollError>
    where
        F: for<'s> Fn(
            &'s mut AsyncSession,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = Result<Vec<Varbind>, snmp2::Error>> + Send + 's>,
        >,
    {
        let tries = self.settings.retries + 1;
        let mut last = None;
        for _ in 0..tries {
            let mut session = match self.session.take() {
                Some(s) => s,
                None => match self.open().await {
                    Ok(s) => s,
                    Err(e @ PollError::Socket { .. }) => return Err(e),
                    Err(e) => {
                        last = Some(e);
                        continue;
                    }
                },
            };
            let mut result = tokio::time::timeout(self.timeout(), op(&mut session)).await;
            // SNMPv3: the agent's engine boots/time were out of step and the
            // library has resynchronised (RFC 3414 §3.2 step 7): send again.
            if matches!(result, Ok(Err(snmp2::Error::AuthUpdated))) {
                result = tokio::time::timeout(self.timeout(), op(&mut session)).await;
            }
            match result {
                Ok(Ok(varbinds)) => {
                    self.session = Some(session);
                    return Ok(varbinds);
                }
                Ok(Err(snmp2::Error::Receive | snmp2::Error::Send)) => {
                    // On a connected UDP socket an ICMP port unreachable
                    // surfaces as a receive error: no agent on that port.
                    last = Some(PollError::Refused { addr: self.addr });
                }
                Ok(Err(e)) => {
                    // A wrong community is never answered (RFC 3584), so an
                    // error here is a real answer: a v3 auth failure, a bad
                    // packet. Resending on a fresh session may still help
                    // (a stale reply, a resynchronised engine).
                    last = Some(PollError::Protocol {
                        addr: self.addr,
                        reason: e.to_string(),
                    });
                }
                Err(_) => {
                    last = Some(PollError::NoResponse {
                        tries,
                        timeout_ms: self.settings.timeout_ms,
                    });
                }
            }
        }
        Err(match last {
            Some(PollError::NoResponse { .. }) | None => PollError::NoResponse {
                tries,
                timeout_ms: self.settings.timeout_ms,
            },
            Some(e) => e,
        })
    }

    /// GET several scalars at once; missing ones come back as
    /// [`SnmpValue::Missing`].
    pub async fn get(&mut self, oids: &[Vec<u64>]) -> Result<Vec<Varbind>, PollError> {
        let oids: Arc<Vec<Oid<'static>>> = Arc::new(oids.iter().map(|o| to_oid(o)).collect());
        let addr = self.addr;
        let vbs = self
            .request(move |s| {
                let oids = oids.clone();
                Box::pin(async move {
                    let refs: Vec<&Oid<'_>> = oids.iter().collect();
                    let pdu = s.get_many(&refs).await?;
                    if pdu.error_status != 0 {
                        return Err(snmp2::Error::Mib(format!(
                            "error-status {} at index {}",
                            pdu.error_status, pdu.error_index
                        )));
                    }
                    Ok(varbinds_of(pdu))
                })
            })
            .await;
        vbs.map_err(|e| match e {
            PollError::Protocol { reason, .. } => PollError::Protocol { addr, reason },
            other => other,
        })
    }

    /// Walk every instance under `prefix` with GETBULK (RFC 3416 §4.2.3).
    pub async fn walk(&mut self, prefix: &[u64]) -> Result<Vec<Varbind>, PollError> {
        let mut out = Vec::new();
        let mut cursor = prefix.to_vec();
        loop {
            let start = Arc::new(to_oid(&cursor));
            let batch = self
                .request(move |s| {
                    let start = start.clone();
                    Box::pin(async move {
                        let pdu = s.getbulk(&[&*start], 0, 20).await?;
                        Ok(varbinds_of(pdu))
                    })
                })
                .await?;
            match walk_batch(prefix, &mut cursor, batch, &mut out) {
                Ok(true) => return Ok(out),
                Ok(false) => {}
                Err(reason) => {
                    return Err(PollError::Protocol {
                        addr: self.addr,
                        reason,
                    });
                }
            }
        }
    }
}

/// Takes one GETBULK answer of a walk under `prefix` into `out`, moving
/// `cursor` on: `Ok(true)` when the walk is over (an empty batch, a row
/// past the table, an end-of-MIB marker, or [`MAX_WALK_ROWS`] rows), the
/// reason when the agent does not advance.
pub(crate) fn walk_batch(
    prefix: &[u64],
    cursor: &mut Vec<u64>,
    batch: Vec<Varbind>,
    out: &mut Vec<Varbind>,
) -> Result<bool, String> {
    if batch.is_empty() {
        return Ok(true);
    }
    for (oid, value) in batch {
        if !oid.starts_with(prefix) || value == SnmpValue::Missing {
            return Ok(true);
        }
        if oid <= *cursor {
            return Err(format!(
                "the agent's walk does not advance ({} after {})",
                dotted(&oid),
                dotted(cursor)
            ));
        }
        *cursor = oid.clone();
        out.push((oid, value));
        if out.len() >= MAX_WALK_ROWS {
            return Ok(true);
        }
    }
    Ok(false)
}

fn dotted(arcs: &[u64]) -> String {
    arcs.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// A string table index (`lineId "Port1"` → `5.80.111.114.116.49`): the
/// length then one arc per octet (RFC 2578 §7.7); an IMPLIED index has no
/// length.
fn string_index(arcs: &[u64]) -> String {
    let body = match arcs.split_first() {
        Some((len, rest)) if *len as usize == rest.len() => rest,
        _ => arcs,
    };
    body.iter()
        .map(|&a| char::from(u8::try_from(a).unwrap_or(b'?')))
        .collect()
}

/// The scalars read after the system group: unitAdminState, unitOpState,
/// the FPU status, and the older units' software version (with and without
/// the `.0` some agents want).
fn unit_scalars() -> [Vec<u64>; 5] {
    let old_fw = OLD_SOFTWARE_VERSION.to_vec();
    let mut old_fw0 = old_fw.clone();
    old_fw0.push(0);
    [
        dgw(&[1500, 1, 100, 100, 0]),
        dgw(&[1500, 1, 100, 200, 0]),
        dgw(&[1300, 1, 110, 0]),
        old_fw,
        old_fw0,
    ]
}

/// MX-FPU-MIB `mfpInstalledInfoTable`.
fn firmware_table() -> Vec<u64> {
    dgw(&[1300, 1, 100, 1])
}

/// MX-POTS-MIB `lineTable.lineState`, indexed by lineId.
fn line_state_column() -> Vec<u64> {
    dgw(&[1800, 1, 100, 1, 300])
}

/// MX-SIPEP-MIB `registrationStatusTable`: endpoint (.300) and state (.400)
/// by registrationStatusIndex.
fn registration_table() -> Vec<u64> {
    dgw(&[1400, 1, 800, 10000, 1])
}

/// The tables a poll walks, in order: firmware, line states, registrations.
pub(crate) fn walk_tables() -> [Vec<u64>; 3] {
    [firmware_table(), line_state_column(), registration_table()]
}

fn value_of(vbs: &[Varbind], oid: &[u64]) -> SnmpValue {
    vbs.iter()
        .find(|(o, _)| o == oid)
        .map(|(_, v)| v.clone())
        .unwrap_or(SnmpValue::Missing)
}

/// Read everything faxbridge watches on one unit.
pub async fn read_unit(client: &mut SnmpClient) -> Result<Reading, PollError> {
    let addr = client.addr;
    let system = client
        .get(&[
            SYS_DESCR.to_vec(),
            SYS_OBJECT_ID.to_vec(),
            SYS_UPTIME.to_vec(),
            SYS_NAME.to_vec(),
        ])
        .await?;
    // Not a unit: ask nothing more.
    if !matches!(value_of(&system, SYS_UPTIME), SnmpValue::Ticks(_)) {
        return Err(PollError::NotAUnit { addr });
    }
    let scalars = client.get(&unit_scalars()).await?;
    let firmware = client.walk(&firmware_table()).await?;
    let lines = client.walk(&line_state_column()).await?;
    let registrations = client.walk(&registration_table()).await?;
    reading_from(&system, &scalars, &firmware, &lines, &registrations)
        .ok_or(PollError::NotAUnit { addr })
}

/// A [`Reading`] from the answers of one poll: the system group, the
/// [`unit_scalars`] and the rows of the three table walks (each under its
/// table, as [`SnmpClient::walk`] returns them). `None` without sysUpTime.
pub(crate) fn reading_from(
    system: &[Varbind],
    scalars: &[Varbind],
    firmware: &[Varbind],
    lines: &[Varbind],
    registrations: &[Varbind],
) -> Option<Reading> {
    let SnmpValue::Ticks(uptime_ticks) = value_of(system, SYS_UPTIME) else {
        return None;
    };
    let mut reading = Reading {
        sys_descr: value_of(system, SYS_DESCR).text().unwrap_or_default(),
        sys_object_id: value_of(system, SYS_OBJECT_ID).text().unwrap_or_default(),
        sys_name: value_of(system, SYS_NAME).text().unwrap_or_default(),
        uptime_ticks,
        ..Reading::default()
    };
    let [admin, op, fpu, old_fw, old_fw0] = unit_scalars();
    reading.unit_admin_state = value_of(scalars, &admin).int();
    reading.unit_op_state = value_of(scalars, &op).int();
    reading.fpu_status = value_of(scalars, &fpu).int();

    // Firmware: the DGW pack in the main bank in use, else the old OID.
    let mfp = firmware_table();
    let column = |col: u64| -> BTreeMap<Vec<u64>, SnmpValue> {
        firmware
            .iter()
            .filter(|(o, _)| o.len() > mfp.len() && o.starts_with(&mfp) && o[mfp.len()] == col)
            .map(|(o, v)| (o[mfp.len() + 1..].to_vec(), v.clone()))
            .collect()
    };
    let versions = column(200);
    let banks = column(300);
    reading.firmware = versions
        .iter()
        .find(|(idx, _)| banks.get(*idx).and_then(SnmpValue::int) == Some(400))
        .or_else(|| versions.iter().next())
        .and_then(|(_, v)| v.text())
        .filter(|v| !v.is_empty())
        .or_else(|| value_of(scalars, &old_fw).text())
        .or_else(|| value_of(scalars, &old_fw0).text());

    let line_state = line_state_column();
    for (oid, v) in lines {
        let Some(index) = oid.strip_prefix(line_state.as_slice()) else {
            continue;
        };
        if let Some(state) = v.int() {
            reading
                .lines
                .insert(string_index(index), LineState::from_mib(state));
        }
    }

    let reg = registration_table();
    let mut endpoints = BTreeMap::new();
    let mut states = BTreeMap::new();
    for (oid, v) in registrations {
        let Some((&col, idx)) = oid
            .strip_prefix(reg.as_slice())
            .and_then(<[u64]>::split_first)
        else {
            continue;
        };
        match col {
            300 => {
                endpoints.insert(idx.to_vec(), v.text().unwrap_or_default());
            }
            400 => {
                if let Some(s) = v.int() {
                    states.insert(idx.to_vec(), Registration::from_mib(s));
                }
            }
            _ => {}
        }
    }
    for (idx, state) in states {
        let name = endpoints
            .remove(&idx)
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| format!("registration {}", dotted(&idx)));
        reading.registrations.insert(name, state);
    }
    Some(reading)
}

/// Poll one unit once.
pub async fn poll_unit(unit: &UnitConfig, settings: &SnmpSettings) -> Snapshot {
    let addr = SocketAddr::new(unit.address, settings.port);
    let mut client = SnmpClient::new(addr, settings.clone());
    let result = read_unit(&mut client).await.map_err(|e| e.to_string());
    Snapshot {
        unit: unit.name.clone(),
        at: crate::clock::now_ms(),
        result,
    }
}

/// The statuses of every unit, shared between the monitor and readers.
pub type SharedStatus = Arc<RwLock<BTreeMap<String, UnitStatus>>>;

/// Polls every configured unit and keeps their statuses.
#[derive(Clone)]
pub struct Monitor {
    config: Arc<AtaConfig>,
    store: Option<Store>,
    status: SharedStatus,
}

impl Monitor {
    /// A monitor over `config`'s units; statuses are persisted to `store`
    /// when given.
    pub fn new(config: &AtaConfig, store: Option<Store>) -> Self {
        Monitor {
            config: Arc::new(config.clone()),
            store,
            status: SharedStatus::default(),
        }
    }

    /// The live statuses.
    pub fn status(&self) -> SharedStatus {
        self.status.clone()
    }

    /// Start from the statuses stored by an earlier run, so that a restart
    /// of faxbridge does not report every standing fault again.
    pub async fn load(&self) -> Result<(), sqlx::Error> {
        if let Some(store) = &self.store {
            self.seed(super::store::load_all(store).await?).await;
        }
        Ok(())
    }

    /// Start from `statuses` (e.g. read from the store by another process)
    /// instead of nothing; statuses of units not configured are ignored.
    pub async fn seed(&self, statuses: Vec<UnitStatus>) {
        let mut map = self.status.write().await;
        for s in statuses {
            if self.config.units.iter().any(|u| u.name == s.unit) {
                map.insert(s.unit.clone(), s);
            }
        }
    }

    fn expectations(&self, unit: &UnitConfig) -> Expectations {
        Expectations {
            firmware: unit.firmware.clone(),
            lines: self
                .config
                .ports
                .iter()
                .filter(|p| p.unit == unit.name)
                .map(|p| p.line_id())
                .collect(),
            upgrade_window_ms: Millis::try_from(self.config.monitor.upgrade_window_secs)
                .unwrap_or(Millis::MAX / 2)
                .saturating_mul(1000),
        }
    }

    /// Poll every unit now (concurrently), judge, store and log; returns the
    /// events.
    pub async fn poll_once(&self) -> Vec<AtaEvent> {
        let mut tasks = tokio::task::JoinSet::new();
        for unit in &self.config.units {
            let unit = unit.clone();
            let settings = self.config.snmp_for(&unit);
            tasks.spawn(async move { poll_unit(&unit, &settings).await });
        }
        let mut snapshots = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(s) => snapshots.push(s),
                Err(e) => error!(error = %e, "ATA poll task failed"),
            }
        }
        snapshots.sort_by(|a, b| a.unit.cmp(&b.unit));
        let mut all = Vec::new();
        for snap in snapshots {
            let Some(unit) = self.config.units.iter().find(|u| u.name == snap.unit) else {
                continue;
            };
            let expect = self.expectations(unit);
            let previous = self.status.read().await.get(&snap.unit).cloned();
            let (status, events) = assess(previous.as_ref(), &snap, &expect);
            for e in &events {
                if e.is_error() {
                    error!(unit = %unit.name, event = %e, "ATA");
                } else {
                    warn!(unit = %unit.name, event = %e, "ATA");
                }
            }
            if let Some(store) = &self.store
                && let Err(e) = super::store::save(store, &status).await
            {
                error!(unit = %unit.name, error = %e, "cannot store the ATA status");
            }
            self.status.write().await.insert(snap.unit.clone(), status);
            all.extend(events);
        }
        all
    }

    /// Poll every `[ata.monitor] interval_secs` until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let every = self.config.monitor.interval_secs;
        if every == 0 || self.config.units.is_empty() {
            info!("ATA monitoring off (no units or interval 0)");
            return;
        }
        if let Err(e) = self.load().await {
            warn!(error = %e, "cannot read stored ATA statuses; starting fresh");
        }
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => { self.poll_once().await; }
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_indexes_decode() {
        assert_eq!(string_index(&[5, 80, 111, 114, 116, 49]), "Port1");
        assert_eq!(string_index(&[80, 111, 114, 116, 50]), "Port2");
        assert_eq!(string_index(&[]), "");
    }

    #[test]
    fn values_convert() {
        assert_eq!(SnmpValue::Int(300).int(), Some(300));
        assert_eq!(SnmpValue::Unsigned(3).int(), Some(3));
        assert_eq!(
            SnmpValue::Bytes(b" 48.1.2 ".to_vec()).text().as_deref(),
            Some("48.1.2")
        );
        assert_eq!(SnmpValue::Missing.text(), None);
        assert_eq!(dotted(&[1, 3, 6]), "1.3.6");
        assert_eq!(oid_arcs(&to_oid(SYS_UPTIME)), SYS_UPTIME);
    }

    #[tokio::test]
    async fn silent_agent_costs_timeout_times_tries() {
        // A bound UDP socket that never answers.
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let settings = SnmpSettings {
            timeout_ms: 100,
            retries: 2,
            ..SnmpSettings::default()
        };
        let mut client = SnmpClient::new(silent.local_addr().unwrap(), settings);
        let started = std::time::Instant::now();
        let err = read_unit(&mut client).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(
            err,
            PollError::NoResponse {
                tries: 3,
                timeout_ms: 100
            }
        );
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        let mut buf = [0u8; 1500];
        let mut received = 0;
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(10), silent.recv_from(&mut buf)).await
        {
            received += 1;
        }
        assert_eq!(received, 3, "one request per try");
    }
}
