//! Uploads wait on a metered network (and, when asked, on battery): the real agent
//! against stand-ins for NetworkManager and UPower on a private D-Bus that the test
//! starts and flips, with "Resume anyway" from the command line.
#![cfg(target_os = "linux")]

use std::time::Duration;

use crate::common::agent::{Harness, counters, wait_for};
use crate::common::bus::PrivateBus;
use crate::common::{start_sim, write_shoot};
use zbus::zvariant::OwnedObjectPath;

const LONG: Duration = Duration::from_secs(60);
/// Long enough that an upload allowed to go would have gone.
const HELD_FOR: Duration = Duration::from_secs(3);
const NETWORK_MANAGER: &str = "org.freedesktop.NetworkManager";
const NETWORK_MANAGER_PATH: &str = "/org/freedesktop/NetworkManager";
const UPOWER: &str = "org.freedesktop.UPower";
const UPOWER_PATH: &str = "/org/freedesktop/UPower";
/// NetworkManager's NMMetered values.
const METERED_YES: u32 = 1;
const METERED_NO: u32 = 2;
const METERED_GUESS_YES: u32 = 3;

struct StandInNetworkManager {
    metered: u32,
    /// Which connection is the primary one: a new number is another network.
    connection: u32,
}

#[zbus::interface(name = "org.freedesktop.NetworkManager")]
impl StandInNetworkManager {
    #[zbus(property)]
    fn metered(&self) -> u32 {
        self.metered
    }

    #[zbus(property)]
    fn primary_connection(&self) -> OwnedObjectPath {
        let path = format!(
            "/org/freedesktop/NetworkManager/ActiveConnection/{}",
            self.connection
        );
        OwnedObjectPath::try_from(path).unwrap()
    }
}

struct StandInUPower {
    on_battery: bool,
}

#[zbus::interface(name = "org.freedesktop.UPower")]
impl StandInUPower {
    #[zbus(property)]
    fn on_battery(&self) -> bool {
        self.on_battery
    }
}

/// The stand-in services on the private bus, as the test flips them.
struct Machine {
    connection: zbus::Connection,
}

impl Machine {
    /// NetworkManager (when `metered` is given) and UPower on `bus`.
    async fn start(bus: &PrivateBus, metered: Option<u32>, on_battery: bool) -> Machine {
        let mut builder = zbus::connection::Builder::address(bus.address.as_str())
            .unwrap()
            .name(UPOWER)
            .unwrap()
            .serve_at(UPOWER_PATH, StandInUPower { on_battery })
            .unwrap();
        if let Some(metered) = metered {
            builder = builder
                .name(NETWORK_MANAGER)
                .unwrap()
                .serve_at(
                    NETWORK_MANAGER_PATH,
                    StandInNetworkManager {
                        metered,
                        connection: 1,
                    },
                )
                .unwrap();
        }
        Machine {
            connection: builder
                .build()
                .await
                .expect("the stand-ins take their names"),
        }
    }

    async fn set_network(&self, metered: u32, connection: u32) {
        let network = self
            .connection
            .object_server()
            .interface::<_, StandInNetworkManager>(NETWORK_MANAGER_PATH)
            .await
            .unwrap();
        {
            let mut state = network.get_mut().await;
            state.metered = metered;
            state.connection = connection;
        }
        let state = network.get().await;
        state
            .metered_changed(network.signal_emitter())
            .await
            .unwrap();
        state
            .primary_connection_changed(network.signal_emitter())
            .await
            .unwrap();
    }

    async fn set_on_battery(&self, on_battery: bool) {
        let power = self
            .connection
            .object_server()
            .interface::<_, StandInUPower>(UPOWER_PATH)
            .await
            .unwrap();
        power.get_mut().await.on_battery = on_battery;
        power
            .get()
            .await
            .on_battery_changed(power.signal_emitter())
            .await
            .unwrap();
    }
}

fn with_network(agent: &Harness, lines: &str) {
    agent.edit_config("[dashboard]", &format!("[network]\n{lines}\n\n[dashboard]"));
}

