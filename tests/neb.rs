//! Minimum energy paths: climbing-image NEB finds the Müller-Brown saddles, DNEB straightens
//! kinks that plain NEB keeps, NEB barriers never exceed the straight-line barrier, a path
//! around a ridge as the starting band beats a straight start, L-BFGS converges wherever FIRE
//! does, and DNEB converges on Müller-Brown embedded in 10-D.

mod common;

use std::rc::Rc;
use tch::Tensor;
use telescope::energy::{embed, gmm, muller_brown, Embedded, Energy, EnergyRef, Space};
use telescope::landscape::neb::{
    neb, resample_path, NebInit, NebMethod, NebOptimizer, NebOptions, NebResult, SaddleOptions,
    SampledPath,
};
use telescope::script::{new_session, EnergyValue};
use telescope::{tensor, Result};

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

use common::muller_brown::{MIN_A, MIN_B, MIN_C, SADDLE_AC, SADDLE_CB};

fn t(v: &[f64]) -> Tensor {
    tensor::from_vec(v, &[v.len() as i64]).unwrap()
}

fn row(x: &Tensor, i: i64) -> Vec<f64> {
    tensor::to_vec_f64(&x.get(i)).unwrap()
}

fn check_saddle(from: [f64; 2], to: [f64; 2], want: [f64; 3]) {
    let e = muller_brown();
    let opts = NebOptions {
        images: 12,
        k: 10.0,
        method: NebMethod::Neb,
        climb: true,
        tol: 1e-2,
        max_iter: 4000,
        ..Default::default()
    };
    let r = neb(&e, &t(&from), &t(&to), &opts).unwrap();
    assert!(
        r.converged,
        "CI-NEB did not converge: max force {} after {} iterations",
        r.max_force, r.iterations
    );
    let top = row(&r.images, r.top as i64);
    // The climbing image alone is already close to the saddle.
    assert!(
        (top[0] - want[0]).abs() < 1e-2 && (top[1] - want[1]).abs() < 1e-2,
        "climbing image at {top:?}, saddle {want:?}"
    );
    let s = r.saddle(&e, &SaddleOptions::default()).unwrap();
    let st = tensor::to_vec_f64(&s.state).unwrap();
    assert!(s.converged, "saddle refinement: grad norm {}", s.grad_norm);
    assert_eq!(
        s.negative_modes,
        Some(1),
        "a first-order saddle has one negative mode"
    );
    assert!(
        (st[0] - want[0]).abs() < 1e-3 && (st[1] - want[1]).abs() < 1e-3,
        "saddle at {st:?}, reference {want:?}"
    );
    assert!(
        (s.energy - want[2]).abs() < 1e-2,
        "saddle energy {} vs reference {}",
        s.energy,
        want[2]
    );
    // The band's maximum approximates the barrier from below or at the saddle.
    assert!(
        (r.max_energy - want[2]).abs() < 0.5,
        "band max {} vs saddle {}",
        r.max_energy,
        want[2]
    );
    let ea = e.energy(&t(&from).unsqueeze(0)).unwrap().double_value(&[0]);
    assert!((r.height - (r.max_energy - ea)).abs() < 1e-9);
}

#[test]
fn climbing_image_finds_muller_brown_saddle_a_c() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check_saddle(MIN_A, MIN_C, SADDLE_AC);
}

#[test]
fn climbing_image_finds_muller_brown_saddle_c_b() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check_saddle(MIN_C, MIN_B, SADDLE_CB);
}

/// A straight double-well valley along x0 (`(x0^2 - 1)^2 + c/2 x1^2`) with weak directions
/// `eps_j/2 z_j^2` (eps_j from eps to 100 eps) in the remaining coordinates: the minimum
/// energy path is the x0 axis, barrier 1 at the origin.
struct Valley {
    d: usize,
    c: f64,
    eps: f64,
}

impl Energy for Valley {
    fn name(&self) -> String {
        "valley".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(self.d)
    }
    fn space(&self) -> Space {
        Space::Continuous {
            lo: vec![-2.0; self.d],
            hi: vec![2.0; self.d],
        }
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let x0 = x.f_select(1, 0)?;
        let x1 = x.f_select(1, 1)?;
        let z = x.f_narrow(1, 2, self.d as i64 - 2)?;
        let dw = x0.f_square()?.f_sub_scalar(1.0)?.f_square()?;
        let side = x1.f_square()?.f_mul_scalar(0.5 * self.c)?;
        // Curvatures from eps to 100 eps, spread over the weak coordinates (log-spaced).
        let w: Vec<f64> = (0..self.d - 2)
            .map(|j| 0.5 * self.eps * 10f64.powf(j as f64 / (self.d as f64 - 3.0).max(1.0) * 2.0))
            .collect();
        let w = tensor::from_vec(&w, &[1, self.d as i64 - 2])?.f_to_kind(x.kind())?;
        let weak = z
            .f_square()?
            .f_mul(&w)?
            .f_sum_dim_intlist(1, false, x.kind())?;
        Ok(dw.f_add(&side)?.f_add(&weak)?)
    }
}

