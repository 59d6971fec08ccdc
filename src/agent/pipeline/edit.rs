//! Edit: ask for the edit once (it is idempotent after a crash), then poll on an
//! adaptive schedule until Imagen reports Completed or Failed.

use std::time::Duration;

use super::{Context, ShootError};
use crate::api::ProjectStatus;
use crate::events::EventKind;
use crate::journal::{ShootRecord, ShootState};

/// When to poll: every `first` for the first `quick_for` (a short edit is noticed at
/// once), then backing off ×1.5 to the documented 30 s.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    next: Duration,
    max: Duration,
    quick_left: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        PollSchedule::new(
            Duration::from_secs(1),
            Duration::from_secs(10),
            Duration::from_secs(30),
        )
    }
}

impl PollSchedule {
    pub fn new(first: Duration, quick_for: Duration, max: Duration) -> Self {
        PollSchedule {
            next: first,
            max,
            quick_left: quick_for,
        }
    }

    /// The wait before the next poll.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        if self.quick_left >= wait {
            self.quick_left -= wait;
        } else {
            self.next = self.next.mul_f64(1.5).min(self.max);
        }
        wait
    }
}

pub(super) async fn edit_and_wait(ctx: &Context, shoot: &ShootRecord) -> Result<(), ShootError> {
    let uuid = shoot
        .project_uuid
        .as_deref()
        .expect("editing shoots have a project");
    if !shoot.edit_sent {
        // /edit is idempotent: repeating it after a crash starts nothing new.
        ctx.client
            .edit(uuid, &ctx.options_to_send(&shoot.options))
            .await?;
        let id = shoot.id;
        ctx.record(move |j| j.mark_edit_sent(id)).await?;
    }
    let mut polls = ctx.polls.clone();
    loop {
        tokio::time::sleep(polls.next_wait()).await;
        let status = ctx.client.project(uuid).await?.status;
        ctx.emit(
            shoot,
            EventKind::Editing {
                status: status.as_str().to_owned(),
            },
        );
        match status {
            ProjectStatus::Completed => {
                let id = shoot.id;
                ctx.record(move |j| j.advance(id, ShootState::Downloading))
                    .await?;
                return Ok(());
            }
            ProjectStatus::Failed => return Err(ShootError::EditFailed),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_is_quick_at_first_then_backs_off_to_thirty_seconds() {
        let mut schedule = PollSchedule::default();
        let waits: Vec<f64> = (0..24)
            .map(|_| schedule.next_wait().as_secs_f64())
            .collect();
        assert_eq!(&waits[..10], &[1.0; 10]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().unwrap(), 30.0);
    }
}
