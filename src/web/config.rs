//! `[web]`: the admin and finance web interface, its accounts and the
//! single sign-on proxy it trusts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::net::Cidr;
use crate::problem::{Problem, Validate};

/// What a signed-in person may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including jobs, lines and the configuration summary.
    Admin,
    /// The PCI-DSS report and the fax logs, no changes to jobs.
    Finance,
    /// Only the faxes sent to or by the person's own mail address.
    User,
}

impl Role {
    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::User => "user",
        }
    }
}

/// `[[web.accounts]]`: one local account.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebAccount {
    /// Sign-in name, compared exactly.
    pub username: String,
    /// Salted hash of the password, as for `[[intake.smtp.accounts]]`: the
    /// `$argon2id$…` line `faxbridge passwd` prints (or an older
    /// `pbkdf2-sha256$ITERATIONS$SALT$HEX`), see [`crate::password`].
    pub password_hash: String,
    /// `admin`, `finance` or `user`.
    pub role: Role,
    /// The person's mail address: a `user` sees the faxes whose recipients
    /// or submitter contain it.
    #[serde(default)]
    pub email: Option<String>,
}

impl std::fmt::Debug for WebAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAccount")
            .field("username", &self.username)
            .field("password_hash", &"***")
            .field("role", &self.role)
            .field("email", &self.email)
            .finish()
    }
}

/// `[web.trusted_proxy]`: a reverse proxy that authenticates people (single
/// sign-on) and names them in a request header.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedProxy {
    /// Addresses or CIDR blocks the proxy connects from. The header is
    /// ignored on connections from anywhere else, so a browser cannot claim
    /// a name by sending the header itself.
    pub addresses: Vec<String>,
    /// The header carrying the signed-in user name.
    #[serde(default = "default_header")]
    pub header: String,
    /// Role of each user name the proxy may send.
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    /// Role of a user name not in `roles`; unset refuses such users.
    #[serde(default)]
    pub default_role: Option<Role>,
}

fn default_header() -> String {
    "X-Remote-User".to_string()
}

/// The shortest `/metrics` bearer token accepted (characters).
const MIN_TOKEN_LEN: usize = 16;

/// `[web]`: where the interface listens and who may use it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Address and port to listen on, e.g. `127.0.0.1:8080`. Unset: no web
    /// interface.
    pub listen: Option<SocketAddr>,
    /// A session ends this many minutes after sign-in.
    pub session_minutes: u32,
    /// Addresses or CIDR blocks allowed to read `/metrics` without signing
    /// in (the Prometheus server), when the request comes straight from
    /// there: never from a `[web.trusted_proxy]` address or with a proxy's
    /// forwarding headers. Signed-in admins may always read it.
    pub metrics_from: Vec<String>,
    /// A file holding a bearer token (its contents, spaces and newlines
    /// around it trimmed) that reads `/metrics` from anywhere with
    /// `Authorization: Bearer TOKEN`, including through the proxy.
    pub metrics_token_file: Option<PathBuf>,
    /// Local accounts.
    pub accounts: Vec<WebAccount>,
    /// Single sign-on through a reverse proxy.
    pub trusted_proxy: Option<TrustedProxy>,
    /// When the session cookie carries `Secure` (sent over HTTPS only).
    pub secure_cookies: SecureCookies,
    /// Failed sign-ins allowed per client address within
    /// `login_window_minutes`; more lock the address out (429) until the
    /// oldest failure leaves the window. An account is never locked out:
    /// its failures slow further attempts on it down instead.
    pub login_max_failures: u32,
    /// The window of `login_max_failures` (and of an account's slowdown),
    /// in minutes.
    pub login_window_minutes: u32,
}

