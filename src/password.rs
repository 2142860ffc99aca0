//! Password hashes of the accounts in the configuration: SMTP AUTH
//! (`[[intake.smtp.accounts]]`) and web sign-in (`[[web.accounts]]`).
//!
//! Only a salted, deliberately slow hash of each password is stored, so a
//! copy of the configuration does not give the passwords away: each guess
//! at one costs an attacker the same work it costs faxbridge to check a
//! sign-in. Three forms are read:
//!
//! * `$argon2id$v=19$m=…,t=…,p=…$SALT$HASH` — Argon2id (RFC 9106) in the
//!   PHC string format, made by `faxbridge passwd` ([`hash_password`]).
//!   Argon2 is memory-hard: guessing on graphics cards or custom chips gains
//!   little. This is the form to use.
//! * `pbkdf2-sha256$ITERATIONS$SALT$HEX` — PBKDF2-HMAC-SHA256 (RFC 8018
//!   §5.2) of the password with the salt text, a 16- to 64-byte key in hex,
//!   as `openssl kdf … PBKDF2` prints it. Still read so existing
//!   configurations keep working; refused below [`MIN_PBKDF2_ITERATIONS`].
//! * `sha256$SALT$HEX` — one SHA-256 of salt and password. Read only to say
//!   precisely why it is refused: a graphics card tries billions a second.
//!
//! Parsing ([`PasswordHash::parse`]) accepts any well-formed hash, so a
//! password can be checked against any of them; whether a configuration
//! may use it is a separate question, answered by [`problem`], which
//! `faxbridge check-config` and the listeners ask at start.
//!
//! Nothing here does I/O or blocks on anything but the CPU; callers run
//! [`PasswordHash::verify`] on a blocking thread, since it takes tens of
//! milliseconds by design.

use std::fmt;

use argon2::password_hash::phc;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Fewest PBKDF2 iterations a configuration may use (OWASP's 2023 advice
/// for PBKDF2-HMAC-SHA256 is 600,000; 100,000 is the floor kept for hashes
/// made under the old advice).
pub const MIN_PBKDF2_ITERATIONS: u32 = 100_000;

/// Most PBKDF2 iterations accepted: more would let one sign-in attempt tie
/// up a CPU for minutes.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Largest Argon2 memory cost accepted, in KiB (256 MiB): every check runs
/// with this much memory, and several may run at once.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;

/// Most Argon2 passes accepted.
pub const MAX_ARGON2_PASSES: u32 = 64;

/// Most Argon2 lanes accepted.
pub const MAX_ARGON2_LANES: u32 = 16;

/// The fix line of every password-hash problem.
pub const FIX: &str = "run `faxbridge passwd`, type the password, and write the \"$argon2id$…\" line it prints as password_hash";

/// A stored password hash, parsed.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    /// Argon2 (id, i or d) in the PHC string format, kept as written.
    Argon2 {
        /// The PHC string.
        phc: String,
    },
    /// `pbkdf2-sha256$ITER$SALT$HEX`: PBKDF2-HMAC-SHA256.
    Pbkdf2 {
        /// Iteration count.
        iterations: u32,
        /// The salt text's bytes.
        salt: Vec<u8>,
        /// The derived key.
        key: Vec<u8>,
    },
    /// `sha256$SALT$HEX`: SHA-256(salt ‖ password). Never accepted in a
    /// configuration ([`problem`]).
    Sha256 {
        /// The salt text's bytes.
        salt: Vec<u8>,
        /// The digest.
        digest: Vec<u8>,
    },
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not the password, but it allows offline guessing: keep
        // it out of logs.
        match self {
            PasswordHash::Argon2 { .. } => f.write_str("PasswordHash::Argon2(***)"),
            PasswordHash::Pbkdf2 { iterations, .. } => {
                write!(f, "PasswordHash::Pbkdf2({iterations} iterations, ***)")
            }
            PasswordHash::Sha256 { .. } => f.write_str("PasswordHash::Sha256(***)"),
        }
    }
}