fn shoot_done(agent: &Harness, name: &str) -> bool {
    agent
        .shoot_states()
        .iter()
        .any(|(folder, state)| folder == name && state == "done")
}

fn times_said(agent: &Harness, words: &str) -> usize {
    agent.logs().matches(words).count()
}

/// Drops a shoot while uploads are held and checks that none of it goes up.
async fn drop_shoot_and_see_it_wait(agent: &Harness, sim: &imagen_sync::sim::Sim, name: &str) {
    let uploads_before = counters(sim).total_uploads();
    write_shoot(&agent.inbox(), name, 3, (64, 48));
    wait_for(agent, "the shoot recorded", LONG, || {
        agent
            .shoot_states()
            .iter()
            .any(|(folder, _)| folder == name)
    })
    .await;
    tokio::time::sleep(HELD_FOR).await;
    assert_eq!(
        counters(sim).total_uploads(),
        uploads_before,
        "no photo of {name} went up while uploads were held\n{}",
        agent.logs()
    );
    assert!(!shoot_done(agent, name));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_hotspot_uploads_wait_until_the_network_is_unmetered() {
    let bus = PrivateBus::start();
    let machine = Machine::start(&bus, Some(METERED_GUESS_YES), false).await;
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.system_bus = bus.address.clone();
    agent.start();
    wait_for(&agent, "the agent saying uploads wait", LONG, || {
        times_said(&agent, "uploads wait: waiting for an unmetered network") == 1
    })
    .await;

    drop_shoot_and_see_it_wait(&agent, &sim, "12 Harbour View").await;

    // Home again: the Wi-Fi is not metered.
    machine.set_network(METERED_NO, 2).await;
    wait_for(&agent, "the shoot done once unmetered", LONG, || {
        shoot_done(&agent, "12 Harbour View")
    })
    .await;
    assert_eq!(counters(&sim).total_uploads(), 3);

    // With pause_on_metered off, a metered network holds nothing.
    agent.kill();
    with_network(&agent, "pause_on_metered = false");
    machine.set_network(METERED_YES, 3).await;
    write_shoot(&agent.inbox(), "7 Quay St", 3, (64, 48));
    agent.start();
    wait_for(&agent, "the shoot done on a metered network", LONG, || {
        shoot_done(&agent, "7 Quay St")
    })
    .await;
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_battery_resume_anyway_sends_until_the_power_changes() {
    let bus = PrivateBus::start();
    // UPower alone: no NetworkManager on this bus.
    let machine = Machine::start(&bus, None, true).await;
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.system_bus = bus.address.clone();
    with_network(&agent, "pause_on_battery = true");
    agent.start();
    let held = "uploads wait: waiting for mains power";
    wait_for(&agent, "the agent saying uploads wait", LONG, || {
        times_said(&agent, held) == 1
    })
    .await;
    assert_eq!(
        times_said(&agent, "NetworkManager cannot be asked"),
        1,
        "the missing NetworkManager is said once: {}",
        agent.logs()
    );

    drop_shoot_and_see_it_wait(&agent, &sim, "3 Hill Rd").await;
    let said = agent.run_cli(&["resume", "--anyway"]);
    assert!(
        said.contains("until the network or power changes"),
        "{said}"
    );
    wait_for(&agent, "the shoot sent anyway", LONG, || {
        shoot_done(&agent, "3 Hill Rd")
    })
    .await;

    // Plugged in, then on battery again: "Resume anyway" was for that time only.
    machine.set_on_battery(false).await;
    wait_for(&agent, "the agent seeing mains power", LONG, || {
        times_said(&agent, "metered=false on_battery=false") == 1
    })
    .await;
    machine.set_on_battery(true).await;
    wait_for(&agent, "uploads held again on battery", LONG, || {
        times_said(&agent, held) == 2
    })
    .await;
    drop_shoot_and_see_it_wait(&agent, &sim, "9 Vale St").await;
    machine.set_on_battery(false).await;
    wait_for(&agent, "the second shoot done on mains", LONG, || {
        shoot_done(&agent, "9 Vale St")
    })
    .await;
    assert_eq!(times_said(&agent, "NetworkManager cannot be asked"), 1);
    agent.kill();
}
