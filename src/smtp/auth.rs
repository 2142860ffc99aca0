//! SMTP AUTH (RFC 4954) credentials: SASL `PLAIN` (RFC 4616) and `LOGIN`
//! decoding, and checking a password against a configured account whose
//! password is stored only as a salted hash ([`crate::password`]: Argon2id,
//! or PBKDF2 for hashes made before `faxbridge passwd` existed).
//!
//! Nothing here does I/O; the listener runs [`Accounts::verify`] on a
//! bounded blocking pool because the hashes are deliberately slow.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::password::PasswordHash;

/// The configured accounts, parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accounts {
    accounts: Vec<(String, PasswordHash)>,
}

impl Accounts {
    /// Build from `(username, parsed hash)` pairs.
    pub(crate) fn new(accounts: Vec<(String, PasswordHash)>) -> Accounts {
        Accounts { accounts }
    }

    /// Whether any account is configured (AUTH is offered only then).
    pub(crate) fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Whether `username` / `password` are a configured account. User names
    /// are compared exactly. For an unknown user the first account's hash is
    /// still computed, so response time does not reveal which names exist.
    pub(crate) fn verify(&self, username: &str, password: &[u8]) -> bool {
        match self.accounts.iter().find(|(u, _)| u == username) {
            Some((_, hash)) => hash.verify(password),
            None => {
                if let Some((_, hash)) = self.accounts.first() {
                    let _ = hash.verify(password);
                }
                false
            }
        }
    }
}

/// Why a SASL response could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaslError {
    /// Not valid base64 (RFC 4954 §4: 501 5.5.2).
    Base64,
    /// Valid base64 but not the mechanism's format.
    Format,
}

/// Decode one base64 SASL response line.
pub(crate) fn decode_base64(line: &str) -> Result<Vec<u8>, SaslError> {
    BASE64.decode(line.trim()).map_err(|_| SaslError::Base64)
}

/// Decode a `PLAIN` response (RFC 4616 §2): `authzid NUL authcid NUL passwd`.
/// Returns the user name and password. An authorisation identity other than
/// the user's own (acting on behalf of another user) is refused.
pub(crate) fn decode_plain(line: &str) -> Result<(String, Vec<u8>), SaslError> {
    let raw = decode_base64(line)?;
    let mut parts = raw.splitn(3, |b| *b == 0);
    let (Some(authz), Some(user), Some(pass)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SaslError::Format);
    };
    let user = String::from_utf8(user.to_vec()).map_err(|_| SaslError::Format)?;
    if user.is_empty() || (!authz.is_empty() && authz != user.as_bytes()) {
        return Err(SaslError::Format);
    }
    Ok((user, pass.to_vec()))
}

/// Encode a server challenge for a `334` reply.
pub(crate) fn encode_base64(data: &[u8]) -> String {
    BASE64.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn accounts_check_name_and_password() {
        let digest = hex(&Sha256::digest(b"s1pw1"));
        let accounts = Accounts::new(vec![(
            "relay".into(),
            PasswordHash::parse(&format!("sha256$s1${digest}")).unwrap(),
        )]);
        assert!(accounts.verify("relay", b"pw1"));
        assert!(!accounts.verify("Relay", b"pw1"));
        assert!(!accounts.verify("other", b"pw1"));
        assert!(!accounts.verify("relay", b"pw2"));
        assert!(!Accounts::default().verify("relay", b"pw1"));
    }

    #[test]
    fn plain_responses_decode() {
        let enc = |b: &[u8]| encode_base64(b);
        assert_eq!(
            decode_plain(&enc(b"\0user\0pass")),
            Ok(("user".into(), b"pass".to_vec()))
        );
        assert_eq!(
            decode_plain(&enc(b"user\0user\0pa\0ss")),
            Ok(("user".into(), b"pa\0ss".to_vec()))
        );
        assert_eq!(
            decode_plain(&enc(b"admin\0user\0pass")),
            Err(SaslError::Format)
        );
        assert_eq!(decode_plain(&enc(b"userpass")), Err(SaslError::Format));
        assert_eq!(decode_plain(&enc(b"\0\0pass")), Err(SaslError::Format));
        assert_eq!(decode_plain("not base64!"), Err(SaslError::Base64));
    }
}
