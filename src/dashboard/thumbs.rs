//! Before/after thumbnails, made locally from the photo in the inbox and the edited one
//! in the outbox. A RAW shows the largest JPEG preview the camera embedded in it, or a
//! plain placeholder when there is none. Thumbnails are cached in the data folder,
//! keyed by the source's path, size and time, so a changed photo gets a new one.
//!
//! Memory stays bounded however large the photos and however many the page asks for:
//! a JPEG is decoded at a reduced scale (its DCT scaled to 1/2, 1/4 or 1/8, the
//! smallest still at least a thumbnail's size), streamed from the file, and only a few
//! thumbnails are made at a time.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// Longest edge of a thumbnail, in pixels.
pub(super) const THUMB_EDGE: u32 = 480;
/// Longest edge of a photo in the larger view (enough to judge a sky or a wall).
pub(super) const VIEW_EDGE: u32 = 2048;
/// Thumbnails made at once; more requests wait their turn.
const AT_ONCE: usize = 2;
static TURNS: Semaphore = Semaphore::const_new(AT_ONCE);

/// [`thumbnail`] off the async workers, a few at a time.
pub(super) async fn thumbnail_in_turn(
    source: PathBuf,
    cache_dir: PathBuf,
    edge: u32,
) -> anyhow::Result<Vec<u8>> {
    let _turn = TURNS.acquire().await?;
    tokio::task::spawn_blocking(move || thumbnail(&source, &cache_dir, edge)).await?
}

/// A JPEG of `source` at most `edge` pixels long (made once, then read from
/// `cache_dir`).
pub(super) fn thumbnail(source: &Path, cache_dir: &Path, edge: u32) -> anyhow::Result<Vec<u8>> {
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
    key.update(edge.to_le_bytes());
    let cached: PathBuf = cache_dir.join(format!("{}.jpg", hex::encode(key.finalize())));
    if let Ok(bytes) = std::fs::read(&cached) {
        return Ok(bytes);
    }
    let image = match decode(source, edge) {
        Some(image) => image.thumbnail(edge, edge),
        None => placeholder(edge),
    };
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 82)
        .encode_image(&image.to_rgb8())?;
    std::fs::create_dir_all(cache_dir)?;
    crate::files::atomic_file::write_bytes(&cached, &bytes)?;
    Ok(bytes)
}

const SOI: [u8; 3] = [0xFF, 0xD8, 0xFF];

fn decode(source: &Path, edge: u32) -> Option<image::DynamicImage> {
    let mut file = BufReader::new(std::fs::File::open(source).ok()?);
    let mut head = [0u8; 3];
    file.read_exact(&mut head).ok()?;
    if head == SOI {
        let file = BufReader::new(std::fs::File::open(source).ok()?);
        return decode_scaled(file, edge);
    }
    // A RAW: its previews are somewhere inside.
    let bytes = std::fs::read(source).ok()?;
    embedded_preview(&bytes, edge)
}

/// Decodes a JPEG at the smallest scale still at least `edge` long.
fn decode_scaled(reader: impl Read, edge: u32) -> Option<image::DynamicImage> {
    let mut decoder = jpeg_decoder::Decoder::new(reader);
    let edge = edge.min(u32::from(u16::MAX)) as u16;
    decoder.scale(edge, edge).ok()?;
    let pixels = decoder.decode().ok()?;
    let info = decoder.info()?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            image::RgbImage::from_raw(width, height, pixels).map(image::DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L8 => {
            image::GrayImage::from_raw(width, height, pixels).map(image::DynamicImage::ImageLuma8)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            let rgb = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    [0, 1, 2].map(|i| (u16::from(p[i]) * k / 255) as u8)
                })
                .collect();
            image::RgbImage::from_raw(width, height, rgb).map(image::DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L16 => None,
    }
}

/// The largest JPEG embedded in a RAW file (most cameras store a full-size preview),
/// chosen by its header and decoded at a thumbnail's scale.
fn embedded_preview(bytes: &[u8], edge: u32) -> Option<image::DynamicImage> {
    let starts = bytes
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == SOI)
        .map(|(at, _)| at)
        .take(16);
    let area_of = |start: usize| {
        let mut decoder = jpeg_decoder::Decoder::new(&bytes[start..]);
        decoder.read_info().ok()?;
        let info = decoder.info()?;
        Some(u64::from(info.width) * u64::from(info.height))
    };
    let largest = starts
        .filter_map(|start| Some((area_of(start)?, start)))
        .max_by_key(|(area, start)| (*area, std::cmp::Reverse(*start)))?;
    decode_scaled(&bytes[largest.1..], edge)
}

/// A calm grey tile for photos without a preview.
fn placeholder(edge: u32) -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        edge,
        edge * 2 / 3,
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
        let preview = embedded_preview(&raw, THUMB_EDGE).unwrap();
        assert_eq!(
            (preview.width(), preview.height()),
            (640, 480),
            "the large one, as it is"
        );
        assert!(embedded_preview(b"no preview in here", THUMB_EDGE).is_none());
    }

    #[test]
    fn thumbnails_are_small_jpegs_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("photo.jpg");
        std::fs::write(&source, jpeg(1600, 1000)).unwrap();
        let cache = dir.path().join("cache");
        let first = thumbnail(&source, &cache, THUMB_EDGE).unwrap();
        let decoded = image::load_from_memory(&first).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (480, 300));
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
        assert_eq!(thumbnail(&source, &cache, THUMB_EDGE).unwrap(), first);

        let raw = dir.path().join("photo.cr2");
        std::fs::write(&raw, b"no preview").unwrap();
        let tile = image::load_from_memory(&thumbnail(&raw, &cache, THUMB_EDGE).unwrap()).unwrap();
        assert_eq!(tile.width(), THUMB_EDGE);
    }

    #[test]
    fn a_huge_jpeg_is_decoded_at_a_reduced_scale() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("big.jpg");
        std::fs::write(&source, jpeg(4000, 2400)).unwrap();
        let image = decode(&source, THUMB_EDGE).unwrap();
        // 1/8 of 4000 would be 500, still at least 480: the decoder's smallest fit.
        assert_eq!((image.width(), image.height()), (500, 300));
    }
}
