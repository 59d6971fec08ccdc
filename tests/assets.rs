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
