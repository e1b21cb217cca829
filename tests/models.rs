//! Learned image energies: layer shapes against conv arithmetic, gradients against finite
//! differences, training, save/load, datasets, Gibbs synthesis against enumeration, scripts.

use std::rc::Rc;
use tch::{Kind, Tensor};
use telescope::energy::{Energy, Space};
use telescope::models::{self, DeepFrameEnergy, ImageSpace, LatentEnergy, Net, Role};

mod common;
use common::gradient::assert_gradient_matches_central_differences;

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One libtorch thread: these tensors are tiny, and on a busy machine idle worker threads
/// spinning for work cost far more than they give.
fn init() {
    tch::set_num_threads(1);
}

/// A fresh folder for one test, removed when the guard drops (also on a panic).
fn tmpdir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("telescope-models-{tag}-"))
        .tempdir()
        .unwrap()
}

/// Output size of a convolution: floor((n + 2p - k) / s) + 1.
fn conv_out(n: i64, k: i64, s: i64, p: i64) -> i64 {
    (n + 2 * p - k) / s + 1
}

/// Output size of a transposed convolution: (n - 1) s - 2p + k + output_padding.
fn convt_out(n: i64, k: i64, s: i64, p: i64, op: i64) -> i64 {
    (n - 1) * s - 2 * p + k + op
}

#[test]
fn layer_shapes_follow_conv_arithmetic() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    // Appendix A descriptor on 16x16: padding floor(5/2) = 2.
    let d = Net::descriptor("conv(50,5,2) fc(100) fc(1)", [1, 16, 16], "float32").unwrap();
    let h = conv_out(16, 5, 2, 2);
    assert_eq!(h, 8);
    assert_eq!(d.shapes(), &[[50, h, h], [100, 1, 1], [1, 1, 1]]);
    // Layer parameters: conv 50*1*5*5+50, fc (50*8*8)*100+100, fc 100+1.
    assert_eq!(d.num_params(), 50 * 25 + 50 + 50 * 64 * 100 + 100 + 101);

    // Larger descriptor of Appendix A (digits 0-9, 64x64), an explicit padding and a stride 3.
    let d2 = Net::descriptor("conv(100,5,2) conv(200,5,2) fc(1)", [1, 64, 64], "float32").unwrap();
    assert_eq!(d2.shapes(), &[[100, 32, 32], [200, 16, 16], [1, 1, 1]]);
    let d3 = Net::descriptor(
        "conv(4,4,2,1) conv(6,5,3) conv(2,3,1,0)",
        [3, 17, 17],
        "float32",
    )
    .unwrap();
    let a = conv_out(17, 4, 2, 1);
    let b = conv_out(a, 5, 3, 2);
    let c = conv_out(b, 3, 1, 0);
    assert_eq!(d3.shapes(), &[[4, a, a], [6, b, b], [2, c, c]]);
    // The forward pass agrees with the inferred shapes (score sums the last layer: [B]).
    let x = Tensor::rand([5, 3 * 17 * 17], (Kind::Float, tch::Device::Cpu));
    assert_eq!(d3.score(&x).unwrap().size(), vec![5]);
    assert_eq!(
        d.score(&Tensor::rand([3, 256], (Kind::Double, tch::Device::Cpu)))
            .unwrap()
            .size(),
        vec![3]
    );

    // Generators: first layer padding 0; then padding floor(k/2), output padding stride-1.
    let g = Net::generator("convT(100,4,1) convT(50,5,2) convT(3,5,2)", 2, "float32").unwrap();
    let s1 = convt_out(1, 4, 1, 0, 0);
    let s2 = convt_out(s1, 5, 2, 2, 1);
    let s3 = convt_out(s2, 5, 2, 2, 1);
    assert_eq!((s1, s2, s3), (4, 8, 16));
    assert_eq!(g.shapes(), &[[100, s1, s1], [50, s2, s2], [3, s3, s3]]);
    let g2 = Net::generator("convT(100,4,1) convT(50,7,4) convT(1,7,4)", 8, "float32").unwrap();
    assert_eq!(g2.shapes(), &[[100, 4, 4], [50, 16, 16], [1, 64, 64]]);
    let z = Tensor::randn([7, 2], (Kind::Float, tch::Device::Cpu));
    let img = g.generate(&z).unwrap();
    assert_eq!(img.size(), vec![7, 3 * 16 * 16]);
    // tanh at the end: every pixel inside (-1, 1).
    assert!(img.abs().max().double_value(&[]) < 1.0);
    // fc in a generator: a vector that later layers see as [units, 1, 1].
    let g3 = Net::generator("fc(32) convT(8,4,1) convT(1,3,2)", 3, "float32").unwrap();
    assert_eq!(
        g3.shapes(),
        &[
            [32, 1, 1],
            [8, convt_out(1, 4, 1, 0, 0), 4],
            [1, convt_out(4, 3, 2, 1, 1), 8]
        ]
    );
    assert_eq!(
        g3.generate(&Tensor::randn([2, 3], (Kind::Float, tch::Device::Cpu)))
            .unwrap()
            .size(),
        vec![2, 64]
    );
    assert!(
        d.describe()
            .contains("conv(50,5,2) padding 2 -> [50, 8, 8]"),
        "{}",
        d.describe()
    );
}

