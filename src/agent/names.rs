//! Upload names: a shoot's nested files must go up under unique base names, so the
//! relative path is encoded reversibly into one name and decoded again on download.
//!
//! Each path component escapes `%` as `%25` and `~` as `%7E`; components are joined with
//! `~`. Names that would collide ignoring case (a case-insensitive server or outbox would
//! merge them) get a `%dN` marker before the extension; a raw `%` is never otherwise
//! produced, so the marker is unambiguous and is dropped on decoding.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

const SEPARATOR: char = '~';

fn escape(component: &str) -> String {
    component.replace('%', "%25").replace(SEPARATOR, "%7E")
}

fn unescape(component: &str) -> String {
    component.replace("%7E", "~").replace("%25", "%")
}

/// The upload name for `relative` (a path inside the shoot folder). `None` for a path
/// that is empty, absolute, not UTF-8, climbs out with `..`, or has a component that
/// `decode` would refuse to write back (control characters, a backslash).
pub fn encode(relative: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => {
                let part = part.to_str().filter(|p| is_safe_component(p))?;
                parts.push(escape(part));
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join(&SEPARATOR.to_string()))
}

/// The relative path an upload (or output) name stands for. `None` for a name that no
/// encoding produces or that would escape the shoot folder.
pub fn decode(name: &str) -> Option<PathBuf> {
    let name = strip_duplicate_marker(name);
    let mut path = PathBuf::new();
    for part in name.split(SEPARATOR) {
        let part = unescape(part);
        if !is_safe_component(&part) {
            return None;
        }
        path.push(part);
    }
    Some(path)
}

/// Why the server's output name `name` cannot be written (one `decode` refuses), in
/// words for the shoot's report.
pub fn why_unsafe(name: &str) -> &'static str {
    let parts = || name.split(['/', '\\', SEPARATOR]);
    if name.is_empty() {
        "the name is empty"
    } else if name.starts_with(['/', '\\']) || name.get(1..3) == Some(":\\") {
        "it is an absolute path"
    } else if parts().any(|part| part == "..") {
        "it climbs out of the shoot folder (..)"
    } else if name.chars().any(char::is_control) {
        "it holds a control character"
    } else if parts().any(|part| part.is_empty() || part == ".") {
        "it has an empty or \".\" folder in it"
    } else if parts().any(|part| unescape(part).len() > MAX_NAME_BYTES) {
        "it is longer than a file name may be (255 bytes)"
    } else {
        "it holds a folder separator no upload name has"
    }
}

/// The longest file name most file systems take (ext4, APFS, NTFS: 255 bytes or units).
pub const MAX_NAME_BYTES: usize = 255;

/// A path component that can be written anywhere below the outbox: not empty, not `.`
/// or `..`, no separator of any platform, no NUL or other control character, not
/// longer than a file name may be.
fn is_safe_component(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= MAX_NAME_BYTES
        && part != "."
        && part != ".."
        && !part.contains(['/', '\\', '\0'])
        && !part.chars().any(char::is_control)
}

/// Removes a `%dN` marker (placed just before the extension, or at the end).
fn strip_duplicate_marker(name: &str) -> String {
    let Some(at) = name.rfind("%d") else {
        return name.to_owned();
    };
    let digits = name[at + 2..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 {
        return name.to_owned();
    }
    let rest = &name[at + 2 + digits..];
    if !(rest.is_empty() || (rest.starts_with('.') && !rest[1..].contains(SEPARATOR))) {
        return name.to_owned();
    }
    format!("{}{rest}", &name[..at])
}

/// Encodes every path of a shoot, making the names unique ignoring case. Returns names in
/// the order of `relatives`; `None` where a path cannot be encoded.
pub fn encode_all<'a>(relatives: impl IntoIterator<Item = &'a Path>) -> Vec<Option<String>> {
    let mut taken = HashSet::new();
    relatives
        .into_iter()
        .map(|relative| {
            let name = encode(relative)?;
            if taken.insert(name.to_lowercase()) {
                return Some(name);
            }
            let (stem, ext) = split_extension(&name);
            (2..)
                .map(|n| format!("{stem}%d{n}{ext}"))
                .find(|candidate| taken.insert(candidate.to_lowercase()))
        })
        .collect()
}

/// (stem, ".ext") of the last component; the extension may be empty.
fn split_extension(name: &str) -> (&str, &str) {
    let last_start = name.rfind(SEPARATOR).map_or(0, |i| i + 1);
    match name[last_start..].rfind('.') {
        Some(dot) if dot > 0 => name.split_at(last_start + dot),
        _ => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_paths_round_trip_through_one_base_name() {
        for path in [
            "IMG_0001.CR3",
            "Kitchen/IMG_0002.jpg",
            "Upstairs/Bath ~ 2/50% off.NEF",
            "a~b/c%7Ed.jpg",
            "ünïcode/фото.jpg",
        ] {
            let name = encode(Path::new(path)).unwrap();
            assert!(!name.contains('/'), "{name}");
            assert_eq!(decode(&name).unwrap(), Path::new(path), "{name}");
        }
    }

    #[test]
    fn names_differing_only_in_case_stay_distinct_and_decode_to_their_own_path() {
        let paths = [
            Path::new("IMG_1.jpg"),
            Path::new("img_1.JPG"),
            Path::new("Img_1.jpg"),
        ];
        let names: Vec<String> = encode_all(paths).into_iter().map(Option::unwrap).collect();
        let lower: HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(lower.len(), 3, "{names:?}");
        for (name, path) in names.iter().zip(paths) {
            assert_eq!(decode(name).unwrap(), path);
        }
        // The output of a RAW input changes extension; the marker still decodes away.
        assert_eq!(decode("img_1%d2.jpg").unwrap(), Path::new("img_1.jpg"));
    }

    #[test]
    fn paths_and_names_that_escape_the_shoot_are_refused() {
        assert_eq!(encode(Path::new("../x.jpg")), None);
        assert_eq!(encode(Path::new("/etc/passwd")), None);
        for hostile in [
            "..",
            "a~..~b.jpg",
            "~x.jpg",
            "a/b.jpg",
            "a\0.jpg",
            "x~",
            "",
            "a\u{1b}.jpg",
        ] {
            assert_eq!(decode(hostile), None, "{hostile:?}");
        }
        assert_eq!(why_unsafe(""), "the name is empty");
        assert_eq!(why_unsafe("/tmp/x.jpg"), "it is an absolute path");
        assert_eq!(why_unsafe("C:\\x.jpg"), "it is an absolute path");
        assert_eq!(
            why_unsafe("sub/../../x.jpg"),
            "it climbs out of the shoot folder (..)"
        );
        assert_eq!(
            why_unsafe("a~..~b.jpg"),
            "it climbs out of the shoot folder (..)"
        );
        assert_eq!(why_unsafe("bell\u{7}.jpg"), "it holds a control character");
        assert_eq!(why_unsafe("x~"), "it has an empty or \".\" folder in it");
        let long = format!("{}.jpg", "a".repeat(300));
        assert_eq!(decode(&long), None);
        assert_eq!(
            why_unsafe(&long),
            "it is longer than a file name may be (255 bytes)"
        );
    }
}
