//! Whether a file's first bytes are those of the photo format its extension names, so
//! a renamed text file or a damaged copy is never uploaded (and billed) as a photo.
//! Signatures of the formats Imagen accepts: JPEG's SOI marker; TIFF's byte-order
//! header, which most RAW formats are built on (DNG, NEF, CR2, ARW, PEF, …); and the
//! formats with their own: CR3 (an ISO box `ftyp crx`), CRW (`HEAPCCDR`), RAF
//! (`FUJIFILMCCD-RAW`), ORF (`IIRO`, `IIRS`, `MMOR`) and RW2/RWL (`IIU\0`).

/// How many leading bytes [`matches_extension`] needs.
pub const HEAD_LEN: usize = 16;

fn tiff(head: &[u8]) -> bool {
    [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]
        .iter()
        .any(|sig| head.starts_with(*sig))
}

fn panasonic(head: &[u8]) -> bool {
    head.starts_with(b"IIU\0")
}

/// Whether `head` (the file's first bytes, up to [`HEAD_LEN`]) fits the lower-case
/// extension `ext`. Extensions that are not photos never match.
pub fn matches_extension(ext: &str, head: &[u8]) -> bool {
    match ext {
        "jpg" | "jpeg" => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        "cr3" => head.get(4..8) == Some(b"ftyp") && head.get(8..11) == Some(b"crx"),
        "crw" => head.starts_with(b"II") && head.get(6..14) == Some(b"HEAPCCDR"),
        "raf" => head.starts_with(b"FUJIFILMCCD-RAW"),
        "orf" => {
            [b"IIRO", b"IIRS", b"MMOR"]
                .iter()
                .any(|sig| head.starts_with(*sig))
                || tiff(head)
        }
        "rw2" | "rwl" => panasonic(head) || tiff(head),
        "raw" => panasonic(head) || tiff(head),
        "dng" | "nef" | "nrw" | "cr2" | "arw" | "srf" | "sr2" | "pef" | "ptx" | "srw" | "3fr"
        | "fff" => tiff(head),
        _ => false,
    }
}

/// The words a user reads when a file's bytes do not match its name.
pub fn mismatch_reason(ext: &str) -> String {
    let format = match ext {
        "jpg" | "jpeg" => "JPEG".to_owned(),
        other => format!("{} RAW", other.to_ascii_uppercase()),
    };
    format!(
        "not a real {format} photo: its first bytes are not those of a {format} file \
         (a renamed or damaged file?); it was not uploaded"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_known_by_its_first_bytes() {
        assert!(matches_extension("jpg", &[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!matches_extension("jpg", b"this is text"));
        assert!(matches_extension("nef", b"MM\0*\0\0\0\x08"));
        assert!(matches_extension("dng", b"II*\0\x08\0\0\0"));
        assert!(!matches_extension("dng", &[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(matches_extension("cr3", b"\0\0\0\x18ftypcrx \0\0\0\x01"));
        assert!(!matches_extension("cr3", b"\0\0\0\x18ftypheic\0\0\0\x01"));
        assert!(matches_extension("crw", b"II\x1a\0\0\0HEAPCCDR"));
        assert!(matches_extension("raf", b"FUJIFILMCCD-RAW 0201"));
        assert!(matches_extension("orf", b"IIRO\x08\0\0\0"));
        assert!(matches_extension("rw2", b"IIU\0\x08\0\0\0"));
        assert!(!matches_extension("txt", b"II*\0"));
        assert!(!matches_extension("jpg", b""));
    }
}