#[test]
fn malformed_specs_are_errors_not_panics() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    for spec in [
        "",
        "   ",
        "conv(50,5)",
        "conv(a,5,2)",
        "fc(0)",
        "pool(2)",
        "conv(50,5,2",
        "conv(50,5,2) fc(-1)",
        "conv(50,5,2)) fc(1)",
        "fc(1,2)",
        "(3)",
    ] {
        assert!(
            models::parse_layers(spec).is_err(),
            "spec {spec:?} should be rejected"
        );
        assert!(Net::descriptor(spec, [1, 16, 16], "float32").is_err());
    }
    // Non-positive sizes: a 9-wide kernel without padding on 4x4, a 3x3 kernel on 1x1 after fc.
    let e = Net::descriptor("conv(4,9,1,0)", [1, 4, 4], "float32")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("non-positive"), "{e}");
    assert!(Net::descriptor("fc(4) conv(3,3,2,0)", [1, 8, 8], "float32").is_err());
    assert!(Net::descriptor("fc(1)", [1, 8, 8], "float16").is_err());
    assert!(Net::descriptor("fc(1)", [0, 8, 8], "float32").is_err());
    // Wrong input sizes are errors too.
    let d = Net::descriptor("conv(4,3,2) fc(1)", [1, 8, 8], "float32").unwrap();
    assert!(d
        .score(&Tensor::zeros([2, 63], (Kind::Float, tch::Device::Cpu)))
        .is_err());
    assert!(d
        .generate(&Tensor::zeros([2, 64], (Kind::Float, tch::Device::Cpu)))
        .is_err());
    let g = Net::generator("convT(4,4,1) convT(1,3,2)", 2, "float32").unwrap();
    // The generator makes 8x8 images, the descriptor reads 16x16: the latent energy refuses.
    let d16 = Net::descriptor("conv(4,3,2) fc(1)", [1, 16, 16], "float32").unwrap();
    assert!(LatentEnergy::new(Rc::new(d16), Rc::new(g), 1.0, 0.0, 3.0).is_err());

    let mut s = telescope::script::new_session(None);
    for code in [
        r#"descriptor("conv(50,5", #{})"#,
        r#"descriptor("conv(50,5,2) fc(1)", #{shape: [1, 16, 0]})"#,
        r#"descriptor("conv(50,5,2) fc(1)", #{shpae: [1, 16, 16]})"#,
        r#"generator("convT(10,4,1) zap(3)")"#,
        r#"let d = descriptor("fc(1)"); d.score([[1.0, 2.0]])"#,
        r#"dataset("cifar")"#,
        r#"dataset("mnist", #{size: 20})"#,
        r#"dataset("mnist", #{levels: 4})"#,
        r#"dataset("mnist", #{n: 5001})"#,
        r#"dataset("spots_stripes", #{levels: 8})"#,
        r#"load_model("/nonexistent/model.safetensors")"#,
    ] {
        assert!(s.eval("<test>", code).is_err(), "{code} should fail");
    }
}

fn f64_nets() -> (Rc<Net>, Rc<Net>) {
    telescope::tensor::manual_seed(3);
    let d = Net::descriptor("conv(6,3,2) fc(10) fc(1)", [1, 8, 8], "float64").unwrap();
    let g = Net::generator("convT(8,4,1) convT(1,3,2)", 3, "float64").unwrap();
    (Rc::new(d), Rc::new(g))
}

#[test]
fn latent_wall_adds_its_closed_form_and_matches_central_differences() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    let (d, g) = f64_nets();
    let plain = LatentEnergy::new(d.clone(), g.clone(), 0.7, 0.0, 3.0).unwrap();
    let walled = LatentEnergy::new(d.clone(), g.clone(), 0.7, 0.0, 3.0)
        .unwrap()
        .with_wall(1.5, 40.0)
        .unwrap();
    // Rows inside and outside the radius: norms 0.5, 1.0, 2.0 and 3.0.
    let dirs = Tensor::randn([4, 3], (Kind::Double, tch::Device::Cpu));
    let unit = &dirs / dirs.square().sum_dim_intlist(1, true, Kind::Double).sqrt();
    let norms = Tensor::from_slice(&[0.5f64, 1.0, 2.0, 3.0]).unsqueeze(1);
    let z = &unit * &norms;
    let diff = walled.energy(&z).unwrap() - plain.energy(&z).unwrap();
    let expect = [0.0, 0.0, 40.0 * 0.25, 40.0 * 2.25];
    for (k, want) in expect.iter().enumerate() {
        let got = diff.double_value(&[k as i64]);
        assert!(
            (got - want).abs() < 1e-9,
            "row {k}: wall adds {got}, expected {want}"
        );
    }
    assert_gradient_matches_central_differences(&walled, &z, 1e-6, 1e-6);
    for (r, k) in [(0.0, 1.0), (-1.0, 1.0), (1.0, 0.0), (f64::NAN, 1.0)] {
        let e = LatentEnergy::new(d.clone(), g.clone(), 0.7, 0.0, 3.0).unwrap();
        assert!(
            e.with_wall(r, k).is_err(),
            "radius {r} stiffness {k} accepted"
        );
    }
}

#[test]
fn latent_energy_gradient_matches_central_differences() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    let (d, g) = f64_nets();
    let e = LatentEnergy::new(d.clone(), g.clone(), 0.7, 0.0, 3.0).unwrap();
    assert_eq!(e.dim(), Some(3));
    let z = Tensor::randn([4, 3], (Kind::Double, tch::Device::Cpu));
    let u = e.energy(&z).unwrap();
    assert_eq!(u.size(), vec![4]);
    assert_gradient_matches_central_differences(&e, &z, 1e-5, 1e-6);
    // The energy is the image energy of the generated images.
    let img = g.generate(&z).unwrap();
    let ui = DeepFrameEnergy::new(d.clone(), 0.7, ImageSpace::default())
        .unwrap()
        .energy(&img)
        .unwrap();
    assert!((ui - &u).abs().max().double_value(&[]) < 1e-12);
    // The prior adds prior * ||z||^2 / 2.
    let ep = LatentEnergy::new(d, g, 0.7, 2.0, 3.0).unwrap();
    let diff = ep.energy(&z).unwrap() - &u;
    let expect = z.square().sum_dim_intlist(1, false, Kind::Double);
    assert!((diff - expect).abs().max().double_value(&[]) < 1e-10);
    assert_eq!(
        ep.space(),
        Space::Continuous {
            lo: vec![-3.0; 3],
            hi: vec![3.0; 3]
        }
    );
}

