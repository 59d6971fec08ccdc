//! What differs from one operating system to the next: starting at login, opening a
//! file with the desktop's application, whether the network is metered or the machine
//! on battery, and how memory is handed back.

pub mod autostart;
pub mod costs;
pub mod memory;
pub mod open;
