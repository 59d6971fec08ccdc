//! The report a photographer finds in a shoot's outbox folder, "imagen-sync report.txt":
//! which files of the shoot were not sent for editing (written when the shoot is taken
//! in), and which edited photos could not be delivered (added when it finishes). It is
//! written only when something that looks like a photo was left out: system junk alone
//! (`.DS_Store`, `Thumbs.db`, `._*`) never litters a delivered folder with a report.

use std::path::Path;

use super::scan::Skipped;
use crate::files::atomic_file::{self, Access};
use crate::words::{printable, printable_path};

/// The report's file name in a shoot's outbox folder.
pub const REPORT_NAME: &str = "imagen-sync report.txt";

/// Where the delivery section starts; what is above it is the intake's part.
const DELIVERY_HEADING: &str = "Edited photos that were not delivered";

/// Writes the files of `folder` that were not sent, and why, unless none of them is
/// worth a report (then `false`). Replaces an earlier report of the same folder.
pub fn write_not_sent(outbox: &Path, folder: &str, skipped: &[Skipped], split: bool) -> bool {
    for item in skipped {
        tracing::info!(shoot = %printable(folder), file = %printable_path(&item.relative), "not uploaded: {}", item.reason);
    }
    if !skipped.iter().any(Skipped::is_worth_a_report) {
        return false;
    }
    let mut text = format!(
        "imagen-sync: files in \"{}\" that were not sent for editing\n\n",
        printable(folder)
    );
    for item in skipped {
        text.push_str(&format!(
            "{}: {}\n",
            printable_path(&item.relative),
            item.reason
        ));
    }
    if split {
        text.push_str(
            "\nThe folder mixes RAW and JPEG photos; each type was sent as its own project.\n",
        );
    }
    save(outbox, &text);
    true
}

/// Adds one file left out after intake (at upload: replaced by a link, another file or
/// something that is not a photo) to the report's list of files not sent, replacing
/// an earlier line about the same file.
pub fn add_left_out(outbox: &Path, folder: &str, item: &Skipped) {
    let path = outbox.join(REPORT_NAME);
    let earlier = std::fs::read_to_string(&path).unwrap_or_default();
    let (intake, delivery) =
        earlier.split_at(earlier.find(DELIVERY_HEADING).unwrap_or(earlier.len()));
    let mut text = match intake.is_empty() {
        true => format!(
            "imagen-sync: files in \"{}\" that were not sent for editing\n\n",
            printable(folder)
        ),
        false => intake.trim_end_matches('\n').to_owned() + "\n",
    };
    let name = format!("{}: ", printable_path(&item.relative));
    text = text
        .lines()
        .filter(|line| !line.starts_with(&name))
        .map(|line| format!("{line}\n"))
        .collect();
    text.push_str(&format!("{name}{}\n", item.reason));
    if !delivery.is_empty() {
        text.push('\n');
        text.push_str(delivery);
    }
    save(outbox, &text);
}

/// Adds (or replaces) the section naming the edited photos that could not be written.
pub fn add_delivery_problems(outbox: &Path, folder: &str, problems: &[String]) {
    if problems.is_empty() {
        return;
    }
    let path = outbox.join(REPORT_NAME);
    let earlier = std::fs::read_to_string(&path).unwrap_or_default();
    let mut text = match earlier.find(DELIVERY_HEADING) {
        Some(at) => earlier[..at].to_owned(),
        None if earlier.is_empty() => String::new(),
        None => format!("{earlier}\n"),
    };
    if text.is_empty() {
        text.push_str(&format!("imagen-sync: \"{}\"\n\n", printable(folder)));
    }
    text.push_str(&format!("{DELIVERY_HEADING} (every other one was):\n\n"));
    for problem in problems {
        text.push_str(problem);
        text.push('\n');
    }
    text.push_str(
        "\nImagen named these outputs in a way that could not be written safely. The shoot \
         is done; sending it again would be billed as a new project. Ask Imagen's support \
         about these photos.\n",
    );
    save(outbox, &text);
}

