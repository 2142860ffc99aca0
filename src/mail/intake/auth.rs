//! SMTP AUTH (RFC 4954) credentials: SASL `PLAIN` (RFC 4616) and `LOGIN`
//! decoding, and checking a password against a configured account whose
//! password is stored only as a salted hash.
//!
//! Two hash forms are accepted in `password_hash`:
//!
//! * `pbkdf2-sha256$ITERATIONS$SALT$HEX` — PBKDF2-HMAC-SHA256 (RFC 8018
//!   §5.2) of the password with the salt (its UTF-8 bytes), a 32-byte derived
//!   key written in hex. Made with
//!   `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:PASSWORD -kdfopt salt:SALT -kdfopt iter:100000 PBKDF2 | tr -d :`.
//!   This is the recommended form: each guess costs the attacker
//!   `ITERATIONS` HMAC computations.
//! * `sha256$SALT$HEX` — SHA-256 of the salt followed by the password. Made
//!   with `printf '%s%s' SALT PASSWORD | sha256sum`. Fast to check, and so
//!   fast to guess: use it only with long random passwords.
//!
//! Nothing here does I/O; the listener runs [`Accounts::verify`] on a blocking
//! thread because PBKDF2 is deliberately slow.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Most PBKDF2 iterations accepted in a configured hash: more would let one
/// AUTH attempt tie up a CPU for minutes.
pub(crate) const MAX_ITERATIONS: u32 = 10_000_000;

/// A stored password hash, parsed from the configuration.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PasswordHash {
    /// `sha256$SALT$HEX`: SHA-256(salt ‖ password).
    Sha256 { salt: Vec<u8>, digest: Vec<u8> },
    /// `pbkdf2-sha256$ITER$SALT$HEX`: PBKDF2-HMAC-SHA256.
    Pbkdf2 {
        iterations: u32,
        salt: Vec<u8>,
        key: Vec<u8>,
    },
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash is not the password, but it allows offline guessing: keep
        // it out of logs.
        match self {
            PasswordHash::Sha256 { .. } => f.write_str("PasswordHash::Sha256(***)"),
            PasswordHash::Pbkdf2 { iterations, .. } => {
                write!(f, "PasswordHash::Pbkdf2({iterations} iterations, ***)")
            }
        }
    }
}

impl PasswordHash {
    /// Parse a configured hash; the error says what is wrong, for a
    /// [`Problem`](crate::config::Problem).
    pub(crate) fn parse(text: &str) -> Result<PasswordHash, String> {
        let parts: Vec<&str> = text.split('$').collect();
        match parts.as_slice() {
            ["sha256", salt, hex] => {
                let digest = decode_hex(hex)
                    .filter(|d| d.len() == 32)
                    .ok_or("the digest after the second $ is not 64 hex digits")?;
                if salt.is_empty() {
                    return Err("the salt is empty".into());
                }
                Ok(PasswordHash::Sha256 {
                    salt: salt.as_bytes().to_vec(),
                    digest,
                })
            }
            ["pbkdf2-sha256", iterations, salt, hex] => {
                let iterations: u32 = iterations
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_ITERATIONS).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "the iteration count {iterations:?} is not a number from 1 to {MAX_ITERATIONS}"
                        )
                    })?;
                let key = decode_hex(hex)
                    .filter(|k| (16..=64).contains(&k.len()))
                    .ok_or("the derived key after the last $ is not 32 to 128 hex digits")?;
                if salt.is_empty() {
                    return Err("the salt is empty".into());
                }
                Ok(PasswordHash::Pbkdf2 {
                    iterations,
                    salt: salt.as_bytes().to_vec(),
                    key,
                })
            }
            _ => Err(
                "is not \"pbkdf2-sha256$ITERATIONS$SALT$HEX\" or \"sha256$SALT$HEX\"".to_string(),
            ),
        }
    }

    /// Whether `password` matches, compared in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        match self {
            PasswordHash::Sha256 { salt, digest } => {
                let mut h = Sha256::new();
                h.update(salt);
                h.update(password);
                constant_time_eq(&h.finalize(), digest)
            }
            PasswordHash::Pbkdf2 {
                iterations,
                salt,
                key,
            } => {
                let mut out = vec![0u8; key.len()];
                pbkdf2_hmac_sha256(password, salt, *iterations, &mut out);
                constant_time_eq(&out, key)
            }
        }
    }
}

