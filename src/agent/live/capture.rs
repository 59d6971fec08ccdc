//! When a photo was taken, from its EXIF: DateTimeOriginal with SubSecTimeOriginal, in
//! a JPEG's APP1 segment or a TIFF-based RAW's own directories (NEF, CR2, ARW, DNG,
//! ORF, RW2, PEF...). Frames of one bracket are shot within a second or two of each
//! other, so these times (not the arrival order) say which frames belong together.
//!
//! Only the head of the file is read, so a photo still being written can already be
//! placed: the headers come first.

use std::io;

use crate::agent::whole::ReadAt;

/// How far into a file the EXIF is looked for.
const HEAD: usize = 256 * 1024;
const TAG_EXIF_IFD: u16 = 0x8769;
const TAG_DATE_TIME_ORIGINAL: u16 = 0x9003;
const TAG_SUB_SEC_TIME_ORIGINAL: u16 = 0x9291;

/// What a photo's head says of its capture time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// Milliseconds on the camera's clock (its local time, read as if UTC: only the
    /// differences between photos matter).
    At(i64),
    /// The photo carries no capture time that can be read (another format, no EXIF).
    None,
    /// The file stops before its headers do: still being written.
    NotYet,
}

/// Reads the capture time of a photo of lower-case extension `ext` from `source`,
/// `size` bytes long now.
pub fn read(ext: &str, source: &(impl ReadAt + ?Sized), size: u64) -> io::Result<Capture> {
    let mut head = vec![0u8; HEAD.min(size as usize)];
    let got = source.read_at_most(&mut head, 0)?;
    head.truncate(got);
    let cut_short = (got as u64) < size.min(HEAD as u64);
    let found = match ext {
        "jpg" | "jpeg" => in_jpeg(&head),
        "cr3" | "crw" | "raf" => Some(Capture::None),
        _ => in_tiff(&head, 0),
    };
    Ok(match found {
        Some(capture) => capture,
        // The head ran out: a file smaller than the head is still being written
        // (or damaged, which the wholeness check then says); a bigger one just has its
        // EXIF elsewhere.
        None if cut_short || (head.len() as u64) < HEAD as u64 => Capture::NotYet,
        None => Capture::None,
    })
}

/// `None` when the data stops before the answer.
fn in_jpeg(data: &[u8]) -> Option<Capture> {
    if data.len() < 2 {
        return None;
    }
    if data[..2] != [0xFF, 0xD8] {
        return Some(Capture::None);
    }
    let mut at = 2;
    loop {
        let marker = *data.get(at + 1)?;
        if data[at] != 0xFF {
            return Some(Capture::None);
        }
        if marker == 0xFF {
            at += 1;
            continue;
        }
        // Start of scan, or a frame without headers: no EXIF before the picture.
        if marker == 0xDA || marker == 0xD9 {
            return Some(Capture::None);
        }
        let len = u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]) as usize;
        let body = at + 4;
        if marker == 0xE1 && len >= 8 {
            let segment = data.get(body..at + 2 + len)?;
            if let Some(tiff) = segment.strip_prefix(b"Exif\0\0") {
                return Some(in_tiff(tiff, 0).unwrap_or(Capture::None));
            }
        }
        at += 2 + len;
    }
}

/// A TIFF structure's byte order.
#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u16(self, data: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = data.get(at..at + 2)?.try_into().ok()?;
        Some(match self {
            Order::Little => u16::from_le_bytes(b),
            Order::Big => u16::from_be_bytes(b),
        })
    }

    fn u32(self, data: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(match self {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        })
    }
}

/// The capture time in the TIFF structure starting at `base`; `None` when the data
/// stops before it could be read.
fn in_tiff(data: &[u8], base: usize) -> Option<Capture> {
    let magic = data.get(base..base + 4)?;
    let order = match magic {
        // TIFF, ORF's "IIRO"/"IIRS", RW2's "IIU".
        [b'I', b'I', _, _] => Order::Little,
        [b'M', b'M', _, _] => Order::Big,
        _ => return Some(Capture::None),
    };
    let ifd0 = base + order.u32(data, base + 4)? as usize;
    let exif = match entry(data, base, ifd0, order, TAG_EXIF_IFD)? {
        Some((_, _, value_at)) => base + order.u32(data, value_at)? as usize,
        None => return Some(Capture::None),
    };
    let Some(date) = ascii(data, base, exif, order, TAG_DATE_TIME_ORIGINAL)? else {
        return Some(Capture::None);
    };
    let sub_second = ascii(data, base, exif, order, TAG_SUB_SEC_TIME_ORIGINAL)?;
    Some(match parse_time(&date, sub_second.as_deref()) {
        Some(ms) => Capture::At(ms),
        None => Capture::None,
    })
}

/// The entry with `tag` in the directory at `ifd`: (type, count, where its value or its
/// offset sits). `Some(None)` when the directory has no such tag.
fn entry(
    data: &[u8],
    _base: usize,
    ifd: usize,
    order: Order,
    tag: u16,
) -> Option<Option<(u16, u32, usize)>> {
    let count = order.u16(data, ifd)? as usize;
    if count > 4096 {
        return Some(None);
    }
    for index in 0..count {
        let at = ifd + 2 + index * 12;
        if order.u16(data, at)? == tag {
            return Some(Some((
                order.u16(data, at + 2)?,
                order.u32(data, at + 4)?,
                at + 8,
            )));
        }
    }
    Some(None)
}

