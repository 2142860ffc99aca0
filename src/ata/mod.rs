//! Mediatrix ATAs: the inventory of units and ports, and their monitoring.

use serde::Deserialize;

use crate::config::Problem;

/// `[ata]`: the analogue adapters faxbridge serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AtaConfig {}

impl AtaConfig {
    /// Every value that cannot work.
    pub fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
}
