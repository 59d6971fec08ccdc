//! What lets waiting work go on: a "Resume anyway" taken from the journal, and held
//! shoots the spend guard's limits allow again.

use std::sync::Arc;
use std::time::Duration;

use crate::agent::pipeline::Context;
use crate::events::EventKind;
use crate::journal::{self, Journal, ShootQueue};

/// Whether the user asked for "Resume anyway" since the last look (the request is
/// taken: it counts once, for the network and power of now).
pub(super) async fn take_resume_anyway(switches: &Arc<dyn Journal>) -> bool {
    use crate::journal::Switch;
    let asked = journal::off_worker(switches, |q| {
        let asked = q.switch(Switch::ResumeAnyway)?;
        if asked {
            q.set_switch(Switch::ResumeAnyway, false)?;
        }
        Ok(asked)
    });
    asked.await.unwrap_or(false)
}

/// How often held shoots are looked at again (the 24-hour window moves on).
pub(super) const HELD_CHECK_EVERY: Duration = Duration::from_secs(60);

/// Held shoots the spend guard's limits allow now go back in line.
pub(super) async fn release_held(ctx: &Context, queue: &Arc<dyn ShootQueue>) -> anyhow::Result<()> {
    let spend = ctx.spend;
    let released = journal::off_worker(queue, move |q| {
        let mut released = Vec::new();
        for shoot in q.held_shoots()? {
            if crate::agent::spend::over_limit(q, &shoot, spend)?.is_none() {
                q.release(shoot.id)?;
                released.push(shoot);
            }
        }
        Ok(released)
    })
    .await?;
    for shoot in released {
        tracing::info!(
            shoot = shoot.folder,
            "the spend guard's limits allow it again"
        );
        ctx.events
            .emit(&shoot.folder, Some(shoot.id), EventKind::Discovered);
    }
    Ok(())
}
