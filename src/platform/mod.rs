//! What differs from one operating system to the next: starting at login, opening a
//! file with the desktop's application, whether the network is metered or the machine
//! on battery, keeping it awake while work is under way, and how memory is handed back.

pub mod autostart;
pub mod costs;
pub mod keep_awake;
pub mod memory;
pub mod open;

/// Whether a process of this machine is still running (unknown elsewhere: taken as yes).
#[cfg(unix)]
pub fn process_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    let answer = unsafe { libc::kill(pid as libc::pid_t, 0) };
    answer == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether a process of this machine is still running (unknown elsewhere: taken as yes).
#[cfg(not(unix))]
pub fn process_alive(_pid: u32) -> bool {
    true
}
