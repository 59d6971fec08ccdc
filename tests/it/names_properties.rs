//! Properties of the upload-name encoding, over any relative path a shoot can hold:
//! it round-trips, never makes two names that collide (even ignoring case), and never
//! decodes to a path that leaves the shoot folder, whatever name a server sends back.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use imagen_sync::agent::names::{decode, encode, encode_all};
use proptest::prelude::*;

/// One path component: anything a file name can be on Linux, macOS or Windows
/// (spaces, dots, `%`, `~`, unicode, mixed case), except `/` and NUL.
fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9 ._~%-]{1,12}",
        "[\\PC&&[^/\\\\]]{1,8}",
        Just("IMG_0001.JPG".to_owned()),
        Just("img_0001.jpg".to_owned()),
        Just("%7E~%25".to_owned()),
    ]
    .prop_filter("not . or ..", |c| c != "." && c != "..")
}

fn relative_path() -> impl Strategy<Value = PathBuf> {
    prop::collection::vec(component(), 1..4).prop_map(|parts| parts.iter().collect())
}

fn stays_inside(path: &Path) -> bool {
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_relative_path_round_trips(path in relative_path()) {
        let name = encode(&path).expect("a relative path encodes");
        prop_assert!(!name.contains('/') && !name.contains('\\'), "{name}");
        prop_assert_eq!(decode(&name), Some(path));
    }

    /// Found by the fuzzer: a file named with a newline was uploaded, then its output
    /// refused. Whatever is encoded must decode back; the rest is refused up front.
    #[test]
    fn whatever_is_sent_can_be_written_back(text in "[a-z\\n\\t\\\\/\\x00-\\x1f.]{1,12}") {
        let path: PathBuf = text.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        if let Some(name) = encode(&path) {
            prop_assert_eq!(decode(&name), Some(path));
        }
    }

    #[test]
    fn a_shoot_never_gets_two_names_that_collide_ignoring_case(
        paths in prop::collection::hash_set(relative_path(), 1..24)
    ) {
        let paths: Vec<PathBuf> = paths.into_iter().collect();
        let names: Vec<String> = encode_all(paths.iter().map(PathBuf::as_path))
            .into_iter()
            .map(|n| n.expect("relative paths encode"))
            .collect();
        let folded: HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
        prop_assert_eq!(folded.len(), names.len(), "{:?}", names);
        for (path, name) in paths.iter().zip(&names) {
            prop_assert_eq!(decode(name), Some(path.clone()));
        }
    }

    #[test]
    fn no_name_from_a_server_decodes_to_a_path_outside_the_shoot(name in "\\PC{0,40}") {
        if let Some(path) = decode(&name) {
            prop_assert!(stays_inside(&path), "{name:?} decoded to {path:?}");
        }
    }

    #[test]
    fn hostile_names_built_from_separators_and_dots_never_escape(
        parts in prop::collection::vec(prop_oneof![
            Just(".."), Just("."), Just(""), Just("/"), Just("\\"), Just("~"), Just("%2F"),
            Just("%7E"), Just("%25"), Just("C:"), Just("\0"), Just("a"), Just("%d2"),
        ], 1..10)
    ) {
        let name: String = parts.concat();
        if let Some(path) = decode(&name) {
            prop_assert!(stays_inside(&path), "{name:?} decoded to {path:?}");
        }
    }
}