/// Largest distance of an interior image from the x0 axis, and largest turning angle (degrees)
/// between consecutive segments of the band.
fn kinks(x: &Tensor) -> (f64, f64) {
    let m = tensor::to_matrix(x).unwrap();
    let off = m[1..m.len() - 1]
        .iter()
        .map(|r| r[1..].iter().map(|v| v * v).sum::<f64>().sqrt())
        .fold(0.0, f64::max);
    let mut angle: f64 = 0.0;
    for w in m.windows(3) {
        let s1: Vec<f64> = w[1].iter().zip(&w[0]).map(|(p, q)| p - q).collect();
        let s2: Vec<f64> = w[2].iter().zip(&w[1]).map(|(p, q)| p - q).collect();
        let dot: f64 = s1.iter().zip(&s2).map(|(p, q)| p * q).sum();
        let n1 = s1.iter().map(|v| v * v).sum::<f64>().sqrt();
        let n2 = s2.iter().map(|v| v * v).sum::<f64>().sqrt();
        angle = angle.max((dot / (n1 * n2)).clamp(-1.0, 1.0).acos().to_degrees());
    }
    (off, angle)
}

fn noisy_line(a: &[f64], b: &[f64], n: usize, amp: f64, seed: u64) -> Tensor {
    let d = a.len();
    let mut v = Vec::new();
    let mut state = seed;
    for i in 0..n {
        let s = i as f64 / (n - 1) as f64;
        for j in 0..d {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0;
            let noise = if i == 0 || i + 1 == n || j == 0 {
                0.0
            } else {
                amp * u
            };
            v.push(a[j] + s * (b[j] - a[j]) + noise);
        }
    }
    tensor::from_vec(&v, &[n as i64, d as i64]).unwrap()
}

#[test]
fn dneb_straightens_kinks_that_neb_keeps() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Few images, an AD-like noisy starting band, weakly constrained directions: plain NEB has
    // (almost) no force across the band in the weak directions and converges with the start's
    // zig-zag still in it; DNEB's doubly nudged spring term straightens it. "Kinks" measured as
    // the largest distance of an image from the true path (the x0 axis) and the largest turning
    // angle between consecutive segments.
    let d = 6;
    let e = Valley {
        d,
        c: 10.0,
        eps: 1e-3,
    };
    let mut a = vec![0.0; d];
    a[0] = -1.0;
    let mut b = vec![0.0; d];
    b[0] = 1.0;
    for seed in 1..=4u64 {
        let run = |method| {
            let opts = NebOptions {
                images: 5,
                k: 1.0,
                method,
                climb: false,
                tol: 1e-2,
                max_iter: 2000,
                init: NebInit::Path(noisy_line(&a, &b, 5, 0.15, seed)),
                ..Default::default()
            };
            neb(&e, &t(&a), &t(&b), &opts).unwrap()
        };
        let plain = run(NebMethod::Neb);
        let double = run(NebMethod::Dneb);
        assert!(
            plain.converged && double.converged,
            "seed {seed}: both converge ({} / {})",
            plain.max_force,
            double.max_force
        );
        let (off_n, ang_n) = kinks(&plain.images);
        let (off_d, ang_d) = kinks(&double.images);
        assert!(
            ang_n > 10.0,
            "seed {seed}: NEB keeps a kink ({ang_n:.1} degrees)"
        );
        assert!(
            off_d < 0.6 * off_n,
            "seed {seed}: DNEB off-path distance {off_d:.3} vs NEB {off_n:.3}"
        );
        assert!(
            ang_d < 0.6 * ang_n,
            "seed {seed}: DNEB turning angle {ang_d:.1} vs NEB {ang_n:.1}"
        );
        // Both still see the barrier of 1 (the weak directions barely change the energy).
        assert!((double.max_energy - 1.0).abs() < 1e-2 && (plain.max_energy - 1.0).abs() < 1e-2);
    }
}

#[test]
fn dneb_equals_neb_in_two_dimensions() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // In 2-D the space perpendicular to the tangent is a line, so the doubly nudged term vanishes.
    let e = muller_brown();
    let run = |method| {
        let opts = NebOptions {
            images: 9,
            method,
            climb: false,
            tol: 1e-12,
            max_iter: 300,
            ..Default::default()
        };
        neb(&e, &t(&MIN_C), &t(&MIN_B), &opts).unwrap()
    };
    let (p, q) = (run(NebMethod::Neb), run(NebMethod::Dneb));
    let diff = tensor::scalar_f64(&(&p.images - &q.images).abs().max()).unwrap();
    assert!(diff < 1e-8, "NEB and DNEB bands differ by {diff}");
}

