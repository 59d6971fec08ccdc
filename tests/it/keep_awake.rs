//! The machine is kept from sleeping on its own while photos are out for editing or a
//! live shoot is open, and let go after: the real agent against stand-ins on private
//! D-Buses. Headless, logind, whose inhibitor is a socket the test holds the other end
//! of (closed when the agent lets go, as logind sees it); on a desktop, the XDG portal
//! (its request closed) or GNOME's session manager (Uninhibit with the cookie).
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::agent::{Harness, wait_for};
use crate::common::bus::PrivateBus;
use crate::common::{start_sim, write_shoot};

const LONG: Duration = Duration::from_secs(60);

/// One inhibitor handed out: what was asked, and the end logind keeps.
struct Inhibitor {
    what: String,
    who: String,
    why: String,
    mode: String,
    kept_end: UnixStream,
}

impl Inhibitor {
    /// Whether the agent still holds its end.
    fn held(&self) -> bool {
        let mut byte = [0u8; 1];
        match (&self.kept_end).read(&mut byte) {
            Ok(0) => false,
            Err(error) => error.kind() == std::io::ErrorKind::WouldBlock,
            Ok(_) => true,
        }
    }
}

#[derive(Clone, Default)]
struct Handed(Arc<Mutex<Vec<Inhibitor>>>);

impl Handed {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn any_held(&self) -> bool {
        self.0.lock().unwrap().iter().any(Inhibitor::held)
    }
}

struct StandInLogind {
    handed: Handed,
}

#[zbus::interface(name = "org.freedesktop.login1.Manager")]
impl StandInLogind {
    fn inhibit(
        &self,
        what: String,
        who: String,
        why: String,
        mode: String,
    ) -> zbus::zvariant::OwnedFd {
        let (kept_end, handed_end) = UnixStream::pair().unwrap();
        kept_end.set_nonblocking(true).unwrap();
        self.handed.0.lock().unwrap().push(Inhibitor {
            what,
            who,
            why,
            mode,
            kept_end,
        });
        std::os::fd::OwnedFd::from(handed_end).into()
    }
}

async fn stand_in_logind(bus: &PrivateBus) -> (zbus::Connection, Handed) {
    let handed = Handed::default();
    let connection = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.login1")
        .unwrap()
        .serve_at(
            "/org/freedesktop/login1",
            StandInLogind {
                handed: handed.clone(),
            },
        )
        .unwrap()
        .build()
        .await
        .expect("the stand-in logind takes its name");
    (connection, handed)
}

fn shoot_done(agent: &Harness, name: &str) -> bool {
    (agent.shoot_states().iter()).any(|(folder, state)| folder == name && state == "done")
}

/// Inhibitors taken on the desktop's session bus: flags, reason, and whether let go.
#[derive(Clone, Default)]
struct DesktopInhibitors(Arc<Mutex<Vec<(u32, String, bool)>>>);

impl DesktopInhibitors {
    fn take(&self, flags: u32, reason: String) -> usize {
        let mut taken = self.0.lock().unwrap();
        taken.push((flags, reason, false));
        taken.len()
    }

    fn release(&self, number: usize) {
        self.0.lock().unwrap()[number - 1].2 = true;
    }

    fn any_held(&self) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|(_, _, released)| !released)
    }

    fn all(&self) -> Vec<(u32, String, bool)> {
        self.0.lock().unwrap().clone()
    }
}

struct StandInPortal {
    taken: DesktopInhibitors,
}

#[zbus::interface(name = "org.freedesktop.portal.Inhibit")]
impl StandInPortal {
    async fn inhibit(
        &self,
        _window: String,
        flags: u32,
        options: HashMap<String, zbus::zvariant::OwnedValue>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
    ) -> zbus::fdo::Result<zbus::zvariant::OwnedObjectPath> {
        let reason = options
            .get("reason")
            .and_then(|reason| String::try_from(reason.clone()).ok())
            .unwrap_or_default();
        let number = self.taken.take(flags, reason);
        let path = format!("/org/freedesktop/portal/desktop/request/test/{number}");
        let request = StandInRequest {
            taken: self.taken.clone(),
            number,
        };
        server.at(path.as_str(), request).await?;
        Ok(zbus::zvariant::OwnedObjectPath::try_from(path).unwrap())
    }
}

struct StandInRequest {
    taken: DesktopInhibitors,
    number: usize,
}

#[zbus::interface(name = "org.freedesktop.portal.Request")]
impl StandInRequest {
    fn close(&self) {
        self.taken.release(self.number);
    }
}

struct StandInSessionManager {
    taken: DesktopInhibitors,
}

#[zbus::interface(name = "org.gnome.SessionManager")]
impl StandInSessionManager {
    fn inhibit(&self, _app_id: String, _toplevel_xid: u32, reason: String, flags: u32) -> u32 {
        self.taken.take(flags, reason) as u32
    }

    fn uninhibit(&self, cookie: u32) {
        self.taken.release(cookie as usize);
    }
}

