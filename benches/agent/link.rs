//! An emulated uplink for the uplink figure: a network namespace of the benchmark's own,
//! joined to this one by a pair of TUN devices, with every IP packet between them
//! carried by this process at a fixed rate, after a fixed one-way delay, a fraction of
//! them dropped at random, as `tc netem` would (this machine's kernel has no netem).
//! TCP runs end to end between the agent and the simulator, unaware of it.
//!
//! The simulator listens on 127.0.0.2 on this side, and inside the namespace that one
//! address is routed through the link (`route_localnet`): the agent talks to a
//! loopback address, as it only does over plain HTTP, and every byte crosses the link.
//!
//! Making it needs root (`ip netns`, `/dev/net/tun`); [`Link::make`] says why not and
//! the figure is skipped.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

/// The link's shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Bits per second, each way.
    pub rate: u64,
    /// One way: the round trip is twice this.
    pub delay: Duration,
    /// Fraction of packets dropped, each way.
    pub loss: f64,
}

/// The namespace and devices, removed when dropped.
pub(crate) struct Link {
    pub namespace: String,
    /// The address on this side where the simulator listens, reached from the
    /// namespace through the link only.
    pub near: &'static str,
    _carriers: Vec<std::thread::JoinHandle<()>>,
}

const NEAR: &str = "10.213.0.1";
const FAR: &str = "10.213.0.2";
const SERVED: &str = "127.0.0.2";

fn run(args: &[&str]) -> Result<(), String> {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// Removes the namespaces of earlier runs stopped before they could (a signal).
fn forget_earlier_links() {
    let Ok(listed) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        if let Some(name) = line.split_whitespace().next()
            && name.starts_with("imgs-uplink-")
        {
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
}

/// The TCP congestion control new connections use here (the namespace's is this one).
pub(crate) fn congestion_control() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
        .map_or_else(|_| "unknown".into(), |text| text.trim().to_owned())
}

/// A TUN device named `name`, carrying bare IP packets.
fn tun(name: &str) -> Result<File, String> {
    #[repr(C)]
    struct InterfaceRequest {
        name: [u8; 16],
        flags: libc::c_short,
        _rest: [u8; 22],
    }
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    let file = File::options()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| format!("/dev/net/tun: {e}"))?;
    let mut request = InterfaceRequest {
        name: [0; 16],
        flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short,
        _rest: [0; 22],
    };
    request.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: a valid descriptor and an `ifreq`-sized, initialised request.
    let done = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut request) };
    if done < 0 {
        return Err(format!(
            "cannot make the TUN device {name}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(file)
}

impl Link {
    /// Makes the namespace and its link, shaped as `shape`; `Err` says why it cannot.
    pub(crate) fn make(shape: Shape) -> Result<Link, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("it needs root (a network namespace and TUN devices)".into());
        }
        forget_earlier_links();
        let id = std::process::id() % 100_000;
        let namespace = format!("imgs-uplink-{id}");
        let (near_dev, far_dev) = (format!("imgs-h{id}"), format!("imgs-n{id}"));
        let near = tun(&near_dev)?;
        let far = tun(&far_dev)?;
        // Made first, so a step failing below still removes the namespace.
        let mut link = Link {
            namespace: namespace.clone(),
            near: SERVED,
            _carriers: Vec::new(),
        };
        run(&["ip", "netns", "add", &namespace])?;
        let inside = |args: &[&str]| {
            let mut all = vec!["ip", "netns", "exec", namespace.as_str()];
            all.extend_from_slice(args);
            run(&all)
        };
        run(&["ip", "link", "set", &far_dev, "netns", &namespace])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{NEAR}/32"),
            "peer",
            FAR,
            "dev",
            &near_dev,
        ])?;
        run(&["ip", "link", "set", &near_dev, "up"])?;
        let localnet = |dev: &str| format!("net.ipv4.conf.{dev}.route_localnet=1");
        run(&["sysctl", "-qw", &localnet(&near_dev)])?;
        inside(&[
            "ip",
            "addr",
            "add",
            &format!("{FAR}/32"),
            "peer",
            NEAR,
            "dev",
            &far_dev,
        ])?;
        inside(&["ip", "link", "set", &far_dev, "up"])?;
        inside(&["ip", "link", "set", "lo", "up"])?;
        // Only 127.0.0.1 stays local there: 127.0.0.2 is this side's, across the link.
        inside(&["ip", "addr", "del", "127.0.0.1/8", "dev", "lo"])?;
        inside(&["ip", "addr", "add", "127.0.0.1/32", "dev", "lo"])?;
        inside(&["sysctl", "-qw", &localnet("all")])?;
        inside(&["sysctl", "-qw", &localnet(&far_dev)])?;
        inside(&[
            "ip",
            "route",
            "add",
            &format!("{SERVED}/32"),
            "dev",
            &far_dev,
        ])?;
        let carriers = vec![
            carry(near.try_clone().unwrap(), far.try_clone().unwrap(), shape),
            carry(far, near, shape),
        ];
        link._carriers = carriers.into_iter().flatten().collect();
        Ok(link)
    }

    /// `command` run inside the namespace, as `ip netns exec` runs it.
    pub(crate) fn wrapper(&self) -> [&str; 4] {
        ["ip", "netns", "exec", &self.namespace]
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting the namespace removes the device moved into it; this side's goes
        // with its last descriptor, when the carriers end with the process.
        let _ = run(&["ip", "netns", "del", &self.namespace]);
    }
}

/// Carries packets read from `from` into `to`: a reader that stamps each packet with
/// the moment it leaves (the link busy sending the ones before it at `rate`) and
/// arrives (`delay` later), and a writer that hands it over then.
fn carry(mut from: File, mut to: File, shape: Shape) -> Vec<std::thread::JoinHandle<()>> {
    let (send, arrivals) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    let reader = std::thread::spawn(move || {
        let mut free_at = Instant::now();
        let mut buffer = vec![0u8; 65_536];
        // As netem's default: at most 1000 packets waiting to be sent.
        let backlog_limit = Duration::from_secs_f64(1000.0 * 1500.0 * 8.0 / shape.rate as f64);
        loop {
            let Ok(read) = from.read(&mut buffer) else {
                return;
            };
            let now = Instant::now();
            let lost = rand::random::<f64>() < shape.loss;
            if lost || free_at.saturating_duration_since(now) > backlog_limit {
                continue;
            }
            let sending = Duration::from_secs_f64(read as f64 * 8.0 / shape.rate as f64);
            free_at = free_at.max(now) + sending;
            if send
                .send((free_at + shape.delay, buffer[..read].to_vec()))
                .is_err()
            {
                return;
            }
        }
    });
    let writer = std::thread::spawn(move || {
        for (at, packet) in arrivals {
            let wait = at.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            if to.write_all(&packet).is_err() {
                return;
            }
        }
    });
    vec![reader, writer]
}
