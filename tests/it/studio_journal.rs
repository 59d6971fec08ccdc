//! The studio's shared journal on a real PostgreSQL server: a folder seen by several
//! agents at once is one shoot, a shoot is driven by one agent at a time, a claim that
//! ran out passes to another agent that resumes it, and the agent that lost it records
//! nothing more. A database that is not ours, or made by a newer version, is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::common::postgres::Cluster;
use imagen_sync::api::EditOptions;
use imagen_sync::config::{JournalSettings, WatchMode};
use imagen_sync::journal::{
    self, Journal, JournalError, Location, SharedPlace, ShootState, ShootsWanted,
};
use imagen_sync::shoot::{Batch, Photo, PhotoKind};

fn place(url: &str, agent: &str, inbox: &Path, outbox: &Path) -> Location {
    let _ = WatchMode::Auto;
    Location::Shared(SharedPlace {
        settings: JournalSettings {
            url: Some(url.to_owned()),
            agent_name: agent.to_owned(),
            lease_seconds: 5,
            ..JournalSettings::default()
        },
        folders: vec![("listings".into(), inbox.to_owned(), outbox.to_owned())],
    })
}

fn photos(names: &[&str]) -> Vec<Batch> {
    vec![Batch {
        kind: PhotoKind::Jpeg,
        options: EditOptions::default(),
        photos: names
            .iter()
            .map(|name| Photo {
                relative: PathBuf::from(name),
                upload_name: name.to_string(),
                size: 10,
                modified: None,
                identity: None,
            })
            .collect(),
    }]
}

fn open(location: &Location) -> Arc<dyn Journal> {
    journal::open(location).unwrap()
}

/// The same share mounted on a NAS (`/mnt/nas`) and on a Mac (`/Volumes`): two agents.
fn nas_and_mac(url: &str) -> (Arc<dyn Journal>, Arc<dyn Journal>) {
    let mount = |agent: &str, root: &str| {
        let (inbox, outbox) = (format!("{root}/In"), format!("{root}/Out"));
        open(&place(url, agent, Path::new(&inbox), Path::new(&outbox)))
    };
    (mount("nas", "/mnt/nas"), mount("mac", "/Volumes"))
}

/// Records shoot `folder` of `names`, seen by the agent whose share is at `root`.
fn record(journal: &Arc<dyn Journal>, root: &str, folder: &str, names: &[&str]) -> Vec<i64> {
    journal
        .record_batches(
            Path::new(&format!("{root}/In")),
            folder,
            Path::new(&format!("{root}/Out/{folder}")),
            &photos(names),
            journal::Arrival::Settled,
        )
        .unwrap()
}

#[test]
fn two_machines_mounting_the_share_at_different_paths_record_a_new_folder_as_one_shoot() {
    let cluster = Cluster::start();
    let (nas, mac) = nas_and_mac(&cluster.new_database("studio"));
    let first = record(&nas, "/mnt/nas", "12 Elm St", &["a.jpg", "b.jpg"]);
    let second = record(&mac, "/Volumes", "12 Elm St", &["a.jpg", "b.jpg"]);
    assert_eq!(first.len(), 1);
    assert!(second.is_empty(), "the second agent records nothing new");
    let seen_on_mac = mac.shoot(first[0]).unwrap();
    assert_eq!(seen_on_mac.inbox, Path::new("/Volumes/In"));
    assert_eq!(seen_on_mac.outbox, Path::new("/Volumes/Out/12 Elm St"));
    assert_eq!(mac.shoots(&ShootsWanted::all()).unwrap().rows.len(), 1);
}

