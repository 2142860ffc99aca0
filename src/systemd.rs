//! systemd service notification (`Type=notify`) and the watchdog.
//!
//! systemd passes a datagram socket in `NOTIFY_SOCKET` (a path, or an
//! abstract name written with a leading `@`) and, when `WatchdogSec=` is
//! set, the interval in `WATCHDOG_USEC` together with the process id the
//! watchdog is meant for in `WATCHDOG_PID`. The protocol is one datagram of
//! `KEY=value` lines per state change (sd_notify(3)):
//!
//! - `READY=1` once the daemon listens (systemd starts dependants then);
//! - `RELOADING=1` … `READY=1` around a SIGHUP reload;
//! - `STOPPING=1` when draining calls at shutdown;
//! - `STATUS=…` a one-line status `systemctl status` shows;
//! - `WATCHDOG=1` at least every `WATCHDOG_USEC`, or systemd restarts us.
//!
//! The watchdog ping is only sent while the daemon's own health check
//! passes (see `daemon.rs`: the store answers), so a wedged database makes
//! systemd restart the service rather than the ping hiding it.
//!
//! Outside systemd (`NOTIFY_SOCKET` unset) every call is a no-op.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::time::Duration;

/// Where notifications go, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    /// A socket file.
    Path(PathBuf),
    /// A Linux abstract socket name (written `@name` in `NOTIFY_SOCKET`).
    Abstract(Vec<u8>),
}

impl NotifyTarget {
    /// Parse a `NOTIFY_SOCKET` value; `None` for an empty or unusable one.
    pub fn parse(value: &str) -> Option<NotifyTarget> {
        if let Some(name) = value.strip_prefix('@') {
            (!name.is_empty()).then(|| NotifyTarget::Abstract(name.as_bytes().to_vec()))
        } else if value.starts_with('/') {
            Some(NotifyTarget::Path(PathBuf::from(value)))
        } else {
            None
        }
    }

    fn address(&self) -> io::Result<SocketAddr> {
        match self {
            NotifyTarget::Path(p) => SocketAddr::from_pathname(p),
            NotifyTarget::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name)
            }
        }
    }
}

/// Sends service notifications to systemd (or nowhere).
#[derive(Debug)]
pub struct Notifier {
    socket: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier {
            socket: None,
            watchdog: None,
        }
    }

    /// From the environment systemd sets for the service.
    pub fn from_env() -> Notifier {
        let target = std::env::var("NOTIFY_SOCKET")
            .ok()
            .and_then(|v| NotifyTarget::parse(&v));
        let watchdog = watchdog_interval(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        match target {
            Some(t) => Notifier::new(&t, watchdog).unwrap_or_else(|e| {
                tracing::warn!(
                    "cannot use NOTIFY_SOCKET: {e}; systemd will not be told we are ready"
                );
                Notifier::disabled()
            }),
            None => Notifier::disabled(),
        }
    }

    /// A notifier sending to `target`, with the watchdog interval if any.
    pub fn new(target: &NotifyTarget, watchdog: Option<Duration>) -> io::Result<Notifier> {
        let socket = UnixDatagram::unbound()?;
        let address = target.address()?;
        Ok(Notifier {
            socket: Some((socket, address)),
            watchdog,
        })
    }

    /// Whether notifications go anywhere.
    pub fn enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// How often to ping the watchdog: half of systemd's timeout, as
    /// sd_watchdog_enabled(3) advises; `None` when there is no watchdog.
    pub fn ping_interval(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    /// Send one notification (`KEY=value` lines). Errors are logged, not
    /// returned: systemd being gone must not stop the daemon.
    pub fn notify(&self, state: &str) {
        if let Some((socket, address)) = &self.socket
            && let Err(e) = socket.send_to_addr(state.as_bytes(), address)
        {
            tracing::debug!("systemd notification {state:?} not sent: {e}");
        }
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) {
        self.notify(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// `STATUS=…`.
    pub fn status(&self, status: &str) {
        self.notify(&format!("STATUS={}", one_line(status)));
    }

    /// `RELOADING=1` (the unit is `Type=notify`, so systemd does not need
    /// the `MONOTONIC_USEC` that `Type=notify-reload` would).
    pub fn reloading(&self) {
        self.notify("RELOADING=1");
    }

    /// `STOPPING=1` with a status line.
    pub fn stopping(&self, status: &str) {
        self.notify(&format!("STOPPING=1\nSTATUS={}", one_line(status)));
    }

    /// `WATCHDOG=1`.
    pub fn watchdog(&self) {
        self.notify("WATCHDOG=1");
    }
}

/// The watchdog timeout from `WATCHDOG_USEC`, if it is meant for `pid`.
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    Some(Duration::from_micros(usec))
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_socket_forms() {
        assert_eq!(
            NotifyTarget::parse("/run/systemd/notify"),
            Some(NotifyTarget::Path("/run/systemd/notify".into()))
        );
        assert_eq!(
            NotifyTarget::parse("@sd-notify"),
            Some(NotifyTarget::Abstract(b"sd-notify".to_vec()))
        );
        assert_eq!(NotifyTarget::parse(""), None);
        assert_eq!(NotifyTarget::parse("@"), None);
        assert_eq!(NotifyTarget::parse("relative/path"), None);
    }

    #[test]
    fn watchdog_only_for_our_pid() {
        let d = Some(Duration::from_secs(30));
        assert_eq!(watchdog_interval(Some("30000000"), None, 7), d);
        assert_eq!(watchdog_interval(Some("30000000"), Some("7"), 7), d);
        assert_eq!(watchdog_interval(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval(None, Some("7"), 7), None);
    }

    #[test]
    fn datagrams_reach_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::new(
            &NotifyTarget::Path(path.clone()),
            Some(Duration::from_secs(10)),
        )
        .unwrap();
        assert_eq!(n.ping_interval(), Some(Duration::from_secs(5)));
        n.ready("listening on\n127.0.0.1:5060");
        n.watchdog();
        let mut buf = [0u8; 256];
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(
            &buf[..len],
            b"READY=1\nSTATUS=listening on 127.0.0.1:5060".as_slice()
        );
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1".as_slice());
    }

    #[test]
    fn datagrams_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("faxbridge-test-{}", std::process::id());
        let rx = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
            .unwrap();
        let n = Notifier::new(&NotifyTarget::parse(&format!("@{name}")).unwrap(), None).unwrap();
        n.stopping("draining 2 calls");
        let mut buf = [0u8; 256];
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(
            &buf[..len],
            b"STOPPING=1\nSTATUS=draining 2 calls".as_slice()
        );
    }

    #[test]
    fn disabled_sends_nothing_and_does_not_fail() {
        let n = Notifier::disabled();
        assert!(!n.enabled());
        n.ready("x");
        n.watchdog();
        assert_eq!(n.ping_interval(), None);
    }
}
