//! The PNGs in assets/icons are the pixels the app draws (src/ui/icons.rs), so the
//! packages show the same icons as the running tray. After changing the drawing, run
//! `IMAGEN_WRITE_ASSETS=1 cargo test --test assets` to redraw the files.

use std::path::{Path, PathBuf};

use imagen_sync::ui::glance::IconKind;
use imagen_sync::ui::icons::{self, APP_SIZES, TRAY_SIZES};

fn icons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icons")
}

#[test]
fn the_icons_in_assets_are_the_ones_the_app_draws() {
    let mut expected: Vec<(String, IconKind, u32)> = Vec::new();
    for kind in IconKind::ALL {
        for size in TRAY_SIZES {
            expected.push((icons::tray_file_name(kind, size), kind, size));
        }
    }
    for size in APP_SIZES {
        expected.push((icons::app_file_name(size), IconKind::Idle, size));
    }
    let rewrite = std::env::var_os("IMAGEN_WRITE_ASSETS").is_some();
    for (name, kind, size) in expected {
        let path = icons_dir().join(&name);
        if rewrite {
            std::fs::create_dir_all(icons_dir()).unwrap();
            std::fs::write(&path, icons::png(kind, size)).unwrap();
            continue;
        }
        let on_disk = image::open(&path)
            .unwrap_or_else(|e| {
                panic!("{name}: {e}; run IMAGEN_WRITE_ASSETS=1 cargo test --test assets")
            })
            .to_rgba8();
        assert_eq!(on_disk.dimensions(), (size, size), "{name}");
        assert!(
            on_disk.as_raw() == &icons::draw(kind, size),
            "{name} differs from the drawing; run IMAGEN_WRITE_ASSETS=1 cargo test --test assets"
        );
    }
}

#[test]
fn the_windows_icon_holds_the_application_icon() {
    let path = icons_dir().join("imagen-sync.ico");
    if std::env::var_os("IMAGEN_WRITE_ASSETS").is_some() {
        std::fs::write(&path, icons::ico()).unwrap();
    }
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(
        on_disk,
        icons::ico(),
        "run IMAGEN_WRITE_ASSETS=1 cargo test --test assets"
    );
    let largest = image::load_from_memory_with_format(&on_disk, image::ImageFormat::Ico)
        .unwrap()
        .to_rgba8();
    assert_eq!(largest.as_raw(), &icons::draw(IconKind::Idle, 256));
}

/// The login entries shipped in packaging/ are the ones `autostart enable` writes for
/// the installed binary, so the two cannot drift apart.
#[test]
fn packaged_login_entries_match_what_autostart_enable_writes() {
    use imagen_sync::platform::autostart::{desktop_entry, launch_agent};
    let packaging = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
    let entries = [
        (
            packaging.join("linux/imagen-sync-autostart.desktop"),
            desktop_entry(Path::new("/usr/bin/imagen-sync"), None),
        ),
        (
            packaging.join("macos/ai.imagen.sync.plist"),
            launch_agent(
                Path::new("/Applications/imagen-sync.app/Contents/MacOS/imagen-sync"),
                None,
            ),
        ),
    ];
    for (path, expected) in entries {
        if std::env::var_os("IMAGEN_WRITE_ASSETS").is_some() {
            std::fs::write(&path, &expected).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            on_disk,
            expected,
            "{} differs; run IMAGEN_WRITE_ASSETS=1 cargo test --test assets",
            path.display()
        );
    }
}