impl PasswordHash {
    /// Parse a configured hash. The error says what is wrong with it, for a
    /// [`Problem`](crate::problem::Problem) (whose fix is [`FIX`]).
    pub fn parse(text: &str) -> Result<PasswordHash, String> {
        let text = text.trim();
        if text.starts_with("$argon2") {
            return parse_argon2(text).map(|()| PasswordHash::Argon2 {
                phc: text.to_string(),
            });
        }
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
                    .filter(|n| (1..=MAX_PBKDF2_ITERATIONS).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "the iteration count {iterations:?} is not a number from 1 to {MAX_PBKDF2_ITERATIONS}"
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
                "is not a password hash faxbridge reads (\"$argon2id$…\" or \"pbkdf2-sha256$ITERATIONS$SALT$HEX\")"
                    .to_string(),
            ),
        }
    }

    /// Whether `password` matches. The comparison takes the same time
    /// however many leading bytes of a guess are right.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            PasswordHash::Argon2 { phc } => match phc::PasswordHash::new(phc) {
                // The algorithm, version and costs come from the hash itself.
                Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
                Err(_) => false,
            },
            PasswordHash::Pbkdf2 {
                iterations,
                salt,
                key,
            } => {
                let mut out = vec![0u8; key.len()];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *iterations, &mut out);
                bool::from(out.ct_eq(key))
            }
            PasswordHash::Sha256 { salt, digest } => {
                let mut h = Sha256::new();
                h.update(salt);
                h.update(password);
                bool::from(h.finalize().as_slice().ct_eq(digest))
            }
        }
    }

    /// Why a configuration must not use this hash, if it must not: it is
    /// too cheap to guess.
    pub fn weakness(&self) -> Option<String> {
        match self {
            PasswordHash::Argon2 { .. } => None,
            PasswordHash::Pbkdf2 { iterations, .. } if *iterations < MIN_PBKDF2_ITERATIONS => {
                Some(format!(
                    "uses only {iterations} PBKDF2 iterations, so a stolen configuration lets an attacker guess the password quickly; at least {MIN_PBKDF2_ITERATIONS} are needed"
                ))
            }
            PasswordHash::Pbkdf2 { .. } => None,
            PasswordHash::Sha256 { .. } => Some(
                "is the plain salted SHA-256 form, which a graphics card guesses at billions a second; it is no longer accepted"
                    .to_string(),
            ),
        }
    }
}

/// What is wrong with `text` as a configured password hash, if anything:
/// not a hash faxbridge reads, or one too cheap to guess. The fix is
/// always [`FIX`].
pub fn problem(text: &str) -> Option<String> {
    match PasswordHash::parse(text) {
        Ok(hash) => hash.weakness(),
        Err(e) => Some(e),
    }
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The password is empty.
    #[error("the password is empty; type one")]
    Empty,
    /// The Argon2 implementation failed (e.g. no randomness for the salt).
    #[error("cannot hash the password: {0}")]
    Argon2(String),
}