/// A desktop session bus with the portal or, when `portal` is false, only GNOME's
/// session manager.
async fn stand_in_desktop(bus: &PrivateBus, portal: bool) -> (zbus::Connection, DesktopInhibitors) {
    let taken = DesktopInhibitors::default();
    let builder = zbus::connection::Builder::address(bus.address.as_str()).unwrap();
    let builder = if portal {
        let portal = StandInPortal {
            taken: taken.clone(),
        };
        (builder.name("org.freedesktop.portal.Desktop").unwrap())
            .serve_at("/org/freedesktop/portal/desktop", portal)
    } else {
        let manager = StandInSessionManager {
            taken: taken.clone(),
        };
        (builder.name("org.gnome.SessionManager").unwrap())
            .serve_at("/org/gnome/SessionManager", manager)
    };
    let connection = (builder.unwrap().build().await).expect("the stand-in desktop takes its name");
    (connection, taken)
}

/// Edits one shoot while `held` is watched: held once the work starts, before the
/// shoot is done, and let go after.
async fn edit_one_shoot_watching(agent: &mut Harness, held: impl Fn() -> bool) {
    write_shoot(&agent.inbox(), "14 Pine Street", 3, (64, 48));
    agent.start();
    wait_for(agent, "the machine kept awake", LONG, &held).await;
    assert!(!shoot_done(agent, "14 Pine Street"));
    wait_for(agent, "the shoot done", LONG, || {
        shoot_done(agent, "14 Pine Street")
    })
    .await;
    wait_for(agent, "the machine let go", LONG, || !held()).await;
    assert!(agent.logs().contains("the machine may sleep again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_logind_keeps_the_machine_from_idle_sleep_while_a_shoot_is_edited_and_lets_go_once_it_is_done()
 {
    let bus = PrivateBus::start();
    let (_logind, handed) = stand_in_logind(&bus).await;
    let sim = start_sim(|config| config.timings.processing_for = Duration::from_secs(3)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.system_bus = bus.address.clone();
    edit_one_shoot_watching(&mut agent, || handed.any_held()).await;
    let handed = handed.0.lock().unwrap();
    assert_eq!(handed.len(), 1, "one inhibitor for one stretch of work");
    let first = &handed[0];
    assert_eq!(
        first.what, "idle",
        "idle sleep is held off, not the user's own suspend"
    );
    assert_eq!(first.mode, "block");
    assert_eq!(first.who, "imagen-sync");
    assert!(first.why.contains("editing"), "{}", first.why);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_desktop_the_portal_holds_off_suspend_while_a_shoot_is_edited_and_its_request_is_closed_after()
 {
    let (system, session) = (PrivateBus::start(), PrivateBus::start());
    let (_logind, handed) = stand_in_logind(&system).await;
    let (_desktop, taken) = stand_in_desktop(&session, true).await;
    let sim = start_sim(|config| config.timings.processing_for = Duration::from_secs(3)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.system_bus = system.address.clone();
    agent.session_bus = session.address.clone();
    edit_one_shoot_watching(&mut agent, || taken.any_held()).await;
    let taken = taken.all();
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(
        taken[0].0, 4,
        "the portal's suspend flag, not idle (the screen may blank)"
    );
    assert!(taken[0].1.contains("editing"), "{}", taken[0].1);
    assert_eq!(handed.count(), 0, "the desktop's inhibitor, not logind's");
    assert!(agent.logs().contains("desktop portal"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_gnome_desktop_without_a_portal_the_session_manager_is_asked_and_uninhibited_with_its_cookie()
 {
    let session = PrivateBus::start();
    let (_desktop, taken) = stand_in_desktop(&session, false).await;
    let sim = start_sim(|config| config.timings.processing_for = Duration::from_secs(3)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.session_bus = session.address.clone();
    edit_one_shoot_watching(&mut agent, || taken.any_held()).await;
    let taken = taken.all();
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0].0, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_shoot_keeps_the_machine_awake_between_photos_until_it_ends() {
    let bus = PrivateBus::start();
    let (_logind, handed) = stand_in_logind(&bus).await;
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.system_bus = bus.address.clone();
    agent.edit_config(
        "[folders.edit]\n",
        "live = true\nlive_batch_seconds = 2\nlive_idle_minutes = 0.3\n[folders.edit]\n",
    );
    agent.start();
    write_shoot(&agent.inbox(), "Smith Wedding", 2, (64, 48));
    let outbox = agent.outbox().join("Smith Wedding");
    wait_for(&agent, "the first batch edited", LONG, || {
        std::fs::read_dir(&outbox).is_ok_and(|d| d.count() == 2)
    })
    .await;
    // Nothing is being sent now, but the next photo of the event is expected.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(handed.any_held(), "kept awake while the live shoot is open");
    assert!(!agent.logs().contains("the machine may sleep again"));
    wait_for(
        &agent,
        "the machine let go once the shoot ended",
        LONG,
        || !handed.any_held(),
    )
    .await;
    // Let go as the idle time runs out; the end is told at the next look.
    wait_for(&agent, "the shoot's end told", LONG, || {
        agent.logs().contains("finished")
    })
    .await;
    assert!(!handed.any_held());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_keep_awake_off_the_machine_is_left_to_sleep_as_it_likes() {
    let bus = PrivateBus::start();
    let (_logind, handed) = stand_in_logind(&bus).await;
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.system_bus = bus.address.clone();
    agent.edit_config("[agent]\n", "[agent]\nkeep_awake = false\n");
    write_shoot(&agent.inbox(), "9 Elm Court", 2, (64, 48));
    agent.start();
    wait_for(&agent, "the shoot done", LONG, || {
        shoot_done(&agent, "9 Elm Court")
    })
    .await;
    assert_eq!(handed.count(), 0, "no inhibitor asked for");
}
