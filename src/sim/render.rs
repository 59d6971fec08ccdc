//! The simulated model's output: real JPEGs made from the inputs. JPEGs are decoded and
//! visibly edited (tone lift and warmth; a bluer sky with sky replacement); with
//! hdr_merge, brackets of consecutive files merge into one output capped in size. An
//! input that cannot be decoded (RAW) gets a rendered placeholder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::{ImageReader, Rgb, RgbImage, imageops};

use super::state::StoredFile;
use crate::api::EditOptions;

pub(crate) struct RenderSettings {
    pub bracket_size: usize,
    pub hdr_long_edge: u32,
    /// No cap on HDR merges: every output has its input's pixel size.
    pub full_size: bool,
}

const PLACEHOLDER_SIZE: (u32, u32) = (640, 427);

/// Renders every output of a project into `out_dir`, keyed by output name. An output is
/// named after the first input of its group: a JPEG keeps its name, others end in `.jpg`.
pub(crate) fn render_project(
    inputs: &[(String, PathBuf)],
    options: &EditOptions,
    settings: &RenderSettings,
    out_dir: &Path,
) -> BTreeMap<String, StoredFile> {
    let _ = std::fs::create_dir_all(out_dir);
    let group_size = if options.hdr_merge {
        settings.bracket_size.max(1)
    } else {
        1
    };
    let mut outputs = BTreeMap::new();
    for (index, group) in inputs.chunks(group_size).enumerate() {
        let mut image = merge(group);
        if options.hdr_merge && !settings.full_size {
            image = cap_long_edge(image, settings.hdr_long_edge);
        }
        edit(&mut image, options);
        let name = unique_name(output_name(&group[0].0), &outputs);
        let path = out_dir.join(format!("{index}.jpg"));
        let saved = image::save_buffer_with_format(
            &path,
            &image,
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
            image::ImageFormat::Jpeg,
        );
        match saved.and_then(|()| Ok(std::fs::metadata(&path)?.len())) {
            Ok(size) => {
                outputs.insert(name, StoredFile { path, size });
            }
            Err(error) => tracing::error!(%error, "simulator could not write an output"),
        }
    }
    outputs
}

fn output_name(input: &str) -> String {
    let lower = input.to_ascii_lowercase();
    if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        return input.to_owned();
    }
    let stem = input.rsplit_once('.').map_or(input, |(stem, _)| stem);
    format!("{stem}.jpg")
}

fn unique_name(name: String, taken: &BTreeMap<String, StoredFile>) -> String {
    if !taken.contains_key(&name) {
        return name;
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, "jpg"));
    (2..)
        .map(|n| format!("{stem}-{n}.{ext}"))
        .find(|candidate| !taken.contains_key(candidate))
        .expect("some suffix is free")
}

/// Decodes a bracket and averages it into one frame (a single file is its own bracket).
fn merge(group: &[(String, PathBuf)]) -> RgbImage {
    let frames: Vec<RgbImage> = group
        .iter()
        .map(|(name, path)| decode(path).unwrap_or_else(|| placeholder(name)))
        .collect();
    let (width, height) = frames[0].dimensions();
    if frames.len() == 1 {
        return frames.into_iter().next().expect("one frame");
    }
    let resized: Vec<RgbImage> = frames
        .into_iter()
        .map(|f| {
            if f.dimensions() == (width, height) {
                f
            } else {
                imageops::resize(&f, width, height, imageops::FilterType::Triangle)
            }
        })
        .collect();
    RgbImage::from_fn(width, height, |x, y| {
        let mut sum = [0u32; 3];
        for frame in &resized {
            let pixel = frame.get_pixel(x, y);
            for (total, channel) in sum.iter_mut().zip(pixel.0) {
                *total += u32::from(channel);
            }
        }
        Rgb(sum.map(|total| (total / resized.len() as u32) as u8))
    })
}

fn decode(path: &Path) -> Option<RgbImage> {
    let reader = ImageReader::open(path).ok()?.with_guessed_format().ok()?;
    if reader.format() != Some(image::ImageFormat::Jpeg) {
        return None;
    }
    reader.decode().ok().map(|image| image.into_rgb8())
}

