//! Where a shoot is and why it stopped. The legal moves between states are written here
//! once; every backend checks a change of state against [`ShootState::may_become`].

use serde::{Deserialize, Serialize};

/// Where a shoot is. The order is the pipeline's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShootState {
    /// Scanned and named; the project may or may not exist yet (see `create_attempted`).
    Planned,
    Uploading,
    /// /edit was (or is about to be) requested; polling until Completed.
    Editing,
    Downloading,
    Done,
    Failed,
    /// Not sent: a new project would pass the spend guard's limits. Goes on by itself
    /// when the limits allow it again, or when the user says "Send anyway".
    Held,
}

/// Every legal move, `(from, to)`. Staying in a state is always legal (a step resumed
/// after a restart records what it already recorded).
const MOVES: &[(ShootState, ShootState)] = {
    use ShootState::*;
    &[
        // The spend guard holds a shoot before its project exists; it goes on later.
        (Planned, Held),
        (Held, Planned),
        // The pipeline's way forward.
        (Planned, Uploading),
        (Uploading, Editing),
        (Editing, Downloading),
        (Downloading, Done),
        // Any step can fail; `retry` starts over (a new project) or resumes uploading.
        (Planned, Failed),
        (Uploading, Failed),
        (Editing, Failed),
        (Downloading, Failed),
        (Failed, Planned),
        (Failed, Uploading),
    ]
};

impl ShootState {
    pub const ALL: [ShootState; 7] = [
        ShootState::Planned,
        ShootState::Uploading,
        ShootState::Editing,
        ShootState::Downloading,
        ShootState::Done,
        ShootState::Failed,
        ShootState::Held,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShootState::Planned => "planned",
            ShootState::Uploading => "uploading",
            ShootState::Editing => "editing",
            ShootState::Downloading => "downloading",
            ShootState::Done => "done",
            ShootState::Failed => "failed",
            ShootState::Held => "held",
        }
    }

    /// The state a stored name stands for; `None` for a name this version does not know.
    pub fn parse(text: &str) -> Option<ShootState> {
        ShootState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still to be driven forward by the pipeline.
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            ShootState::Done | ShootState::Failed | ShootState::Held
        )
    }

    pub fn may_become(self, to: ShootState) -> bool {
        self == to || MOVES.contains(&(self, to))
    }

    /// The active states, as an SQL list (`'planned', 'uploading', …`).
    pub(super) fn active_sql() -> String {
        sql_list(ShootState::ALL.into_iter().filter(|s| s.is_active()))
    }

    /// The states a shoot may be in to move to `to`, as an SQL list.
    pub(super) fn sources_sql(to: ShootState) -> String {
        sql_list(ShootState::sources_of(to))
    }

    /// The states a shoot may be in to move to `to`.
    pub fn sources_of(to: ShootState) -> Vec<ShootState> {
        ShootState::ALL
            .into_iter()
            .filter(|from| from.may_become(to))
            .collect()
    }
}

fn sql_list(states: impl IntoIterator<Item = ShootState>) -> String {
    let quoted: Vec<String> = states
        .into_iter()
        .map(|state| format!("'{}'", state.as_str()))
        .collect();
    quoted.join(", ")
}

/// Why a shoot stopped, stored with it: `retry`, the tray, the dashboard and the
/// notifications decide from this, never from the message's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Imagen reported the edit as Failed: a retry needs a new project.
    EditFailed,
    /// The shoot folder was moved or deleted from the inbox.
    FolderGone,
    /// The shoot's outbox reaches into an inbox; nothing was written.
    OutboxInInbox,
    /// The server named an output that could land outside the outbox.
    UnsafeOutputName,
    /// The API refused a request in a way waiting will not fix.
    Refused,
    /// The outbox could not take the edited photos.
    Outbox,
    /// Anything else.
    Other,
}

impl FailureKind {
    pub const ALL: [FailureKind; 7] = [
        FailureKind::EditFailed,
        FailureKind::FolderGone,
        FailureKind::OutboxInInbox,
        FailureKind::UnsafeOutputName,
        FailureKind::Refused,
        FailureKind::Outbox,
        FailureKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::EditFailed => "edit_failed",
            FailureKind::FolderGone => "folder_gone",
            FailureKind::OutboxInInbox => "outbox_in_inbox",
            FailureKind::UnsafeOutputName => "unsafe_output_name",
            FailureKind::Refused => "refused",
            FailureKind::Outbox => "outbox",
            FailureKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<FailureKind> {
        FailureKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether `retry` sends the photos again as a new project (the old one is spent).
    pub fn retry_starts_over(self) -> bool {
        self == FailureKind::EditFailed
    }

    /// What to know or do before retrying a shoot that stopped this way.
    pub fn retry_hint(self) -> Option<&'static str> {
        match self {
            FailureKind::EditFailed => Some("Retry sends its photos again as a new project."),
            FailureKind::FolderGone => Some("Put the shoot folder back in the inbox, then retry."),
            FailureKind::OutboxInInbox => {
                Some("Choose an outbox outside every inbox in Settings, then retry.")
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shoot_moves_forward_one_step_at_a_time_and_only_failed_or_held_ones_go_back() {
        use ShootState::*;
        assert!(Planned.may_become(Uploading));
        assert!(Editing.may_become(Editing));
        assert!(!Planned.may_become(Done));
        assert!(!Done.may_become(Planned));
        assert!(!Held.may_become(Failed));
        assert_eq!(ShootState::sources_of(Planned), [Planned, Failed, Held]);
        for state in ShootState::ALL {
            assert_eq!(ShootState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ShootState::parse("exploded"), None);
    }

    #[test]
    fn only_a_failed_edit_is_sent_again_as_a_new_project() {
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.retry_starts_over(), kind == FailureKind::EditFailed);
        }
    }
}