#[test]
fn deepframe_energy_has_the_gaussian_reference_term_and_converts_dtypes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    let d = Rc::new(Net::descriptor("conv(4,3,2) fc(8) fc(1)", [1, 8, 8], "float32").unwrap());
    let e1 = DeepFrameEnergy::new(d.clone(), 1.0, ImageSpace::default()).unwrap();
    let e2 = DeepFrameEnergy::new(
        d.clone(),
        0.5,
        ImageSpace {
            lo: -1.0,
            hi: 1.0,
            levels: 8,
        },
    )
    .unwrap();
    let x = Tensor::rand([6, 64], (Kind::Double, tch::Device::Cpu)) * 2.0 - 1.0;
    let u1 = e1.energy(&x).unwrap();
    let u2 = e2.energy(&x).unwrap();
    // Session-dtype (float64) states in, float64 energies out, from a float32 net.
    assert_eq!(u1.kind(), Kind::Double);
    // U_0.5 - U_1 = ||x||^2 (1/(2*0.25) - 1/2) = 1.5 ||x||^2, independent of the network.
    let expect = x.square().sum_dim_intlist(1, false, Kind::Double) * 1.5;
    assert!(((&u2 - &u1) - expect).abs().max().double_value(&[]) < 1e-3);
    // And U = -F + ||x||^2/2 with F from the descriptor.
    let f = d.score(&x).unwrap().to_kind(Kind::Double);
    let expect1 = x.square().sum_dim_intlist(1, false, Kind::Double) * 0.5 - f;
    assert!((&u1 - expect1).abs().max().double_value(&[]) < 1e-4);
    assert_eq!(
        e2.space(),
        Space::Levels {
            k: 8,
            lo: -1.0,
            hi: 1.0
        }
    );
    assert!(matches!(e1.space(), Space::Continuous { ref lo, .. } if lo.len() == 64));
    let g = e1.grad(&x).unwrap();
    assert_eq!((g.size(), g.kind()), (vec![6, 64], Kind::Double));
    assert!(e1
        .energy(&Tensor::zeros([2, 10], (Kind::Double, tch::Device::Cpu)))
        .is_err());
    assert!(DeepFrameEnergy::new(d, -1.0, ImageSpace::default()).is_err());
}

#[test]
fn tiny_deepframe_training_lowers_data_energy_relative_to_noise() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    telescope::tensor::manual_seed(11);
    let data = models::digits(64, 8, &[1, 7], 5).unwrap();
    let net = Net::descriptor("conv(8,3,2) fc(16) fc(1)", [1, 8, 8], "float32").unwrap();
    let noise = Tensor::rand([64, 64], (Kind::Double, tch::Device::Cpu)) * 2.0 - 1.0;
    let gap = |net: &Net| {
        let e = DeepFrameEnergy::new(
            Rc::new(net.try_clone().unwrap()),
            1.0,
            ImageSpace::default(),
        )
        .unwrap();
        let ud = e
            .energy(&data.images)
            .unwrap()
            .mean(Kind::Double)
            .double_value(&[]);
        let un = e
            .energy(&noise)
            .unwrap()
            .mean(Kind::Double)
            .double_value(&[]);
        un - ud
    };
    let before = gap(&net);
    let o = models::TrainOptions {
        epochs: 15,
        batch: 32,
        lr: 3e-3,
        steps: 10,
        step_size: 0.1,
        print_every: 0,
        ..Default::default()
    };
    let tmp = tmpdir("ckpt");
    let ck = tmp.path().join("sub").join("run");
    let o = models::TrainOptions {
        checkpoint: Some(ck.clone()),
        checkpoint_every: 5,
        ..o
    };
    let r = models::train_deepframe(&net, &data.images, &o).unwrap();
    assert_eq!(r.history.len(), 15);
    // The final checkpoint holds the trained weights.
    let saved = Net::load(&ck.with_file_name("run_descriptor.safetensors")).unwrap();
    let x = data.images.narrow(0, 0, 4);
    assert_eq!(
        Vec::<f64>::try_from(&saved.score(&x).unwrap().to_kind(Kind::Double)).unwrap(),
        Vec::<f64>::try_from(&net.score(&x).unwrap().to_kind(Kind::Double)).unwrap()
    );
    assert_eq!(r.steps, 30);
    assert_eq!(r.samples.size(), vec![32, 64]);
    let after = gap(&net);
    assert!(
        after > before + 5.0 && after > 5.0,
        "noise-minus-data energy gap {before} -> {after}"
    );
}

#[test]
fn tiny_coop_training_runs_and_separates_data_from_noise() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    telescope::tensor::manual_seed(12);
    let data = models::spots_stripes(32, 8, 2).unwrap();
    let d = Net::descriptor("conv(8,3,2) fc(16) fc(1)", [1, 8, 8], "float32").unwrap();
    let g = Net::generator("convT(16,4,1) convT(1,3,2)", 2, "float32").unwrap();
    let o = models::TrainOptions {
        epochs: 20,
        batch: 16,
        lr: 5e-3,
        gen_lr: 3e-3,
        steps: 5,
        latent_steps: 5,
        step_size: 0.1,
        print_every: 0,
        ..Default::default()
    };
    let noise = Tensor::rand([32, 64], (Kind::Double, tch::Device::Cpu)) * 2.0 - 1.0;
    let gap = |net: &Net| {
        let e = DeepFrameEnergy::new(
            Rc::new(net.try_clone().unwrap()),
            1.0,
            ImageSpace::default(),
        )
        .unwrap();
        let ud = e
            .energy(&data.images)
            .unwrap()
            .mean(Kind::Double)
            .double_value(&[]);
        let un = e
            .energy(&noise)
            .unwrap()
            .mean(Kind::Double)
            .double_value(&[]);
        un - ud
    };
    let before = gap(&d);
    let g_before = g
        .generate(&Tensor::ones([1, 2], (Kind::Float, tch::Device::Cpu)))
        .unwrap();
    let r = models::train_coop(&d, &g, &data.images, &o).unwrap();
    assert_eq!(r.history.len(), 20);
    assert!(r
        .history
        .iter()
        .all(|h| h.gen_loss.map(f64::is_finite).unwrap_or(false)));
    let after = gap(&d);
    assert!(
        after > before + 5.0,
        "noise-minus-data energy gap {before} -> {after}"
    );
    // The generator was updated in place.
    let g_after = g
        .generate(&Tensor::ones([1, 2], (Kind::Float, tch::Device::Cpu)))
        .unwrap();
    assert!((g_after - g_before).abs().max().double_value(&[]) > 1e-4);
}