/// `[web] secure_cookies`: `"auto"`, `true` or `false`.
///
/// faxbridge serves plain HTTP; HTTPS is a reverse proxy's job. A `Secure`
/// cookie is never sent over plain HTTP, so it keeps the session id off an
/// unencrypted hop, but it would also break sign-in on a plain-HTTP
/// deployment. `auto` marks the cookie `Secure` when the request reached
/// the proxy over HTTPS: it came from a `[web.trusted_proxy] addresses`
/// address with `X-Forwarded-Proto: https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureCookies {
    /// `Secure` when the trusted proxy says the browser used HTTPS.
    #[default]
    Auto,
    /// Always `Secure` (HTTPS in front, whatever the proxy says).
    Always,
    /// Never `Secure` (plain HTTP on a trusted network).
    Never,
}

impl<'de> Deserialize<'de> for SecureCookies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(SecureCookies::Always),
            Raw::Bool(false) => Ok(SecureCookies::Never),
            Raw::Text(t) if t == "auto" => Ok(SecureCookies::Auto),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "secure_cookies = {t:?} is not \"auto\", true or false; write                  secure_cookies = \"auto\" (Secure behind an HTTPS proxy), true or false"
            ))),
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: None,
            session_minutes: 480,
            metrics_from: vec!["127.0.0.0/8".to_string(), "::1".to_string()],
            metrics_token_file: None,
            accounts: Vec::new(),
            trusted_proxy: None,
            secure_cookies: SecureCookies::Auto,
            login_max_failures: 5,
            login_window_minutes: 5,
        }
    }
}

impl WebConfig {
    /// The bearer token of `/metrics`: the contents of `metrics_token_file`
    /// trimmed (`Ok(None)` when no file is set). A file that cannot be
    /// read, or holds an empty or short token, is an error saying which.
    pub(crate) fn metrics_token(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.metrics_token_file else {
            return Ok(None);
        };
        let text = crate::durable::read_bounded(path, crate::durable::CONFIG_FILE_LIMIT)
            .and_then(|b| {
                String::from_utf8(b).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")
                })
            })
            .map_err(|e| format!("cannot read {} ({e})", path.display()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "{} holds a token of {} characters; one that short can be guessed",
                path.display(),
                token.len()
            ));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{} holds spaces or control characters inside the token",
                path.display()
            ));
        }
        Ok(Some(token.to_string()))
    }

    /// The parsed `metrics_from` blocks (invalid ones are skipped; they are
    /// reported by [`WebConfig::problems`]).
    pub(crate) fn metrics_networks(&self) -> Vec<Cidr> {
        self.metrics_from
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect()
    }
}

