//! Ctrl-C stops `neb` and keeps the band (its own test binary: the flag is process-wide).

use telescope::energy::muller_brown;
use telescope::landscape::neb::{neb, NebOptions};
use telescope::{interrupt, tensor};

#[test]
fn ctrl_c_stops_neb_and_keeps_the_band() {
    let e = muller_brown();
    let a = tensor::from_vec(&[-0.558224, 1.441726], &[2]).unwrap();
    let b = tensor::from_vec(&[-0.050011, 0.466694], &[2]).unwrap();
    interrupt::request();
    let r = neb(
        &e,
        &a,
        &b,
        &NebOptions {
            images: 6,
            ..Default::default()
        },
    );
    interrupt::clear();
    let r = r.unwrap();
    assert!(r.interrupted && !r.converged && r.iterations == 0);
    assert_eq!(r.energies.len(), 6);
    // The band kept is the starting straight line.
    let mid = tensor::to_vec_f64(&r.images.get(3)).unwrap();
    assert!((mid[0] - (-0.558224 + 0.6 * (-0.050011 + 0.558224))).abs() < 1e-12);
    // Without the flag the same run goes on.
    let r = neb(
        &e,
        &a,
        &b,
        &NebOptions {
            images: 6,
            max_iter: 5,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!r.interrupted && r.iterations == 5);
}