/// An ASCII value of the directory at `ifd`, without its trailing NULs and spaces.
fn ascii(data: &[u8], base: usize, ifd: usize, order: Order, tag: u16) -> Option<Option<String>> {
    let Some((kind, count, value_at)) = entry(data, base, ifd, order, tag)? else {
        return Some(None);
    };
    const ASCII: u16 = 2;
    if kind != ASCII || count > 64 {
        return Some(None);
    }
    let start = match count {
        0..=4 => value_at,
        _ => base + order.u32(data, value_at)? as usize,
    };
    let bytes = data.get(start..start + count as usize)?;
    let text = String::from_utf8_lossy(bytes);
    Some(Some(text.trim_end_matches(['\0', ' ']).to_owned()))
}

/// "2026:06:14 17:03:22" with sub-seconds "45" → milliseconds as if the time were UTC.
fn parse_time(date: &str, sub_second: Option<&str>) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| date.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000;
    if let Some(fraction) = sub_second {
        let digits: String = fraction
            .chars()
            .take_while(char::is_ascii_digit)
            .chain("000".chars())
            .take(3)
            .collect();
        ms += digits.parse::<i64>().unwrap_or(0);
    }
    Some(ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// An APP1 EXIF segment holding a capture time ("2026:06:14 17:03:22", sub-seconds
/// "45"), put into `jpeg` after its start marker: for tests and benchmarks that need
/// photos shot at known moments.
pub fn with_capture_time(jpeg: &[u8], date: &str, sub_second: &str) -> Vec<u8> {
    let text = |value: &str| {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        bytes
    };
    let (date, sub) = (text(date), text(sub_second));
    // Little-endian TIFF: header, IFD0 with the EXIF pointer, the EXIF IFD, then values.
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let exif_ifd = 8 + 2 + 12 + 4;
    tiff.extend_from_slice(&1u16.to_le_bytes());
    let put_entry = |tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    };
    put_entry(&mut tiff, TAG_EXIF_IFD, 4, 1, exif_ifd as u32);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let values = exif_ifd + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&2u16.to_le_bytes());
    put_entry(
        &mut tiff,
        TAG_DATE_TIME_ORIGINAL,
        2,
        date.len() as u32,
        values as u32,
    );
    // A value of four bytes or fewer sits in the entry itself.
    let (sub_value, sub_after) = match sub.len() {
        0..=4 => {
            let mut inline = [0u8; 4];
            inline[..sub.len()].copy_from_slice(&sub);
            (u32::from_le_bytes(inline), Vec::new())
        }
        _ => ((values + date.len()) as u32, sub.clone()),
    };
    put_entry(
        &mut tiff,
        TAG_SUB_SEC_TIME_ORIGINAL,
        2,
        sub.len() as u32,
        sub_value,
    );
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&date);
    tiff.extend_from_slice(&sub_after);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::whole;

    #[test]
    fn a_jpeg_says_when_it_was_taken_to_the_hundredth_of_a_second() {
        let plain = whole::stand_in("jpg", 4096, 7);
        let shot = with_capture_time(&plain, "2026:06:14 17:03:22", "45");
        let later = with_capture_time(&plain, "2026:06:14 17:03:23", "05");
        let (Capture::At(a), Capture::At(b)) = (
            read("jpg", shot.as_slice(), shot.len() as u64).unwrap(),
            read("jpg", later.as_slice(), later.len() as u64).unwrap(),
        ) else {
            panic!("no capture time read");
        };
        assert_eq!(b - a, 600);
        assert_eq!(
            whole::check("jpg", shot.as_slice(), shot.len() as u64).unwrap(),
            Ok(()),
            "the EXIF keeps the photo whole"
        );
        assert_eq!(
            read("jpg", plain.as_slice(), plain.len() as u64).unwrap(),
            Capture::None
        );
    }

    #[test]
    fn a_photo_cut_before_its_headers_is_not_placed_yet() {
        let shot = with_capture_time(&whole::stand_in("jpg", 4096, 7), "2026:06:14 17:03:22", "");
        assert_eq!(read("jpg", &shot[..20], 20).unwrap(), Capture::NotYet);
        assert_eq!(read("jpg", &shot[..1], 1).unwrap(), Capture::NotYet);
    }

    #[test]
    fn a_tiff_raw_without_exif_has_no_capture_time() {
        let raw = whole::stand_in("nef", 70_000, 3);
        assert_eq!(
            read("nef", raw.as_slice(), raw.len() as u64).unwrap(),
            Capture::None
        );
    }

    #[test]
    fn dates_count_days_across_months_and_leap_years() {
        let a = parse_time("2024:02:28 23:59:59", None).unwrap();
        let b = parse_time("2024:03:01 00:00:00", Some("5")).unwrap();
        assert_eq!(b - a, 24 * 3600 * 1000 + 1000 + 500);
        assert_eq!(parse_time("1970:01:01 00:00:00", None), Some(0));
        assert_eq!(parse_time("0000:00:00 00:00:00", None), None);
    }
}