impl Validate for WebConfig {
    /// Every value that cannot work, with the key and the fix.
    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: String, problem: String, fix: &str| {
            out.push(Problem {
                key,
                problem,
                fix: fix.to_string(),
            })
        };
        if !(5..=7 * 24 * 60).contains(&self.session_minutes) {
            bad(
                "web.session_minutes".into(),
                format!("is {}", self.session_minutes),
                "use 5 to 10080 minutes (a week); 480 covers a working day",
            );
        }
        if !(1..=100).contains(&self.login_max_failures) {
            bad(
                "web.login_max_failures".into(),
                format!("is {}", self.login_max_failures),
                "use 1 to 100; 5 slows password guessing without locking out typists",
            );
        }
        if !(1..=24 * 60).contains(&self.login_window_minutes) {
            bad(
                "web.login_window_minutes".into(),
                format!("is {}", self.login_window_minutes),
                "use 1 to 1440 minutes, e.g. 5",
            );
        }
        for (i, a) in self.metrics_from.iter().enumerate() {
            if let Err(e) = a.parse::<Cidr>() {
                bad(
                    format!("web.metrics_from[{i}]"),
                    e.to_string(),
                    "write an address or block such as \"10.0.0.5\" or \"10.0.0.0/24\"",
                );
            }
        }
        if let Err(e) = self.metrics_token() {
            bad(
                "web.metrics_token_file".into(),
                e,
                "write a random token into the file, e.g. `openssl rand -hex 32 > FILE`, \
                 readable by faxbridge only, or remove metrics_token_file",
            );
        }
        for (i, account) in self.accounts.iter().enumerate() {
            let key = format!("web.accounts[{i}]");
            let name = account.username.as_str();
            if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
                bad(
                    format!("{key}.username"),
                    format!("{name:?} is empty or has spaces or control characters"),
                    "use a plain sign-in name such as \"finance1\"",
                );
            }
            if self.accounts[..i].iter().any(|a| a.username == name) {
                bad(
                    format!("{key}.username"),
                    format!("{name:?} is listed twice"),
                    "remove one of the two accounts",
                );
            }
            if let Some(e) = crate::password::problem(&account.password_hash) {
                bad(format!("{key}.password_hash"), e, crate::password::FIX);
            }
            if account.role == Role::User
                && !account.email.as_deref().is_some_and(|e| e.contains('@'))
            {
                bad(
                    format!("{key}.email"),
                    "is missing; a `user` sees only faxes for their own address".into(),
                    "set email = \"name@example.org\"",
                );
            }
        }
        if let Some(proxy) = &self.trusted_proxy {
            if proxy.addresses.is_empty() {
                bad(
                    "web.trusted_proxy.addresses".into(),
                    "is empty, so no proxy would be trusted".into(),
                    "list the proxy's address, e.g. [\"127.0.0.1\"]",
                );
            }
            for (i, a) in proxy.addresses.iter().enumerate() {
                if let Err(e) = a.parse::<Cidr>() {
                    bad(
                        format!("web.trusted_proxy.addresses[{i}]"),
                        e.to_string(),
                        "write the proxy's address, e.g. \"127.0.0.1\"",
                    );
                }
            }
            if axum::http::HeaderName::from_bytes(proxy.header.as_bytes()).is_err() {
                bad(
                    "web.trusted_proxy.header".into(),
                    format!("{:?} is not a valid header name", proxy.header),
                    "use a header name such as \"X-Remote-User\"",
                );
            }
            if proxy.roles.is_empty() && proxy.default_role.is_none() {
                bad(
                    "web.trusted_proxy.roles".into(),
                    "is empty and default_role is unset, so every proxy user would be refused"
                        .into(),
                    "map user names to roles, e.g. roles = { alice = \"admin\" }, or set \
                     default_role = \"user\"",
                );
            }
        }
        if self.listen.is_some() && self.accounts.is_empty() && self.trusted_proxy.is_none() {
            bad(
                "web.accounts".into(),
                "is empty and no [web.trusted_proxy] is set, so nobody could sign in".into(),
                "add a [[web.accounts]] entry with role = \"admin\"",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "pbkdf2-sha256$100000$0a1b2c3d$940DD54B117167A8A9DBFD6F73B02345EAE6B1266FA69D623A52F5043D9E1C85";

    #[test]
    fn default_is_off_and_valid() {
        let c = WebConfig::default();
        assert!(c.listen.is_none());
        assert!(c.problems().is_empty());
    }

    #[test]
    fn accounts_and_proxy_parse() {
        let text = format!(
            "listen = \"127.0.0.1:8080\"\n\
             [[accounts]]\nusername = \"admin\"\npassword_hash = \"{HASH}\"\nrole = \"admin\"\n\
             [trusted_proxy]\naddresses = [\"127.0.0.1\"]\nroles = {{ alice = \"finance\" }}\n"
        );
        let c: WebConfig = toml::from_str(&text).unwrap();
        assert_eq!(c.accounts[0].role, Role::Admin);
        let proxy = c.trusted_proxy.as_ref().unwrap();
        assert_eq!(proxy.header, "X-Remote-User");
        assert_eq!(proxy.roles["alice"], Role::Finance);
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert!(
            !format!("{c:?}").contains("940DD5"),
            "hash kept out of logs"
        );
    }

    #[test]
    fn bad_values_name_their_keys() {
        let text = "listen = \"127.0.0.1:8080\"\nsession_minutes = 1\nmetrics_from = [\"x\"]\n\
             [[accounts]]\nusername = \"a b\"\npassword_hash = \"plain\"\nrole = \"user\"\n\
             [trusted_proxy]\naddresses = [\"10.0.0.0/99\"]\nheader = \"bad header\"\n";
        let c: WebConfig = toml::from_str(text).unwrap();
        let keys: Vec<String> = c.problems().into_iter().map(|p| p.key).collect();
        for k in [
            "web.session_minutes",
            "web.metrics_from[0]",
            "web.accounts[0].username",
            "web.accounts[0].password_hash",
            "web.accounts[0].email",
            "web.trusted_proxy.addresses[0]",
            "web.trusted_proxy.header",
            "web.trusted_proxy.roles",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} missing in {keys:?}");
        }
        let err = toml::from_str::<WebConfig>("[[accounts]]\nusername = \"a\"\npassword = \"x\"\n")
            .unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
    }

    #[test]
    fn secure_cookies_and_login_limit_parse() {
        let c = WebConfig::default();
        assert_eq!(c.secure_cookies, SecureCookies::Auto);
        assert_eq!((c.login_max_failures, c.login_window_minutes), (5, 5));
        for (text, want) in [
            ("\"auto\"", SecureCookies::Auto),
            ("true", SecureCookies::Always),
            ("false", SecureCookies::Never),
        ] {
            let c: WebConfig = toml::from_str(&format!("secure_cookies = {text}\n")).unwrap();
            assert_eq!(c.secure_cookies, want);
        }
        let err = toml::from_str::<WebConfig>("secure_cookies = \"yes\"\n").unwrap_err();
        assert!(err.to_string().contains("\"auto\", true or false"), "{err}");
        let c: WebConfig =
            toml::from_str("login_max_failures = 0\nlogin_window_minutes = 0\n").unwrap();
        let keys: Vec<String> = c.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["web.login_max_failures", "web.login_window_minutes"]);
    }

    #[test]
    fn metrics_token_file_must_hold_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        let with = |path: &std::path::Path| WebConfig {
            metrics_token_file: Some(path.to_path_buf()),
            ..WebConfig::default()
        };
        assert_eq!(WebConfig::default().metrics_token(), Ok(None));
        std::fs::write(&file, "  0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!(
            with(&file).metrics_token(),
            Ok(Some("0123456789abcdef0123456789abcdef".into())),
            "trimmed"
        );
        assert!(with(&file).problems().is_empty());
        for (contents, says) in [
            (Some(" \n"), "is empty"),
            (Some("short"), "can be guessed"),
            (Some("0123456789 abcdef0123"), "spaces"),
            (None, "cannot read"),
        ] {
            let path = match contents {
                Some(c) => {
                    std::fs::write(&file, c).unwrap();
                    file.clone()
                }
                None => dir.path().join("missing"),
            };
            let problems = with(&path).problems();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].key, "web.metrics_token_file");
            assert!(problems[0].problem.contains(says), "{problems:?}");
            assert!(problems[0].fix.contains("openssl rand"), "{problems:?}");
        }
    }

    #[test]
    fn listening_without_anyone_to_sign_in_is_refused() {
        let c: WebConfig = toml::from_str("listen = \"127.0.0.1:8080\"\n").unwrap();
        assert_eq!(c.problems()[0].key, "web.accounts");
    }

    #[test]
    fn example_section_parses_and_validates_when_uncommented() {
        let example = include_str!("../../config/faxbridge.example.toml");
        let text: String = example
            .lines()
            .skip_while(|l| *l != "# [web]")
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(text.starts_with("[web]"), "no [web] section in the example");
        let c = crate::config::Config::parse(&text).unwrap();
        assert_eq!(c.web.accounts.len(), 2);
        assert!(c.web.trusted_proxy.is_some());
        c.validate().unwrap();
    }
}
