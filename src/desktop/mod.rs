//! The desktop app. The supervisor, the notifications and the tray's view run on a tokio
//! runtime in their own threads; the tray itself lives on the UI event loop (GTK's main
//! loop on Linux). They talk through one channel of `UiMessage`s: views and quit
//! requests go to the UI; menu clicks come back as actions the UI runs.

#[cfg(windows)]
mod console;
mod notifier;
mod tray;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, broadcast, mpsc, watch};

use crate::app::App;
use crate::config::Config;
use crate::events::{Event, Events};
use crate::ui::actions::{self, Effect};
use crate::ui::menu::MenuAction;
use crate::ui::notices::{Notice, NoticeKind, Notices};
use crate::ui::view::{TrayView, ViewSource};

/// What reaches the UI thread.
enum UiMessage {
    View(TrayView),
    /// The id of a clicked menu item.
    Menu(String),
    Quit,
}

/// What the UI thread needs to carry out menu actions.
struct UiContext {
    config: watch::Receiver<Option<Arc<Config>>>,
    config_path: PathBuf,
    notices: mpsc::UnboundedSender<Notice>,
    refresh: Arc<Notify>,
    controls: crate::control::Controls,
}

/// Progress arrives many times a second; the tray is redrawn at most this often.
const REDRAW_AT_MOST_EVERY: Duration = Duration::from_millis(200);
/// How often the journal is checked for changes made by other processes (the CLI).
const JOURNAL_CHECK_EVERY: Duration = Duration::from_secs(2);

/// Runs the agent with a tray icon and notifications until Quit (or a signal). Without
/// a display it runs on without a tray, as `run --headless` would.
pub fn run(
    config_path: PathBuf,
    held: crate::agent::data_folder::RunningLock,
    welcome: bool,
) -> anyhow::Result<()> {
    #[cfg(windows)]
    console::leave_if_ours();
    let runtime = tokio::runtime::Runtime::new()?;
    notifier::register_app();
    let events = Events::default();
    let (ui_sender, ui_messages) = mpsc::unbounded_channel();
    let (notice_sender, extra_notices) = mpsc::unbounded_channel();
    let refresh = Arc::new(Notify::new());

    // Subscribed before the app starts, so its first words are not missed.
    let for_notices = events.subscribe();
    let for_tray = events.subscribe();
    let app = runtime.block_on(App::start(&config_path, &events, Some(held)));
    let config = app.config.clone();
    runtime.spawn(show_notices(
        for_notices,
        config.clone(),
        extra_notices,
        config_path.clone(),
    ));
    if welcome {
        runtime.spawn(open_welcome(config_path.clone()));
    }
    runtime.spawn(feed_tray(
        for_tray,
        config.clone(),
        refresh.clone(),
        ui_sender.clone(),
    ));
    let quit_on_signal = ui_sender.clone();
    runtime.spawn(async move {
        crate::app::termination_signal().await;
        let _ = quit_on_signal.send(UiMessage::Quit);
    });

    let context = UiContext {
        config,
        config_path,
        notices: notice_sender,
        refresh,
        controls: app.controls.clone(),
    };
    if let Err(error) = platform::run_ui(ui_sender, ui_messages, context) {
        tracing::warn!("no tray icon ({error:#}); running without one until stopped");
        runtime.block_on(crate::app::termination_signal());
    }
    runtime.block_on(app.stop())
}

/// Handles one message on the UI thread; returns false when the app should quit.
fn dispatch(message: UiMessage, tray: Option<&mut tray::Tray>, context: &UiContext) -> bool {
    match message {
        UiMessage::View(view) => {
            if let Some(tray) = tray {
                tray.show(&view);
            }
            true
        }
        UiMessage::Menu(id) => handle_click(&id, context),
        UiMessage::Quit => false,
    }
}

