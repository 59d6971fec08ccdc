//! Any bytes as a photo of any accepted type: the wholeness check answers (whole, or
//! not, with a reason) without panicking or reading out of bounds, and a JPEG it takes
//! as whole really starts with its SOI marker and ends with its end-of-image marker.
#![no_main]

use imagen_sync::agent::whole::{check, refusal};
use imagen_sync::shoot::{JPEG_EXTENSIONS, RAW_EXTENSIONS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    for ext in JPEG_EXTENSIONS.iter().chain(RAW_EXTENSIONS) {
        let verdict = check(ext, bytes, bytes.len() as u64).expect("bytes always read");
        match verdict {
            Ok(()) if JPEG_EXTENSIONS.contains(ext) => {
                let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                assert!(bytes.starts_with(&[0xFF, 0xD8]) && bytes[..end].ends_with(&[0xFF, 0xD9]));
            }
            Ok(()) => assert!(bytes.len() as u64 >= imagen_sync::agent::whole::MIN_RAW_BYTES),
            Err(why) => assert!(!refusal(ext, &why).is_empty()),
        }
    }
});
