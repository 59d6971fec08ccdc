//! The tray menu below the toolkit: the model built from the journal and the config,
//! and each entry's action carried out against the real agent (the `run` binary) and
//! the simulator on loopback. scripts/desktop-smoke clicks the real menu on a display.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::agent::{Harness, wait_for};
use crate::common::{start_sim, write_shoot};
use imagen_sync::config::Config;
use imagen_sync::control::Controls;
use imagen_sync::sim::Faults;
use imagen_sync::ui::actions::{Effect, apply};
use imagen_sync::ui::glance::IconKind;
use imagen_sync::ui::menu::{self, MenuAction, MenuEntry};
use imagen_sync::ui::view::{TrayView, ViewSource};

const LONG: Duration = Duration::from_secs(60);

fn drop_shoot(inbox: &std::path::Path, name: &str, photos: usize) {
    write_shoot(inbox, name, photos, (64, 48));
}

fn view_of(agent: &Harness) -> (TrayView, Config) {
    let config = Config::load(&agent.config).unwrap();
    (ViewSource::default().view(Some(&config)), config)
}

/// The entries of the Recent shoots submenu.
fn recent_shoots(view: &TrayView) -> &[MenuEntry] {
    view.menu
        .iter()
        .find_map(|e| match e {
            MenuEntry::Submenu { label, entries } if label == "Recent shoots" => {
                Some(entries.as_slice())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Recent shoots in {:#?}", view.menu))
}

/// The action of the entry labelled `label`, anywhere in the menu.
fn action_labelled(view: &TrayView, label: &str) -> MenuAction {
    menu::actions(&view.menu)
        .into_iter()
        .find(|(text, _)| text == label)
        .unwrap_or_else(|| panic!("no {label:?} in {:#?}", view.menu))
        .1
}

fn click(agent: &Harness, label: &str) -> Effect {
    let (view, config) = view_of(agent);
    apply(
        action_labelled(&view, label),
        &config,
        &agent.config,
        &Controls::default(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_menu_entry_maps_to_its_engine_command() {
    let sim = start_sim(|_| {}).await;
    let agent = Harness::new(&sim, 1, "");
    let (exteriors_in, exteriors_out) = agent.add_folder_pair("Exteriors", "");
    let (view, config) = view_of(&agent);

    let open = |label: &str| {
        apply(
            action_labelled(&view, label),
            &config,
            &agent.config,
            &Controls::default(),
        )
        .unwrap()
    };
    let inbox_entries: Vec<String> = menu::actions(&view.menu)
        .into_iter()
        .map(|(label, _)| label)
        .filter(|label| label.starts_with("Open Inbox"))
        .collect();
    assert_eq!(
        inbox_entries.len(),
        2,
        "one per folder pair: {inbox_entries:?}"
    );
    assert_eq!(
        apply(
            MenuAction::OpenInbox(0),
            &config,
            &agent.config,
            &Controls::default()
        )
        .unwrap(),
        Effect::Open(agent.inbox())
    );
    assert_eq!(
        apply(
            MenuAction::OpenInbox(1),
            &config,
            &agent.config,
            &Controls::default()
        )
        .unwrap(),
        Effect::Open(exteriors_in)
    );
    assert_eq!(
        apply(
            MenuAction::OpenOutbox(1),
            &config,
            &agent.config,
            &Controls::default()
        )
        .unwrap(),
        Effect::Open(exteriors_out)
    );
    assert!(
        matches!(open("Settings…"), Effect::Browse(link) if link.starts_with("http://127.0.0.1:") && link.contains("/settings?code=")),
        "Settings… opens the dashboard's settings page"
    );
    assert!(
        matches!(open("Open log"), Effect::Open(path) if path.starts_with(&config.agent.data_dir))
    );
    assert!(
        matches!(open(&format!("About imagen-sync {}", env!("CARGO_PKG_VERSION"))), Effect::Tell { summary, .. } if summary.contains(env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(open("Quit"), Effect::Quit);
    assert!(
        apply(
            MenuAction::OpenInbox(7),
            &config,
            &agent.config,
            &Controls::default()
        )
        .is_err(),
        "a folder pair that is gone is an error, not a crash"
    );

    // The status line heads the menu, and Pause is the toggle under it.
    assert_eq!(
        view.menu[0],
        MenuEntry::Label("Up to date — watching for new shoots".into())
    );
    assert_eq!(open("Pause"), Effect::Done);
    let (paused, _) = view_of(&agent);
    assert_eq!(paused.icon, IconKind::Paused);
    assert_eq!(paused.status, "Paused");
    assert_eq!(click(&agent, "Resume"), Effect::Done);
    assert_eq!(view_of(&agent).0.icon, IconKind::Idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_chosen_in_the_menu_holds_work_across_a_restart_until_resume() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.start();
    wait_for(&agent, "the agent made its journal", LONG, || {
        imagen_sync::journal::exists_in(&agent.dir.path().join("data"))
    })
    .await;
    assert_eq!(click(&agent, "Pause"), Effect::Done);

    // A crash and a restart later, pause still holds.
    agent.kill();
    agent.start();
    drop_shoot(&agent.inbox(), "Held Listing", 2);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        sim.counters().projects_created,
        0,
        "nothing starts while paused"
    );
    let (view, _) = view_of(&agent);
    assert_eq!(view.icon, IconKind::Paused);
    assert!(
        menu::actions(&view.menu)
            .iter()
            .any(|(label, action)| label == "Resume" && *action == MenuAction::Resume),
        "the toggle offers Resume"
    );

    assert_eq!(click(&agent, "Resume"), Effect::Done);
    wait_for(&agent, "the held shoot done after Resume", LONG, || {
        agent.shoot_states() == [("Held Listing".to_owned(), "done".to_owned())]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_shoots_lists_the_five_newest_and_a_failed_one_offers_retry() {
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        fail_names_containing: vec!["Broken".into()],
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    for n in 1..=5 {
        drop_shoot(&agent.inbox(), &format!("Listing {n}"), 1);
    }
    agent.start();
    wait_for(&agent, "five shoots done", LONG, || {
        let states = agent.shoot_states();
        states.len() == 5 && states.iter().all(|(_, s)| s == "done")
    })
    .await;
    drop_shoot(&agent.inbox(), "Broken Listing", 2);
    wait_for(&agent, "the broken shoot failed", LONG, || {
        agent
            .shoot_states()
            .iter()
            .any(|(f, s)| f == "Broken Listing" && s == "failed")
    })
    .await;

    let (view, config) = view_of(&agent);
    assert_eq!(view.icon, IconKind::Error);
    assert_eq!(view.status, "1 shoot failed — see Recent shoots");
    let recent = recent_shoots(&view);
    assert_eq!(recent.len(), 5, "the five newest: {recent:#?}");
    let MenuEntry::Submenu { label, entries } = &recent[0] else {
        panic!("the failed shoot is a submenu: {:#?}", recent[0]);
    };
    assert_eq!(label, "Broken Listing — failed");
    assert!(matches!(&entries[0], MenuEntry::Label(reason) if reason.contains("Failed")));
    let done: Vec<&MenuEntry> = recent[1..].iter().collect();
    for entry in &done {
        let MenuEntry::Item { label, action } = entry else {
            panic!("a done shoot is one entry: {entry:#?}");
        };
        assert!(label.ends_with("— done, 1 photo"), "{label}");
        let Effect::Open(folder) =
            apply(*action, &config, &agent.config, &Controls::default()).unwrap()
        else {
            panic!("a done shoot opens its folder");
        };
        let name = label.split(" — ").next().unwrap();
        assert_eq!(folder, agent.outbox().join(name));
        assert!(folder.is_dir());
    }

    sim.set_faults(Faults::default());
    assert_eq!(click(&agent, "Retry"), Effect::Done);
    wait_for(&agent, "the retried shoot done", LONG, || {
        agent
            .shoot_states()
            .iter()
            .any(|(f, s)| f == "Broken Listing" && s == "done")
    })
    .await;
    assert_eq!(
        sim.counters().projects_created,
        7,
        "the retry is a new project"
    );
    let (after, _) = view_of(&agent);
    assert_eq!(after.icon, IconKind::Idle);
    let outputs: Vec<PathBuf> = std::fs::read_dir(agent.outbox().join("Broken Listing"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(outputs.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shoot_held_by_the_spend_guard_says_why_and_send_anyway_sends_it() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "max_active_shoots = 2",
        "max_active_shoots = 2\ndaily_photo_limit = 2",
    );
    drop_shoot(&agent.inbox(), "Big Listing", 3);
    let junk = agent.inbox().join("Just Notes");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("notes.txt"), "x").unwrap();
    agent.start();
    wait_for(&agent, "the shoot held", LONG, || {
        agent.shoot_states().iter().any(|(_, s)| s == "held")
    })
    .await;
    wait_for(&agent, "the folder with nothing to send seen", LONG, || {
        agent.run_cli(&["status"]).contains("Just Notes/")
    })
    .await;

    let (view, _) = view_of(&agent);
    assert_eq!(view.icon, IconKind::Error);
    assert!(
        view.status.contains("held by the spend guard"),
        "{}",
        view.status
    );
    let recent = recent_shoots(&view);
    let MenuEntry::Submenu { label, entries } = &recent[0] else {
        panic!("the held shoot is a submenu: {:#?}", recent[0]);
    };
    assert_eq!(label, "Big Listing — held by the spend guard");
    assert!(
        matches!(&entries[0], MenuEntry::Label(reason) if reason.contains("daily limit of 2 photos")),
        "{entries:#?}"
    );
    assert!(
        recent.iter().any(|e| matches!(e, MenuEntry::Label(text)
            if text.starts_with("Just Notes — skipped: no JPEG or RAW photos"))),
        "the folder with nothing to send is listed: {recent:#?}"
    );
    assert_eq!(sim.counters().projects_created, 0);

    assert_eq!(click(&agent, "Send anyway"), Effect::Done);
    wait_for(&agent, "the shoot sent anyway", LONG, || {
        agent.shoot_states().iter().any(|(_, s)| s == "done")
    })
    .await;
    assert_eq!(sim.counters().projects_created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_in_the_tray_or_dashboard_reaches_the_agent_at_once_not_at_its_next_tick() {
    use imagen_sync::agent::{AgentOptions, RunningAgent};
    use imagen_sync::control::{Control, Surface};
    use imagen_sync::events::Events;
    let sim = start_sim(|_| {}).await;
    let agent = Harness::new(&sim, 1, "");
    let config = Config::load(&agent.config).unwrap();
    let controls = Controls::default();
    let events = Events::default();
    let mut told = events.subscribe();
    // The agent in this process looks at the journal only once an hour by itself.
    let options = AgentOptions {
        tick: Duration::from_secs(3600),
        nudge: controls.nudge(),
        ..AgentOptions::for_config(&config)
    };
    let key = imagen_sync::redact::ApiKey::new(crate::common::KEY);
    let running = RunningAgent::start(config.clone(), key, &events, options)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // From another process (the CLI), a pause is written to the journal only: this
    // agent would see it at its next look, an hour from now.
    let location = imagen_sync::journal::Location::of(&config);
    Control::open(&location, Surface::Cli)
        .unwrap()
        .set_paused(true)
        .unwrap();
    assert!(!told_paused_within(&mut told, Duration::from_secs(3)).await);
    // The tray's (or the dashboard's) click also nudges this process's agent.
    controls
        .for_config(&config, Surface::Tray)
        .unwrap()
        .set_paused(true)
        .unwrap();
    assert!(
        told_paused_within(&mut told, Duration::from_secs(10)).await,
        "the agent was paused at once"
    );
    running.stop().await;
}

/// Whether a "paused" event comes within `wait`.
async fn told_paused_within(
    told: &mut tokio::sync::broadcast::Receiver<imagen_sync::events::Event>,
    wait: Duration,
) -> bool {
    let paused = async {
        loop {
            if let Ok(event) = told.recv().await
                && event.kind == imagen_sync::events::EventKind::Paused
            {
                return;
            }
        }
    };
    tokio::time::timeout(wait, paused).await.is_ok()
}

/// The tray's view as the desktop app keeps it: the agent's events (this process runs
/// the app, as the desktop does) and the journal, rendered on each question.
struct LiveTray {
    source: ViewSource,
    events: tokio::sync::broadcast::Receiver<imagen_sync::events::Event>,
    config: Config,
}

impl LiveTray {
    /// Waits until the view passes `check`, taking in events as they come.
    async fn until(&mut self, what: &str, check: impl Fn(&TrayView) -> bool) -> TrayView {
        let started = std::time::Instant::now();
        loop {
            while let Ok(event) = self.events.try_recv() {
                self.source.observe(&event);
            }
            let view = self.source.view(Some(&self.config));
            if check(&view) {
                return view;
            }
            assert!(
                started.elapsed() < LONG,
                "the tray never showed {what}: {} ({:?})",
                view.status,
                view.icon
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_shows_a_card_copy_imagen_away_and_pause_over_a_failed_shoot() {
    use crate::common::proxy::{Mode, Proxy};
    let proxy = Proxy::start().await;
    let sim = start_sim(|c| c.public_url = Some(proxy.url())).await;
    proxy.forward_to(sim.addr());
    sim.set_faults(Faults {
        fail_names_containing: vec!["Broken".into()],
        ..Faults::default()
    });
    let agent = Harness::new(&sim, 2, "");
    // The key from a file: the app runs in this process, whose environment is shared.
    let key_file = agent.dir.path().join("api-key");
    std::fs::write(&key_file, format!("{}\n", crate::common::KEY)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    agent.edit_config(
        "[api]\n",
        &format!("[api]\nkey_file = \"{}\"\n", key_file.display()),
    );
    let events = imagen_sync::events::Events::default();
    let mut tray = LiveTray {
        source: ViewSource::default(),
        events: events.subscribe(),
        config: Config::load(&agent.config).unwrap(),
    };
    let app = imagen_sync::app::App::start(&agent.config, &events, None).await;
    tray.until("up to date", |v| v.icon == IconKind::Idle).await;

    // A card copy under way: a photo still growing keeps the folder settling.
    let folder = agent.inbox().join("14 Pine Street");
    std::fs::create_dir_all(&folder).unwrap();
    let growing = folder.join("IMG_01.jpg");
    std::fs::write(&growing, [0xFF, 0xD8, 0xFF, 0xE0]).unwrap();
    let copying = tray
        .until("the copy", |v| v.status.contains("waiting for the copy"))
        .await;
    assert_ne!(copying.icon, IconKind::Idle, "{copying:?}");
    std::fs::remove_dir_all(&folder).unwrap();

    // Imagen gone: its own icon and words, within the watchdog's time.
    proxy.set(Mode::Shut);
    drop_shoot(&agent.inbox(), "Broken Listing", 1);
    let away = tray
        .until("Imagen away", |v| v.icon == IconKind::Offline)
        .await;
    assert!(
        away.status.starts_with("No connection to Imagen"),
        "{away:?}"
    );
    proxy.set(Mode::Pass);

    // A failed shoot turns the icon red; pause shows as paused over it, and says it.
    tray.until("the failed shoot", |v| v.icon == IconKind::Error)
        .await;
    let (view, config) = view_of(&agent);
    apply(
        action_labelled(&view, "Pause"),
        &config,
        &agent.config,
        &app.controls,
    )
    .unwrap();
    let paused = tray.until("paused", |v| v.icon == IconKind::Paused).await;
    assert_eq!(
        paused.status, "Paused; 1 shoot failed — see Recent shoots",
        "{paused:?}"
    );
    app.stop().await.unwrap();
}
