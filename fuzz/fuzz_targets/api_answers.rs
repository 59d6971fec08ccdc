//! Any bytes a server answers with: every typed answer parses or is a clean error (both
//! envelopes), and an error body is summarised without panicking or growing unbounded.
#![no_main]

use imagen_sync::api::{
    DownloadLink, MultipartUpload, Project, ProjectCreated, ProjectPage, UploadLink,
    describe_error_body, parse_payload,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = parse_payload::<ProjectCreated>(body, "fuzz");
    let _ = parse_payload::<Vec<UploadLink>>(body, "fuzz");
    let _ = parse_payload::<MultipartUpload>(body, "fuzz");
    let _ = parse_payload::<Project>(body, "fuzz");
    let _ = parse_payload::<ProjectPage>(body, "fuzz");
    let _ = parse_payload::<Vec<DownloadLink>>(body, "fuzz");
    if let Ok(text) = std::str::from_utf8(body) {
        let (_code, detail) = describe_error_body(text);
        assert!(detail.chars().count() <= 301, "what a user is shown stays short");
    }
    // A link in any answer is only ever https or loopback http.
    if let Ok(links) = parse_payload::<Vec<DownloadLink>>(body, "fuzz") {
        for link in links {
            assert!(imagen_sync::api::check_transport(link.download_link.expose()).is_ok());
        }
    }
});
