use super::*;

fn event(shoot: &str, kind: EventKind) -> Event {
    Event {
        shoot: shoot.into(),
        shoot_id: Some(1),
        kind,
    }
}

fn done(shoot: &str, photos: u64) -> Event {
    event(
        shoot,
        EventKind::Done {
            photos,
            merged_from: None,
            outbox: PathBuf::from("/out").join(shoot),
            problems: Vec::new(),
            live: false,
        },
    )
}

const WINDOW: Duration = Duration::from_secs(2);

#[test]
fn a_held_shoot_a_missing_inbox_and_a_stopped_folder_are_each_told_at_once() {
    let mut notices = notices();
    let now = Instant::now();
    let reason = "the daily limit of 3000 photos would be passed".to_owned();
    notices.observe(&event("One\nPhoto", EventKind::Held { reason }), now);
    let inbox = PathBuf::from("/mnt/nas/Inbox");
    notices.observe(
        &event(
            "",
            EventKind::InboxMissing {
                inbox: inbox.clone(),
            },
        ),
        now,
    );
    let stopped = EventKind::FolderStopped {
        inbox,
        reason: "the outbox /o is the same folder as the inbox".into(),
    };
    notices.observe(&event("", stopped), now);
    let due = notices.due(now);
    let kinds: Vec<NoticeKind> = due.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NoticeKind::ShootHeld,
            NoticeKind::InboxMissing,
            NoticeKind::FolderStopped
        ]
    );
    assert_eq!(
        due[0].summary,
        "One\\nPhoto: waiting for you before it is sent"
    );
    assert!(due[0].body.contains("Send anyway"), "{}", due[0].body);
    assert!(
        due[1]
            .body
            .contains("/mnt/nas/Inbox is missing — is the drive mounted?")
    );
}

fn notices() -> Notices {
    Notices::with_timing(
        NotificationSettings::default(),
        WINDOW,
        Duration::from_secs(60),
    )
}

#[test]
fn one_finished_shoot_says_how_many_photos_are_ready_and_opens_its_folder() {
    let mut notices = notices();
    let start = Instant::now();
    notices.observe(&done("123 Main St", 42), start);
    assert!(notices.due(start).is_empty(), "waits for the window");
    let shown = notices.due(start + WINDOW);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].summary, "123 Main St: 42 photos ready");
    assert_eq!(
        shown[0].open,
        Some(Opens::Folder(PathBuf::from("/out/123 Main St")))
    );
    assert!(notices.due(start + WINDOW * 3).is_empty());
}

#[test]
fn fifty_shoots_finishing_at_once_make_one_notification() {
    let mut notices = notices();
    let start = Instant::now();
    for n in 0..50 {
        notices.observe(
            &done(&format!("Shoot {n}"), 10),
            start + Duration::from_millis(n * 10),
        );
    }
    assert_eq!(notices.next_deadline(), Some(start + WINDOW));
    let shown = notices.due(start + WINDOW);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].summary, "50 shoots ready: 500 photos");
    assert!(shown[0].body.ends_with("and 46 more"), "{}", shown[0].body);
    assert_eq!(shown[0].open, Some(Opens::Folder(PathBuf::from("/out"))));
}

#[test]
fn a_failed_shoot_says_why_and_what_to_do() {
    let mut notices = notices();
    let start = Instant::now();
    let reason = "Imagen could not edit the project".to_owned();
    let kind = crate::journal::FailureKind::EditFailed;
    notices.observe(
        &event("12 Oak Lane", EventKind::Failed { reason, kind }),
        start,
    );
    let shown = notices.due(start + WINDOW);
    assert_eq!(shown[0].summary, "12 Oak Lane failed");
    assert!(shown[0].body.contains("could not edit"));
    assert!(
        shown[0]
            .body
            .contains("Retry it from Recent shoots in the tray menu")
    );
    assert!(
        !shown[0].body.contains("imagen-sync retry"),
        "a notification speaks of the tray, not of commands: {}",
        shown[0].body
    );
}

#[test]
fn a_shoot_done_with_problems_is_told_at_once_with_the_report_to_read_and_no_retry() {
    let mut notices = notices();
    let start = Instant::now();
    let kind = EventKind::Done {
        photos: 6,
        merged_from: None,
        outbox: PathBuf::from("/out/9 Elm St"),
        problems: vec!["\"../x.jpg\": not written, it climbs out of the shoot folder (..)".into()],
        live: false,
    };
    notices.observe(&event("9 Elm St", kind), start);
    let shown = notices.due(start);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].kind, NoticeKind::DoneWithProblems);
    assert_eq!(shown[0].summary, "9 Elm St: done with problems");
    assert!(
        shown[0]
            .body
            .contains("6 edited photos delivered; 1 output could not be written")
    );
    assert!(shown[0].body.contains("imagen-sync report.txt"));
    assert!(!shown[0].body.to_lowercase().contains("retry it"));
    assert_eq!(
        shown[0].open,
        Some(Opens::Folder(PathBuf::from("/out/9 Elm St")))
    );
}

