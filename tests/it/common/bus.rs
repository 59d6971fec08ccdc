//! A D-Bus daemon of the test's own, standing in for the system bus, for the agent's
//! stand-in services (NetworkManager, UPower, logind).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub(crate) struct PrivateBus {
    daemon: Child,
    pub address: String,
}

impl PrivateBus {
    pub(crate) fn start() -> PrivateBus {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon runs (Debian's dbus package; ./dev deps installs it)");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        PrivateBus {
            daemon,
            address: address.trim().to_owned(),
        }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
