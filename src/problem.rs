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

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}; fix: {}", self.key, self.problem, self.fix)
    }
}
