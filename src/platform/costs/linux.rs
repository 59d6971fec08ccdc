//! Linux: NetworkManager's `Metered` and UPower's `OnBattery`, read from the system bus
//! (`DBUS_SYSTEM_BUS_ADDRESS` chooses another bus, as for any D-Bus client) and read
//! again whenever either service says a property changed or comes and goes.

use futures_util::StreamExt;
use tokio::sync::watch;
use zbus::proxy::CacheProperties;

use super::Costs;

const NETWORK_MANAGER: &str = "org.freedesktop.NetworkManager";
const NETWORK_MANAGER_PATH: &str = "/org/freedesktop/NetworkManager";
const UPOWER: &str = "org.freedesktop.UPower";
const UPOWER_PATH: &str = "/org/freedesktop/UPower";

/// NetworkManager's NMMetered: 1 is "yes", 3 is "guessed yes" (a phone's hotspot);
/// 0 "unknown", 2 "no" and 4 "guessed no" are not metered.
const METERED_YES: u32 = 1;
const METERED_GUESS_YES: u32 = 3;

#[zbus::proxy(
    interface = "org.freedesktop.NetworkManager",
    default_service = "org.freedesktop.NetworkManager",
    default_path = "/org/freedesktop/NetworkManager"
)]
trait NetworkManager {
    #[zbus(property)]
    fn metered(&self) -> zbus::Result<u32>;
    #[zbus(property)]
    fn primary_connection(&self) -> zbus::Result<zbus::zvariant::OwnedObjectPath>;
}

#[zbus::proxy(
    interface = "org.freedesktop.UPower",
    default_service = "org.freedesktop.UPower",
    default_path = "/org/freedesktop/UPower"
)]
trait UPower {
    #[zbus(property)]
    fn on_battery(&self) -> zbus::Result<bool>;
}

/// Keeps `costs` current until every receiver is gone.
pub(super) async fn follow(costs: watch::Sender<Costs>) {
    let connection = match zbus::Connection::system().await {
        Ok(connection) => connection,
        Err(error) => {
            tracing::info!(
                "no system bus ({error}): uploads go on as on an unmetered network and mains power"
            );
            return;
        }
    };
    if let Err(error) = follow_on(&connection, &costs).await {
        tracing::warn!(
            "stopped following the network cost and power source ({error}); \
             uploads go on as on an unmetered network and mains power"
        );
        costs.send_replace(Costs::default());
    }
}

async fn follow_on(
    connection: &zbus::Connection,
    costs: &watch::Sender<Costs>,
) -> zbus::Result<()> {
    let network = NetworkManagerProxy::builder(connection)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let power = UPowerProxy::builder(connection)
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let changes = |service: &'static str, path: &'static str| async move {
        let properties = zbus::fdo::PropertiesProxy::builder(connection)
            .destination(service)?
            .path(path)?
            .build()
            .await?;
        properties.receive_properties_changed().await
    };
    let mut network_changes = changes(NETWORK_MANAGER, NETWORK_MANAGER_PATH).await?;
    let mut power_changes = changes(UPOWER, UPOWER_PATH).await?;
    let mut owners = zbus::fdo::DBusProxy::new(connection)
        .await?
        .receive_name_owner_changed()
        .await?;
    let mut said = Said::default();
    loop {
        let now = Costs {
            metered: metered_connection(&network, &mut said).await,
            on_battery: on_battery(&power, &mut said).await,
        };
        costs.send_if_modified(|before| {
            let changed = *before != now;
            if changed {
                tracing::info!(
                    metered = now.metered.is_some(),
                    on_battery = now.on_battery,
                    "network cost or power source changed"
                );
                *before = now;
            }
            changed
        });
        tokio::select! {
            Some(_) = network_changes.next() => {}
            Some(_) = power_changes.next() => {}
            Some(signal) = owners.next() => {
                let ours = signal.args().is_ok_and(|args| {
                    [NETWORK_MANAGER, UPOWER].contains(&args.name().as_str())
                });
                if !ours {
                    continue;
                }
            }
            _ = costs.closed() => return Ok(()),
        }
    }
}

/// What was already said in the log about a service being absent, so it is said once.
#[derive(Default)]
struct Said {
    no_network_manager: bool,
    no_upower: bool,
}

async fn metered_connection(network: &NetworkManagerProxy<'_>, said: &mut Said) -> Option<String> {
    match network.metered().await {
        Ok(METERED_YES | METERED_GUESS_YES) => {
            let connection = network.primary_connection().await.ok();
            Some(connection.map_or_else(|| "metered".to_owned(), |path| path.to_string()))
        }
        Ok(_) => None,
        Err(error) => {
            if !std::mem::replace(&mut said.no_network_manager, true) {
                tracing::info!(
                    "NetworkManager cannot be asked ({error}): the network is taken as unmetered"
                );
            }
            None
        }
    }
}

async fn on_battery(power: &UPowerProxy<'_>, said: &mut Said) -> bool {
    match power.on_battery().await {
        Ok(on_battery) => on_battery,
        Err(error) => {
            if !std::mem::replace(&mut said.no_upower, true) {
                tracing::info!("UPower cannot be asked ({error}): the power is taken as mains");
            }
            false
        }
    }
}
