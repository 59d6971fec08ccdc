//! The machine is kept from sleeping on its own while photos are out for editing or a
//! live shoot is open, and let go after: the real agent against a stand-in logind on a
//! private D-Bus, whose inhibitor is a socket the test holds the other end of (closed
//! when the agent lets go, as logind sees it).
#![cfg(target_os = "linux")]

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_machine_is_kept_from_idle_sleep_while_a_shoot_is_edited_and_let_go_once_it_is_done() {
    let bus = PrivateBus::start();
    let (_logind, handed) = stand_in_logind(&bus).await;
    let sim = start_sim(|config| config.timings.processing_for = Duration::from_secs(3)).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.system_bus = bus.address.clone();
    write_shoot(&agent.inbox(), "14 Pine Street", 3, (64, 48));
    agent.start();

    wait_for(&agent, "the machine kept awake", LONG, || handed.any_held()).await;
    {
        let handed = handed.0.lock().unwrap();
        let first = &handed[0];
        assert_eq!(first.what, "sleep:idle", "idle sleep is held off");
        assert_eq!(first.mode, "block");
        assert_eq!(first.who, "imagen-sync");
        assert!(first.why.contains("editing"), "{}", first.why);
    }
    assert!(!shoot_done(&agent, "14 Pine Street"));
    wait_for(&agent, "the shoot done", LONG, || {
        shoot_done(&agent, "14 Pine Street")
    })
    .await;
    wait_for(&agent, "the machine let go", LONG, || !handed.any_held()).await;
    assert_eq!(handed.count(), 1, "one inhibitor for one stretch of work");
    assert!(agent.logs().contains("the machine may sleep again"));
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
