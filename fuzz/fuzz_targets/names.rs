//! Any name a server sends back: it decodes to a path inside the shoot or to nothing;
//! and any relative path the agent encodes decodes back to itself.
#![no_main]

use std::path::{Component, PathBuf};

use imagen_sync::names::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Some(path) = decode(text) {
        assert!(
            path.components().all(|c| matches!(c, Component::Normal(_))),
            "{text:?} decoded to {path:?}"
        );
    }
    let path: PathBuf = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if let Some(name) = encode(&path) {
        assert_eq!(decode(&name), Some(path), "round trip of {text:?}");
    }
});