#[test]
fn save_load_round_trip_gives_identical_energies() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    let (d, g) = f64_nets();
    let tmp = tmpdir("saveload");
    let dir = tmp.path().to_path_buf();
    let dp = dir.join("desc.safetensors");
    let gp = dir.join("gen.safetensors");
    d.save(&dp).unwrap();
    g.save(&gp).unwrap();
    assert!(dir.join("desc.json").exists());
    let d2 = Rc::new(Net::load(&dp).unwrap());
    let g2 = Rc::new(Net::load(&dir.join("gen.json")).unwrap());
    assert_eq!(d2.spec(), d.spec());
    assert_eq!(g2.role(), Role::Generator);
    let z = Tensor::randn([5, 3], (Kind::Double, tch::Device::Cpu));
    let e1 = LatentEnergy::new(d, g, 1.0, 0.0, 3.0)
        .unwrap()
        .energy(&z)
        .unwrap();
    let e2 = LatentEnergy::new(d2, g2, 1.0, 0.0, 3.0)
        .unwrap()
        .energy(&z)
        .unwrap();
    assert_eq!(
        Vec::<f64>::try_from(&e1).unwrap(),
        Vec::<f64>::try_from(&e2).unwrap()
    );
    // A fresh net differs (the test is not vacuous), and bad paths are errors.
    let (d3, g3) = (
        Net::descriptor("conv(6,3,2) fc(10) fc(1)", [1, 8, 8], "float64").unwrap(),
        Net::generator("convT(8,4,1) convT(1,3,2)", 3, "float64").unwrap(),
    );
    let e3 = LatentEnergy::new(Rc::new(d3), Rc::new(g3), 1.0, 0.0, 3.0)
        .unwrap()
        .energy(&z)
        .unwrap();
    assert!((e3 - &e1).abs().max().double_value(&[]) > 1e-6);
    let dd = Net::descriptor("fc(1)", [1, 2, 2], "float32").unwrap();
    assert!(dd.save(&dir.join("x.pt")).is_err());
    assert!(Net::load(&dir.join("missing.safetensors")).is_err());
    std::fs::write(dir.join("junk.json"), "{\"role\": 3}").unwrap();
    assert!(Net::load(&dir.join("junk.json")).is_err());
}

