//! The agent, as a photographer uses it: shoot folders dropped into the inbox come out
//! edited in a mirrored outbox, each exactly once, with junk never uploaded.

use std::time::Duration;

use crate::common::agent::*;
use crate::common::*;

const LONG: Duration = Duration::from_secs(60);

fn put(root: &std::path::Path, relative: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let lower = relative.to_lowercase();
    if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        write_jpeg(&path, 96, 64);
    } else {
        write_stand_in(&path, &format!("bytes of {relative}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shoots_with_nested_folders_junk_and_twins_come_out_mirrored_and_billed_once() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "perspective_correction = true");
    let inbox = agent.inbox();
    // Two shoots already waiting when the agent starts...
    for file in [
        "123 Main St/IMG_1.jpg",
        "123 Main St/Kitchen/IMG_2.jpg",
        "123 Main St/Kitchen/Pantry/IMG_3.JPG",
        "123 Main St/.DS_Store",
        "123 Main St/._IMG_1.jpg",
        "123 Main St/Thumbs.db",
        "123 Main St/notes.txt",
        "45 Oak Ave/DSC_1.NEF",
        "45 Oak Ave/DSC_1.JPG",
        "45 Oak Ave/DSC_2.nef",
        "45 Oak Ave/Upstairs/DSC_3.nef",
        "45 Oak Ave/DSC_2.xmp",
    ] {
        put(&inbox, file);
    }
    agent.start();
    // ...and one dropped while it runs, with names that differ only in case.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let staging = agent.dir.path().join("staging");
    for file in [
        "9 Elm Ct/Room/img_1.jpg",
        "9 Elm Ct/Room/IMG_1.jpg",
        "9 Elm Ct/x.jpg.part",
    ] {
        put(&staging, file);
    }
    std::fs::rename(staging.join("9 Elm Ct"), inbox.join("9 Elm Ct")).unwrap();

    wait_for(&agent, "three shoots done", LONG, || {
        let states = agent.shoot_states();
        states.len() == 3 && states.iter().all(|(_, s)| s == "done")
    })
    .await;

    let outbox = agent.outbox();
    let photos: Vec<String> = tree(&outbox)
        .into_iter()
        .filter(|f| !f.ends_with("report.txt"))
        .collect();
    assert_eq!(
        photos,
        [
            "123 Main St/IMG_1.jpg",
            "123 Main St/Kitchen/IMG_2.jpg",
            "123 Main St/Kitchen/Pantry/IMG_3.JPG",
            "45 Oak Ave/DSC_1.jpg",
            "45 Oak Ave/DSC_2.jpg",
            "45 Oak Ave/Upstairs/DSC_3.jpg",
            "9 Elm Ct/Room/IMG_1.jpg",
            "9 Elm Ct/Room/img_1.jpg",
        ]
    );
    assert_outbox_holds_only_whole_photos(&outbox);

    let counters = counters(&sim);
    assert_eq!(counters.projects_created, 3, "{counters:?}");
    assert_eq!(counters.edits_started, 3);
    assert_eq!(counters.edit_calls, 3, "no second /edit");
    assert_eq!(
        counters.total_uploads(),
        3 + 3 + 2,
        "junk and JPEG twins never go up"
    );
    assert!(counters.protocol_violations.is_empty(), "{counters:?}");

    // System junk, a note and an unfinished copy are no reason to litter a delivered
    // folder with a report; a photo left out is.
    for clean in ["123 Main St", "9 Elm Ct"] {
        assert!(
            !outbox.join(clean).join("imagen-sync report.txt").exists(),
            "{clean} holds only junk besides its photos: no report"
        );
    }
    let twins = std::fs::read_to_string(outbox.join("45 Oak Ave/imagen-sync report.txt")).unwrap();
    assert!(
        twins.contains("DSC_1.JPG: same photo as DSC_1.NEF"),
        "{twins}"
    );

    // Restarting finds everything done and bills nothing again.
    agent.kill();
    agent.start();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(agent.is_running());
    assert_eq!(sim.counters().projects_created, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_card_copy_is_not_started_before_its_last_file_lands() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 2, "");
    agent.start();
    let shoot = agent.inbox().join("Slow Card");
    std::fs::create_dir_all(&shoot).unwrap();
    // Five photos over ~6.4 s (more than three 2 s settle times), the last one growing slowly.
    for n in 0..4 {
        write_jpeg(&shoot.join(format!("IMG_{n}.jpg")), 64, 64);
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            sim.counters().projects_created,
            0,
            "started while photo {n} was the last"
        );
    }
    let last = shoot.join("IMG_9.jpg");
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(300, 300, image::Rgb([9, 9, 9]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&last).unwrap();
        for chunk in bytes.chunks(bytes.len() / 4 + 1) {
            file.write_all(chunk).unwrap();
            file.flush().unwrap();
            tokio::time::sleep(Duration::from_millis(800)).await;
            assert_eq!(
                sim.counters().projects_created,
                0,
                "started while a file was growing"
            );
        }
    }
    wait_for(&agent, "the slow shoot done", LONG, || {
        agent.shoot_states().iter().any(|(_, s)| s == "done")
    })
    .await;
    assert_eq!(
        sim.counters().total_uploads(),
        5,
        "every file is in the project"
    );
    assert_eq!(tree(&agent.outbox().join("Slow Card")).len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hot_folder_pair_sends_its_own_edit_options() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "perspective_correction = true");
    let (exteriors_in, exteriors_out) =
        agent.add_folder_pair("Exteriors", "sky_replacement = true\nhdr_merge = true");
    put(&agent.inbox(), "Living Room/a.jpg");
    for n in 0..3 {
        put(&exteriors_in, &format!("Front/bracket_{n}.jpg"));
    }
    agent.start();
    wait_for(&agent, "both shoots done", LONG, || {
        let states = agent.shoot_states();
        states.len() == 2 && states.iter().all(|(_, s)| s == "done")
    })
    .await;
    let client = client_for(&sim, |_| {});
    let projects = client.list_projects(10, 0, false).await.unwrap().projects;
    let tools_of = |prefix: &str| {
        projects
            .iter()
            .find(|p| p.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
            .and_then(|p| p.ai_tools.clone())
            .unwrap()
    };
    assert_eq!(tools_of("Living Room"), ["perspective_correction"]);
    assert_eq!(tools_of("Front"), ["hdr_merge", "sky_replacement"]);
    // Three brackets merged into one output, next to where its first frame sits.
    assert_eq!(tree(&exteriors_out), ["Front/bracket_0.jpg"]);
    assert_eq!(tree(&agent.outbox()), ["Living Room/a.jpg"]);
    assert!(
        !agent.logs().contains("X-Amz-Signature"),
        "no presigned query in the log"
    );
}

/// Modes of the outbox's photos and folders, and of the agent's own data folder, after
/// one shoot delivered by an agent started under `umask`.
async fn modes_under_umask(umask: &str) -> (Vec<(String, u32)>, u32) {
    use std::os::unix::fs::PermissionsExt;
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    put(&agent.inbox(), "7 Bay Rd/Front.jpg");
    put(&agent.inbox(), "7 Bay Rd/Upstairs/Bed.jpg");
    put(&agent.inbox(), "7 Bay Rd/Floor plan.png");
    let wrapper = format!("umask {umask}; exec \"$0\" \"$@\"");
    agent.start_via(&["sh", "-c", &wrapper]);
    wait_for(&agent, "the shoot done", LONG, || {
        agent.shoot_states() == [("7 Bay Rd".to_owned(), "done".to_owned())]
    })
    .await;
    agent.kill();
    let outbox = agent.outbox();
    let mode = |relative: &str| {
        let path = outbox.join(relative);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        (relative.to_owned(), mode)
    };
    let modes = [
        "7 Bay Rd",
        "7 Bay Rd/Front.jpg",
        "7 Bay Rd/Upstairs",
        "7 Bay Rd/Upstairs/Bed.jpg",
        "7 Bay Rd/imagen-sync report.txt",
    ]
    .map(mode)
    .to_vec();
    let data = agent.dir.path().join("data");
    let data_mode = std::fs::metadata(data).unwrap().permissions().mode() & 0o777;
    (modes, data_mode)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_photos_and_folders_are_readable_by_others_as_the_umask_allows() {
    for (umask, file_mode, folder_mode) in [("022", 0o644, 0o755), ("077", 0o600, 0o700)] {
        let (modes, data) = modes_under_umask(umask).await;
        for (path, mode) in &modes {
            let is_file = path.ends_with(".jpg") || path.ends_with(".txt");
            let wanted = if is_file { file_mode } else { folder_mode };
            assert_eq!(*mode, wanted, "{path} under umask {umask}: {mode:o}");
        }
        assert_eq!(data, 0o700, "the agent's own data stays private");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exteriors_and_interiors_under_their_own_rules_make_two_projects_across_a_restart() {
    let sim = start_sim(|config| {
        config.timings.processing_for = Duration::from_secs(2);
    })
    .await;
    let mut agent = Harness::new(&sim, 1, "");
    let config = std::fs::read_to_string(&agent.config).unwrap();
    std::fs::write(
        &agent.config,
        format!(
            "{config}\n[[folders.rules]]\nmatch = \"exterior*\"\n[folders.rules.edit]\n\
             sky_replacement = true\n\n[[folders.rules]]\nmatch = \"Interior*\"\n\
             [folders.rules.edit]\nperspective_correction = true\n"
        ),
    )
    .unwrap();
    let photos = [
        "12 Harbour View/Exteriors/Front.jpg",
        "12 Harbour View/Exteriors/Pool/Deck.jpg",
        "12 Harbour View/Interiors/Kitchen/Island.jpg",
        "12 Harbour View/Interiors/Kitchen/Range.jpg",
    ];
    for photo in photos {
        put(&agent.inbox(), photo);
    }
    agent.start();
    wait_for(&agent, "the first project", LONG, || {
        sim.counters().projects_created >= 1
    })
    .await;
    // Killed mid-way: both projects were planned before either was created.
    agent.kill();
    agent.start();
    wait_for(&agent, "both projects done", LONG, || {
        let states = agent.shoot_states();
        states.len() == 2 && states.iter().all(|(_, s)| s == "done")
    })
    .await;

    let counters = counters(&sim);
    assert_eq!(counters.projects_created, 2, "{counters:?}");
    assert_eq!(counters.edits_started, 2, "{counters:?}");
    let client = client_for(&sim, |_| {});
    let projects = client.list_projects(10, 0, false).await.unwrap().projects;
    let mut tools: Vec<Vec<String>> = projects
        .iter()
        .map(|p| p.ai_tools.clone().unwrap_or_default())
        .collect();
    tools.sort();
    assert_eq!(
        tools,
        [
            vec!["perspective_correction".to_owned()],
            vec!["sky_replacement".to_owned()]
        ]
    );
    let mut delivered = tree(&agent.outbox());
    delivered.sort();
    let mut expected: Vec<String> = photos.iter().map(|p| p.to_string()).collect();
    expected.sort();
    assert_eq!(
        delivered, expected,
        "both trees mirrored in the one outbox folder"
    );
    let status = agent.run_cli(&["status"]);
    let shoot_lines = status.lines().filter(|l| l.starts_with("12 Harbour View"));
    assert_eq!(
        shoot_lines.count(),
        1,
        "one shoot, its projects below:\n{status}"
    );
    assert!(status.contains("(2 projects)"), "{status}");
    assert!(status.contains("  · sky replacement "), "{status}");
}
