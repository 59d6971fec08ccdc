//! The user's controls: switches, Retry and Send anyway.

use super::*;

impl JournalControls for SqliteJournal {
    fn set_switch(&self, switch: Switch, on: bool) -> Result<()> {
        self.connection().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [switch.key(None).as_ref(), if on { "true" } else { "false" }],
        )?;
        Ok(())
    }

    fn retry(&self, which: RetryScope<'_>) -> Result<usize> {
        self.go_on(ShootState::Failed, which, ShootRecord::retry)
    }

    fn send_anyway(&self, which: RetryScope<'_>) -> Result<usize> {
        self.go_on(ShootState::Held, which, |_| GoOn::send_anyway())
    }
}