#[test]
fn datasets_have_shapes_ranges_and_are_reproducible() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    let a = models::digits(40, 16, &[0, 1], 7).unwrap();
    let b = models::digits(40, 16, &[0, 1], 7).unwrap();
    let c = models::digits(40, 16, &[0, 1], 8).unwrap();
    assert_eq!(a.images.size(), vec![40, 256]);
    assert_eq!(a.shape, [1, 16, 16]);
    assert_eq!(a.labels, (0..40).map(|i| i % 2).collect::<Vec<i64>>());
    let va = Vec::<f64>::try_from(&a.images.reshape([-1]).to_kind(Kind::Double)).unwrap();
    assert!(va.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(
        va,
        Vec::<f64>::try_from(&b.images.reshape([-1]).to_kind(Kind::Double)).unwrap()
    );
    assert_ne!(
        va,
        Vec::<f64>::try_from(&c.images.reshape([-1]).to_kind(Kind::Double)).unwrap()
    );
    // Each image has ink (near +1) on a mostly dark background, with antialiased grey edges.
    for i in 0..40 {
        let row = &va[i * 256..(i + 1) * 256];
        assert!(row.iter().cloned().fold(f64::MIN, f64::max) > 0.9);
        assert!(row.iter().sum::<f64>() / 256.0 < 0.0);
    }
    assert!(va.iter().any(|v| *v > -0.9 && *v < 0.9));
    // Glyph truth: a "0" has a hole in the middle and ink at its sides, a "1" ink down the middle.
    let mean_of = |label: usize, y: usize, x0: usize, x1: usize| {
        let mut s = 0.0;
        let mut n = 0.0;
        for i in (label..40).step_by(2) {
            for x in x0..x1 {
                s += va[i * 256 + y * 16 + x];
                n += 1.0;
            }
        }
        s / n
    };
    assert!(mean_of(0, 8, 7, 9) < -0.5, "centre of 0s should be dark");
    assert!(
        mean_of(1, 8, 7, 9) > mean_of(0, 8, 7, 9) + 0.5,
        "centre of 1s should be inked"
    );

    let s = models::spots_stripes(10, 12, 1).unwrap();
    assert_eq!(s.images.size(), vec![10, 144]);
    assert_eq!(s.labels, vec![0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    let vs = Vec::<f64>::try_from(&s.images.reshape([-1]).to_kind(Kind::Double)).unwrap();
    assert!(vs.iter().all(|v| (-1.0..=1.0).contains(v)));
    let s2 = models::spots_stripes(10, 12, 1).unwrap();
    assert_eq!(
        vs,
        Vec::<f64>::try_from(&s2.images.reshape([-1]).to_kind(Kind::Double)).unwrap()
    );
    assert!(models::digits(4, 16, &[10], 1).is_err());
    assert!(models::spots_stripes(4, 2, 1).is_err());
}

/// Structure-tensor orientation (radians, mod pi) and coherence of a square grayscale image.
fn orientation_and_coherence(img: &[f64], size: usize) -> (f64, f64) {
    let (mut jxx, mut jyy, mut jxy) = (0.0, 0.0, 0.0);
    for y in 0..size - 1 {
        for x in 0..size - 1 {
            let gx = img[y * size + x + 1] - img[y * size + x];
            let gy = img[(y + 1) * size + x] - img[y * size + x];
            jxx += gx * gx;
            jyy += gy * gy;
            jxy += gx * gy;
        }
    }
    let theta = 0.5 * (2.0 * jxy).atan2(jxx - jyy);
    let coherence = ((jxx - jyy).powi(2) + 4.0 * jxy * jxy).sqrt() / (jxx + jyy + 1e-12);
    (theta, coherence)
}

/// As the paper's patches come from one photograph per class (Figure 20), every stripes patch
/// shows the same texture: one orientation up to the gentle bend (measured by the structure
/// tensor, not by the generator's formula), and far more coherent than every spots patch.
#[test]
fn spots_stripes_patches_come_from_one_texture_per_class() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    for (seed, size) in [(1u64, 16usize), (2, 16), (3, 12), (4, 24), (5, 32), (6, 8)] {
        let n = 60;
        let s = models::spots_stripes(n, size, seed).unwrap();
        let v = Vec::<f64>::try_from(&s.images.reshape([-1]).to_kind(Kind::Double)).unwrap();
        let d = size * size;
        let measured: Vec<(f64, f64)> = (0..n)
            .map(|i| orientation_and_coherence(&v[i * d..(i + 1) * d], size))
            .collect();
        let (stripes, spots): (Vec<_>, Vec<_>) = (0..n).partition(|i| s.labels[*i] == 1);
        // Circular mean of the doubled angles: the texture's orientation.
        let (c, sn) = stripes.iter().fold((0.0, 0.0), |(c, sn), &i| {
            (
                c + (2.0 * measured[i].0).cos(),
                sn + (2.0 * measured[i].0).sin(),
            )
        });
        let mean = 0.5 * sn.atan2(c);
        for &i in &stripes {
            let diff = (2.0 * (measured[i].0 - mean)).sin().abs().asin() / 2.0;
            assert!(
                diff < 20f64.to_radians(),
                "seed {seed} size {size}: stripes patch {i} turned {:.1} degrees from the others",
                diff.to_degrees()
            );
        }
        let least_stripes = stripes
            .iter()
            .map(|&i| measured[i].1)
            .fold(f64::MAX, f64::min);
        let most_spots = spots
            .iter()
            .map(|&i| measured[i].1)
            .fold(f64::MIN, f64::max);
        assert!(
            least_stripes > most_spots,
            "seed {seed} size {size}: coherence of stripes {least_stripes} vs spots {most_spots}"
        );
        // Spots are bright disks on a dark ground: the patches mostly dark, most with a disk.
        let inked = spots
            .iter()
            .filter(|&&i| v[i * d..(i + 1) * d].iter().any(|p| *p > 0.9))
            .count();
        assert!(
            inked * 10 >= spots.len() * 8,
            "seed {seed}: {inked} spots patches have a spot"
        );
        let mean: f64 = spots
            .iter()
            .map(|&i| v[i * d..(i + 1) * d].iter().sum::<f64>())
            .sum::<f64>()
            / (spots.len() * d) as f64;
        assert!(mean < -0.2, "seed {seed}: spots patches' mean pixel {mean}");
    }
}

#[test]
fn png_folders_and_npy_arrays_load_as_images() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    let tmp = tmpdir("png");
    let dir = tmp.path().to_path_buf();
    for (k, class) in ["a", "b"].iter().enumerate() {
        let sub = dir.join(class);
        std::fs::create_dir_all(&sub).unwrap();
        for j in 0..2u8 {
            let v = if k == 0 { 0u8 } else { 255u8 };
            let img = image::GrayImage::from_fn(20, 10, |_, _| image::Luma([v]));
            img.save(sub.join(format!("{j}.png"))).unwrap();
        }
    }
    let d = models::load_images(&dir, 8, 6, 1).unwrap();
    assert_eq!(d.images.size(), vec![4, 48]);
    assert_eq!(d.labels, vec![0, 0, 1, 1]);
    assert_eq!(d.classes, vec!["a".to_string(), "b".to_string()]);
    let v = Vec::<f64>::try_from(&d.images.reshape([-1]).to_kind(Kind::Double)).unwrap();
    assert!(
        v[..96].iter().all(|x| (*x + 1.0).abs() < 1e-9)
            && v[96..].iter().all(|x| (*x - 1.0).abs() < 1e-9)
    );
    assert!(models::load_images(&dir.join("nothing"), 8, 8, 1).is_err());

    let p = dir.join("x.npy");
    let raw: Vec<f64> = (0..3 * 4 * 4).map(|i| (i * 5) as f64).collect();
    telescope::tensor_io::write_npy(&p, &raw, &[3, 4, 4]).unwrap();
    let n = models::load_npy(&p, None, true).unwrap();
    assert_eq!((n.images.size(), n.shape), (vec![3, 16], [1, 4, 4]));
    let nv = Vec::<f64>::try_from(&n.images.reshape([-1]).to_kind(Kind::Double)).unwrap();
    assert!((nv[1] - (2.0 * 5.0 / 255.0 - 1.0)).abs() < 1e-12);
    assert!(models::load_npy(&p, Some([1, 3, 3]), true).is_err());
}

#[test]
fn gibbs_synthesis_matches_exact_enumeration() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    telescope::tensor::manual_seed(21);
    // Two pixels, three levels: 9 states, exact probabilities by enumeration.
    let net = Net::descriptor("fc(3) fc(1)", [1, 1, 2], "float64").unwrap();
    let levels = [-1.0, 0.0, 1.0];
    let states: Vec<f64> = levels
        .iter()
        .flat_map(|&a| levels.iter().flat_map(move |&b| [a, b]))
        .collect();
    let st = Tensor::from_slice(&states).reshape([9, 2]);
    let e = DeepFrameEnergy::new(
        Rc::new(net.try_clone().unwrap()),
        0.5,
        ImageSpace::default(),
    )
    .unwrap();
    let u = Vec::<f64>::try_from(&e.energy(&st).unwrap()).unwrap();
    let z: f64 = u.iter().map(|x| (-x).exp()).sum();
    let p: Vec<f64> = u.iter().map(|x| (-x).exp() / z).collect();
    let y0 = Tensor::zeros([6000, 2], (Kind::Double, tch::Device::Cpu));
    let y = models::gibbs_images(&net, 0.5, &y0, 6, 3, -1.0, 1.0).unwrap();
    let yv = Vec::<f64>::try_from(&y.reshape([-1])).unwrap();
    let mut counts = [0.0; 9];
    for c in yv.chunks(2) {
        let idx = |v: f64| {
            levels
                .iter()
                .position(|l| (l - v).abs() < 1e-9)
                .expect("a level value")
        };
        counts[idx(c[0]) * 3 + idx(c[1])] += 1.0;
    }
    for k in 0..9 {
        let f = counts[k] / 6000.0;
        let sd = (p[k] * (1.0 - p[k]) / 6000.0).sqrt();
        assert!(
            (f - p[k]).abs() < 5.0 * sd + 2e-3,
            "state {k}: frequency {f} vs exact {}",
            p[k]
        );
    }
}

