//! PCI-DSS guard: which analogue lines carry card payments, with evidence.

use serde::Deserialize;

use crate::config::Problem;

/// `[compliance]`: the PCI-DSS guard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {}

impl ComplianceConfig {
    /// Every value that cannot work.
    pub fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
}
