//! The analogue bridge: a back-to-back user agent between the FXS ports of
//! Mediatrix ATAs and the SIP trunk.
//!
//! Where each call goes is decided before the bridge sees it, by the
//! router ([`crate::routing`]): 999 and 112 from any port to the trunk at
//! once with the emergency caller ID of the building the ATA stands in,
//! calls between ports, a port's calls to the trunk within its toll-fraud
//! policy, and trunk calls to a port's number. The bridge carries the
//! decision out:
//!
//! * [`leg`]: the two legs and what the relay carries between them
//!   ([`Leg`], [`MediaMode`], [`GatewayMode`]), shared by the parts below.
//! * [`media`]: the session descriptions each party is shown (the relay's
//!   addresses) and where each party receives; which relay mode fits.
//! * [`call`]: the signalling state machine of a bridged call: progress,
//!   failures, CANCEL, BYE, Timer C and re-INVITEs from one leg to the
//!   other.
//! * [`relay`]: the media task of a bridged call: RTP and UDPTL forwarded
//!   untouched between the two legs, each taken only from the party that
//!   signalled it, with the call classifier listening.
//!
//! * [`b2bua`]: the task that drives one bridged call on the SIP endpoint
//!   with the parts above.

pub mod b2bua;
pub mod call;
pub mod leg;
pub mod media;
pub mod relay;

use std::sync::atomic::{AtomicUsize, Ordering};

pub use leg::{GatewayMode, Leg, MediaMode};

pub use crate::routing::{BridgeConfig, LineConfig};

/// Bridged calls in this process, from the INVITE until both legs ended.
static ACTIVE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Bridged calls in progress in this process (ringing or connected): the
/// dashboard and `/metrics` show them beside the fax calls.
pub fn active_calls() -> usize {
    ACTIVE_CALLS.load(Ordering::Relaxed)
}

/// Counts one bridged call in [`active_calls`] for as long as it lives.
#[derive(Debug)]
pub struct ActiveCall(());

impl ActiveCall {
    /// Count a call that has just arrived.
    pub fn start() -> ActiveCall {
        ACTIVE_CALLS.fetch_add(1, Ordering::Relaxed);
        ActiveCall(())
    }
}

impl Drop for ActiveCall {
    fn drop(&mut self) {
        ACTIVE_CALLS.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn active_calls_count_while_their_guard_lives() {
        // No unit test bridges calls, so the count starts at zero here.
        let before = super::active_calls();
        let a = super::ActiveCall::start();
        let b = super::ActiveCall::start();
        assert_eq!(super::active_calls(), before + 2);
        drop(a);
        assert_eq!(super::active_calls(), before + 1);
        drop(b);
        assert_eq!(super::active_calls(), before);
    }
}
