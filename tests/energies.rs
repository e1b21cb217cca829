//! Energies against independent truth: finite differences, reference values, recomputation.

use std::rc::Rc;
use tch::Tensor;
use telescope::energy::{self, Energy, EnergyRef};
use telescope::minimize::{minimize, unique_minima, MinimizeOptions};
use telescope::tensor;

mod common;
use common::gradient::assert_gradient_matches_central_differences;

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn gradients_match_finite_differences_for_every_builtin() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tensor::manual_seed(0);
    let mb = energy::muller_brown();
    assert_gradient_matches_central_differences(
        &mb,
        &energy::random_states(&mb, 5).unwrap(),
        1e-6,
        1e-5,
    );
    let q = energy::quadratic(4).unwrap();
    assert_gradient_matches_central_differences(
        &q,
        &energy::random_states(&q, 3).unwrap(),
        1e-6,
        1e-6,
    );
    let dw = energy::double_well();
    assert_gradient_matches_central_differences(
        &dw,
        &energy::random_states(&dw, 6).unwrap(),
        1e-6,
        1e-5,
    );
    let g = energy::gmm(
        &[vec![0.0, 0.0], vec![2.0, 1.0], vec![-1.0, 2.0]],
        &[0.5, 0.3, 0.2],
        0.7,
    )
    .unwrap();
    assert_gradient_matches_central_differences(
        &g,
        &energy::random_states(&g, 5).unwrap(),
        1e-6,
        1e-5,
    );
    // Magnetized: U/T + alpha * ||x - target|| away from the target.
    let base: EnergyRef = Rc::new(energy::muller_brown());
    let m = energy::Magnetized::new(
        base,
        2.0,
        3.0,
        Some(tensor::from_vec(&[0.3, 0.9], &[2]).unwrap()),
    )
    .unwrap();
    assert_gradient_matches_central_differences(
        &m,
        &energy::random_states(&m, 4).unwrap(),
        1e-6,
        1e-5,
    );
    // Spin models: the gradient of the multilinear extension, checked at non-corner points.
    let sk = energy::sk(6, 1, 1.0).unwrap();
    assert_gradient_matches_central_differences(
        &sk,
        &Tensor::f_rand([3, 6], (tch::Kind::Double, tch::Device::Cpu)).unwrap(),
        1e-6,
        1e-6,
    );
}

#[test]
fn muller_brown_minima_match_reference_values() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tensor::manual_seed(1);
    let e = energy::muller_brown();
    let x0 = energy::random_states(&e, 300).unwrap();
    let m = minimize(
        &e,
        &x0,
        &MinimizeOptions {
            tol: 1e-9,
            ..Default::default()
        },
    )
    .unwrap();
    let (states, energies, _) = unique_minima(&m.x, &m.energy, 1e-3).unwrap();
    let reference = [
        (-0.558224, 1.441726, -146.699517),
        (0.623499, 0.028038, -108.166724),
        (-0.050011, 0.466694, -80.767818),
    ];
    assert_eq!(
        states.len(),
        3,
        "Müller-Brown has exactly three minima: {states:?}"
    );
    for ((s, u), (x, y, v)) in states.iter().zip(&energies).zip(reference) {
        assert!(
            (s[0] - x).abs() < 1e-4 && (s[1] - y).abs() < 1e-4,
            "minimum {s:?} vs ({x}, {y})"
        );
        assert!((u - v).abs() < 1e-4, "energy {u} vs {v}");
    }
}

#[test]
fn sk_single_flip_change_equals_recomputation() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = energy::sk(30, 4, 1.0).unwrap();
    let mut s: Vec<f64> = (0..30)
        .map(|i| if (i * 7) % 3 == 0 { 1.0 } else { -1.0 })
        .collect();
    let mut fields = model.local_fields(&s);
    for step in 0..100 {
        let i = (step * 13) % 30;
        let before = model.energy_of(&s);
        let delta = model.flip_delta(&s, &fields, i);
        model.flip(&mut s, &mut fields, i);
        let after = model.energy_of(&s);
        assert!(
            (after - before - delta).abs() < 1e-12,
            "flip {i}: delta {delta} vs {}",
            after - before
        );
    }
    // Fields stay consistent with a fresh computation.
    let fresh = model.local_fields(&s);
    for (a, b) in fields.iter().zip(fresh) {
        assert!((a - b).abs() < 1e-12);
    }
    // The tensor energy agrees with the native one, and U(s) = U(-s).
    let t = tensor::from_vec(&s, &[1, 30]).unwrap();
    let u = energy::energies_f64(&model, &t).unwrap()[0];
    let neg: Vec<f64> = s.iter().map(|v| -v).collect();
    assert!((u - model.energy_of(&s)).abs() < 1e-12);
    assert!((model.energy_of(&neg) - u).abs() < 1e-12);
}