#[test]
fn saddle_refines_a_loosely_relaxed_band() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = muller_brown();
    let opts = NebOptions {
        images: 8,
        climb: false,
        tol: 1.0,
        max_iter: 60,
        ..Default::default()
    };
    let r = neb(&e, &t(&MIN_A), &t(&MIN_C), &opts).unwrap();
    let top = row(&r.images, r.top as i64);
    let far = (top[0] - SADDLE_AC[0])
        .abs()
        .max((top[1] - SADDLE_AC[1]).abs());
    assert!(
        far > 1e-2,
        "the loose band's top image should not already be the saddle ({top:?})"
    );
    let s = r.saddle(&e, &SaddleOptions::default()).unwrap();
    let st = tensor::to_vec_f64(&s.state).unwrap();
    assert!(s.converged && s.iterations > 0);
    assert!(
        (st[0] - SADDLE_AC[0]).abs() < 1e-3 && (st[1] - SADDLE_AC[1]).abs() < 1e-3,
        "saddle at {st:?}"
    );
    assert!((s.energy - SADDLE_AC[2]).abs() < 1e-2);
    // Without a Hessian (forced large-D branch), climbing along the tangent gets there too.
    let s2 = r
        .saddle(
            &e,
            &SaddleOptions {
                hessian_max_dim: 0,
                tol: 1e-6,
                max_iter: 500,
            },
        )
        .unwrap();
    let st2 = tensor::to_vec_f64(&s2.state).unwrap();
    assert!(
        s2.converged,
        "single-image climbing: grad norm {}",
        s2.grad_norm
    );
    assert!(
        (st2[0] - SADDLE_AC[0]).abs() < 1e-3 && (st2[1] - SADDLE_AC[1]).abs() < 1e-3,
        "climbed to {st2:?}"
    );
}

/// Plain gradient descent to a local minimum (test helper, independent of the NEB code).
fn descend(e: &dyn Energy, x: &[f64]) -> Vec<f64> {
    let mut x = t(x).unsqueeze(0);
    for _ in 0..1000 {
        let (_, g) = e.energy_and_grad(&x).unwrap();
        x = &x - g * 0.1;
    }
    row(&x, 0)
}

/// Max energy on the straight segment, from 4001 points.
fn line_max(e: &dyn Energy, a: &[f64], b: &[f64]) -> f64 {
    let s = Tensor::linspace(0.0, 1.0, 4001, (tch::Kind::Double, tch::Device::Cpu)).unsqueeze(1);
    let x = t(a).unsqueeze(0) + (t(b) - t(a)).unsqueeze(0) * s;
    tensor::to_vec_f64(&e.energy(&x).unwrap())
        .unwrap()
        .into_iter()
        .fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn neb_barrier_never_above_straight_line_barrier_on_gmm() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let means = vec![
        vec![0.0, 0.0],
        vec![3.0, 0.5],
        vec![1.5, 2.6],
        vec![-1.2, 2.9],
        vec![4.2, 3.0],
    ];
    let e = gmm(&means, &[1.0, 0.8, 1.2, 0.9, 1.0], 0.8).unwrap();
    let minima: Vec<Vec<f64>> = means.iter().map(|m| descend(&e, m)).collect();
    let mut strictly_lower = 0;
    for i in 0..minima.len() {
        for j in i + 1..minima.len() {
            let opts = NebOptions {
                images: 12,
                tol: 1e-3,
                max_iter: 3000,
                ..Default::default()
            };
            let r = neb(&e, &t(&minima[i]), &t(&minima[j]), &opts).unwrap();
            let lm = line_max(&e, &minima[i], &minima[j]);
            assert!(
                r.max_energy <= lm + 1e-9,
                "pair ({i},{j}): NEB max {} above straight-line max {lm}",
                r.max_energy
            );
            assert!(r.height >= 0.0 && r.height_back >= 0.0);
            if r.max_energy < lm - 1e-3 {
                strictly_lower += 1;
            }
        }
    }
    // The comparison is not vacuous: relaxing the band lowers the barrier for some pairs.
    assert!(strictly_lower > 0);
}

/// Two wells at x = -1 and 1 with a tall narrow peak (height 10) between them on the straight
/// line: the low way goes around the peak.
struct Ridge;

impl Energy for Ridge {
    fn name(&self) -> String {
        "ridge".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(2)
    }
    fn space(&self) -> Space {
        Space::Continuous {
            lo: vec![-2.0, -2.0],
            hi: vec![2.0, 2.0],
        }
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let (px, py) = (x.f_select(1, 0)?, x.f_select(1, 1)?);
        let wells = px
            .f_square()?
            .f_sub_scalar(1.0)?
            .f_square()?
            .f_add(&py.f_square()?.f_mul_scalar(2.0)?)?;
        let r2 = px.f_square()?.f_add(&py.f_square()?)?;
        Ok(wells.f_add(
            &r2.f_div_scalar(-2.0 * 0.3 * 0.3)?
                .f_exp()?
                .f_mul_scalar(10.0)?,
        )?)
    }
}

