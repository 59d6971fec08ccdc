use std::path::{Path, PathBuf};

use super::SqliteJournal;
use crate::api::EditOptions;
use crate::journal::{
    FailureKind, JournalControls, JournalError, JournalView, RetryScope, ShootQueue, ShootState,
    ShootSteps,
};
use crate::shoot::{Batch, Photo, PhotoKind};

fn batch(kind: PhotoKind, names: &[&str]) -> Batch {
    Batch {
        kind,
        options: EditOptions::default(),
        photos: names
            .iter()
            .map(|n| Photo {
                relative: PathBuf::from(n),
                // How the agent names an upload: the path with `~` for `/`.
                upload_name: n.replace('/', "~"),
                size: 10,
                modified: None,
                identity: None,
            })
            .collect(),
    }
}

/// Records shoot folder "A" of one photo.
fn one_shoot(journal: &SqliteJournal, kind: PhotoKind, photo: &str) -> crate::journal::ShootId {
    journal
        .record_batches(
            Path::new("/in"),
            "A",
            Path::new("/out/A"),
            &[batch(kind, &[photo])],
            crate::journal::Arrival::Settled,
        )
        .unwrap()[0]
}

#[test]
fn a_shoot_is_recorded_with_its_name_before_any_project_and_progress_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (inbox, outbox) = (Path::new("/in"), Path::new("/out/123 Main St"));
    let id = {
        let journal = SqliteJournal::open(dir.path()).unwrap();
        let ids = journal
            .record_batches(
                inbox,
                "123 Main St",
                outbox,
                &[batch(PhotoKind::Jpeg, &["a.jpg", "K/b.jpg"])],
                crate::journal::Arrival::Settled,
            )
            .unwrap();
        let id = ids[0];
        journal.mark_create_attempted(id).unwrap();
        journal.set_project(id, "uuid-1").unwrap();
        journal.mark_uploaded(id, "K~b.jpg").unwrap();
        id
    };
    let journal = SqliteJournal::open(dir.path()).unwrap();
    let shoot = journal.shoot(id).unwrap();
    assert!(shoot.project_name.starts_with("123 Main St ["));
    assert_eq!(shoot.state, ShootState::Uploading);
    assert!(shoot.create_attempted);
    let uploaded: Vec<bool> = journal
        .files(id)
        .unwrap()
        .iter()
        .map(|f| f.uploaded)
        .collect();
    assert_eq!(uploaded, [true, false]);
    assert_eq!(journal.known_files(inbox, "123 Main St").unwrap().len(), 2);

    // A follow-up batch of the same folder gets the next batch number and its own name.
    let follow_up = journal
        .record_batches(
            inbox,
            "123 Main St",
            outbox,
            &[batch(PhotoKind::Jpeg, &["c.jpg"])],
            crate::journal::Arrival::Settled,
        )
        .unwrap()[0];
    let follow_up = journal.shoot(follow_up).unwrap();
    assert_eq!(follow_up.batch, 1);
    assert!(follow_up.follow_up);
    assert_ne!(follow_up.project_name, shoot.project_name);
}

#[test]
fn retry_gives_a_failed_edit_a_new_project_and_resumes_other_failures() {
    let dir = tempfile::tempdir().unwrap();
    let journal = SqliteJournal::open(dir.path()).unwrap();
    let a = one_shoot(&journal, PhotoKind::Raw, "x.nef");
    journal.set_project(a, "u").unwrap();
    journal
        .fail(a, FailureKind::EditFailed, "the edit failed, in any words")
        .unwrap();
    let before = journal.shoot(a).unwrap().project_name;
    assert_eq!(journal.retry(RetryScope::Folder("A")).unwrap(), 1);
    let after = journal.shoot(a).unwrap();
    assert_eq!((after.state, after.failure), (ShootState::Planned, None));
    assert_eq!(after.project_uuid, None);
    assert_ne!(after.project_name, before);

    journal.set_project(a, "u2").unwrap();
    journal
        .fail(
            a,
            FailureKind::Refused,
            "Imagen reported the edit as Failed (not really)",
        )
        .unwrap();
    journal.retry(RetryScope::All).unwrap();
    let resumed = journal.shoot(a).unwrap();
    assert_eq!(
        (resumed.state, resumed.project_uuid.as_deref()),
        (ShootState::Uploading, Some("u2"))
    );
}