#[test]
fn deepframe_training_with_gibbs_keeps_samples_on_the_pixel_levels() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    telescope::tensor::manual_seed(41);
    let data = models::digits(16, 6, &[1], 2).unwrap();
    let net = Net::descriptor("conv(4,3,2) fc(1)", [1, 6, 6], "float32").unwrap();
    let o = models::TrainOptions {
        epochs: 2,
        batch: 8,
        steps: 1,
        synthesis: models::Synthesis::Gibbs { levels: 4 },
        print_every: 0,
        ..Default::default()
    };
    let r = models::train_deepframe(&net, &data.images, &o).unwrap();
    assert_eq!((r.steps, r.samples.size()), (4, vec![8, 36]));
    let v = Vec::<f64>::try_from(&r.samples.reshape([-1]).to_kind(Kind::Double)).unwrap();
    let levels = [-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0];
    assert!(
        v.iter()
            .all(|x| levels.iter().any(|l| (l - x).abs() < 1e-6)),
        "{v:?}"
    );
    let bad = models::TrainOptions {
        synthesis: models::Synthesis::Gibbs { levels: 1 },
        ..o
    };
    assert!(models::train_deepframe(&net, &data.images, &bad).is_err());
}

#[test]
fn langevin_on_the_reference_gaussian_has_the_closed_form_variance() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    telescope::tensor::manual_seed(31);
    // Zero weights: F = 0 and U(x) = ||x||^2 / (2 sigma^2), so unadjusted Langevin with step eps
    // is x' = (1 - a) x + eps N(0, 1), a = eps^2 / (2 sigma^2), stationary variance
    // eps^2 / (1 - (1 - a)^2).
    let net = Net::descriptor("fc(3) fc(1)", [1, 2, 2], "float64").unwrap();
    tch::no_grad(|| {
        for mut p in net.parameters().unwrap() {
            let _ = p.zero_();
        }
    });
    let (sigma, eps) = (0.5, 0.1);
    let a: f64 = eps * eps / (2.0 * sigma * sigma);
    let expect = eps * eps / (1.0 - (1.0 - a).powi(2));
    let y0 = Tensor::zeros([4000, 4], (Kind::Double, tch::Device::Cpu));
    let y = models::langevin_images(&net, sigma, &y0, 400, eps, 1.0, None).unwrap();
    let var = y.square().mean(Kind::Double).double_value(&[]);
    // 16000 values: the variance estimate has relative sd sqrt(2/16000) ~ 1.1%.
    assert!(
        (var / expect - 1.0).abs() < 0.05,
        "variance {var} vs {expect}"
    );
    // Without noise the chains descend to the minimum at 0.
    let ones = Tensor::ones([10, 4], (Kind::Double, tch::Device::Cpu));
    let d = models::langevin_images(&net, sigma, &ones, 400, eps, 0.0, None).unwrap();
    assert!(d.abs().max().double_value(&[]) < 1e-3);
}