#[test]
fn path_around_the_ridge_beats_a_straight_start() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = Ridge;
    let a = descend(&e, &[-1.0, 0.0]);
    let b = descend(&e, &[1.0, 0.0]);
    // An AD-like path: a noisy arc over the peak, 41 points, not starting exactly at a.
    let mut pts = Vec::new();
    let mut state = 7u64;
    for i in 0..41 {
        let s = i as f64 / 40.0;
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
        let noise = if i == 0 || i == 40 { 0.0 } else { 0.05 * u };
        pts.push(a[0] + s * (b[0] - a[0]) + noise);
        pts.push(0.9 * (std::f64::consts::PI * s).sin() + noise);
    }
    let path = tensor::from_vec(&pts, &[41, 2]).unwrap();
    let run = |init| {
        let opts = NebOptions {
            images: 12,
            method: NebMethod::Dneb,
            init,
            ..Default::default()
        };
        neb(&e, &t(&a), &t(&b), &opts).unwrap()
    };
    let linear = run(NebInit::Linear);
    let around = run(NebInit::Path(path));
    assert!(around.converged);
    assert!(
        around.max_energy <= linear.max_energy + 1e-9,
        "AD-initialised {} vs linear {}",
        around.max_energy,
        linear.max_energy
    );
    // Both relaxed bands stay below the straight-line barrier; the detour is far lower than the
    // peak the straight start is stuck on (it is symmetric about y = 0, so it never leaves it).
    assert!(linear.max_energy <= line_max(&e, &a, &b) + 1e-9);
    assert!(
        linear.max_energy > 9.0 && around.max_energy < 4.0,
        "linear {} around {}",
        linear.max_energy,
        around.max_energy
    );
    // The refined saddle of the detour is a true first-order saddle off the axis.
    let s = around.saddle(&e, &SaddleOptions::default()).unwrap();
    let st = tensor::to_vec_f64(&s.state).unwrap();
    assert!(
        s.converged && s.negative_modes == Some(1) && st[1].abs() > 0.3,
        "{st:?}"
    );
}

#[test]
fn resample_path_spaces_points_by_arc_length() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = tensor::from_vec(&[0.0, 0.0, 1.0, 0.0, 1.0, 1.0], &[3, 2]).unwrap();
    let r = tensor::to_vec_f64(&resample_path(&p, 5).unwrap()).unwrap();
    let want = [0.0, 0.0, 0.5, 0.0, 1.0, 0.0, 1.0, 0.5, 1.0, 1.0];
    for (x, w) in r.iter().zip(want) {
        assert!((x - w).abs() < 1e-12, "{r:?}");
    }
    // A path given from b to a is reversed, and a, b are put at its ends.
    let e = muller_brown();
    let back = tensor::from_vec(
        &[MIN_B[0], MIN_B[1], 0.3, 0.4, MIN_C[0] + 0.01, MIN_C[1]],
        &[3, 2],
    )
    .unwrap();
    let opts = NebOptions {
        images: 6,
        max_iter: 0,
        init: NebInit::Path(back),
        ..Default::default()
    };
    let r = neb(&e, &t(&MIN_C), &t(&MIN_B), &opts).unwrap();
    assert_eq!(row(&r.images, 0), MIN_C.to_vec());
    assert_eq!(row(&r.images, 5), MIN_B.to_vec());
    assert!(!r.converged && r.iterations == 0);
}

#[test]
fn bad_arguments_are_errors() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = muller_brown();
    let bad = |opts: NebOptions, a: &[f64]| neb(&e, &t(a), &t(&MIN_B), &opts).is_err();
    assert!(bad(
        NebOptions {
            images: 2,
            ..Default::default()
        },
        &MIN_A
    ));
    assert!(bad(
        NebOptions {
            k: -1.0,
            ..Default::default()
        },
        &MIN_A
    ));
    assert!(bad(
        NebOptions {
            tol: 0.0,
            ..Default::default()
        },
        &MIN_A
    ));
    assert!(bad(NebOptions::default(), &[0.0, 0.0, 0.0]));
    assert!(bad(NebOptions::default(), &MIN_B));
    let spins = telescope::energy::ising(3, 3, 1.0, 0.0).unwrap();
    assert!(neb(
        &spins,
        &t(&[1.0; 9]),
        &t(&[-1.0; 9]),
        &NebOptions::default()
    )
    .is_err());
    let wrong_path = tensor::from_vec(&[0.0; 6], &[2, 3]).unwrap();
    assert!(bad(
        NebOptions {
            init: NebInit::Path(wrong_path),
            ..Default::default()
        },
        &MIN_A
    ));
    // A band whose maximum is an endpoint has no saddle to refine.
    let r = neb(
        &e,
        &t(&[0.0, 0.6]),
        &t(&MIN_C),
        &NebOptions {
            images: 5,
            max_iter: 200,
            ..Default::default()
        },
    )
    .unwrap();
    if r.top == 0 {
        assert!(r.saddle(&e, &SaddleOptions::default()).is_err());
    }
}