#[test]
fn a_claim_that_ran_out_passes_to_another_agent_and_the_first_records_nothing_more() {
    let cluster = Cluster::start();
    let url = cluster.new_database("studio");
    let (inbox, outbox) = (Path::new("/in"), Path::new("/out"));
    let a = open(&place(&url, "agent-a", inbox, outbox));
    let b = open(&place(&url, "agent-b", inbox, outbox));
    let id = a
        .record_batches(
            inbox,
            "Pool House",
            &outbox.join("Pool House"),
            &photos(&["x.jpg", "y.jpg"]),
            journal::Arrival::Settled,
        )
        .unwrap()[0];

    let claimed = a.claim(&[], 4).unwrap();
    assert_eq!(claimed.iter().map(|s| s.id).collect::<Vec<_>>(), [id]);
    assert_eq!(claimed[0].holder.as_deref(), Some("agent-a"));
    assert!(
        b.claim(&[], 4).unwrap().is_empty(),
        "a live lease keeps others off"
    );
    a.mark_create_attempted(id).unwrap();
    a.set_project(id, "project-1").unwrap();
    a.mark_uploaded(id, "x.jpg").unwrap();
    // The heartbeat keeps it: still a's after more than one lease.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(a.heartbeat(&[id]).unwrap(), [id]);
    }
    assert!(b.claim(&[], 4).unwrap().is_empty());

    // a stops renewing (killed, or cut off): after the lease, b takes the shoot over
    // where a left it: the same project, x.jpg already up.
    std::thread::sleep(Duration::from_millis(5500));
    let taken = b.claim(&[], 4).unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].project_uuid.as_deref(), Some("project-1"));
    assert_eq!(taken[0].state, ShootState::Uploading);
    let uploaded: Vec<_> = b
        .files(id)
        .unwrap()
        .into_iter()
        .filter(|f| f.uploaded)
        .map(|f| f.upload_name)
        .collect();
    assert_eq!(uploaded, ["x.jpg"]);

    // a comes back and tries to go on: nothing it does is recorded.
    assert!(matches!(
        a.mark_uploaded(id, "y.jpg"),
        Err(JournalError::LeaseLost(_))
    ));
    assert!(matches!(
        a.advance(id, ShootState::Editing),
        Err(JournalError::LeaseLost(_))
    ));
    assert!(
        a.heartbeat(&[id]).unwrap().is_empty(),
        "a learns it lost the shoot"
    );
    b.mark_uploaded(id, "y.jpg").unwrap();
    b.advance(id, ShootState::Editing).unwrap();
    assert_eq!(b.shoot(id).unwrap().state, ShootState::Editing);
    let agents = b.agents().unwrap();
    assert!(
        agents.iter().any(|seen| seen.name == "agent-a"),
        "{agents:?}"
    );
}

#[test]
fn pause_and_retry_from_any_agent_reach_the_whole_studio() {
    let cluster = Cluster::start();
    let url = cluster.new_database("studio");
    let (inbox, outbox) = (Path::new("/in"), Path::new("/out"));
    let a = open(&place(&url, "agent-a", inbox, outbox));
    let b = open(&place(&url, "agent-b", inbox, outbox));
    let before = b.change_mark().unwrap();
    a.set_paused(true).unwrap();
    assert!(b.paused().unwrap());
    assert_ne!(
        b.change_mark().unwrap(),
        before,
        "b sees that something changed"
    );
    let id = a
        .record_batches(
            inbox,
            "Barn",
            &outbox.join("Barn"),
            &photos(&["x.jpg"]),
            journal::Arrival::Settled,
        )
        .unwrap()[0];
    a.claim(&[], 1).unwrap();
    a.fail(id, journal::FailureKind::Outbox, "the outbox is full")
        .unwrap();
    assert_eq!(b.retry(journal::RetryScope::Folder("Barn")).unwrap(), 1);
    assert_eq!(a.shoot(id).unwrap().state, ShootState::Planned);
}

#[test]
fn resume_anyway_on_one_studio_machine_is_taken_by_that_machines_agent_only() {
    use imagen_sync::control::Control;
    use imagen_sync::control::Surface;
    use imagen_sync::journal::Switch;
    let cluster = Cluster::start();
    let url = cluster.new_database("studio");
    let (inbox, outbox) = (Path::new("/in"), Path::new("/out"));
    let laptop = open(&place(&url, "laptop", inbox, outbox));
    let nas = open(&place(&url, "nas", inbox, outbox));
    // The laptop's tray asks, through the same controls the tray and the CLI use.
    Control::open(&place(&url, "laptop", inbox, outbox), Surface::Tray)
        .unwrap()
        .resume_anyway()
        .unwrap();
    assert!(
        !nas.switch(Switch::ResumeAnyway).unwrap(),
        "the NAS is not asked"
    );
    assert!(
        laptop.switch(Switch::ResumeAnyway).unwrap(),
        "the laptop is"
    );
    // The laptop's agent takes the request; the NAS never sees one.
    laptop.set_switch(Switch::ResumeAnyway, false).unwrap();
    assert!(!laptop.switch(Switch::ResumeAnyway).unwrap());
    assert!(!nas.switch(Switch::ResumeAnyway).unwrap());
    // Pause stays the whole studio's.
    Control::open(&place(&url, "nas", inbox, outbox), Surface::Cli)
        .unwrap()
        .set_paused(true)
        .unwrap();
    assert!(laptop.paused().unwrap() && nas.paused().unwrap());
}

