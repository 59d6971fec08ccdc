//! Whether uploads wait now: on a metered connection with `pause_on_metered`, or on
//! battery with `pause_on_battery`. "Resume anyway" lets uploads go on under the
//! network and power source of that moment, until either changes.

use std::sync::Arc;

use tokio::sync::{Notify, watch};

use super::following::Following;
use crate::config::NetworkSettings;
use crate::events::{EventKind, Events};
use crate::platform::costs::{Costs, HoldReason};

/// The decision, for the uploads to wait on, and the way to overrule it.
pub struct UploadGate {
    pub hold: watch::Receiver<Option<HoldReason>>,
    /// Rung by "Resume anyway".
    pub resume_anyway: Arc<Notify>,
}

/// Why uploads must wait under `costs`, before any "Resume anyway".
pub fn reason_under(costs: &Costs, settings: &NetworkSettings) -> Option<HoldReason> {
    if settings.pause_on_metered && costs.metered.is_some() {
        Some(HoldReason::Metered)
    } else if settings.pause_on_battery && costs.on_battery {
        Some(HoldReason::OnBattery)
    } else {
        None
    }
}

/// The hold, from the costs, the settings and the last "Resume anyway".
#[derive(Debug, Default)]
struct Decision {
    /// The costs under which the user chose "Resume anyway", while they last.
    resumed_under: Option<Costs>,
}

impl Decision {
    fn hold(&mut self, costs: &Costs, settings: &NetworkSettings) -> Option<HoldReason> {
        if self
            .resumed_under
            .as_ref()
            .is_some_and(|then| then != costs)
        {
            self.resumed_under = None;
        }
        match &self.resumed_under {
            Some(_) => None,
            None => reason_under(costs, settings),
        }
    }

    fn resume_anyway(&mut self, costs: &Costs) {
        self.resumed_under = Some(costs.clone());
    }
}

/// Follows the costs, the settings and "Resume anyway", saying each change of the
/// hold in the events.
pub fn follow(
    mut costs: watch::Receiver<Costs>,
    mut settings: watch::Receiver<NetworkSettings>,
    events: Events,
) -> (UploadGate, Following) {
    let (hold_sender, hold) = watch::channel(None);
    let resume_anyway = Arc::new(Notify::new());
    let asked = resume_anyway.clone();
    let following = Following::spawn(async move {
        let mut decision = Decision::default();
        let (mut costs_open, mut settings_open) = (true, true);
        loop {
            let now = costs.borrow_and_update().clone();
            let hold = decision.hold(&now, &settings.borrow_and_update());
            let changed =
                hold_sender.send_if_modified(|before| std::mem::replace(before, hold) != hold);
            if changed {
                let kind = match hold {
                    Some(reason) => EventKind::UploadsHeld { reason },
                    None => EventKind::UploadsFree,
                };
                events.emit("", None, kind);
            }
            tokio::select! {
                open = costs.changed(), if costs_open => costs_open = open.is_ok(),
                open = settings.changed(), if settings_open => settings_open = open.is_ok(),
                () = asked.notified() => {
                    if hold.is_some() {
                        tracing::info!("resume anyway: uploads go on until the network or power changes");
                    }
                    decision.resume_anyway(&now);
                }
            }
        }
    });
    (
        UploadGate {
            hold,
            resume_anyway,
        },
        following,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metered(id: &str) -> Costs {
        Costs {
            metered: Some(id.into()),
            on_battery: false,
        }
    }

    #[test]
    fn a_metered_network_holds_uploads_unless_switched_off() {
        let mut settings = NetworkSettings::default();
        let mut decision = Decision::default();
        assert_eq!(
            decision.hold(&metered("hotspot"), &settings),
            Some(HoldReason::Metered)
        );
        settings.pause_on_metered = false;
        assert_eq!(decision.hold(&metered("hotspot"), &settings), None);
    }

    #[test]
    fn battery_holds_only_when_asked_to() {
        let on_battery = Costs {
            metered: None,
            on_battery: true,
        };
        let mut settings = NetworkSettings::default();
        let mut decision = Decision::default();
        assert_eq!(
            decision.hold(&on_battery, &settings),
            None,
            "off by default"
        );
        settings.pause_on_battery = true;
        assert_eq!(
            decision.hold(&on_battery, &settings),
            Some(HoldReason::OnBattery)
        );
    }

    #[test]
    fn resume_anyway_lasts_until_the_network_changes() {
        let settings = NetworkSettings::default();
        let mut decision = Decision::default();
        decision.resume_anyway(&metered("hotspot"));
        assert_eq!(decision.hold(&metered("hotspot"), &settings), None);
        // Another metered network: held again.
        assert_eq!(
            decision.hold(&metered("cafe"), &settings),
            Some(HoldReason::Metered)
        );
        // And back on the first one later: the choice was for that time only.
        assert_eq!(
            decision.hold(&metered("hotspot"), &settings),
            Some(HoldReason::Metered)
        );
    }

    #[test]
    fn resume_anyway_on_battery_ends_when_mains_comes_back() {
        let settings = NetworkSettings {
            pause_on_battery: true,
            ..NetworkSettings::default()
        };
        let battery = Costs {
            metered: None,
            on_battery: true,
        };
        let mut decision = Decision::default();
        decision.resume_anyway(&battery);
        assert_eq!(decision.hold(&battery, &settings), None);
        assert_eq!(decision.hold(&Costs::default(), &settings), None);
        assert_eq!(
            decision.hold(&battery, &settings),
            Some(HoldReason::OnBattery)
        );
    }
}