fn session() -> telescope::script::Session {
    let mut s = new_session(None);
    s.scope.push("U", EnergyValue(Rc::new(muller_brown())));
    s
}

#[test]
fn script_neb_returns_a_path_with_a_saddle() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = session();
    let code = r#"
        let p = neb(U, [-0.050011, 0.466694], [0.623499, 0.028038], #{images: 10, method: "dneb", climb: true, climb_after: 0.2, tol: 1e-3, max_iter: 4000});
        let sd = p.saddle();
        [p.converged, p.top, p.energies.len(), p.images.to_string().len() > 0, p.barrier, p.max_energy,
         sd.energy, sd.grad_norm, p.iterations, p.to_string(), p.height_back, p.method, sd.negative_modes,
         p.height, p.barrier_back, p.energies]
    "#;
    let v = s.eval("<test>", code).unwrap().into_array().unwrap();
    assert!(v[0].as_bool().unwrap());
    assert_eq!(v[2].as_int().unwrap(), 10);
    // One meaning of barrier: the highest energy on the band, as compare_paths reports it;
    // the heights above the two ends are height and height_back (barrier_back, deprecated, is
    // height_back).
    let barrier = v[4].as_float().unwrap();
    let maxe = v[5].as_float().unwrap();
    let energies: Vec<f64> = v[15]
        .clone()
        .into_array()
        .unwrap()
        .iter()
        .map(|x| x.as_float().unwrap())
        .collect();
    assert_eq!(
        barrier,
        energies.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
    );
    assert_eq!(barrier, maxe);
    assert!((v[13].as_float().unwrap() - (maxe - (-80.767818))).abs() < 1e-5);
    assert_eq!(v[14].as_float().unwrap(), v[10].as_float().unwrap());
    assert!((v[6].as_float().unwrap() - SADDLE_CB[2]).abs() < 1e-2);
    assert!(v[7].as_float().unwrap() < 1e-6);
    assert!(v[9]
        .clone()
        .into_string()
        .unwrap()
        .starts_with("NebPath(dneb, 10 images"));
    assert!((v[10].as_float().unwrap() - (maxe - (-108.166724))).abs() < 1e-5);
    assert_eq!(v[11].clone().into_string().unwrap(), "dneb");
    assert_eq!(v[12].as_int().unwrap(), 1);
}

#[test]
fn script_neb_takes_a_path_as_init_and_rejects_bad_options() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = session();
    let v = s.eval("<test>", r#"let p = neb(U, [-0.558224, 1.441726], [-0.050011, 0.466694], #{init: [[-0.558224, 1.441726], [-0.9, 1.0], [-0.8, 0.6], [-0.050011, 0.466694]], images: 8}); p.images"#).unwrap();
    assert!(v.type_name().contains("Tensor"));
    let e = s
        .eval("<test>", "neb(U, [0.0, 0.0], [1.0, 0.0], #{imgaes: 5})")
        .unwrap_err();
    assert!(
        e.contains("unknown option `imgaes`") && e.contains("images"),
        "{e}"
    );
    let e = s
        .eval(
            "<test>",
            r#"neb(U, [0.0, 0.0], [1.0, 0.0], #{method: "string"})"#,
        )
        .unwrap_err();
    assert!(e.contains("method"), "{e}");
    let e = s
        .eval("<test>", "neb(U, [0.0, 0.0, 0.0], [1.0, 0.0, 0.0])")
        .unwrap_err();
    assert!(e.contains("dimension"), "{e}");
    let e = s
        .eval(
            "<test>",
            r#"neb(U, [0.0, 0.0], [1.0, 0.0], #{init: "curved"})"#,
        )
        .unwrap_err();
    assert!(e.contains("init"), "{e}");
    // The DNEB switch: kept on with dneb_patience 0, reported as () then.
    let v = s
        .eval(
            "<test>",
            r#"let p = neb(U, [-0.558224, 1.441726], [-0.050011, 0.466694], #{method: "dneb", dneb_patience: 0, max_iter: 20}); [p.dneb_off_at == (), p.iterations]"#,
        )
        .unwrap()
        .into_array()
        .unwrap();
    assert!(v[0].as_bool().unwrap() && v[1].as_int().unwrap() == 20);
    let doc = s.docs.get("neb").unwrap();
    assert!(doc.options.iter().any(|o| o.name == "climb_after"));
    assert!(doc.options.iter().any(|o| o.name == "dneb_patience"));
    assert!(s.docs.get("NebPath.dneb_off_at").is_some());
    assert!(s.docs.get("NebPath.saddle").is_some());
}