fn save(outbox: &Path, text: &str) {
    let path = outbox.join(REPORT_NAME);
    if let Err(error) = atomic_file::write_with(&path, text.as_bytes(), Access::LikeUserFiles) {
        tracing::warn!(%error, "cannot write the shoot's report");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::scan::SkipReason;

    fn skipped(name: &str, reason: SkipReason) -> Skipped {
        Skipped {
            relative: name.into(),
            reason,
        }
    }

    #[test]
    fn junk_alone_writes_no_report_but_a_picture_left_out_does() {
        let dir = tempfile::tempdir().unwrap();
        let junk = [
            skipped(".DS_Store", SkipReason::SystemJunk),
            skipped("._IMG_1.jpg", SkipReason::SystemJunk),
            skipped("Thumbs.db", SkipReason::SystemJunk),
            skipped("notes.txt", SkipReason::Unsupported),
            skipped("IMG_2.jpg.part", SkipReason::Incomplete),
            skipped("IMG_3.xmp", SkipReason::Sidecar),
        ];
        assert!(!write_not_sent(dir.path(), "A", &junk, false));
        assert!(!dir.path().join(REPORT_NAME).exists());

        let mut with_picture = junk.to_vec();
        with_picture.push(skipped("Floor plan.PNG", SkipReason::Unsupported));
        assert!(write_not_sent(dir.path(), "A", &with_picture, false));
        let report = std::fs::read_to_string(dir.path().join(REPORT_NAME)).unwrap();
        assert!(
            report.contains("Floor plan.PNG: not a JPEG or RAW photo"),
            "{report}"
        );
    }

    #[test]
    fn a_photo_left_out_at_upload_replaces_what_intake_said_of_it() {
        let dir = tempfile::tempdir().unwrap();
        write_not_sent(
            dir.path(),
            "A",
            &[
                skipped("IMG_4.jpg", SkipReason::Symlink),
                skipped("Scan.tif", SkipReason::Unsupported),
            ],
            false,
        );
        add_left_out(dir.path(), "A", &skipped("IMG_4.jpg", SkipReason::Replaced));
        add_left_out(
            dir.path(),
            "A",
            &skipped("IMG_5.jpg", SkipReason::NotRegular),
        );
        let report = std::fs::read_to_string(dir.path().join(REPORT_NAME)).unwrap();
        assert_eq!(report.matches("IMG_4.jpg").count(), 1, "{report}");
        assert!(
            report.contains("IMG_4.jpg: replaced by another file"),
            "{report}"
        );
        assert!(
            report.contains("Scan.tif") && report.contains("IMG_5.jpg: not a file"),
            "{report}"
        );

        let fresh = tempfile::tempdir().unwrap();
        add_left_out(
            fresh.path(),
            "B",
            &skipped("IMG_1.jpg", SkipReason::Symlink),
        );
        let report = std::fs::read_to_string(fresh.path().join(REPORT_NAME)).unwrap();
        assert!(
            report.starts_with("imagen-sync: files in \"B\""),
            "{report}"
        );
    }

    #[test]
    fn a_name_with_a_newline_or_escape_is_written_escaped_so_it_cannot_forge_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let sly = skipped(
            "IMG_1.jpg\nIMG_2.jpg: sent\u{1b}[2J.png",
            SkipReason::Unsupported,
        );
        assert!(write_not_sent(dir.path(), "A\nB", &[sly], false));
        let report = std::fs::read_to_string(dir.path().join(REPORT_NAME)).unwrap();
        assert!(
            !report.contains('\u{1b}') && report.contains("IMG_1.jpg\\nIMG_2.jpg"),
            "{report}"
        );
        assert_eq!(report.lines().count(), 3, "{report}");
    }

    #[test]
    fn delivery_problems_are_added_once_below_what_intake_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let left_out = [skipped("Scan.tif", SkipReason::Unsupported)];
        write_not_sent(dir.path(), "A", &left_out, false);
        let problems =
            ["\"../x.jpg\": not written, it climbs out of the shoot folder (..)".to_owned()];
        add_delivery_problems(dir.path(), "A", &problems);
        add_delivery_problems(dir.path(), "A", &problems);
        let report = std::fs::read_to_string(dir.path().join(REPORT_NAME)).unwrap();
        assert!(report.contains("Scan.tif"), "{report}");
        assert_eq!(report.matches(DELIVERY_HEADING).count(), 1, "{report}");
        assert_eq!(report.matches("../x.jpg").count(), 1, "{report}");
    }
}