#[test]
fn a_move_the_state_machine_does_not_allow_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let journal = SqliteJournal::open(dir.path()).unwrap();
    let id = one_shoot(&journal, PhotoKind::Jpeg, "x.jpg");
    let refused = journal.advance(id, ShootState::Done).unwrap_err();
    assert!(
        matches!(
            refused,
            JournalError::IllegalMove {
                from: ShootState::Planned,
                to: ShootState::Done,
                ..
            }
        ),
        "{refused}"
    );
    assert_eq!(journal.shoot(id).unwrap().state, ShootState::Planned);
    assert!(matches!(
        journal.advance(999, ShootState::Editing),
        Err(JournalError::NoSuchShoot(999))
    ));
}

#[test]
fn an_unknown_state_read_back_is_a_loud_error_not_a_default() {
    let dir = tempfile::tempdir().unwrap();
    let journal = SqliteJournal::open(dir.path()).unwrap();
    let id = one_shoot(&journal, PhotoKind::Jpeg, "x.jpg");
    journal
        .connection()
        .execute("UPDATE shoots SET failure = 'gremlins' WHERE id = ?1", [id])
        .unwrap();
    let error = journal.shoot(id).unwrap_err().to_string();
    assert!(
        error.contains("unknown failure kind \"gremlins\""),
        "{error}"
    );
}

#[test]
fn pause_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    SqliteJournal::open(dir.path())
        .unwrap()
        .set_paused(true)
        .unwrap();
    let reader = SqliteJournal::open_read_only(dir.path()).unwrap().unwrap();
    assert!(reader.paused().unwrap());
    assert!(
        SqliteJournal::open_read_only(&dir.path().join("none"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_journal_from_the_previous_release_gets_failure_kinds_from_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-v1/journal.sqlite3");
    std::fs::copy(fixture, SqliteJournal::path_in(dir.path())).unwrap();
    // A reader brings it up to date first.
    let journal = SqliteJournal::open_read_only(dir.path()).unwrap().unwrap();
    let by_folder = |folder: &str| {
        journal
            .shoots(&crate::journal::ShootsWanted::folder(folder))
            .unwrap()
            .rows
            .into_iter()
            .find(|s| s.shoot.folder == folder)
            .unwrap()
            .shoot
    };
    assert_eq!(
        by_folder("Edit Failed").failure,
        Some(FailureKind::EditFailed)
    );
    assert_eq!(
        by_folder("Gone Folder").failure,
        Some(FailureKind::FolderGone)
    );
    assert_eq!(by_folder("Done Shoot").failure, None);
    assert_eq!(by_folder("Held Shoot").state, ShootState::Held);
    assert_eq!(journal.not_sent().unwrap().len(), 1);
}

#[test]
fn a_folder_name_too_long_for_a_project_is_shortened_and_still_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let journal = SqliteJournal::open(dir.path()).unwrap();
    let (inbox, outbox) = (Path::new("/in"), Path::new("/out"));
    let long = "Ä".repeat(127) + "end";
    let ids = journal
        .record_batches(
            inbox,
            &long,
            outbox,
            &[
                batch(PhotoKind::Jpeg, &["a.jpg"]),
                batch(PhotoKind::Raw, &["b.nef"]),
            ],
            crate::journal::Arrival::Settled,
        )
        .unwrap();
    let names: Vec<String> = ids
        .iter()
        .map(|id| journal.shoot(*id).unwrap().project_name)
        .collect();
    for name in &names {
        assert!(
            name.chars().count() <= crate::journal::PROJECT_NAME_MAX_CHARS,
            "{name}"
        );
        assert!(name.starts_with("ÄÄÄ") && name.contains('…'), "{name}");
    }
    assert!(
        names[0].contains("(jpeg 1)") && names[1].contains("(raw 2)"),
        "{names:?}"
    );
    // The folder itself is still known by its whole name.
    assert_eq!(journal.known_files(inbox, &long).unwrap().len(), 2);
}