#[test]
fn lbfgs_band_reaches_the_same_saddles() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = muller_brown();
    for (from, to, want) in [(MIN_A, MIN_C, SADDLE_AC), (MIN_C, MIN_B, SADDLE_CB)] {
        let opts = NebOptions {
            images: 10,
            method: NebMethod::Dneb,
            optimizer: NebOptimizer::Lbfgs { memory: 5 },
            ..Default::default()
        };
        let r = neb(&e, &t(&from), &t(&to), &opts).unwrap();
        assert!(r.converged, "L-BFGS band: max force {}", r.max_force);
        let top = row(&r.images, r.top as i64);
        assert!(
            (top[0] - want[0]).abs() < 1e-3 && (top[1] - want[1]).abs() < 1e-3,
            "climbing image at {top:?}, saddle {want:?}"
        );
        assert!((r.max_energy - want[2]).abs() < 1e-2);
    }
}

#[test]
fn float32_endpoints_work() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The band follows the endpoints' dtype; float32 gradients limit the saddle's accuracy.
    let e = muller_brown();
    let f = |v: &[f64]| t(v).to_kind(tch::Kind::Float);
    let opts = NebOptions {
        images: 10,
        tol: 5e-2,
        ..Default::default()
    };
    let r = neb(&e, &f(&MIN_C), &f(&MIN_B), &opts).unwrap();
    assert_eq!(r.images.kind(), tch::Kind::Float);
    assert!(r.converged, "max force {}", r.max_force);
    let s = r
        .saddle(
            &e,
            &SaddleOptions {
                tol: 1e-2,
                ..Default::default()
            },
        )
        .unwrap();
    let st = tensor::to_vec_f64(&s.state).unwrap();
    assert!(
        (st[0] - SADDLE_CB[0]).abs() < 2e-3 && (st[1] - SADDLE_CB[1]).abs() < 2e-3,
        "{st:?}"
    );
    assert!((s.energy - SADDLE_CB[2]).abs() < 1e-2, "{}", s.energy);
}

/// One line of the measurement tables in docs/paths.md (`cargo test --release --test neb --
/// --nocapture` prints them).
fn report(case: &str, what: &str, r: &NebResult) {
    eprintln!(
        "{case:<22} {what:<12} converged {:<5} iterations {:>5} max force {:.2e}{}",
        r.converged,
        r.iterations,
        r.max_force,
        r.dneb_off_at
            .map(|i| format!(" (DNEB term off at {i})"))
            .unwrap_or_default()
    );
}

const LBFGS: NebOptimizer = NebOptimizer::Lbfgs { memory: 5 };

#[test]
fn lbfgs_converges_wherever_fire_does_on_muller_brown() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = muller_brown();
    // The highest saddle on each path: A-B passes C, and its A-C saddle is the higher one.
    let pairs = [
        ("A-C", MIN_A, MIN_C, SADDLE_AC),
        ("A-B", MIN_A, MIN_B, SADDLE_AC),
        ("C-B", MIN_C, MIN_B, SADDLE_CB),
    ];
    let mut fire_converged = 0;
    for (name, from, to, want) in pairs {
        for images in [8, 16] {
            for climb in [true, false] {
                let case = format!("{name} {images} images{}", if climb { " CI" } else { "" });
                let run = |optimizer| {
                    let opts = NebOptions {
                        images,
                        climb,
                        optimizer,
                        ..Default::default()
                    };
                    neb(&e, &t(&from), &t(&to), &opts).unwrap()
                };
                let fire = run(NebOptimizer::Fire);
                let lbfgs = run(LBFGS);
                report(&case, "FIRE", &fire);
                report(&case, "L-BFGS", &lbfgs);
                if !fire.converged {
                    continue;
                }
                fire_converged += 1;
                assert!(
                    lbfgs.converged,
                    "{case}: FIRE converged, L-BFGS stopped at max force {} after {} iterations",
                    lbfgs.max_force, lbfgs.iterations
                );
                let (top_f, top_l) = (
                    row(&fire.images, fire.top as i64),
                    row(&lbfgs.images, lbfgs.top as i64),
                );
                if climb {
                    // Both climbing images sit on the saddle (force below 1e-3 there).
                    for top in [&top_f, &top_l] {
                        assert!(
                            (top[0] - want[0]).abs() < 1e-4 && (top[1] - want[1]).abs() < 1e-4,
                            "{case}: climbing image at {top:?}, saddle {want:?}"
                        );
                    }
                    assert!((lbfgs.max_energy - want[2]).abs() < 1e-4);
                } else {
                    // The same relaxed band: the same highest image and barrier.
                    assert!(
                        (top_f[0] - top_l[0]).abs() < 5e-3 && (top_f[1] - top_l[1]).abs() < 5e-3,
                        "{case}: FIRE top {top_f:?}, L-BFGS top {top_l:?}"
                    );
                    // Their barriers differ by no more than the slope between the two tops
                    // allows: a converged band's top sits on the slope below the saddle, where
                    // a force tolerance of 1e-3 still moves it by about 1e-3.
                    let slope = [&top_f, &top_l]
                        .iter()
                        .map(|p| {
                            let g = e
                                .grad(&tensor::from_vec(&p[..2], &[1, 2]).unwrap())
                                .unwrap();
                            let g = tensor::to_vec_f64(&g).unwrap();
                            g.iter().map(|v| v * v).sum::<f64>().sqrt()
                        })
                        .fold(0.0, f64::max);
                    let apart =
                        ((top_f[0] - top_l[0]).powi(2) + (top_f[1] - top_l[1]).powi(2)).sqrt();
                    assert!(
                        (fire.max_energy - lbfgs.max_energy).abs() <= 1.5 * slope * apart + 1e-6,
                        "{case}: FIRE barrier {} at {top_f:?}, L-BFGS {} at {top_l:?} (slope {slope})",
                        fire.max_energy,
                        lbfgs.max_energy
                    );
                }
            }
        }
    }
    // The comparison is not vacuous.
    assert!(
        fire_converged >= 8,
        "FIRE converged on {fire_converged} cases"
    );
}