#[test]
fn a_database_that_is_not_ours_or_is_newer_is_refused_with_what_to_do() {
    let cluster = Cluster::start();
    let (inbox, outbox) = (Path::new("/in"), Path::new("/out"));
    let url = cluster.new_database("accounting");
    cluster.sql("accounting", "CREATE TABLE invoices (id INT)");
    let error = journal::open(&place(&url, "a", inbox, outbox))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("not imagen-sync's") && error.contains("createdb"),
        "{error}"
    );

    let url = cluster.new_database("studio");
    open(&place(&url, "a", inbox, outbox));
    cluster.sql("studio", "UPDATE imagen_sync_schema SET version = 99");
    let error = journal::open(&place(&url, "a", inbox, outbox))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("newer imagen-sync") && error.contains("upgrade"),
        "{error}"
    );

    let missing = cluster.url("no_such_db");
    let error = journal::open(&place(&missing, "a", inbox, outbox))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("does not exist") && error.contains("createdb"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_journal_works_from_the_agents_blocking_threads() {
    let cluster = Cluster::start();
    let url = cluster.new_database("studio");
    let location = place(&url, "a", Path::new("/in"), Path::new("/out"));
    let journal = tokio::task::spawn_blocking(move || journal::open(&location).unwrap())
        .await
        .unwrap();
    let paused = journal::off_worker(&journal, |j| j.paused()).await.unwrap();
    assert!(!paused);
}

#[test]
fn an_output_placed_by_one_machine_is_known_as_ours_on_another_mounting_it_elsewhere() {
    let cluster = Cluster::start();
    let (nas, mac) = nas_and_mac(&cluster.new_database("studio"));
    let id = record(&nas, "/mnt/nas", "Loft", &["a.jpg"])[0];
    nas.claim(&[], 1).unwrap();
    nas.output_intents(id, &[("a.jpg".into(), "/mnt/nas/Out/Loft/a.jpg".into())])
        .unwrap();
    let placed = journal::PlacedOutput {
        file_name: "a.jpg".into(),
        identity: Some((7, 42)),
        stamp: None,
    };
    nas.outputs_placed(id, &[placed]).unwrap();
    assert!(
        mac.is_own_output(Path::new("/Volumes/Out/Loft/a.jpg"), None)
            .unwrap()
    );
    assert!(
        !mac.is_own_output(Path::new("/Volumes/Out/Loft/b.jpg"), None)
            .unwrap()
    );
    // (device, inode) numbers mean nothing on another machine.
    assert!(
        !mac.is_own_output(Path::new("/elsewhere/x.jpg"), Some((7, 42)))
            .unwrap()
    );
    assert!(
        nas.is_own_output(Path::new("/elsewhere/x.jpg"), Some((7, 42)))
            .unwrap()
    );
    assert_eq!(
        mac.outputs(id).unwrap()[0].path,
        Path::new("/Volumes/Out/Loft/a.jpg")
    );
}

#[test]
fn an_agent_stopping_cleanly_hands_its_shoots_over_at_once() {
    let cluster = Cluster::start();
    let (nas, mac) = nas_and_mac(&cluster.new_database("studio"));
    let id = record(&nas, "/mnt/nas", "Dock", &["a.jpg"])[0];
    assert_eq!(nas.claim(&[], 1).unwrap().len(), 1);
    assert!(mac.claim(&[], 1).unwrap().is_empty());
    nas.let_go(&[id]).unwrap();
    let taken = mac.claim(&[], 1).unwrap();
    assert_eq!(
        taken[0].holder.as_deref(),
        Some("mac"),
        "no wait for the lease"
    );
}

#[test]
fn wrong_credentials_are_said_with_what_to_check_and_never_the_password() {
    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE USER imagen PASSWORD 'right-horse'");
    cluster.sql("postgres", "CREATE DATABASE studio OWNER imagen");
    cluster.require_passwords();
    let (inbox, outbox) = (Path::new("/in"), Path::new("/out"));
    let url = format!(
        "postgres://imagen:wrong-horse@127.0.0.1:{}/studio",
        cluster.port
    );
    let error = journal::open(&place(&url, "a", inbox, outbox))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("refused the user name or password"),
        "{error}"
    );
    assert!(
        !error.contains("wrong-horse") && error.contains("imagen:***@"),
        "{error}"
    );

    // The password from a private file, the URL without it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db-password");
    std::fs::write(&file, "right-horse\n").unwrap();
    let mut location = place(
        &format!("postgres://imagen@127.0.0.1:{}/studio", cluster.port),
        "a",
        inbox,
        outbox,
    );
    let Location::Shared(shared) = &mut location else {
        unreachable!()
    };
    shared.settings.password_file = Some(file.clone());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = journal::open(&location).err().unwrap().to_string();
        assert!(error.contains("chmod 600"), "{error}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let journal = open(&location);
    assert!(!journal.paused().unwrap());
}

/// Years of shoots: a view reads the unfinished ones and a page of the newest finished,
/// a search by name, or one folder, each shoot with all its projects; touch-ups read
/// the delivered outputs at the paths they are asked about; and what each folder was
/// known by when taken in is kept. The same on both backends.
fn a_history_of_shoots_is_read_a_page_at_a_time(journal: &Arc<dyn Journal>, root: &str) {
    let inbox = PathBuf::from(format!("{root}/In"));
    for n in 0..30 {
        let folder = format!("{n:02} Harbour View");
        for id in record(journal, root, &folder, &["a.jpg"]) {
            journal.claim(&[], 10).unwrap();
            journal.set_project(id, "done-before").unwrap();
            let output = PathBuf::from(format!("{root}/Out/{folder}/a.jpg"));
            journal
                .output_intents(id, &[("a.jpg".into(), output)])
                .unwrap();
            let placed = journal::PlacedOutput {
                file_name: "a.jpg".into(),
                identity: None,
                stamp: Some("1-1".into()),
            };
            journal.outputs_placed(id, &[placed]).unwrap();
            for step in [
                ShootState::Editing,
                ShootState::Downloading,
                ShootState::Done,
            ] {
                journal.advance(id, step).unwrap();
            }
        }
    }
    // A follow-up still working in an old folder, and a new shoot of two projects.
    record(journal, root, "03 Harbour View", &["late.jpg"]);
    let mut two = photos(&["x.jpg"]);
    two.extend(photos(&["y.jpg"]).into_iter().map(|mut b| {
        b.kind = PhotoKind::Raw;
        b
    }));
    journal
        .record_batches(
            &inbox,
            "77 Elm Court",
            Path::new(&format!("{root}/Out/77 Elm Court")),
            &two,
            journal::Arrival::Settled,
        )
        .unwrap();

    let folders = |page: &journal::ShootsPage| {
        let mut names: Vec<String> = Vec::new();
        for row in &page.rows {
            if !names.contains(&row.shoot.folder) {
                names.push(row.shoot.folder.clone());
            }
        }
        names
    };
    let wanted = ShootsWanted::unfinished_and_newest(5);
    let first = journal.shoots(&wanted).unwrap();
    assert_eq!(
        folders(&first),
        [
            "77 Elm Court",
            "03 Harbour View",
            "29 Harbour View",
            "28 Harbour View",
            "27 Harbour View",
            "26 Harbour View",
            "25 Harbour View"
        ]
    );
    assert_eq!(first.rows.len(), 9, "every project of each shoot listed");
    assert_eq!(first.paged_total, 29, "finished folders in all");
    assert_eq!(first.after(&wanted), 24);
    let last = ShootsWanted::unfinished_and_newest(5).skip(25);
    let page = journal.shoots(&last).unwrap();
    assert_eq!(
        folders(&page).len(),
        2 + 4,
        "the unfinished and the last four"
    );
    assert_eq!(page.after(&last), 0);

    let found = journal
        .shoots(&ShootsWanted::all().search(Some("elm ")))
        .unwrap();
    assert_eq!(folders(&found), ["77 Elm Court"], "found ignoring case");
    assert_eq!(
        journal
            .projects_of(&inbox, "03 Harbour View")
            .unwrap()
            .len(),
        2
    );

    assert_eq!(journal.delivered_outputs(None).unwrap().len(), 30);
    let asked = [
        PathBuf::from(format!("{root}/Out/05 Harbour View/a.jpg")),
        PathBuf::from(format!("{root}/Out/05 Harbour View/not-an-output.jpg")),
        PathBuf::from("/elsewhere/05 Harbour View/a.jpg"),
    ];
    let at = journal.delivered_outputs(Some(&asked)).unwrap();
    assert_eq!(at.len(), 1, "only the output at a path asked about");
    assert_eq!(at[0].output.path, asked[0]);
    assert_eq!(at[0].inbox, inbox);

    let mark = journal::FolderMark {
        stamp: u64::MAX - 1,
        print: 7,
    };
    journal
        .record_folder_mark(&inbox, "03 Harbour View", mark)
        .unwrap();
    let marks = journal.folder_marks(&inbox).unwrap();
    assert_eq!(marks.get("03 Harbour View"), Some(&mark));
    assert_eq!(marks.len(), 1);
}

#[test]
fn the_shared_journal_reads_a_history_of_shoots_a_page_at_a_time() {
    let cluster = Cluster::start();
    let (nas, _) = nas_and_mac(&cluster.new_database("studio"));
    a_history_of_shoots_is_read_a_page_at_a_time(&nas, "/mnt/nas");
}

#[test]
fn the_local_journal_reads_a_history_of_shoots_a_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(&Location::DataFolder(dir.path().to_owned()));
    a_history_of_shoots_is_read_a_page_at_a_time(&journal, "/Users/ann");
}
