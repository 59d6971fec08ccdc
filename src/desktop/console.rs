//! Windows only. The binary is a console program, so the CLI subcommands print to the
//! terminal they run in. The tray app started from the Start Menu or at login gets a
//! console window of its own as well; it lets go of that window, so only the tray
//! shows. Started from a terminal, it shares that terminal and keeps it.

use windows_sys::Win32::System::Console::{FreeConsole, GetConsoleProcessList};

/// Detaches from the console if no other process uses it (it was made for us).
pub fn leave_if_ours() {
    let mut processes = [0u32; 2];
    // SAFETY: the buffer holds as many ids as the length passed says.
    let attached = unsafe { GetConsoleProcessList(processes.as_mut_ptr(), 2) };
    if attached == 1 {
        // Logging carries on into the log file; writes to the lost console are dropped.
        // SAFETY: no handle of ours is used after this; std treats the closed console as
        // a sink.
        unsafe { FreeConsole() };
    }
}
