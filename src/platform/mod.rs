//! What differs from one operating system to the next: starting at login, opening a
//! file with the desktop's application, whether the network is metered or the machine
//! on battery, keeping it awake while work is under way, and how memory is handed back.

pub mod autostart;
pub mod costs;
pub mod keep_awake;
pub mod memory;
pub mod open;
