//! Draws a `TrayView` with tray-icon: the icon for its state, the status as tooltip,
//! and the menu model as native menu items whose ids are the actions' ids. Only what
//! changed is redrawn.

use tray_icon::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::ui::glance::IconKind;
use crate::ui::icons;
use crate::ui::menu::MenuEntry;
use crate::ui::view::TrayView;

/// Pixels drawn for the tray; panels scale it to their own size.
const ICON_SIZE: u32 = 32;

pub(super) struct Tray {
    icon: TrayIcon,
    menu: Menu,
    shown: Option<TrayView>,
}

fn icon(kind: IconKind) -> anyhow::Result<Icon> {
    Ok(Icon::from_rgba(
        icons::draw(kind, ICON_SIZE),
        ICON_SIZE,
        ICON_SIZE,
    )?)
}

impl Tray {
    /// Must run on the thread of the UI event loop (the GTK thread on Linux).
    pub(super) fn new() -> anyhow::Result<Tray> {
        let menu = Menu::new();
        let icon = TrayIconBuilder::new()
            .with_id("imagen-sync")
            .with_menu(Box::new(menu.clone()))
            .with_icon(icon(IconKind::Idle)?)
            .with_tooltip("imagen-sync")
            .build()?;
        Ok(Tray {
            icon,
            menu,
            shown: None,
        })
    }

    pub(super) fn show(&mut self, view: &TrayView) {
        let before = self.shown.as_ref();
        if before.is_none_or(|b| b.icon != view.icon) {
            match icon(view.icon) {
                Ok(picture) => {
                    if let Err(error) = self.icon.set_icon(Some(picture)) {
                        tracing::warn!(%error, "cannot change the tray icon");
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot draw the tray icon"),
            }
        }
        if before.is_none_or(|b| b.status != view.status) {
            let _ = self.icon.set_tooltip(Some(&view.status));
        }
        if before.is_none_or(|b| b.menu != view.menu) {
            while self.menu.remove_at(0).is_some() {}
            for entry in &view.menu {
                if let Err(error) = self.menu.append(native(entry).as_ref()) {
                    tracing::warn!(%error, "cannot build the tray menu");
                }
            }
        }
        self.shown = Some(view.clone());
    }
}

/// The native menu item for one entry of the model.
fn native(entry: &MenuEntry) -> Box<dyn IsMenuItem> {
    match entry {
        MenuEntry::Label(text) => Box::new(MenuItem::new(text, false, None)),
        MenuEntry::Item { label, action } => {
            Box::new(MenuItem::with_id(action.id(), label, true, None))
        }
        MenuEntry::Separator => Box::new(PredefinedMenuItem::separator()),
        MenuEntry::Submenu { label, entries } => {
            let submenu = Submenu::new(label, true);
            for inner in entries {
                if let Err(error) = submenu.append(native(inner).as_ref()) {
                    tracing::warn!(%error, "cannot build a tray submenu");
                }
            }
            Box::new(submenu)
        }
    }
}