#[test]
fn ising_energy_counts_bonds() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // All-up 4x4 torus: 32 bonds, U = -32/T - H*16.
    let m = energy::ising(4, 4, 2.0, 0.5).unwrap();
    let up = vec![1.0; 16];
    assert!((m.energy_of(&up) - (-16.0 - 8.0)).abs() < 1e-12);
    // A checkerboard breaks every bond: U = +32/T - 0.
    let cb: Vec<f64> = (0..16)
        .map(|i| if (i / 4 + i % 4) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    assert!((m.energy_of(&cb) - 16.0).abs() < 1e-12);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = energy::muller_brown();
    assert!(e
        .energy(&Tensor::f_zeros([3, 5], (tch::Kind::Double, tch::Device::Cpu)).unwrap())
        .is_err());
    assert!(energy::gmm(&[vec![0.0]], &[1.0, 2.0], 1.0).is_err());
    assert!(energy::sk(1, 0, 1.0).is_err());
    assert!(energy::sk_from_couplings(&[0.0, 1.0, 2.0, 0.0], 2, 1.0).is_err());
}

#[test]
fn per_chain_magnetization_gradient_and_candidate_batches() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let base: EnergyRef = Rc::new(energy::muller_brown());
    let alphas = [0.0, 3.0, 40.0];
    let targets = tensor::from_vec(&[0.6, 0.0, -0.5, 1.5, 0.0, 0.4], &[3, 2]).unwrap();
    let m = energy::Magnetized::with_alphas(base.clone(), 5.0, &alphas, targets).unwrap();
    let pts = vec![0.1, 0.3, -0.7, 1.2, 0.4, 0.9];
    let x = tensor::from_vec(&pts, &[3, 2]).unwrap();
    // Closed form per chain: U(x)/T + alpha_b * ||x - target_b||.
    let u_base = energy::energies_f64(base.as_ref(), &x).unwrap();
    let tg = [[0.6, 0.0], [-0.5, 1.5], [0.0, 0.4]];
    let u = energy::energies_f64(&m, &x).unwrap();
    for b in 0..3 {
        let d = ((pts[2 * b] - tg[b][0]).powi(2) + (pts[2 * b + 1] - tg[b][1]).powi(2)).sqrt();
        assert!((u[b] - (u_base[b] / 5.0 + alphas[b] * d)).abs() < 1e-9);
    }
    // Each chain's gradient uses its own alpha.
    assert_gradient_matches_central_differences(&m, &x, 1e-6, 1e-5);
    // Candidate batches hold copies of the chains one after another (Gibbs, single-site
    // descent): two copies score exactly like the chains themselves.
    let twice = Tensor::cat(&[&x, &x], 0);
    let u2 = energy::energies_f64(&m, &twice).unwrap();
    for b in 0..3 {
        assert!((u2[b] - u[b]).abs() < 1e-12 && (u2[b + 3] - u[b]).abs() < 1e-12);
    }
    assert!(m
        .energy(&tensor::from_vec(&[0.0; 4], &[2, 2]).unwrap())
        .is_err());
}