/// Carries out a clicked menu action; returns false when the app should quit.
fn handle_click(id: &str, context: &UiContext) -> bool {
    let Some(action) = MenuAction::from_id(id) else {
        return true;
    };
    let config = context.config.borrow().clone();
    let effect = match (&config, action) {
        (_, MenuAction::Quit) => Ok(Effect::Quit),
        (None, MenuAction::Settings) => Ok(actions::settings(&context.config_path)),
        (Some(config), action) => {
            actions::apply(action, config, &context.config_path, &context.controls)
        }
        (None, _) => Ok(Effect::Tell {
            summary: "Settings needed".into(),
            body: "imagen-sync starts once its settings file is valid; Settings… opens it.".into(),
        }),
    };
    context.refresh.notify_one();
    match effect {
        Ok(Effect::Done) => {}
        Ok(Effect::Open(path)) => {
            if let Err(error) = crate::platform::open::in_desktop(&path) {
                tracing::warn!(%error, path = %path.display(), "cannot open");
            }
        }
        Ok(Effect::Browse(link)) => {
            if let Err(error) = crate::platform::open::in_desktop(std::path::Path::new(&link)) {
                tracing::warn!(%error, "cannot open the browser");
            }
        }
        Ok(Effect::Tell { summary, body }) => {
            let _ = context.notices.send(Notice {
                kind: NoticeKind::About,
                summary,
                body,
                open: None,
            });
        }
        Ok(Effect::Quit) => return false,
        Err(error) => {
            tracing::error!("{error:#}");
            let _ = context.notices.send(Notice {
                kind: NoticeKind::About,
                summary: "That did not work".into(),
                body: format!("{error:#}"),
                open: None,
            });
        }
    }
    true
}

/// Keeps the tray's view current: live progress from events, the rest from the journal.
async fn feed_tray(
    mut events: broadcast::Receiver<Event>,
    mut config: watch::Receiver<Option<Arc<Config>>>,
    refresh: Arc<Notify>,
    ui: mpsc::UnboundedSender<UiMessage>,
) {
    let mut source = ViewSource::default();
    let mut shown: Option<TrayView> = None;
    let mut journal_version = None;
    let mut check_journal = tokio::time::interval(JOURNAL_CHECK_EVERY);
    check_journal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => source.observe(&event),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = check_journal.tick() => {
                let current = config.borrow().clone();
                let version = current.and_then(|c| source.journal_version(&c));
                // A retry's countdown in the line counts down even when nothing else moves.
                let counting_down = shown
                    .as_ref()
                    .is_some_and(|view| view.status.contains("trying again in"));
                if version == journal_version && shown.is_some() && !counting_down {
                    continue;
                }
                journal_version = version;
            }
            _ = refresh.notified() => {}
            changed = config.changed() => if changed.is_err() { return },
        }
        tokio::time::sleep(REDRAW_AT_MOST_EVERY).await;
        while let Ok(event) = events.try_recv() {
            source.observe(&event);
        }
        let current = config.borrow().clone();
        let view = source.view(current.as_deref());
        if shown.as_ref() != Some(&view) {
            shown = Some(view.clone());
            if ui.send(UiMessage::View(view)).is_err() {
                return;
            }
        }
    }
}

