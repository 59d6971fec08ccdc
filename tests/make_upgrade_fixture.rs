//! Made tests/fixtures/journal-v1 with the journal code of this release (schema 1):
//! `cargo test --test make_upgrade_fixture -- --ignored`. Paths start with @ROOT@,
//! which the upgrade test replaces with its temp dir.
use imagen_sync::api::EditOptions;
use imagen_sync::journal::Journal;
use imagen_sync::pipeline::ShootError;
use imagen_sync::scan::{Batch, Photo, PhotoKind};
use std::path::{Path, PathBuf};

fn batch(names: &[&str]) -> Vec<Batch> {
    vec![Batch {
        kind: PhotoKind::Jpeg,
        photos: names
            .iter()
            .map(|n| Photo {
                relative: PathBuf::from(n),
                upload_name: imagen_sync::names::encode(Path::new(n)).unwrap(),
                size: 4096,
                modified: None,
                identity: None,
            })
            .collect(),
    }]
}

#[test]
#[ignore = "run by hand to regenerate the fixture"]
fn make() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-v1");
    let _ = std::fs::remove_dir_all(&out);
    let mut j = Journal::open(&out).unwrap();
    let inbox = Path::new("@ROOT@/inbox");
    let ob = |n: &str| PathBuf::from(format!("@ROOT@/outbox/{n}"));
    let opts = EditOptions {
        hdr_merge: true,
        ..EditOptions::default()
    };
    let done = j
        .record_batches(
            inbox,
            "Done Shoot",
            &ob("Done Shoot"),
            &opts,
            &batch(&["a.jpg"]),
        )
        .unwrap()[0];
    j.mark_create_attempted(done).unwrap();
    j.set_project(done, "11111111-1111-4111-8111-111111111111")
        .unwrap();
    j.mark_uploaded(done, "a.jpg").unwrap();
    j.set_state(done, imagen_sync::journal::ShootState::Editing)
        .unwrap();
    j.mark_edit_sent(done).unwrap();
    j.set_state(done, imagen_sync::journal::ShootState::Downloading)
        .unwrap();
    let placed = PathBuf::from("@ROOT@/outbox/Done Shoot/a.jpg");
    j.output_intent(done, "a.jpg", &placed).unwrap();
    j.output_placed(done, "a.jpg", Some((1, 2))).unwrap();
    j.set_state(done, imagen_sync::journal::ShootState::Done)
        .unwrap();

    let edit = j
        .record_batches(
            inbox,
            "Edit Failed",
            &ob("Edit Failed"),
            &opts,
            &batch(&["b1.jpg", "b2.jpg"]),
        )
        .unwrap()[0];
    j.mark_create_attempted(edit).unwrap();
    j.set_project(edit, "22222222-2222-4222-8222-222222222222")
        .unwrap();
    j.mark_uploaded(edit, "b1.jpg").unwrap();
    j.mark_uploaded(edit, "b2.jpg").unwrap();
    j.set_state(edit, imagen_sync::journal::ShootState::Editing)
        .unwrap();
    j.mark_edit_sent(edit).unwrap();
    j.set_failed(edit, &ShootError::EditFailed.to_string())
        .unwrap();

    let gone = j
        .record_batches(
            inbox,
            "Gone Folder",
            &ob("Gone Folder"),
            &opts,
            &batch(&["c.jpg"]),
        )
        .unwrap()[0];
    j.set_failed(
        gone,
        &ShootError::FolderGone(PathBuf::from("@ROOT@/inbox/Gone Folder")).to_string(),
    )
    .unwrap();

    let _planned = j
        .record_batches(
            inbox,
            "Waiting Planned",
            &ob("Waiting Planned"),
            &opts,
            &batch(&["d1.jpg", "d2.jpg", "d3.jpg"]),
        )
        .unwrap()[0];

    let held = j
        .record_batches(
            inbox,
            "Held Shoot",
            &ob("Held Shoot"),
            &opts,
            &batch(&["e.jpg"]),
        )
        .unwrap()[0];
    j.hold(
        held,
        "over the daily limit of 3000 photos (the setting [agent] daily_photo_limit)",
    )
    .unwrap();

    j.record_not_sent(
        inbox,
        "Waiting Planned",
        &[("notes.txt".into(), "not a photo".into())],
    )
    .unwrap();
    j.set_paused(false).unwrap();
    drop(j);
}