#[test]
fn embedded_energy_is_the_inner_energy_plus_the_quadratic_across_the_plane() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let inner: EnergyRef = Rc::new(energy::muller_brown());
    let (dim, stiffness) = (10usize, 50.0);
    let e = energy::embed(inner.clone(), dim, 7, stiffness).unwrap();
    // Q is orthogonal: Q^T Q = I to rounding.
    let q = tensor::to_matrix(&e.rotation()).unwrap();
    for i in 0..dim {
        for j in 0..dim {
            let qtq: f64 = (0..dim).map(|r| q[r][i] * q[r][j]).sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((qtq - want).abs() < 1e-12, "(Q^T Q)[{i}][{j}] = {qtq}");
        }
    }
    // The same seed gives the same Q, another seed another one; drawing Q leaves libtorch's
    // stream alone.
    tensor::manual_seed(5);
    let before = Tensor::f_rand([3], (tch::Kind::Double, tch::Device::Cpu)).unwrap();
    tensor::manual_seed(5);
    let again = energy::embed(inner.clone(), dim, 7, stiffness).unwrap();
    let after = Tensor::f_rand([3], (tch::Kind::Double, tch::Device::Cpu)).unwrap();
    assert_eq!(
        tensor::to_vec_f64(&before).unwrap(),
        tensor::to_vec_f64(&after).unwrap()
    );
    assert_eq!(tensor::to_matrix(&again.rotation()).unwrap(), q);
    let other = energy::embed(inner.clone(), dim, 8, stiffness).unwrap();
    assert_ne!(tensor::to_matrix(&other.rotation()).unwrap(), q);
    // Energies at arbitrary points, recomputed by hand: y = Q^T x, U = MB(y_0, y_1) + s |y_rest|^2.
    tensor::manual_seed(2);
    let x = energy::random_states(&e, 6).unwrap();
    let u = energy::energies_f64(&e, &x).unwrap();
    for (b, row) in tensor::to_matrix(&x).unwrap().iter().enumerate() {
        let y: Vec<f64> = (0..dim)
            .map(|j| (0..dim).map(|i| q[i][j] * row[i]).sum())
            .collect();
        let mb = energy::energies_f64(inner.as_ref(), &tensor::from_vec(&y[..2], &[1, 2]).unwrap())
            .unwrap()[0];
        let quad: f64 = stiffness * y[2..].iter().map(|v| v * v).sum::<f64>();
        assert!(
            (u[b] - (mb + quad)).abs() < 1e-9 * (1.0 + u[b].abs()),
            "point {b}: {} vs {}",
            u[b],
            mb + quad
        );
    }
    // Gradient (inner gradient rotated back) against central differences.
    assert_gradient_matches_central_differences(&e, &x, 1e-6, 1e-5);
    // Inner states map into the plane with their energies, and back.
    let minima = tensor::from_vec(&[-0.558224, 1.441726, 0.623499, 0.028038], &[2, 2]).unwrap();
    let xm = e.embed_state(&minima).unwrap();
    assert_eq!(xm.size(), [2, dim as i64]);
    let um = energy::energies_f64(&e, &xm).unwrap();
    let ui = energy::energies_f64(inner.as_ref(), &minima).unwrap();
    for (a, b) in um.iter().zip(&ui) {
        assert!((a - b).abs() < 1e-10, "{a} vs {b}");
    }
    let back = tensor::to_matrix(&e.inner_state(&xm).unwrap()).unwrap();
    let want = tensor::to_matrix(&minima).unwrap();
    for (r, w) in back.iter().zip(&want) {
        assert!((r[0] - w[0]).abs() < 1e-12 && (r[1] - w[1]).abs() < 1e-12);
    }
    // The gradient vanishes at an embedded minimum (it is a minimum of the embedding).
    let g = tensor::to_vec_f64(&e.grad(&xm).unwrap().abs().max()).unwrap()[0];
    assert!(g < 1e-3, "gradient {g} at embedded minima");
    // The box for random starts covers the inner box mapped through Q (all its corners).
    let telescope::energy::Space::Continuous { lo, hi } = e.space() else {
        panic!("continuous")
    };
    let telescope::energy::Space::Continuous { lo: ilo, hi: ihi } = inner.space() else {
        panic!("continuous")
    };
    for corner in [
        [ilo[0], ilo[1]],
        [ilo[0], ihi[1]],
        [ihi[0], ilo[1]],
        [ihi[0], ihi[1]],
    ] {
        let c = tensor::to_vec_f64(
            &e.embed_state(&tensor::from_vec(&corner, &[2]).unwrap())
                .unwrap(),
        )
        .unwrap();
        for i in 0..dim {
            assert!(c[i] >= lo[i] - 1e-12 && c[i] <= hi[i] + 1e-12);
        }
    }
    // Errors: a dimension below the inner one, a discrete inner energy, wrong inner states.
    assert!(energy::embed(inner.clone(), 1, 0, 1.0).is_err());
    assert!(energy::embed(inner.clone(), 4, 0, -1.0).is_err());
    let spins: EnergyRef = Rc::new(energy::ising(2, 2, 1.0, 0.0).unwrap());
    assert!(energy::embed(spins, 8, 0, 1.0).is_err());
    assert!(e
        .embed_state(&tensor::from_vec(&[0.0; 3], &[3]).unwrap())
        .is_err());
}

