//! Whether a photo is whole before it is billed: a JPEG must hold a frame header before
//! its scan data and end with its end-of-image marker; a RAW must pass its container's
//! header check (the TIFF first directory, CR3's boxes, RAF's and CRW's headers) and be
//! big enough to hold a sensor's data. A truncated copy, a 3-byte file or a text file
//! renamed `.jpg` is refused here with words a photographer can act on.
//!
//! The checks read a few small slices at known offsets ([`ReadAt`]), never the whole
//! file, so they run on the open descriptor the upload then streams from.

use std::io;

/// The smallest RAW taken: no camera's sensor data fits in less (the smallest real RAWs
/// are megabytes); a smaller file is a stub, a truncated copy or a fake.
pub const MIN_RAW_BYTES: u64 = 64 * 1024;
/// How many JPEG header segments are walked before the scan data at most.
const MAX_JPEG_SEGMENTS: usize = 4096;
/// How far from the end the end-of-image marker may sit (zero padding after it).
const JPEG_TAIL: u64 = 4096;

/// Positioned reads, from a file descriptor or from bytes (the fuzz target).
pub trait ReadAt {
    /// Fills `buffer` from `offset`; fewer bytes only at the end of the data.
    fn read_at_most(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl ReadAt for [u8] {
    fn read_at_most(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let n = buffer.len().min(self.len() - start);
        buffer[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl ReadAt for std::fs::File {
    fn read_at_most(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        crate::api::file_body::read_fully_at(self, buffer, offset)
    }
}

/// Why a photo is not whole, in words for the report (completed by [`refusal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotWhole {
    /// Its first bytes are not its format's.
    WrongFormat,
    /// It stops before its end (a copy cut short).
    Truncated,
    /// Smaller than any real photo of its format.
    TooSmall,
    /// Its header is damaged.
    Damaged(&'static str),
}

/// Checks a photo of lower-case extension `ext` and `size` bytes. `Err` when reading
/// fails; `Ok(Err(_))` when it is not whole.
pub fn check(
    ext: &str,
    source: &(impl ReadAt + ?Sized),
    size: u64,
) -> io::Result<Result<(), NotWhole>> {
    let mut head = [0u8; super::magic::HEAD_LEN];
    let read = source.read_at_most(&mut head, 0)?;
    if !super::magic::matches_extension(ext, &head[..read]) {
        return Ok(Err(NotWhole::WrongFormat));
    }
    match ext {
        "jpg" | "jpeg" => jpeg(source, size),
        _ if size < MIN_RAW_BYTES => Ok(Err(NotWhole::TooSmall)),
        "cr3" => iso_boxes(source, size),
        "crw" => crw(source, size),
        "raf" => raf(source, size),
        _ => tiff_directory(source, size),
    }
}

/// The words a user reads about a photo that is not whole.
pub fn refusal(ext: &str, why: &NotWhole) -> String {
    let format = match ext {
        "jpg" | "jpeg" => "JPEG".to_owned(),
        other => format!("{} RAW", other.to_ascii_uppercase()),
    };
    match why {
        NotWhole::WrongFormat => super::magic::mismatch_reason(ext),
        NotWhole::Truncated => format!(
            "an incomplete {format} photo: the file stops before the photo ends (a copy cut \
             short?); copy it again from the card to send it. It was not uploaded"
        ),
        NotWhole::TooSmall => format!(
            "too small to be a {format} photo ({} KB at least); copy it again from the card \
             to send it. It was not uploaded",
            MIN_RAW_BYTES / 1024
        ),
        NotWhole::Damaged(what) => format!(
            "a damaged {format} photo ({what}); copy it again from the card to send it. It \
             was not uploaded"
        ),
    }
}

fn read_exact_at(
    source: &(impl ReadAt + ?Sized),
    buffer: &mut [u8],
    offset: u64,
) -> io::Result<bool> {
    Ok(source.read_at_most(buffer, offset)? == buffer.len())
}

/// SOFn markers: every C0–CF but DHT (C4), JPG (C8) and DAC (CC).
fn is_frame_header(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

fn jpeg(source: &(impl ReadAt + ?Sized), size: u64) -> io::Result<Result<(), NotWhole>> {
    let mut at = 2u64;
    let mut frame = false;
    for _ in 0..MAX_JPEG_SEGMENTS {
        let mut marker = [0u8; 4];
        if !read_exact_at(source, &mut marker, at)? {
            return Ok(Err(NotWhole::Truncated));
        }
        if marker[0] != 0xFF {
            return Ok(Err(NotWhole::Damaged("its header is broken")));
        }
        match marker[1] {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Markers that stand alone.
            0x01 | 0xD0..=0xD8 => at += 2,
            0xD9 => return Ok(Err(NotWhole::Damaged("it ends before its picture data"))),
            0xDA if !frame => return Ok(Err(NotWhole::Damaged("it has no frame header"))),
            0xDA => return jpeg_end(source, size, at),
            kind => {
                let length = u64::from(u16::from_be_bytes([marker[2], marker[3]]));
                if length < 2 {
                    return Ok(Err(NotWhole::Damaged("its header is broken")));
                }
                if is_frame_header(kind) {
                    // Precision, height, width, components.
                    let mut header = [0u8; 6];
                    if !read_exact_at(source, &mut header, at + 4)? {
                        return Ok(Err(NotWhole::Truncated));
                    }
                    let width = u16::from_be_bytes([header[3], header[4]]);
                    if length < 8 || width == 0 || header[5] == 0 {
                        return Ok(Err(NotWhole::Damaged("its frame header is broken")));
                    }
                    frame = true;
                }
                at += 2 + length;
            }
        }
        if at >= size {
            return Ok(Err(NotWhole::Truncated));
        }
    }
    Ok(Err(NotWhole::Damaged("its header never ends")))
}

/// The end-of-image marker closes the file, after at most some zero padding.
fn jpeg_end(
    source: &(impl ReadAt + ?Sized),
    size: u64,
    scan_start: u64,
) -> io::Result<Result<(), NotWhole>> {
    let from = size.saturating_sub(JPEG_TAIL).max(scan_start);
    let mut tail = vec![0u8; (size - from) as usize];
    if !read_exact_at(source, &mut tail, from)? {
        return Ok(Err(NotWhole::Truncated));
    }
    let end = tail.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    Ok(match tail[..end].ends_with(&[0xFF, 0xD9]) {
        true => Ok(()),
        false => Err(NotWhole::Truncated),
    })
}

/// TIFF-based RAWs (DNG, NEF, CR2, ARW, ORF, RW2, PEF, …): the first directory the
/// header points at lies inside the file and holds entries.
fn tiff_directory(source: &(impl ReadAt + ?Sized), size: u64) -> io::Result<Result<(), NotWhole>> {
    let mut header = [0u8; 16];
    if !read_exact_at(source, &mut header, 0)? {
        return Ok(Err(NotWhole::Truncated));
    }
    let little = header[0] == b'I';
    let u16_at = |b: &[u8]| match little {
        true => u16::from_le_bytes([b[0], b[1]]),
        false => u16::from_be_bytes([b[0], b[1]]),
    };
    let u32_at = |b: &[u8]| match little {
        true => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        false => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
    };
    let big_tiff = u16_at(&header[2..4]) == 43;
    let (directory, count_len, entry_len) = match big_tiff {
        true => {
            let offset = match little {
                true => u64::from_le_bytes(header[8..16].try_into().expect("8 bytes")),
                false => u64::from_be_bytes(header[8..16].try_into().expect("8 bytes")),
            };
            (offset, 8u64, 20u64)
        }
        false => (u64::from(u32_at(&header[4..8])), 2, 12),
    };
    if directory < 8 || directory >= size {
        return Ok(Err(NotWhole::Damaged(
            "its first directory is outside the file",
        )));
    }
    let mut count = [0u8; 8];
    if !read_exact_at(source, &mut count[..count_len as usize], directory)? {
        return Ok(Err(NotWhole::Truncated));
    }
    let entries = match big_tiff {
        true => match little {
            true => u64::from_le_bytes(count),
            false => u64::from_be_bytes(count),
        },
        false => u64::from(u16_at(&count[..2])),
    };
    if entries == 0 || entries > 4096 {
        return Ok(Err(NotWhole::Damaged(
            "its first directory is empty or broken",
        )));
    }
    let directory_end = directory + count_len + entries * entry_len;
    if directory_end > size {
        return Ok(Err(NotWhole::Truncated));
    }
    Ok(Ok(()))
}

/// CR3: an ISO media file; its `ftyp` box is followed by another whole box header.
fn iso_boxes(source: &(impl ReadAt + ?Sized), size: u64) -> io::Result<Result<(), NotWhole>> {
    let mut first = [0u8; 4];
    read_exact_at(source, &mut first, 0)?;
    let next = u64::from(u32::from_be_bytes(first));
    let mut header = [0u8; 8];
    if next < 8 || !read_exact_at(source, &mut header, next)? {
        return Ok(Err(NotWhole::Truncated));
    }
    let box_len = u64::from(u32::from_be_bytes(header[..4].try_into().expect("4 bytes")));
    let named = header[4..].iter().all(u8::is_ascii_alphanumeric);
    if !named {
        return Ok(Err(NotWhole::Damaged("its boxes are broken")));
    }
    // Length 1 means a 64-bit length follows; 0 means "to the end of the file".
    if box_len > 1 && next + box_len > size {
        return Ok(Err(NotWhole::Truncated));
    }
    Ok(Ok(()))
}

/// CRW: the header's length (little-endian at 2) lies inside the file.
fn crw(source: &(impl ReadAt + ?Sized), size: u64) -> io::Result<Result<(), NotWhole>> {
    let mut header = [0u8; 6];
    read_exact_at(source, &mut header, 0)?;
    let length = u64::from(u32::from_le_bytes(
        header[2..6].try_into().expect("4 bytes"),
    ));
    Ok(match length >= 14 && length < size {
        true => Ok(()),
        false => Err(NotWhole::Damaged("its header is broken")),
    })
}

/// RAF: the preview and the sensor data the header points at lie inside the file.
fn raf(source: &(impl ReadAt + ?Sized), size: u64) -> io::Result<Result<(), NotWhole>> {
    let mut header = [0u8; 104];
    if !read_exact_at(source, &mut header, 0)? {
        return Ok(Err(NotWhole::Truncated));
    }
    let be = |at: usize| {
        u64::from(u32::from_be_bytes(
            header[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    let (preview, preview_len, data) = (be(84), be(88), be(100));
    if preview + preview_len > size || data >= size || data == 0 {
        return Ok(Err(NotWhole::Truncated));
    }
    Ok(Ok(()))
}

/// The bytes of a whole photo of lower-case extension `ext`, at least `len` long (a RAW
/// at least [`MIN_RAW_BYTES`]): the smallest structure [`check`] takes, for tests and
/// benchmarks that need many photos without encoding pictures. `filler` varies the
/// content so two stand-ins differ.
pub fn stand_in(ext: &str, len: usize, filler: u8) -> Vec<u8> {
    // Never 0xFF inside scan data: there it would start a marker.
    let fill = if filler == 0xFF { 0xFE } else { filler };
    match ext {
        "jpg" | "jpeg" => {
            let mut bytes = vec![0xFF, 0xD8];
            bytes.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
            bytes.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
            bytes.resize(len.max(bytes.len() + 3) - 2, fill);
            bytes.extend_from_slice(&[0xFF, 0xD9]);
            bytes
        }
        _ => {
            let mut bytes = match ext {
                "cr3" => b"\0\0\0\x18ftypcrx \0\0\0\x01crx isom\0\0\0\x08moov".to_vec(),
                "crw" => b"II\x1a\0\0\0HEAPCCDR".to_vec(),
                "raf" => {
                    let mut raf = b"FUJIFILMCCD-RAW 0201".to_vec();
                    raf.resize(104, 0);
                    raf[84..88].copy_from_slice(&104u32.to_be_bytes());
                    raf[88..92].copy_from_slice(&8u32.to_be_bytes());
                    raf[100..104].copy_from_slice(&112u32.to_be_bytes());
                    raf
                }
                "rw2" | "rwl" => b"IIU\0\x08\0\0\0\x01\0".to_vec(),
                _ => b"II*\0\x08\0\0\0\x01\0".to_vec(),
            };
            bytes.resize(len.max(MIN_RAW_BYTES as usize), fill);
            bytes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest JPEG structure: SOI, a frame header, a scan, EOI.
    fn tiny_jpeg() -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8];
        bytes.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
        bytes.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
        bytes.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56]);
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        bytes
    }

    fn verdict(ext: &str, bytes: &[u8]) -> Result<(), NotWhole> {
        check(ext, bytes, bytes.len() as u64).unwrap()
    }

    #[test]
    fn a_real_jpeg_is_whole_and_a_truncated_copy_is_not() {
        let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut encoded = io::Cursor::new(Vec::new());
        image
            .write_to(&mut encoded, image::ImageFormat::Jpeg)
            .unwrap();
        let encoded = encoded.into_inner();
        assert_eq!(verdict("jpg", &encoded), Ok(()));
        let mut padded = encoded.clone();
        padded.extend_from_slice(&[0; 300]);
        assert_eq!(
            verdict("jpg", &padded),
            Ok(()),
            "camera padding after the end is fine"
        );
        for cut in [
            3,
            20,
            300.min(encoded.len() - 1),
            encoded.len() - 2,
            encoded.len() - 1,
        ] {
            assert!(verdict("jpg", &encoded[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(verdict("jpg", &tiny_jpeg()), Ok(()));
    }

    #[test]
    fn a_jpeg_without_a_frame_header_or_with_text_inside_is_refused() {
        assert_eq!(
            verdict("jpg", &[0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xD9]),
            Err(NotWhole::Damaged("it has no frame header"))
        );
        assert_eq!(
            verdict("jpg", b"\xFF\xD8\xFFthis is text"),
            Err(NotWhole::Truncated)
        );
        assert_eq!(verdict("jpg", b"hello"), Err(NotWhole::WrongFormat));
        assert_eq!(
            verdict("jpg", &[0xFF, 0xD8, 0xFF]),
            Err(NotWhole::Truncated)
        );
    }

    fn tiff_raw(len: usize, entries: u16) -> Vec<u8> {
        let mut bytes = b"II*\0\x08\0\0\0".to_vec();
        bytes.extend_from_slice(&entries.to_le_bytes());
        bytes.resize(len, 0x5A);
        bytes
    }

    #[test]
    fn a_raw_needs_its_first_directory_inside_the_file_and_a_sensors_size() {
        assert_eq!(
            verdict("nef", &tiff_raw(MIN_RAW_BYTES as usize, 12)),
            Ok(())
        );
        assert_eq!(verdict("dng", &tiff_raw(300, 12)), Err(NotWhole::TooSmall));
        assert!(verdict("dng", &tiff_raw(MIN_RAW_BYTES as usize, 0)).is_err());
        let mut far = tiff_raw(MIN_RAW_BYTES as usize, 12);
        far[4..8].copy_from_slice(&(10_000_000u32).to_le_bytes());
        assert!(verdict("cr2", &far).is_err());
        assert_eq!(verdict("arw", b"II*"), Err(NotWhole::WrongFormat));
    }

    #[test]
    fn other_raw_containers_are_checked_by_their_own_headers() {
        let mut cr3 = b"\0\0\0\x18ftypcrx \0\0\0\x01crx isom".to_vec();
        cr3.extend_from_slice(&(1000u32).to_be_bytes());
        cr3.extend_from_slice(b"moov");
        cr3.resize(MIN_RAW_BYTES as usize, 1);
        assert_eq!(verdict("cr3", &cr3), Ok(()));
        let mut cut = cr3.clone();
        cut[24..28].copy_from_slice(&(10_000_000u32).to_be_bytes());
        assert_eq!(verdict("cr3", &cut), Err(NotWhole::Truncated));

        let mut raf = b"FUJIFILMCCD-RAW 0201".to_vec();
        raf.resize(104, 0);
        raf[84..88].copy_from_slice(&200u32.to_be_bytes());
        raf[88..92].copy_from_slice(&1000u32.to_be_bytes());
        raf[100..104].copy_from_slice(&5000u32.to_be_bytes());
        raf.resize(MIN_RAW_BYTES as usize, 2);
        assert_eq!(verdict("raf", &raf), Ok(()));
        raf.truncate(4000);
        assert!(verdict("raf", &raf).is_err());
    }

    #[test]
    fn every_stand_in_is_whole() {
        for ext in crate::shoot::RAW_EXTENSIONS
            .iter()
            .chain(crate::shoot::JPEG_EXTENSIONS)
        {
            for len in [0, 10, 5000] {
                assert_eq!(
                    verdict(ext, &stand_in(ext, len, 0xFF)),
                    Ok(()),
                    "{ext} at {len}"
                );
            }
        }
    }

    #[test]
    fn a_refusal_says_what_to_do() {
        let words = refusal("jpg", &NotWhole::Truncated);
        assert!(words.contains("copy it again"), "{words}");
        assert!(refusal("nef", &NotWhole::TooSmall).contains("NEF RAW"));
    }
}