/// Hash `password` for a configuration: Argon2id with the recommended
/// costs (19 MiB, 2 passes, 1 lane; RFC 9106 §7.4 and OWASP) and a random
/// 16-byte salt, as a PHC string.
pub fn hash_password(password: &[u8]) -> Result<String, HashError> {
    if password.is_empty() {
        return Err(HashError::Empty);
    }
    Argon2::default()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

/// Check an Argon2 PHC string: a known variant with salt and hash, and
/// costs within bounds.
fn parse_argon2(text: &str) -> Result<(), String> {
    let parsed = phc::PasswordHash::new(text)
        .map_err(|e| format!("is not a valid Argon2 PHC string ({e})"))?;
    let algorithm = parsed.algorithm.as_str();
    if !["argon2id", "argon2i", "argon2d"].contains(&algorithm) {
        return Err(format!(
            "names the algorithm {algorithm:?}, not argon2id, argon2i or argon2d"
        ));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("has no salt or no hash part".into());
    }
    let params = argon2::Params::try_from(&parsed)
        .map_err(|e| format!("has unusable Argon2 parameters ({e})"))?;
    if params.m_cost() > MAX_ARGON2_MEMORY_KIB {
        return Err(format!(
            "asks for m={} KiB of memory per check, more than {MAX_ARGON2_MEMORY_KIB}",
            params.m_cost()
        ));
    }
    if params.t_cost() > MAX_ARGON2_PASSES {
        return Err(format!(
            "asks for t={} passes, more than {MAX_ARGON2_PASSES}",
            params.t_cost()
        ));
    }
    if params.p_cost() > MAX_ARGON2_LANES {
        return Err(format!(
            "asks for p={} lanes, more than {MAX_ARGON2_LANES}",
            params.p_cost()
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn pbkdf2_matches_the_rfc_7914_test_vectors() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64).
        let h = PasswordHash::parse(
            "pbkdf2-sha256$1$salt$\
             55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
        )
        .unwrap();
        assert!(h.verify(b"passwd"));
        assert!(!h.verify(b"passwe"));
        // (P="Password", S="NaCl", c=80000, dkLen=64), first 32 bytes.
        let h = PasswordHash::parse(
            "pbkdf2-sha256$80000$NaCl$\
             4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56",
        )
        .unwrap();
        assert!(h.verify(b"Password"));
        assert!(!h.verify(b"password"));
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
    fn the_documented_openssl_one_liner_makes_a_hash_that_verifies() {
        // The commands formerly in config/faxbridge.example.toml with
        // SALT=0a1b2c3d4e5f6071 and the password PASSWORD.
        let text = "pbkdf2-sha256$100000$0a1b2c3d4e5f6071$\
                    37AAD17F6B9872311D002DAAE7EFFBB95A25CF9A8A2EB113D1C2B9C10E556F18";
        let h = PasswordHash::parse(text).unwrap();
        assert!(h.verify(b"PASSWORD"));
        assert!(!h.verify(b"password"));
        assert_eq!(h.weakness(), None, "100,000 iterations are enough");
        assert_eq!(problem(text), None);
    }

    #[test]
    fn salted_sha256_verifies_but_is_never_accepted() {
        // printf '%s%s' pepper secret | sha256sum
        let digest = hex(&Sha256::digest(b"peppersecret"));
        let text = format!("sha256$pepper${digest}");
        let h = PasswordHash::parse(&text).unwrap();
        assert!(h.verify(b"secret"));
        assert!(!h.verify(b"pepper"));
        assert!(!format!("{h:?}").contains(&digest[..8]));
        let p = problem(&text).unwrap();
        assert!(p.contains("plain salted SHA-256"), "{p}");
    }

    #[test]
    fn few_pbkdf2_iterations_are_refused_for_a_configuration() {
        let text = "pbkdf2-sha256$1000$pepper$\
                    940DD54B117167A8A9DBFD6F73B02345EAE6B1266FA69D623A52F5043D9E1C85";
        let p = problem(text).unwrap();
        assert!(p.contains("only 1000 PBKDF2 iterations"), "{p}");
        assert!(p.contains("100000"), "{p}");
        assert!(problem(&text.replace("$1000$", "$99999$")).is_some());
        assert!(problem(&text.replace("$1000$", "$100000$")).is_none());
        assert!(FIX.contains("faxbridge passwd"));
    }

    #[test]
    fn argon2id_hashes_are_made_verified_and_accepted() {
        let text = hash_password(b"correct horse").unwrap();
        assert!(
            text.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{text}"
        );
        let h = PasswordHash::parse(&text).unwrap();
        assert!(h.verify(b"correct horse"));
        assert!(!h.verify(b"correct horsE"));
        assert!(!h.verify(b""));
        assert_eq!(problem(&text), None);
        assert!(!format!("{h:?}").contains("argon2id$"));
        // Each hash has its own salt.
        assert_ne!(hash_password(b"correct horse").unwrap(), text);
        assert!(matches!(hash_password(b""), Err(HashError::Empty)));
    }

    #[test]
    fn an_argon2_hash_from_another_tool_verifies() {
        // Printed by the reference implementation's command (Debian package
        // argon2): echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e
        let text = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$\
                    GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo";
        let h = PasswordHash::parse(text).unwrap();
        assert!(h.verify(b"password"));
        assert!(!h.verify(b"Password"));
    }

    #[test]
    fn malformed_and_oversized_hashes_are_refused_with_a_reason() {
        for (text, needle) in [
            ("secret", "is not a password hash"),
            ("sha256$salt$abcd", "64 hex digits"),
            ("sha256$$", "64 hex"),
            ("pbkdf2-sha256$0$s$00", "iteration count"),
            ("pbkdf2-sha256$x$s$00", "iteration count"),
            ("pbkdf2-sha256$99999999$s$00", "iteration count"),
            ("pbkdf2-sha256$1000$s$zz", "hex digits"),
            (
                "pbkdf2-sha256$1000$$00112233445566778899aabbccddeeff",
                "salt is empty",
            ),
            ("$argon2id$v=19$m=19456,t=2,p=1", "no salt or no hash"),
            ("$argon2id$garbage", "not a valid Argon2 PHC string"),
            (
                "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
                "KiB of memory",
            ),
            (
                "$argon2id$v=19$m=19456,t=1000,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
                "passes",
            ),
            (
                "$argon2xy$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
                "algorithm",
            ),
        ] {
            let e = PasswordHash::parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
            assert_eq!(problem(text).as_deref(), Some(e.as_str()));
        }
    }
}
