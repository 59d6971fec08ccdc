//! Any bytes as the config file: read from a real file through the bounded reader (any
//! size up to the limit, any encoding) it loads or gives a clear error, never panics;
//! and a config that parses survives `render` (what `init` and the dashboard write)
//! unchanged.
#![no_main]

use std::path::Path;

use imagen_sync::config::bounded::{CONFIG_LIMIT, read_small_text};
use imagen_sync::config::{Config, Overrides, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, bytes).expect("a temp file");
    let Ok(text) = read_small_text(&path, CONFIG_LIMIT) else {
        assert!(std::str::from_utf8(bytes).is_err() || bytes.len() as u64 > CONFIG_LIMIT);
        return;
    };
    let file = Path::new("fuzz.toml");
    let overrides = Overrides::default();
    if let Ok(config) = Config::parse(&text, file, &overrides) {
        let again = Config::parse(&render(&config), file, &overrides)
            .expect("a rendered config parses");
        assert_eq!(again, config, "render round-trips");
    }
});