#[test]
fn script_embed_places_muller_brown_in_ten_dimensions() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = telescope::script::new_session(None);
    let v = s
        .eval(
            "<test>",
            r#"
            let U = embed(muller_brown(), 10, #{seed: 3, stiffness: 20.0});
            let a = U.embed_state([-0.558224, 1.441726]);
            [U.dim, U.at(a), U.inner_state(a).to_array(), U.name, embed(muller_brown(), 4).dim]
            "#,
        )
        .unwrap()
        .into_array()
        .unwrap();
    assert_eq!(v[0].as_int().unwrap(), 10);
    assert!((v[1].as_float().unwrap() - (-146.699517)).abs() < 1e-5);
    let back: Vec<f64> = v[2]
        .clone()
        .into_array()
        .unwrap()
        .iter()
        .map(|d| d.as_float().unwrap())
        .collect();
    assert!((back[0] + 0.558224).abs() < 1e-12 && (back[1] - 1.441726).abs() < 1e-12);
    assert!(v[3]
        .clone()
        .into_string()
        .unwrap()
        .starts_with("embed(muller_brown"));
    assert_eq!(v[4].as_int().unwrap(), 4);
    let e = s
        .eval("<test>", "muller_brown().embed_state([0.0, 0.0])")
        .unwrap_err();
    assert!(e.contains("not an embedded energy"), "{e}");
    let e = s
        .eval("<test>", "embed(muller_brown(), 10, #{stifness: 1.0})")
        .unwrap_err();
    assert!(e.contains("stiffness"), "{e}");
    let doc = s.docs.get("embed").unwrap().clone();
    assert!(doc.options.iter().any(|o| o.name == "seed"));
    assert!(!doc.example.is_empty());
    // The documented example runs.
    let _ = s.eval("<test>", &doc.example).unwrap();
}

#[test]
fn spin_line_energies_in_closed_form_equal_the_energy_at_each_point() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(41);
    for case in 0..12u64 {
        let model = if case % 3 == 2 {
            telescope::energy::ising(3, 4, 0.7, 0.3).unwrap()
        } else {
            telescope::energy::sk(5 + case as usize, case, 0.5 + case as f64 * 0.1).unwrap()
        };
        let n = model.n();
        let pairs = 4;
        let draw = |rng: &mut rand::rngs::StdRng, spins: bool| -> Vec<f64> {
            (0..n)
                .map(|_| {
                    if spins {
                        if rng.random_bool(0.5) {
                            1.0
                        } else {
                            -1.0
                        }
                    } else {
                        rng.random_range(-1.5..1.5)
                    }
                })
                .collect()
        };
        let a: Vec<f64> = (0..pairs)
            .flat_map(|k| draw(&mut rng, k % 2 == 0))
            .collect();
        let b: Vec<f64> = (0..pairs).flat_map(|_| draw(&mut rng, true)).collect();
        let at = telescope::tensor::from_vec(&a, &[pairs as i64, n as i64]).unwrap();
        let bt = telescope::tensor::from_vec(&b, &[pairs as i64, n as i64]).unwrap();
        let lines = telescope::landscape::barrier::line_energies(&model, &at, &bt, 11).unwrap();
        for (k, line) in lines.iter().enumerate() {
            for (p, &u) in line.iter().enumerate() {
                let t = p as f64 / 10.0;
                let x: Vec<f64> = (0..n)
                    .map(|i| a[k * n + i] + t * (b[k * n + i] - a[k * n + i]))
                    .collect();
                let want = model.energy_of(&x);
                assert!(
                    (u - want).abs() <= 1e-12 * (1.0 + want.abs()),
                    "case {case}, line {k}, point {p}: {u} vs {want}"
                );
            }
        }
    }
}