/// A recognisable stand-in for an input the simulator cannot decode (RAW formats).
fn placeholder(name: &str) -> RgbImage {
    let seed = name
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let (width, height) = PLACEHOLDER_SIZE;
    RgbImage::from_fn(width, height, |x, y| {
        let stripe = ((x / 40 + y / 40) % 2) as u8 * 24;
        Rgb([
            (seed % 96) as u8 + 64 + stripe,
            ((x * 160) / width) as u8 + 48,
            ((y * 160) / height) as u8 + 48,
        ])
    })
}

fn cap_long_edge(image: RgbImage, long_edge: u32) -> RgbImage {
    let (width, height) = image.dimensions();
    let longest = width.max(height);
    if longest <= long_edge {
        return image;
    }
    let scale = f64::from(long_edge) / f64::from(longest);
    let new_width = ((f64::from(width) * scale).round() as u32).max(1);
    let new_height = ((f64::from(height) * scale).round() as u32).max(1);
    imageops::resize(
        &image,
        new_width,
        new_height,
        imageops::FilterType::Triangle,
    )
}

/// The "AI edit": lifted shadows and a warm tone everywhere; with sky replacement, the
/// bright, washed-out pixels of the upper part become a clear blue gradient sky.
fn edit(image: &mut RgbImage, options: &EditOptions) {
    let height = image.height().max(1);
    for (_, y, pixel) in image.enumerate_pixels_mut() {
        let [r, g, b] = pixel.0;
        if options.sky_replacement && is_blown_out_sky(pixel.0) {
            let t = y as f32 / height as f32;
            pixel.0 = [
                (70.0 + 90.0 * t) as u8,
                (130.0 + 70.0 * t) as u8,
                (225.0 + 20.0 * t) as u8,
            ];
            continue;
        }
        let [r, g, b] = [r, g, b].map(lift);
        pixel.0 = [
            r.saturating_add(12),
            g.saturating_add(4),
            b.saturating_sub(8),
        ];
    }
}

/// Bright and nearly grey: what an overexposed sky looks like.
fn is_blown_out_sky([r, g, b]: [u8; 3]) -> bool {
    let brightest = r.max(g).max(b);
    let darkest = r.min(g).min(b);
    u32::from(r) + u32::from(g) + u32::from(b) > 3 * 150 && brightest - darkest < 30
}

/// A gentle tone curve: shadows up, highlights kept.
fn lift(channel: u8) -> u8 {
    let x = f32::from(channel) / 255.0;
    let lifted = x + 0.25 * x * (1.0 - x);
    (lifted.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_keep_jpeg_names_and_give_raw_a_jpg_extension() {
        assert_eq!(output_name("DSC_0001.JPEG"), "DSC_0001.JPEG");
        assert_eq!(output_name("DSC_0002.NEF"), "DSC_0002.jpg");
        assert_eq!(output_name("noext"), "noext.jpg");
    }

    #[test]
    fn hdr_brackets_merge_into_one_capped_output_and_raw_gets_a_placeholder() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Vec::new();
        for n in 0..3 {
            let path = dir.path().join(format!("b{n}.jpg"));
            RgbImage::from_pixel(3000, 2000, Rgb([40 * n as u8, 80, 120]))
                .save(&path)
                .unwrap();
            inputs.push((format!("IMG_{n}.jpg"), path));
        }
        let raw = dir.path().join("raw.bin");
        std::fs::write(&raw, b"not an image").unwrap();
        inputs.push(("IMG_9.CR3".to_owned(), raw));
        let options = EditOptions {
            hdr_merge: true,
            ..EditOptions::default()
        };
        let mut settings = RenderSettings {
            bracket_size: 3,
            hdr_long_edge: 1024,
            full_size: false,
        };
        settings.full_size = true;
        let full = render_project(&inputs[..3], &options, &settings, &dir.path().join("full"));
        let merged = image::open(&full["IMG_0.jpg"].path).unwrap();
        assert_eq!(
            (merged.width(), merged.height()),
            (3000, 2000),
            "full-size mode"
        );
        settings.full_size = false;
        let outputs = render_project(&inputs, &options, &settings, &dir.path().join("out"));
        let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
        assert_eq!(names, ["IMG_0.jpg", "IMG_9.jpg"]);
        let merged = image::open(&outputs["IMG_0.jpg"].path).unwrap();
        assert_eq!((merged.width(), merged.height()), (1024, 683));
        let placeholder = image::open(&outputs["IMG_9.jpg"].path).unwrap();
        assert_eq!(
            (placeholder.width(), placeholder.height()),
            PLACEHOLDER_SIZE
        );
    }
}