/// Müller-Brown in a random plane of R^10 (seeded rotation), 50 |w|^2 across it.
fn muller_brown_10d() -> Embedded {
    let inner: EnergyRef = Rc::new(muller_brown());
    embed(inner, 10, 11, 50.0).unwrap()
}

#[test]
fn dneb_converges_on_muller_brown_embedded_in_ten_dimensions() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = muller_brown_10d();
    let place = |p: [f64; 2]| e.embed_state(&t(&p)).unwrap();
    let pairs = [
        ("A-B", MIN_A, MIN_B, SADDLE_AC),
        ("A-C", MIN_A, MIN_C, SADDLE_AC),
        ("C-B", MIN_C, MIN_B, SADDLE_CB),
    ];
    for (name, from, to, want) in pairs {
        let case = format!("10-D {name} 16 images CI");
        let (a, b) = (place(from), place(to));
        let mut dneb_fire = None;
        for (method, optimizer, what) in [
            (NebMethod::Neb, NebOptimizer::Fire, "NEB FIRE"),
            (NebMethod::Dneb, NebOptimizer::Fire, "DNEB FIRE"),
            (NebMethod::Neb, LBFGS, "NEB L-BFGS"),
            (NebMethod::Dneb, LBFGS, "DNEB L-BFGS"),
        ] {
            let opts = NebOptions {
                method,
                optimizer,
                ..Default::default()
            };
            let r = neb(&e, &a, &b, &opts).unwrap();
            report(&case, what, &r);
            assert!(
                r.converged,
                "{case} {what}: max force {} after {} iterations",
                r.max_force, r.iterations
            );
            // The climbing image is the embedded saddle: on the plane, at the 2-D saddle.
            let top = r.images.get(r.top as i64);
            let inner = tensor::to_vec_f64(&e.inner_state(&top).unwrap()).unwrap();
            assert!(
                (inner[0] - want[0]).abs() < 1e-4 && (inner[1] - want[1]).abs() < 1e-4,
                "{case} {what}: climbing image at {inner:?} in the plane, saddle {want:?}"
            );
            let off_plane = tensor::scalar_f64(
                &(&top - e.embed_state(&e.inner_state(&top).unwrap()).unwrap()).norm(),
            )
            .unwrap();
            assert!(off_plane < 1e-4, "{case} {what}: {off_plane} off the plane");
            assert!((r.max_energy - want[2]).abs() < 1e-4);
            if method == NebMethod::Dneb && optimizer == NebOptimizer::Fire {
                dneb_fire = Some(r);
            }
        }
        // saddle() refines the DNEB band's top image to the embedded saddle itself.
        let r = dneb_fire.unwrap();
        let s = r.saddle(&e, &SaddleOptions::default()).unwrap();
        let inner = tensor::to_vec_f64(&e.inner_state(&s.state).unwrap()).unwrap();
        assert!(
            s.converged && s.negative_modes == Some(1),
            "{case}: saddle()"
        );
        assert!(
            (inner[0] - want[0]).abs() < 1e-5 && (inner[1] - want[1]).abs() < 1e-5,
            "{case}: saddle() at {inner:?}, reference {want:?}"
        );
        assert!((s.energy - want[2]).abs() < 1e-5);
    }
    // Without the switch-off, DNEB hovers well above tol (the measured problem it solves).
    let opts = NebOptions {
        method: NebMethod::Dneb,
        dneb_patience: 0,
        ..Default::default()
    };
    let r = neb(&e, &place(MIN_A), &place(MIN_C), &opts).unwrap();
    report("10-D A-C 16 images CI", "DNEB always", &r);
}

