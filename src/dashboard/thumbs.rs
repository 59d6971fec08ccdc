//! Before/after thumbnails, made locally from the photo in the inbox and the edited one
//! in the outbox. A RAW shows the largest JPEG preview the camera embedded in it, or a
//! plain placeholder when there is none. Thumbnails are cached in the data folder,
//! keyed by the source's path, size and time, so a changed photo gets a new one.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Longest edge of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 480;

/// A JPEG thumbnail of `source` (made once, then read from `cache_dir`).
pub fn thumbnail(source: &Path, cache_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let metadata = std::fs::metadata(source)?;
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut key = Sha256::new();
    key.update(source.to_string_lossy().as_bytes());
    key.update(metadata.len().to_le_bytes());
    key.update(modified.to_le_bytes());
    key.update(THUMB_EDGE.to_le_bytes());
    let cached: PathBuf = cache_dir.join(format!("{}.jpg", hex::encode(key.finalize())));
    if let Ok(bytes) = std::fs::read(&cached) {
        return Ok(bytes);
    }
    let image = match decode(source) {
        Some(image) => image.thumbnail(THUMB_EDGE, THUMB_EDGE),
        None => placeholder(),
    };
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 82)
        .encode_image(&image.to_rgb8())?;
    std::fs::create_dir_all(cache_dir)?;
    crate::atomic_file::write_bytes(&cached, &bytes)?;
    Ok(bytes)
}

fn decode(source: &Path) -> Option<image::DynamicImage> {
    let bytes = std::fs::read(source).ok()?;
    if let Ok(image) = image::load_from_memory(&bytes) {
        return Some(image);
    }
    embedded_preview(&bytes)
}

/// The largest JPEG embedded in a RAW file (most cameras store a full-size preview).
fn embedded_preview(bytes: &[u8]) -> Option<image::DynamicImage> {
    const SOI: [u8; 3] = [0xFF, 0xD8, 0xFF];
    let mut best: Option<image::DynamicImage> = None;
    let starts = bytes
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == SOI)
        .map(|(at, _)| at)
        .take(16);
    for start in starts {
        let Ok(image) =
            image::load_from_memory_with_format(&bytes[start..], image::ImageFormat::Jpeg)
        else {
            continue;
        };
        let area = |i: &image::DynamicImage| u64::from(i.width()) * u64::from(i.height());
        if best.as_ref().is_none_or(|b| area(&image) > area(b)) {
            best = Some(image);
        }
    }
    best
}

/// A calm grey tile for photos without a preview.
fn placeholder() -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        THUMB_EDGE,
        THUMB_EDGE * 2 / 3,
        image::Rgb([0xd8, 0xd8, 0xdd]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut bytes)
            .encode_image(&image::RgbImage::from_pixel(
                width,
                height,
                image::Rgb([200, 90, 40]),
            ))
            .unwrap();
        bytes
    }

    #[test]
    fn a_raw_shows_its_largest_embedded_preview() {
        let mut raw = b"IIRO\x08\x00\x00\x00fake raw header".to_vec();
        raw.extend(jpeg(160, 120));
        raw.extend([0u8; 64]);
        raw.extend(jpeg(640, 480));
        raw.extend(b"sensor data");
        let preview = embedded_preview(&raw).unwrap();
        assert_eq!((preview.width(), preview.height()), (640, 480));
        assert!(embedded_preview(b"no preview in here").is_none());
    }

    #[test]
    fn thumbnails_are_small_jpegs_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("photo.jpg");
        std::fs::write(&source, jpeg(1600, 1000)).unwrap();
        let cache = dir.path().join("cache");
        let first = thumbnail(&source, &cache).unwrap();
        let decoded = image::load_from_memory(&first).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (480, 300));
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
        assert_eq!(thumbnail(&source, &cache).unwrap(), first);

        let raw = dir.path().join("photo.cr2");
        std::fs::write(&raw, b"no preview").unwrap();
        let tile = image::load_from_memory(&thumbnail(&raw, &cache).unwrap()).unwrap();
        assert_eq!(tile.width(), THUMB_EDGE);
    }
}
