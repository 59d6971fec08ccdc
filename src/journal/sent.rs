//! What has been sent for editing (what Imagen bills): photos in projects started
//! today and this month, by the local calendar, from the journal's own counts (those
//! the spend guard keeps).

use std::path::Path;

use chrono::{Datelike, Local, TimeZone};

use super::{JournalView, Result};

/// Photos sent for editing today and this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SentForEditing {
    pub today: u64,
    pub this_month: u64,
}

impl SentForEditing {
    pub fn of(journal: &dyn JournalView) -> Result<SentForEditing> {
        let now = Local::now();
        let midnight = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists");
        let first = midnight.with_day(1).expect("every month has a first day");
        let start_ms = |naive: chrono::NaiveDateTime| {
            Local
                .from_local_datetime(&naive)
                .earliest()
                .map_or(0, |t| t.timestamp_millis())
        };
        // Nothing is filtered by folder here: a folder no shoot has.
        let photos_since = |ms| {
            journal
                .spend_since(ms, Path::new(""), "")
                .map(|spend| spend.photos)
        };
        Ok(SentForEditing {
            today: photos_since(start_ms(midnight))?,
            this_month: photos_since(start_ms(first))?,
        })
    }

    /// "Sent for editing: 36 photos today, 412 this month".
    pub fn words(self) -> String {
        format!(
            "Sent for editing: {} today, {} this month",
            crate::words::count(self.today, "photo", "photos"),
            self.this_month
        )
    }
}