/// Many bands relaxed together (one energy-and-gradient call per iteration for all of them)
/// end exactly as each band relaxed alone: the same images, iterations, convergence,
/// climbing and DNEB switch, over random endpoint pairs, methods, optimizers and image
/// counts, on Müller-Brown and on Müller-Brown embedded in 10-D. Bands converge at different
/// iterations and leave the batch one by one.
#[test]
fn bands_relaxed_together_equal_bands_relaxed_alone() {
    use rand::{Rng, SeedableRng};
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let flat: Rc<dyn Energy> = Rc::new(muller_brown());
    let deep: Rc<dyn Energy> = Rc::new(embed(Rc::new(muller_brown()), 10, 3, 1.0).unwrap());
    let mut iteration_counts = std::collections::BTreeSet::new();
    for case in 0..8 {
        let e = if case % 2 == 0 { &flat } else { &deep };
        let dim = e.dim().unwrap();
        let opts = NebOptions {
            images: rng.random_range(5..14),
            method: [NebMethod::Neb, NebMethod::Dneb][rng.random_range(0..2)],
            optimizer: [NebOptimizer::Fire, NebOptimizer::Lbfgs { memory: 5 }]
                [rng.random_range(0..2)],
            climb: rng.random_bool(0.7),
            tol: 1e-3,
            max_iter: rng.random_range(50..600),
            ..Default::default()
        };
        let pairs: Vec<(Tensor, Tensor)> = (0..rng.random_range(1..6))
            .map(|_| {
                let mut p = || -> Vec<f64> {
                    let xy = [rng.random_range(-1.5..1.0), rng.random_range(-0.3..2.0)];
                    let mut v = vec![0.0; dim];
                    v[..2].copy_from_slice(&xy);
                    v
                };
                (t(&p()), t(&p()))
            })
            .collect();
        let together = telescope::landscape::neb::neb_many(e.as_ref(), &pairs, &opts).unwrap();
        assert_eq!(together.len(), pairs.len());
        for (k, ((a, b), band)) in pairs.iter().zip(&together).enumerate() {
            let alone = neb(e.as_ref(), a, b, &opts).unwrap();
            let what = format!(
                "case {case} band {k} ({:?}, {:?})",
                opts.method, opts.optimizer
            );
            assert_eq!(band.iterations, alone.iterations, "{what}: iterations");
            assert_eq!(band.converged, alone.converged, "{what}: converged");
            assert_eq!(band.climbing, alone.climbing, "{what}: climbing");
            assert_eq!(band.dneb_off_at, alone.dneb_off_at, "{what}: DNEB switch");
            let gap =
                tensor::scalar_f64(&band.images.f_sub(&alone.images).unwrap().abs().max()).unwrap();
            assert!(gap <= 1e-12, "{what}: images differ by {gap}");
            assert_eq!(band.top, alone.top, "{what}: top image");
            iteration_counts.insert(band.iterations);
        }
    }
    assert!(
        iteration_counts.len() > 4,
        "bands should end at different iterations"
    );
}

/// `compare_paths` returns every path oriented from `a` to `b`: the straight line as the
/// points where its energies were taken (so its profile is the sampled line, whose maximum
/// is the table's 1-D barrier), and the AD path reversed when the best trial ran from `b` to
/// `a`. Both directions of the pair give mirror-image lines and AD paths that start at their
/// own `a`.
#[test]
fn compare_paths_orients_every_path_from_a_to_b() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = session();
    for (from, to) in [(MIN_A, MIN_C), (MIN_C, MIN_A)] {
        let code = format!(
            r#"seed(4);
            let r = compare_paths(U, {from:?}, {to:?}, #{{table: false,
                ad: #{{T: 5.0, alpha: 20.0, delta: 0.03, M: 100, step: 0.02, trials: 8, shrink: 0.9, max_rounds: 20}},
                neb: #{{images: 10, max_iter: 200}}}});
            let line = r.line.path;
            let ad = r.ad.path;
            [line.shape[0], r.line.energies.len(), U.at(line).max().item(), r.line.barrier,
             line[0].to_array(), line[-1].to_array(), ad[0].to_array(), ad[-1].to_array(),
             r.ad.energies[0], U.at(ad[0])]"#
        );
        let v = s.eval("<test>", &code).unwrap().into_array().unwrap();
        let n = v[0].as_int().unwrap();
        assert!(n > 100, "the line is sampled, not its two ends: {n} points");
        assert_eq!(n, v[1].as_int().unwrap());
        // The sampled line's own energies reach the table's 1-D barrier.
        assert!((v[2].as_float().unwrap() - v[3].as_float().unwrap()).abs() < 1e-9);
        let point = |k: usize| -> Vec<f64> {
            v[k].clone()
                .into_array()
                .unwrap()
                .iter()
                .map(|x| x.as_float().unwrap())
                .collect()
        };
        let near = |p: &[f64], q: [f64; 2]| tensor::distance(p, &q);
        assert!(near(&point(4), from) < 1e-9 && near(&point(5), to) < 1e-9);
        // The AD path starts near `a` and ends near `b` (within the success radius).
        assert!(
            near(&point(6), from) < near(&point(6), to),
            "AD path starts at b"
        );
        assert!(
            near(&point(7), to) < near(&point(7), from),
            "AD path ends at a"
        );
        assert!((v[8].as_float().unwrap() - v[9].as_float().unwrap()).abs() < 1e-9);
    }
}