#[test]
fn a_closure_energy_must_return_one_floating_energy_per_state() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = telescope::script::new_session(None);
    // A sum over the whole batch is one number: fine for one state, an error for more.
    let one = s
        .eval("<test>", "energy(|x| (x*x).sum(), 2).at([1.0, 2.0])")
        .unwrap();
    assert_eq!(one.as_float().unwrap(), 5.0);
    let e = s
        .eval(
            "<test>",
            "energy(|x| (x*x).sum(), 2).at([[1.0, 0.0], [0.0, 3.0]])",
        )
        .unwrap_err();
    assert!(e.contains("one energy per row"), "{e}");
    for bad in [
        "x.sum(1).to_dtype(\"bool\")",
        "x.sum(1).to_dtype(\"int64\")",
    ] {
        let code = format!("energy(|x| {bad}, 2).at([[1.0, 0.0], [0.0, 3.0]])");
        match s.eval("<test>", &code) {
            Err(e) => assert!(e.contains("floating point"), "{bad}: {e}"),
            Ok(v) => panic!("{bad}: accepted, gave {v}"),
        }
    }
}

#[test]
fn a_path_option_that_is_not_a_string_is_an_error_not_ignored() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = telescope::script::new_session(None);
    for code in [
        "adelm(quadratic(2), #{iters: 1, checkpoint: 5})",
        "adelm(quadratic(2), #{iters: 1, resume: 5})",
        "gwl(sk(10, 1), #{emax: 0.0, iters: 10, checkpoint: true})",
        "gwl(sk(10, 1), #{emax: 0.0, iters: 10, resume: [1]})",
    ] {
        let e = s.eval("<test>", code).unwrap_err();
        assert!(e.contains("must be a path string"), "{code}: {e}");
    }
}

#[test]
fn bad_couplings_and_impossible_sizes_are_clear_errors() {
    let tmp = tempfile::Builder::new()
        .prefix("telescope-couplings-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let cases = [
        (r#"{"n": 0, "J": []}"#, "n >= 2"),
        (r#"{"n": 1000000000000000, "J": [[0]]}"#, "rows"),
        (r#"{"n": 2, "J": [[0, 1], [1, 0], [0, 0]]}"#, "rows"),
        (r#"{"J": [[0, 1], [2, 0]]}"#, "not symmetric"),
    ];
    for (k, (text, what)) in cases.iter().enumerate() {
        let path = dir.join(format!("j{k}.json"));
        std::fs::write(&path, text).unwrap();
        let e = telescope::energy::sk_load(&path, 1.0)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains(what)),
            "{text}: {e:?}"
        );
    }
    let e = telescope::energy::sk(4_294_967_296, 1, 1.0)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("GiB"), "{e}");
    let e = telescope::energy::sk(100_000, 1, 1.0)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("would allocate"), "{e}");
    let mut j = vec![0.0, 1.0, 1.0, 0.0];
    j[1] = f64::NAN;
    j[2] = f64::NAN;
    let e = telescope::energy::sk_from_couplings(&j, 2, 1.0)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("finite"), "{e}");
}

#[test]
fn libtorch_errors_in_ops_with_number_arguments_read_as_errors_not_crashes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = telescope::script::new_session(None);
    for (code, what) in [
        ("zeros([2, 3]).norm(5)", "Dimension out of range"),
        ("arange(0, 10, -1)", "step sign"),
    ] {
        let e = s.eval("<test>", code).unwrap_err();
        assert!(e.contains("libtorch: ") && e.contains(what), "{code}: {e}");
        assert!(
            !e.contains("frame #") && !e.contains("internal error"),
            "{code}: {e}"
        );
    }
    // The session goes on.
    assert_eq!(s.eval("<test>", "1 + 1").unwrap().as_int().unwrap(), 2);
}

/// In a level space the straight line is taken through states of the space: every point is
/// rounded to the levels. On two levels with U(x) = -||x||^2 every state has U = -D, so the
/// line's maximum is -D exactly; between the levels (x = 0 at the middle) U would reach 0.
#[test]
fn the_line_barrier_of_a_level_space_passes_only_through_its_levels() {
    let mut s = telescope::script::new_session(None);
    for d in [1usize, 3, 8] {
        let code = format!(
            "let U = energy(|x| -(x * x).sum(1), #{{dim: {d}, space: \"levels\", levels: 2, lo: -1.0, hi: 1.0}}); \
             barrier_1d(U, ones([{d}]) * -1.0, ones([{d}]), 101).barrier"
        );
        let b = s.eval("<test>", &code).unwrap().as_float().unwrap();
        assert_eq!(b, -(d as f64), "D = {d}");
    }
}