/// PBKDF2 (RFC 8018 §5.2) with HMAC-SHA256 as the pseudo-random function.
pub(crate) fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    type HmacSha256 = hmac::Hmac<Sha256>;
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(prf) = HmacSha256::new_from_slice(password) else {
        return;
    };
    for (block_index, chunk) in out.chunks_mut(32).enumerate() {
        // U_1 = PRF(P, S || INT(i)), blocks counted from 1.
        let mut mac = prf.clone();
        mac.update(salt);
        mac.update(&(block_index as u32 + 1).to_be_bytes());
        let mut u = mac.finalize().into_bytes();
        let mut t = u;
        for _ in 1..iterations {
            let mut mac = prf.clone();
            mac.update(&u);
            u = mac.finalize().into_bytes();
            for (t, u) in t.iter_mut().zip(u.iter()) {
                *t ^= u;
            }
        }
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
}

/// Compare without an early exit, so the time taken does not tell an
/// attacker how many leading bytes of a guess were right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

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

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn pbkdf2_matches_the_rfc_7914_test_vectors() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64).
        let mut out = [0u8; 64];
        pbkdf2_hmac_sha256(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            hex(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        // (P="Password", S="NaCl", c=80000, dkLen=64), first 32 bytes.
        let mut out = [0u8; 32];
        pbkdf2_hmac_sha256(b"Password", b"NaCl", 80000, &mut out);
        assert_eq!(
            hex(&out),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        );
    }

    #[test]
    fn openssl_kdf_output_verifies() {
        // Printed by: openssl kdf -keylen 32 -kdfopt digest:SHA256
        //   -kdfopt pass:secret -kdfopt salt:pepper -kdfopt iter:1000 PBKDF2 | tr -d :
        let text = "pbkdf2-sha256$1000$pepper$\
                    940DD54B117167A8A9DBFD6F73B02345EAE6B1266FA69D623A52F5043D9E1C85";
        let h = PasswordHash::parse(text).unwrap();
        assert!(h.verify(b"secret"));
        assert!(!h.verify(b"secreT"));
        assert!(!h.verify(b""));
    }

    #[test]
    fn the_documented_one_liner_makes_a_hash_that_verifies() {
        // The commands in config/faxbridge.example.toml with SALT=0a1b2c3d4e5f6071
        // and the password PASSWORD.
        let h = PasswordHash::parse(
            "pbkdf2-sha256$100000$0a1b2c3d4e5f6071$\
             37AAD17F6B9872311D002DAAE7EFFBB95A25CF9A8A2EB113D1C2B9C10E556F18",
        )
        .unwrap();
        assert!(h.verify(b"PASSWORD"));
        assert!(!h.verify(b"password"));
    }

    #[test]
    fn salted_sha256_verifies() {
        // printf '%s%s' pepper secret | sha256sum
        let digest = hex(&Sha256::digest(b"peppersecret"));
        let h = PasswordHash::parse(&format!("sha256$pepper${digest}")).unwrap();
        assert!(h.verify(b"secret"));
        assert!(!h.verify(b"pepper"));
        assert!(!format!("{h:?}").contains(&digest[..8]));
    }

    #[test]
    fn malformed_hashes_are_refused_with_a_reason() {
        for (text, needle) in [
            ("secret", "is not"),
            ("sha256$salt$abcd", "64 hex digits"),
            ("sha256$$".to_string().as_str(), "64 hex"),
            ("pbkdf2-sha256$0$s$00", "iteration count"),
            ("pbkdf2-sha256$x$s$00", "iteration count"),
            ("pbkdf2-sha256$99999999$s$00", "iteration count"),
            ("pbkdf2-sha256$1000$s$zz", "hex digits"),
            (
                "pbkdf2-sha256$1000$$00112233445566778899aabbccddeeff",
                "salt is empty",
            ),
        ] {
            let e = PasswordHash::parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
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
