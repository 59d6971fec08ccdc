//! What the desktop shows, without any toolkit: the tray's glance (icon and status
//! line), its menu model and what each entry does, the notifications to show, and the
//! icons' pixels, and the glance written down for `status`. `desktop` draws these with
//! the platform's toolkit.

pub mod actions;
pub mod glance;
pub mod icons;
pub mod menu;
pub mod notices;
pub mod snapshot;
pub mod view;
