//! Any text as the config file: it parses or gives a located error, never panics; and a
//! config that parses survives `render` (what `init` and the dashboard write) unchanged.
#![no_main]

use std::path::Path;

use imagen_sync::config::{Config, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let file = Path::new("fuzz.toml");
    if let Ok(config) = Config::parse(text, file, None) {
        let again = Config::parse(&render(&config), file, None)
            .expect("a rendered config parses");
        assert_eq!(again, config, "render round-trips");
    }
});