#[test]
fn script_functions_build_train_save_and_load() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    let tmp = tmpdir("script");
    let dir = tmp.path().to_path_buf();
    let path = dir.join("d.safetensors");
    let mut s = telescope::script::new_session(None);
    let code = format!(
        r#"
        seed(4);
        let data = dataset("digits", #{{n: 24, size: 8, classes: [0, 1], seed: 3}});
        if data.shape != [1, 8, 8] || data.labels.len() != 24 {{ throw "dataset map"; }}
        let d = descriptor("conv(4,3,2) fc(8) fc(1)", #{{shape: [1, 8, 8]}});
        if d.shapes != [[4, 4, 4], [8, 1, 1], [1, 1, 1]] {{ throw "shapes " + d.shapes; }}
        let g = generator("convT(8,4,1) convT(1,3,2)", #{{latent: 2}});
        let imgs = g.generate([[0.1, 0.2], [0.3, -0.4]]);
        let sc = d.score(imgs);
        let r = train_deepframe(d, data, #{{epochs: 2, batch: 12, steps: 3, print_every: 0}});
        if r.history.len() != 2 || r.steps != 4 {{ throw "history"; }}
        let d2 = r.descriptor;
        d2.save("{p}");
        let d3 = load_model("{p}");
        let e = deepframe_energy(d3, #{{sigma: 1.0}});
        let l = latent_energy(d2, g, #{{box: 2.0}});
        let c = train_coop(d, g, data.images, #{{epochs: 1, batch: 12, steps: 2, latent_steps: 2, print_every: 0}});
        [d3.layers, d2.role, g.role, d.num_params, type_of(e), type_of(l), type_of(c.generator)]
        "#,
        p = path.display()
    );
    let v = s.eval("<test>", &code).unwrap();
    let a = v.into_array().unwrap();
    assert_eq!(
        a[0].clone().into_string().unwrap(),
        "conv(4,3,2) fc(8) fc(1)"
    );
    assert_eq!(a[1].clone().into_string().unwrap(), "descriptor");
    assert_eq!(a[2].clone().into_string().unwrap(), "generator");
    assert_eq!(a[3].as_int().unwrap(), 4 * 9 + 4 + 64 * 8 + 8 + 9);
    assert_eq!(a[4].clone().into_string().unwrap(), "Energy");
    assert_eq!(a[6].clone().into_string().unwrap(), "Net");
}

/// Runs `code` in a fresh session and returns its array result.
fn eval_array(code: &str) -> Vec<rhai::Dynamic> {
    telescope::script::new_session(None)
        .eval("<test>", code)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_array()
        .unwrap()
}

/// Four separated wells in 2-D and the ADELM map of them at a magnetization too weak to join
/// any: one group per well. The script ends with `[lm's result, groups]`, each group as
/// `[id, state, members]`.
const FOUR_WELLS: &str = r#"
    import "latent_map" as lm;
    seed(2);
    let centres = [[1.0, 0.0], [0.0, -1.5], [4.0, 0.5], [-3.5, 1.0]];
    let U = gmm(centres, [1.0, 1.0, 1.0, 1.0], 0.3);
    let m = adelm(U, #{T: 0.05, alpha: 0.01, iters: 40, progress: false});
    let groups = m.groups.map(|g| [g.id, g.state.to_array(), g.members]);
"#;

/// The wells of [`FOUR_WELLS`].
const WELLS: [[f64; 2]; 4] = [[1.0, 0.0], [0.0, -1.5], [4.0, 0.5], [-3.5, 1.0]];

/// Each group of a [`FOUR_WELLS`] result as (id, index of the well it sits in, members).
fn groups_by_well(v: &rhai::Dynamic) -> Vec<(i64, usize, i64)> {
    v.clone()
        .into_array()
        .unwrap()
        .into_iter()
        .map(|g| {
            let g = g.into_array().unwrap();
            let x: Vec<f64> = g[1]
                .clone()
                .into_array()
                .unwrap()
                .iter()
                .map(|c| c.as_float().unwrap())
                .collect();
            let well = (0..4)
                .min_by(|&a, &b| {
                    let d = |w: usize| (x[0] - WELLS[w][0]).hypot(x[1] - WELLS[w][1]);
                    d(a).total_cmp(&d(b))
                })
                .unwrap();
            let d = (x[0] - WELLS[well][0]).hypot(x[1] - WELLS[well][1]);
            assert!(d < 1e-3, "group {g:?} is not at a well");
            (g[0].as_int().unwrap(), well, g[2].as_int().unwrap())
        })
        .collect()
}

#[test]
fn latent_map_wall_groups_are_the_groups_whose_representative_lies_beyond_the_wall_radius() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Two wells inside and two outside the wall radius of a 2-D latent space,
    // sqrt(2 + 3 sqrt(4)) = 2.83; wall_groups reads only the map's representatives and the
    // generator's latent size.
    let v = eval_array(&format!(
        "{FOUR_WELLS}\nlet g = generator(\"convT(4,4,1) convT(1,3,2)\", #{{latent: 2}});\n\
         [lm::wall_radius(g), lm::wall_groups(m, g), groups]"
    ));
    assert!((v[0].as_float().unwrap() - 8f64.sqrt()).abs() < 1e-12);
    let mut flagged: Vec<i64> = v[1]
        .clone()
        .into_array()
        .unwrap()
        .iter()
        .map(|x| x.as_int().unwrap())
        .collect();
    flagged.sort();
    let groups = groups_by_well(&v[2]);
    assert_eq!(groups.len(), 4, "each well its own group: {groups:?}");
    // The wells at (4, 0.5) and (-3.5, 1) lie beyond the radius.
    let mut beyond: Vec<i64> = groups
        .iter()
        .filter(|(_, well, _)| *well >= 2)
        .map(|(id, _, _)| *id)
        .collect();
    beyond.sort();
    assert_eq!(flagged, beyond);
}

#[test]
fn latent_map_basin_classes_leave_the_groups_on_the_wall_out() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The wells at (4, 0.5) and (-3.5, 1) lie beyond the 2-D wall radius 2.83. They are
    // labelled b and c and the two inside a, so with the generator given, only a leads a
    // group; the wall's minima are counted apart, and the 5% share is of the others.
    let labels = [0usize, 0, 1, 2];
    let v = eval_array(&format!(
        "{FOUR_WELLS}\n\
         let g = generator(\"convT(4,4,1) convT(1,3,2)\", #{{latent: 2}});\n\
         let data = #{{images: tensor(centres), labels: {labels:?}, classes: [\"a\", \"b\", \"c\"]}};\n\
         let images = stack(m.minima.map(|r| r.state));\n\
         let t = lm::basin_classes(m, images, data, g);\n\
         let all = lm::basin_classes(m, images, data);\n\
         [t.classes_leading, t.classes_with_basin, t.purity, t.wall, t.wall_minima, \
          t.groups.map(|r| [r.id, r.wall]), all.classes_leading, all.wall, groups]"
    ));
    let groups = groups_by_well(&v[8]);
    assert_eq!(groups.len(), 4, "one group per well: {groups:?}");
    let mut beyond: Vec<i64> = groups.iter().filter(|g| g.1 >= 2).map(|g| g.0).collect();
    beyond.sort();
    let ints = |x: &rhai::Dynamic| -> Vec<i64> {
        let mut v = common::script_ints(x);
        v.sort();
        v
    };
    assert_eq!(ints(&v[3]), beyond, "the wall groups are listed");
    let wall_minima: i64 = groups.iter().filter(|g| g.1 >= 2).map(|g| g.2).sum();
    assert_eq!(v[4].as_int().unwrap(), wall_minima);
    assert_eq!(
        v[0].as_int().unwrap(),
        1,
        "only a leads a group off the wall"
    );
    assert_eq!(
        v[1].as_int().unwrap(),
        1,
        "a's groups hold every minimum off the wall"
    );
    assert_eq!(v[2].as_float().unwrap(), 1.0);
    for row in v[5].clone().into_array().unwrap() {
        let row = row.into_array().unwrap();
        let id = row[0].as_int().unwrap();
        assert_eq!(
            row[1].as_bool().unwrap(),
            beyond.contains(&id),
            "group {id}"
        );
    }
    // Without the generator every group counts: a, b and c lead one each.
    assert_eq!(v[6].as_int().unwrap(), 3);
    assert!(ints(&v[7]).is_empty());
}

#[test]
fn latent_map_basin_classes_count_the_classes_leading_any_group_and_a_large_one() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The "training images" are the wells' centres, labelled so that two wells share class a
    // and class d has no image. Every minimum sits in its well, so each group is pure and led
    // by its well's class.
    let labels = [0usize, 0, 1, 2];
    let v = eval_array(&format!(
        "{FOUR_WELLS}\n\
         let data = #{{images: tensor(centres), labels: {labels:?}, classes: [\"a\", \"b\", \"c\", \"d\"]}};\n\
         let t = lm::basin_classes(m, stack(m.minima.map(|r| r.state)), data);\n\
         [t.classes_leading, t.classes_with_basin, t.purity, groups]"
    ));
    let groups = groups_by_well(&v[3]);
    assert_eq!(groups.len(), 4, "one group per well: {groups:?}");
    let total: i64 = groups.iter().map(|g| g.2).sum();
    let distinct = |keep: &dyn Fn(i64) -> bool| {
        let mut c: Vec<usize> = groups
            .iter()
            .filter(|g| keep(g.2))
            .map(|g| labels[g.1])
            .collect();
        c.sort();
        c.dedup();
        c.len() as i64
    };
    assert_eq!(
        v[0].as_int().unwrap(),
        3,
        "classes a, b and c each lead a group"
    );
    assert_eq!(v[0].as_int().unwrap(), distinct(&|n| n > 0));
    assert_eq!(
        v[1].as_int().unwrap(),
        distinct(&|n| n as f64 >= 0.05 * total as f64),
        "{groups:?}"
    );
    assert_eq!(
        v[2].as_float().unwrap(),
        1.0,
        "every group is one well: pure"
    );
}

#[test]
fn latent_map_merge_classes_measure_the_tree_against_the_classes_as_brute_force_does() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Random trees (random energies and sparse barrier matrices, so some groups stay apart)
    // with random classes and wall groups; the truth is computed here from the minimax path
    // energies (Floyd-Warshall) and every pair compared with every other.
    let mut state = 99u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for trial in 0..12 {
        let n = 5 + (next() * 10.0) as usize;
        let e: Vec<f64> = (0..n).map(|_| (next() * 8.0).round() / 2.0).collect();
        let mut b = vec![vec![None; n]; n];
        for i in 0..n {
            for j in i + 1..n {
                if next() < 0.5 {
                    let v = e[i].max(e[j]) + (next() * 6.0).round() / 2.0;
                    b[i][j] = Some(v);
                    b[j][i] = Some(v);
                }
            }
        }
        let class: Vec<usize> = (0..n).map(|_| (next() * 3.0) as usize).collect();
        let wall: Vec<usize> = (0..n).filter(|_| next() < 0.2).collect();
        let names = ["a", "b", "c"];
        let rows: Vec<String> = b
            .iter()
            .map(|r| {
                let cells: Vec<String> = r
                    .iter()
                    .map(|v| v.map(|x| format!("{x:?}")).unwrap_or("()".into()))
                    .collect();
                format!("[{}]", cells.join(", "))
            })
            .collect();
        let code = format!(
            "import \"latent_map\" as lm;\n\
             let d = dg({e:?}, [{}]);\n\
             let t = #{{by_group: {:?}, wall: {wall:?}}};\n\
             let r = lm::merge_classes(d, t);\n\
             [r.triplets, r.first_same, r.chance]",
            rows.join(", "),
            class.iter().map(|&c| names[c]).collect::<Vec<_>>()
        );
        let v = eval_array(&code);
        let got: Vec<f64> = v
            .iter()
            .map(|x| {
                if x.is_unit() {
                    f64::NAN
                } else {
                    x.as_float().unwrap()
                }
            })
            .collect();

        let level = common::floyd_minimax(&e, &b);
        let keep: Vec<usize> = (0..n).filter(|i| !wall.contains(i)).collect();
        // Every triple of two groups of one class and a third of another, all joined: the
        // share in which the pair of one class has the lowest of the three merge levels
        // (a third where all three are equal).
        let (mut agree, mut triples) = (0.0, 0);
        for (x, &i) in keep.iter().enumerate() {
            for &j in &keep[x + 1..] {
                if class[i] != class[j] || !level[i][j].is_finite() {
                    continue;
                }
                for &k in keep.iter().filter(|&&k| class[k] != class[i]) {
                    let three = [level[i][j], level[i][k], level[j][k]];
                    if three.iter().any(|v| !v.is_finite()) {
                        continue;
                    }
                    triples += 1;
                    let low = three.iter().copied().fold(f64::INFINITY, f64::min);
                    let lowest = three.iter().filter(|&&v| v == low).count();
                    if three[0] == low {
                        agree += 1.0 / lowest as f64;
                    }
                }
            }
        }
        // No triples: the script returns () (NaN here).
        let triplets = if triples > 0 {
            agree / triples as f64
        } else {
            f64::NAN
        };
        let (mut hits, mut counted) = (0.0, 0);
        for &i in &keep {
            let joined: Vec<usize> = keep
                .iter()
                .copied()
                .filter(|&j| j != i && level[i][j].is_finite())
                .collect();
            let Some(low) = joined.iter().map(|&j| level[i][j]).reduce(f64::min) else {
                continue;
            };
            let first: Vec<usize> = joined.into_iter().filter(|&j| level[i][j] == low).collect();
            let alike = first.iter().filter(|&&j| class[j] == class[i]).count();
            hits += alike as f64 / first.len() as f64;
            counted += 1;
        }
        let first_same = if counted > 0 {
            hits / counted as f64
        } else {
            0.0
        };
        let m = keep.len();
        let alike_pairs: usize = (0..3)
            .map(|c| keep.iter().filter(|&&k| class[k] == c).count())
            .map(|k| k * k.saturating_sub(1))
            .sum();
        let chance = if m > 1 {
            alike_pairs as f64 / (m * (m - 1)) as f64
        } else {
            0.0
        };
        for (what, g, w) in [
            ("triplets", got[0], triplets),
            ("first_same", got[1], first_same),
            ("chance", got[2], chance),
        ] {
            assert!(
                (g - w).abs() < 1e-12 || (g.is_nan() && w.is_nan()),
                "trial {trial}: {what} {g} vs {w}"
            );
        }
    }
    // One subtree per class: every triple agrees and every first partner shares the class.
    let v = eval_array(
        "import \"latent_map\" as lm;\n\
         let d = dg([0.0, -1.0, 0.5, -0.5, 0.2], [[(), 1.0, (), (), ()], [1.0, (), (), (), 6.0], \
                    [(), (), (), 2.0, 1.5], [(), (), 2.0, (), ()], [(), 6.0, 1.5, (), ()]]);\n\
         let r = lm::merge_classes(d, #{by_group: [\"a\", \"a\", \"b\", \"b\", \"b\"]});\n\
         [r.triplets, r.first_same]",
    );
    assert_eq!(v[0].as_float().unwrap(), 1.0);
    assert_eq!(v[1].as_float().unwrap(), 1.0);
}
