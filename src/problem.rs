//! One invalid configuration key: which, what is wrong, and how to fix it.
//!
//! Every configuration section checks itself and reports its problems in
//! this one shape, so `faxbridge check-config` prints them all alike:
//! `key: what is wrong; fix: what to write`. It sits at the bottom of the
//! crate: sections of every layer use it, and it uses nothing of theirs.

use std::fmt;

/// One invalid key: which, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `fax.ident`.
    pub key: String,
    /// What is wrong with the value.
    pub problem: String,
    /// What to write instead.
    pub fix: String,
}

impl Problem {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// A configuration section that checks the values its types cannot: the one
/// shape every section reports in. Keys are written from the top of the file
/// (`sip.listen`, `intake.smtp.accounts[0].password_hash`), so
/// `check-config` prints them as they are.
pub trait Validate {
    /// Every problem of this section; empty when it can work.
    fn problems(&self) -> Vec<Problem>;
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}; fix: {}", self.key, self.problem, self.fix)
    }
}
