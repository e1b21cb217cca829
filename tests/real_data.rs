//! The real image sets of `make data` (scikit-learn's digits, scikit-image's photographs) as
//! telescope reads them, against scikit-learn and NumPy themselves (run with the project's
//! .venv): the same pixels, the same labels, the same class counts.

use std::process::Command;
use tch::Tensor;
use telescope::models;

/// What Python prints for `code` (run with the project's .venv, which make data filled).
fn python(code: &str) -> String {
    let out = Command::new(".venv/bin/python")
        .args(["-W", "ignore", "-c", code])
        .output()
        .expect("run .venv/bin/python (make setup creates it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

fn rows(t: &Tensor, from: i64, count: i64) -> Vec<f64> {
    let t = t
        .narrow(0, from, count)
        .to_kind(tch::Kind::Double)
        .flatten(0, -1);
    Vec::<f64>::try_from(&t).unwrap()
}

#[test]
fn the_digits_are_scikit_learns_digits() {
    tch::set_num_threads(1);
    let d = models::load_npy(std::path::Path::new("data/digits/digits8.npy"), None, true)
        .unwrap()
        .with_labels(std::path::Path::new("data/digits/labels.npy"), None)
        .unwrap();
    assert_eq!(d.shape, [1, 8, 8]);
    assert_eq!(d.labels.len(), 1797);
    assert_eq!(
        d.classes,
        (0..10).map(|k| k.to_string()).collect::<Vec<_>>()
    );
    // A slice of images from scikit-learn itself, scaled from 0..16 to [-1, 1].
    let truth = numbers(&python(
        "from sklearn.datasets import load_digits; d = load_digits(); \
         print(','.join(str(v / 8.0 - 1.0) for v in d.images[100:110].ravel()))",
    ));
    let ours = rows(&d.images, 100, 10);
    assert_eq!(ours.len(), truth.len());
    assert!(ours.iter().zip(&truth).all(|(a, b)| (a - b).abs() < 1e-6));
    let labels = numbers(&python(
        "from sklearn.datasets import load_digits; print(','.join(map(str, load_digits().target)))",
    ));
    assert!(d.labels.iter().zip(&labels).all(|(&a, &b)| a as f64 == b));
    // The PNG folders (16 x 16, one folder per digit) hold the same classes and counts.
    let png = models::load_images(std::path::Path::new("data/digits/png"), 16, 16, 1).unwrap();
    assert_eq!(png.labels.len(), 1797);
    for c in 0..10 {
        let want = d.labels.iter().filter(|&&l| l == c).count();
        let name = c.to_string();
        let k = png.classes.iter().position(|n| *n == name).unwrap() as i64;
        assert_eq!(
            png.labels.iter().filter(|&&l| l == k).count(),
            want,
            "digit {c}"
        );
    }
}

#[test]
fn texture_patches_are_crops_of_the_photograph() {
    tch::set_num_threads(1);
    for (file, shape) in [
        ("data/textures/patches16.npy", [3, 16, 16]),
        ("data/textures/patches32.npy", [3, 32, 32]),
        ("data/multiscale/multiscale16.npy", [3, 16, 16]),
    ] {
        let d = models::load_npy(std::path::Path::new(file), None, true).unwrap();
        assert_eq!(d.shape, shape, "{file}");
        let v = rows(&d.images, 0, 20);
        assert!(
            v.iter().all(|x| (-1.0..=1.0).contains(x)),
            "{file}: pixels in [-1, 1]"
        );
        // Real photographs: neither constant nor noise-like within a patch.
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(var > 1e-3, "{file}: variance {var}");
    }
    // The 32-pixel patches are crops of the colour photograph: patch 0 equals the crop that
    // NumPy cuts at the position the exporter drew (same seed), pixel for pixel.
    let truth = numbers(&python(
        "import numpy as np; from skimage import data; img = data.immunohistochemistry(); \
         rng = np.random.default_rng(1); ys = rng.integers(0, 512 - 32 + 1, 2000); \
         xs = rng.integers(0, 512 - 32 + 1, 2000); \
         c = img[ys[0]:ys[0] + 32, xs[0]:xs[0] + 32] / 255.0 * 2 - 1; \
         print(','.join(str(v) for v in c.transpose(2, 0, 1).ravel()))",
    ));
    let d = models::load_npy(
        std::path::Path::new("data/textures/patches32.npy"),
        None,
        true,
    )
    .unwrap();
    let ours = rows(&d.images, 0, 1);
    assert_eq!(ours.len(), truth.len());
    assert!(ours.iter().zip(&truth).all(|(a, b)| (a - b).abs() < 1e-5));
    // Multiscale labels: 500 patches per scale, scale by scale.
    let m = models::load_npy(
        std::path::Path::new("data/multiscale/multiscale16.npy"),
        None,
        true,
    )
    .unwrap()
    .with_labels(std::path::Path::new("data/multiscale/labels.npy"), None)
    .unwrap();
    assert_eq!(m.labels.len(), 2000);
    assert!((0..4).all(|s| m.labels[s * 500..(s + 1) * 500]
        .iter()
        .all(|&l| l == s as i64)));
}
