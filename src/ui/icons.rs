//! The icons, drawn in code: a coloured disc with a white sign (a tick when idle, an
//! up or down arrow while uploading or downloading, three dots while Imagen edits, two
//! bars when paused, a struck-out ring when offline, "!" on error) inside a dark rim,
//! so it reads on light and dark panels alike. Shapes are sampled 4×4 per pixel, which keeps
//! them crisp from 16 px up. `assets/` holds PNGs of these same pixels for packaging.

use crate::ui::glance::IconKind;

/// Tray icon sizes worth shipping as files (the app draws any size itself).
pub const TRAY_SIZES: [u32; 4] = [16, 22, 32, 48];
/// Application icon sizes (menus, installers).
pub const APP_SIZES: [u32; 4] = [32, 48, 128, 256];

const SUPERSAMPLE: u32 = 4;
const RIM: [f32; 4] = [0.11, 0.12, 0.14, 0.92];
const WHITE: [f32; 4] = [1.0, 1.0, 1.0, 1.0];

fn fill(kind: IconKind) -> [f32; 4] {
    let [r, g, b] = match kind {
        IconKind::Idle => [0x1f, 0x9e, 0x89],
        IconKind::Uploading | IconKind::Downloading => [0x2b, 0x7b, 0xe4],
        IconKind::Editing => [0x6e, 0x4f, 0xc9],
        IconKind::Paused => [0xd9, 0x8e, 0x04],
        IconKind::Offline => [0x7c, 0x7c, 0x82],
        IconKind::Error => [0xd6, 0x36, 0x2f],
    };
    [r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0, 1.0]
}

/// RGBA pixels, row by row, `size`×`size`.
pub fn draw(kind: IconKind, size: u32) -> Vec<u8> {
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    let step = 1.0 / (size * SUPERSAMPLE) as f32;
    for y in 0..size {
        for x in 0..size {
            // Averaged in premultiplied form so edges blend to transparent cleanly.
            let mut sum = [0.0f32; 4];
            for sy in 0..SUPERSAMPLE {
                for sx in 0..SUPERSAMPLE {
                    let u = (x * SUPERSAMPLE + sx) as f32 * step + step / 2.0;
                    let v = (y * SUPERSAMPLE + sy) as f32 * step + step / 2.0;
                    let [r, g, b, a] = sample(kind, u, v);
                    sum[0] += r * a;
                    sum[1] += g * a;
                    sum[2] += b * a;
                    sum[3] += a;
                }
            }
            let alpha = sum[3];
            let channel = |c: f32| match alpha > 0.0 {
                true => ((c / alpha) * 255.0).round().clamp(0.0, 255.0) as u8,
                false => 0,
            };
            pixels.extend_from_slice(&[
                channel(sum[0]),
                channel(sum[1]),
                channel(sum[2]),
                ((alpha / (SUPERSAMPLE * SUPERSAMPLE) as f32) * 255.0).round() as u8,
            ]);
        }
    }
    pixels
}

/// The colour at a point of the unit square.
fn sample(kind: IconKind, u: f32, v: f32) -> [f32; 4] {
    let from_centre = distance((u, v), (0.5, 0.5));
    if from_centre > 0.49 {
        [0.0; 4]
    } else if from_centre > 0.42 {
        RIM
    } else if in_sign(kind, u, v) {
        WHITE
    } else {
        fill(kind)
    }
}

fn in_sign(kind: IconKind, u: f32, v: f32) -> bool {
    let p = (u, v);
    match kind {
        IconKind::Idle => {
            near_segment(p, (0.29, 0.52), (0.44, 0.67), 0.065)
                || near_segment(p, (0.44, 0.67), (0.71, 0.36), 0.065)
        }
        IconKind::Uploading => {
            near_segment(p, (0.5, 0.72), (0.5, 0.42), 0.065)
                || in_triangle(p, (0.29, 0.5), (0.71, 0.5), (0.5, 0.25))
        }
        IconKind::Downloading => {
            near_segment(p, (0.5, 0.28), (0.5, 0.58), 0.065)
                || in_triangle(p, (0.29, 0.5), (0.71, 0.5), (0.5, 0.75))
        }
        IconKind::Editing => [0.3, 0.5, 0.7]
            .iter()
            .any(|&x| distance(p, (x, 0.5)) < 0.075),
        IconKind::Offline => {
            let ring = distance(p, (0.5, 0.5));
            (0.17..0.24).contains(&ring) || near_segment(p, (0.31, 0.69), (0.69, 0.31), 0.05)
        }
        IconKind::Paused => {
            let bar = |left: f32| (left..left + 0.11).contains(&u) && (0.29..0.71).contains(&v);
            bar(0.335) || bar(0.555)
        }
        IconKind::Error => {
            near_segment(p, (0.5, 0.27), (0.5, 0.5), 0.075) || distance(p, (0.5, 0.71)) < 0.08
        }
    }
}

fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

fn near_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32), half_width: f32) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    distance(p, (a.0 + t * dx, a.1 + t * dy)) <= half_width
}

fn in_triangle(p: (f32, f32), a: (f32, f32), b: (f32, f32), c: (f32, f32)) -> bool {
    let side = |p1: (f32, f32), p2: (f32, f32)| {
        (p.0 - p2.0) * (p1.1 - p2.1) - (p1.0 - p2.0) * (p.1 - p2.1)
    };
    let (d1, d2, d3) = (side(a, b), side(b, c), side(c, a));
    let negative = d1 < 0.0 || d2 < 0.0 || d3 < 0.0;
    let positive = d1 > 0.0 || d2 > 0.0 || d3 > 0.0;
    !(negative && positive)
}

/// A PNG of the icon (what `assets/` holds).
pub fn png(kind: IconKind, size: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut bytes);
    image::ImageEncoder::write_image(
        encoder,
        &draw(kind, size),
        size,
        size,
        image::ExtendedColorType::Rgba8,
    )
    .expect("encoding to memory cannot fail");
    bytes
}

/// A Windows .ico of the application icon, with its common sizes.
pub fn ico() -> Vec<u8> {
    use image::codecs::ico::{IcoEncoder, IcoFrame};
    let frames: Vec<IcoFrame> = [16, 32, 48, 256]
        .into_iter()
        .map(|size| {
            IcoFrame::as_png(
                &draw(IconKind::Idle, size),
                size,
                size,
                image::ExtendedColorType::Rgba8,
            )
            .expect("encoding to memory cannot fail")
        })
        .collect();
    let mut bytes = Vec::new();
    IcoEncoder::new(&mut bytes)
        .encode_images(&frames)
        .expect("encoding to memory cannot fail");
    bytes
}

/// The file name of a tray icon in `assets/icons/`.
pub fn tray_file_name(kind: IconKind, size: u32) -> String {
    format!("tray-{}-{size}.png", kind.name())
}

/// The file name of the application icon (the idle face) in `assets/icons/`.
pub fn app_file_name(size: u32) -> String {
    format!("imagen-sync-{size}.png")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(pixels: &[u8], size: u32, x: u32, y: u32) -> [u8; 4] {
        let at = ((y * size + x) * 4) as usize;
        pixels[at..at + 4].try_into().unwrap()
    }

    #[test]
    fn every_face_is_a_rimmed_disc_with_a_white_sign_and_clear_corners() {
        for kind in IconKind::ALL {
            for size in TRAY_SIZES {
                let pixels = draw(kind, size);
                assert_eq!(pixels.len(), (size * size * 4) as usize);
                assert_eq!(pixel(&pixels, size, 0, 0)[3], 0, "{kind:?} corner");
                let white = pixels
                    .chunks(4)
                    .filter(|p| p == &[255, 255, 255, 255])
                    .count();
                let coloured = pixels
                    .chunks(4)
                    .filter(|p| p[3] == 255 && p[..3] == fill_bytes(kind))
                    .count();
                let dark = pixels
                    .chunks(4)
                    .filter(|p| p[3] > 200 && p[..3].iter().all(|&c| c < 50))
                    .count();
                assert!(
                    white > 0 && coloured > white / 2 && dark > 0,
                    "{kind:?} {size}"
                );
            }
        }
    }

    fn fill_bytes(kind: IconKind) -> [u8; 3] {
        let [r, g, b, _] = fill(kind);
        [r, g, b].map(|c| (c * 255.0).round() as u8)
    }

    #[test]
    fn every_face_differs_from_every_other_and_only_the_transfers_share_a_colour() {
        let faces: std::collections::HashSet<Vec<u8>> =
            IconKind::ALL.iter().map(|&k| draw(k, 22)).collect();
        assert_eq!(faces.len(), IconKind::ALL.len());
        let colours: std::collections::HashSet<[u8; 3]> =
            IconKind::ALL.iter().map(|&k| fill_bytes(k)).collect();
        assert_eq!(colours.len(), IconKind::ALL.len() - 1);
    }
}