#[test]
fn switched_off_kinds_stay_quiet() {
    let settings = NotificationSettings {
        shoot_done: false,
        network: false,
        ..NotificationSettings::default()
    };
    let mut notices = Notices::with_timing(settings, WINDOW, Duration::from_secs(1));
    let start = Instant::now();
    notices.observe(&done("A", 1), start);
    let offline = EventKind::ImagenAway {
        silent: false,
        for_a_minute: false,
    };
    notices.observe(&event("", offline), start);
    assert!(notices.due(start + Duration::from_secs(5)).is_empty());
}

#[test]
fn a_long_outage_is_told_once_and_its_end_too() {
    let mut notices = notices();
    let start = Instant::now();
    let away = |silent| {
        event(
            "",
            EventKind::ImagenAway {
                silent,
                for_a_minute: false,
            },
        )
    };
    notices.observe(&away(true), start);
    assert!(notices.due(start + Duration::from_secs(30)).is_empty());
    notices.observe(&away(true), start + Duration::from_secs(40));
    let lost = notices.due(start + Duration::from_secs(61));
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].kind, NoticeKind::NetworkLost);
    assert_eq!(lost[0].summary, "Imagen is not answering");
    notices.observe(&away(true), start + Duration::from_secs(90));
    assert!(notices.due(start + Duration::from_secs(200)).is_empty());
    notices.observe(
        &event("", EventKind::ImagenBack),
        start + Duration::from_secs(201),
    );
    let back = notices.due(start + Duration::from_secs(201));
    assert_eq!(back[0].kind, NoticeKind::NetworkBack);
}

#[test]
fn a_short_outage_is_not_told_at_all() {
    let mut notices = notices();
    let start = Instant::now();
    let away = EventKind::ImagenAway {
        silent: false,
        for_a_minute: false,
    };
    notices.observe(&event("", away), start);
    notices.observe(
        &event("", EventKind::ImagenBack),
        start + Duration::from_secs(20),
    );
    assert!(notices.due(start + Duration::from_secs(120)).is_empty());
}

#[test]
fn a_rejected_key_is_told_once_not_per_shoot() {
    let mut notices = notices();
    let start = Instant::now();
    for shoot in ["A", "B", "C"] {
        let rejected = EventKind::Waiting {
            reason: "401".into(),
            cause: WaitCause::KeyRejected,
            retry_at_ms: None,
        };
        notices.observe(&event(shoot, rejected), start);
    }
    let shown = notices.due(start);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].kind, NoticeKind::KeyRejected);
}

#[test]
fn the_studio_database_away_is_told_at_once_and_when_it_is_back() {
    let mut notices = notices();
    let now = Instant::now();
    let away = EventKind::Waiting {
        reason: "cannot reach the studio's journal at postgres://imagen@nas/studio".into(),
        cause: WaitCause::JournalAway,
        retry_at_ms: None,
    };
    notices.observe(&event("", away), now);
    let told = notices.due(now);
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].kind, NoticeKind::JournalAway);
    assert!(told[0].body.contains("nothing is lost"));
    notices.observe(&event("", EventKind::JournalBack), now);
    assert_eq!(notices.due(now)[0].kind, NoticeKind::JournalBack);
}

#[test]
fn projects_of_one_shoot_finishing_together_are_told_as_one_shoot() {
    let mut notices = notices();
    let start = Instant::now();
    notices.observe(&done("12 Harbour View", 2), start);
    notices.observe(&done("12 Harbour View", 3), start);
    let shown = notices.due(start + WINDOW);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].summary, "12 Harbour View: 5 photos ready");
}

#[test]
fn a_merged_shoot_says_how_many_photos_became_how_many() {
    let mut notices = notices();
    let start = Instant::now();
    let kind = EventKind::Done {
        photos: 4,
        merged_from: Some(12),
        outbox: PathBuf::from("/out/9 Elm Court"),
        problems: Vec::new(),
        live: false,
    };
    notices.observe(&event("9 Elm Court", kind), start);
    let due = notices.due(start + WINDOW);
    assert_eq!(
        due[0].summary,
        "9 Elm Court: 12 photos → 4 HDR photos ready"
    );
}

#[test]
fn a_folder_with_nothing_to_send_is_told() {
    let mut notices = notices();
    let start = Instant::now();
    let skipped = EventKind::Skipped {
        reason: "no photo in it: 2 files that are not photos (see the report)".into(),
    };
    notices.observe(&event("Junk", skipped), start);
    let due = notices.due(start);
    assert_eq!(due[0].summary, "Junk: nothing to send");
}