/// Turns events into notifications, coalesced, as the config's switches allow.
/// The first start: the dashboard's welcome page opens once the dashboard answers.
async fn open_welcome(config_path: PathBuf) {
    for _ in 0..50 {
        if crate::dashboard::link::is_served(&config_path) {
            match crate::dashboard::link::link(&config_path, "welcome") {
                Ok(link) => {
                    if let Err(error) =
                        crate::platform::open::in_desktop(std::path::Path::new(&link))
                    {
                        tracing::warn!(%error, "cannot open the welcome page");
                    }
                }
                Err(error) => tracing::warn!("cannot open the welcome page: {error:#}"),
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn show_notices(
    mut events: broadcast::Receiver<Event>,
    mut config: watch::Receiver<Option<Arc<Config>>>,
    mut extra: mpsc::UnboundedReceiver<Notice>,
    config_path: PathBuf,
) {
    let settings = |config: &watch::Receiver<Option<Arc<Config>>>| {
        config
            .borrow()
            .as_ref()
            .map(|c| c.notifications)
            .unwrap_or_default()
    };
    let mut notices = Notices::new(settings(&config));
    loop {
        let deadline = notices.next_deadline().map(tokio::time::Instant::from_std);
        let mut due = Vec::new();
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => notices.observe(&event, Instant::now()),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            Some(notice) = extra.recv() => due.push(notice),
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {}
            changed = config.changed() => {
                if changed.is_err() {
                    return;
                }
                notices.set_settings(settings(&config));
            }
        }
        due.extend(notices.due(Instant::now()));
        for notice in due {
            // notify-rust blocks until the service answers.
            let config_path = config_path.clone();
            tokio::task::spawn_blocking(move || notifier::show(&notice, &config_path));
        }
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use gtk::glib;
    use tokio::sync::mpsc;
    use tray_icon::menu::MenuEvent;

    use super::{UiContext, UiMessage, dispatch};
    use crate::desktop::tray::Tray;

    /// Runs the GTK main loop with the tray until Quit.
    pub(super) fn run_ui(
        sender: mpsc::UnboundedSender<UiMessage>,
        mut messages: mpsc::UnboundedReceiver<UiMessage>,
        context: UiContext,
    ) -> anyhow::Result<()> {
        gtk::init().map_err(|e| anyhow::anyhow!("cannot open the display: {e}"))?;
        let mut tray = Tray::new()?;
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            let _ = sender.send(UiMessage::Menu(event.id.0));
        }));
        glib::MainContext::default().spawn_local(async move {
            while let Some(message) = messages.recv().await {
                if !dispatch(message, Some(&mut tray), &context) {
                    break;
                }
            }
            drop(tray);
            gtk::main_quit();
        });
        gtk::main();
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use tao::event::Event;
    use tao::event_loop::{ControlFlow, EventLoopBuilder};
    use tao::platform::run_return::EventLoopExtRunReturn;
    use tokio::sync::mpsc;
    use tray_icon::menu::MenuEvent;

    use super::{UiContext, UiMessage, dispatch};
    use crate::desktop::tray::Tray;

    /// Runs the tao event loop on the main thread (macOS requires it) until Quit. The
    /// tray is made once the loop has started, as macOS requires too.
    pub(super) fn run_ui(
        sender: mpsc::UnboundedSender<UiMessage>,
        mut messages: mpsc::UnboundedReceiver<UiMessage>,
        context: UiContext,
    ) -> anyhow::Result<()> {
        let mut event_loop = EventLoopBuilder::<UiMessage>::with_user_event().build();
        let proxy = event_loop.create_proxy();
        let menu_proxy = proxy.clone();
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            let _ = menu_proxy.send_event(UiMessage::Menu(event.id.0));
        }));
        // The runtime side sends into the tokio channel; forward into the event loop.
        std::thread::spawn(move || {
            while let Some(message) = messages.blocking_recv() {
                if proxy.send_event(message).is_err() {
                    break;
                }
            }
        });
        drop(sender);
        let mut tray: Option<Tray> = None;
        event_loop.run_return(move |event, _, control_flow| {
            *control_flow = ControlFlow::Wait;
            match event {
                Event::NewEvents(tao::event::StartCause::Init) => match Tray::new() {
                    Ok(made) => tray = Some(made),
                    Err(error) => tracing::error!("cannot make the tray icon: {error:#}"),
                },
                Event::UserEvent(message) => {
                    let carry_on = dispatch(message, tray.as_mut(), &context);
                    if !carry_on {
                        tray = None;
                        *control_flow = ControlFlow::Exit;
                    }
                }
                _ => {}
            }
        });
        Ok(())
    }
}
