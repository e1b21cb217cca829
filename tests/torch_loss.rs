//! Network losses over their own parameters (`torch_loss`) against PyTorch: losses and
//! gradients from `torch.func.functional_call` (tests/torch_loss/export.py, run with the
//! project's .venv) at the trained parameters and away from them, for an MLP and a CNN with
//! and without batch norm, every built-in loss and a TorchScript loss module; checkpoints,
//! parameter subsets, accuracy, and the errors a user meets.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use tch::{Kind, Tensor};
use telescope::energy::Energy;
use telescope::models::{BatchNorm, LossData, LossKind, SlotModule, TorchLoss, TorchLossOptions};

/// The session dtype is process-wide: tests take turns.
use common::serial_f64 as init;

/// The exported modules, data and PyTorch's values, made once per test run.
fn exported() -> &'static (PathBuf, serde_json::Value) {
    static DIR: OnceLock<(PathBuf, serde_json::Value)> = OnceLock::new();
    DIR.get_or_init(|| common::python::export("tests/torch_loss/export.py", "telescope-torch-loss"))
}

fn file(name: &str) -> PathBuf {
    exported().0.join(name)
}

fn npy(name: &str) -> Tensor {
    let (v, shape) = telescope::tensor_io::read_npy(&file(name)).unwrap();
    let shape: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
    Tensor::from_slice(&v).reshape(shape.as_slice())
}

fn data(inputs: &str, targets: &str) -> LossData {
    LossData {
        inputs: npy(inputs),
        targets: npy(targets),
    }
}

fn vector(v: &serde_json::Value) -> Tensor {
    let xs: Vec<f64> = serde_json::from_value(v.clone()).unwrap();
    Tensor::from_slice(&xs)
}

fn load(module: &str, d: LossData, opts: TorchLossOptions) -> TorchLoss {
    TorchLoss::load(&file(module), d, opts).unwrap_or_else(|e| panic!("{module}: {e}"))
}

fn load_err(module: &str, d: LossData, opts: TorchLossOptions) -> String {
    match TorchLoss::load(&file(module), d, opts) {
        Ok(_) => panic!("{module} loaded"),
        Err(e) => e.to_string(),
    }
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Each case's θ rows in one batch: energies and gradients equal PyTorch's to 1e-9.
fn check_case(key: &str, module: &str, d: LossData, loss: LossKind, batchnorm: BatchNorm) {
    let case = &exported().1[key];
    let e = load(
        module,
        d,
        TorchLossOptions {
            loss,
            batchnorm,
            ..Default::default()
        },
    );
    let thetas: Vec<Tensor> = case["thetas"]
        .as_array()
        .unwrap()
        .iter()
        .map(vector)
        .collect();
    let x = Tensor::stack(&thetas, 0);
    let want_u: Vec<f64> = case["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["loss"].as_f64().unwrap())
        .collect();
    let want_g = Tensor::stack(
        &case["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| vector(&r["grad"]))
            .collect::<Vec<_>>(),
        0,
    );
    assert_eq!(
        e.dim(),
        Some(thetas[0].size()[0] as usize),
        "{key}: dimension"
    );
    let u = e.energy(&x).unwrap();
    let (u2, g) = e.energy_and_grad(&x).unwrap();
    let want = Tensor::from_slice(&want_u);
    assert!(
        max_abs(&u, &want) < 1e-9,
        "{key}: energies {u} against PyTorch's {want}"
    );
    assert!(
        max_abs(&u2, &want) < 1e-9,
        "{key}: energies with gradients {u2}"
    );
    let scale = want_g.abs().max().double_value(&[]).max(1.0);
    assert!(
        max_abs(&g, &want_g) < 1e-9 * scale,
        "{key}: gradients differ by {}",
        max_abs(&g, &want_g)
    );
    // Autograd through `energy` (a state that requires grad) gives the same gradient.
    let xg = x.detach().set_requires_grad(true);
    let total = e.energy(&xg).unwrap().sum(Kind::Double);
    let ga = Tensor::run_backward(&[&total], &[&xg], false, false)
        .pop()
        .unwrap();
    assert!(
        max_abs(&ga, &want_g) < 1e-9 * scale,
        "{key}: autograd through energy()"
    );
}

#[test]
fn losses_and_gradients_equal_pytorchs_for_an_mlp_and_a_cnn_with_and_without_batch_norm() {
    let _g = init();
    check_case(
        "mlp_ce",
        "mlp.pt",
        data("x_flat.npy", "y_class.npy"),
        LossKind::CrossEntropy,
        BatchNorm::Eval,
    );
    check_case(
        "mlp_nll",
        "mlp.pt",
        data("x_flat.npy", "y_class.npy"),
        LossKind::Nll,
        BatchNorm::Eval,
    );
    check_case(
        "mlp_mse",
        "mlp.pt",
        data("x_flat.npy", "y_reg.npy"),
        LossKind::Mse,
        BatchNorm::Eval,
    );
    let quartic = SlotModule::load(&file("quartic.pt"), tch::Device::Cpu).unwrap();
    check_case(
        "mlp_quartic",
        "mlp.pt",
        data("x_flat.npy", "y_reg.npy"),
        LossKind::Module(quartic),
        BatchNorm::Eval,
    );
    check_case(
        "cnn_ce",
        "cnn.pt",
        data("x_img.npy", "y_img.npy"),
        LossKind::CrossEntropy,
        BatchNorm::Eval,
    );
    check_case(
        "cnn_bn_eval",
        "cnn_bn.pt",
        data("x_img.npy", "y_img.npy"),
        LossKind::CrossEntropy,
        BatchNorm::Eval,
    );
    check_case(
        "cnn_bn_recompute",
        "cnn_bn.pt",
        data("x_img.npy", "y_img.npy"),
        LossKind::CrossEntropy,
        BatchNorm::Recompute,
    );
}

#[test]
fn recomputing_batch_norm_leaves_the_stored_statistics_as_they_were() {
    let _g = init();
    let e = load(
        "cnn_bn.pt",
        data("x_img.npy", "y_img.npy"),
        TorchLossOptions {
            batchnorm: BatchNorm::Recompute,
            ..Default::default()
        },
    );
    let x = Tensor::stack(&[e.params().unwrap(), e.params().unwrap() * 1.1], 0);
    let _ = e.energy_and_grad(&x).unwrap();
    // The eval-mode loss after recomputing runs still uses the module's running statistics.
    let eval = load(
        "cnn_bn.pt",
        data("x_img.npy", "y_img.npy"),
        TorchLossOptions::default(),
    );
    let want = exported().1["cnn_bn_eval"]["rows"][0]["loss"]
        .as_f64()
        .unwrap();
    let u = eval
        .energy(&eval.params().unwrap())
        .unwrap()
        .double_value(&[0]);
    assert!((u - want).abs() < 1e-9);
    let m = SlotModule::load(&file("cnn_bn.pt"), tch::Device::Cpu).unwrap();
    let names = m.names(telescope::models::SlotKind::Buffer);
    let i = names
        .iter()
        .position(|n| n == "bn.running_mean")
        .expect("bn.running_mean");
    let stored = m.slot(telescope::models::SlotKind::Buffer, i).unwrap();
    assert!(max_abs(&stored, &vector(&exported().1["cnn_bn_running_mean"])) < 1e-12);
}

#[test]
fn params_come_in_the_modules_order_and_checkpoints_must_match() {
    let _g = init();
    let e = load(
        "mlp.pt",
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions::default(),
    );
    let r = &exported().1;
    assert!(max_abs(&e.params().unwrap(), &vector(&r["mlp_ce"]["thetas"][0])) < 1e-15);
    let names: Vec<String> = serde_json::from_value(r["names"]["mlp"].clone()).unwrap();
    assert_eq!(e.free_names(), names);
    assert!(
        max_abs(
            &e.params_of(&file("mlp_b.pt")).unwrap(),
            &vector(&r["mlp_b_theta"])
        ) < 1e-15
    );
    let wrong = e.params_of(&file("wide.pt")).unwrap_err().to_string();
    assert!(
        wrong.contains("wide.pt") && wrong.contains("fc1.weight") && wrong.contains("shape"),
        "{wrong}"
    );
    let other = e.params_of(&file("cnn.pt")).unwrap_err().to_string();
    assert!(other.contains("does not have the parameters"), "{other}");
    let acc = e.accuracy(&e.params().unwrap(), None).unwrap();
    assert!(
        (acc - r["mlp_accuracy"].as_f64().unwrap()).abs() < 1e-12,
        "accuracy {acc}"
    );
}

#[test]
fn a_parameter_subset_moves_only_those_parameters() {
    let _g = init();
    let full = load(
        "mlp.pt",
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions::default(),
    );
    let sub = load(
        "mlp.pt",
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions {
            params: Some(vec!["fc2".into()]),
            ..Default::default()
        },
    );
    assert_eq!(sub.free_names(), vec!["fc2.weight", "fc2.bias"]);
    let t0 = full.params().unwrap();
    let p = sub.dim().unwrap() as i64;
    let fc1 = t0.size()[0] - p;
    for seed in 0..5 {
        tch::manual_seed(seed);
        let moved = sub.params().unwrap() + Tensor::randn([p], (Kind::Double, tch::Device::Cpu));
        let whole = Tensor::cat(&[t0.narrow(0, 0, fc1), moved.shallow_clone()], 0);
        let (u, g) = sub.energy_and_grad(&moved).unwrap();
        let (uf, gf) = full.energy_and_grad(&whole).unwrap();
        assert!(max_abs(&u, &uf) < 1e-12);
        assert!(max_abs(&g, &gf.narrow(1, fc1, p)) < 1e-12);
    }
    let none = load_err(
        "mlp.pt",
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions {
            params: Some(vec!["fc3".into()]),
            ..Default::default()
        },
    );
    assert!(
        none.contains("fc3") && none.contains("fc1.weight"),
        "{none}"
    );
}

#[test]
fn minibatch_gradients_are_true_row_gradients_unbiased_and_all_rows_give_the_full_one() {
    let _g = init();
    let e = load(
        "mlp.pt",
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions::default(),
    );
    let n = npy("x_flat.npy").size()[0] as usize;
    tch::manual_seed(3);
    let theta = e.params().unwrap()
        + 0.3 * Tensor::randn(e.params().unwrap().size(), (Kind::Double, tch::Device::Cpu));
    let (u, g) = e.energy_and_grad(&theta).unwrap();
    let (uk, gk) = e.energy_and_grad_minibatch(&theta, n).unwrap();
    assert!(max_abs(&u, &uk) < 1e-12 && max_abs(&g, &gk) < 1e-12);
    // k = 1: every draw is exactly one data row's loss and gradient, each row's computed apart
    // by a loss over that row alone, and over many draws every row turns up.
    let (x, y) = (npy("x_flat.npy"), npy("y_class.npy"));
    let per_row: Vec<(Tensor, Tensor)> = (0..n as i64)
        .map(|i| {
            let one = LossData {
                inputs: x.narrow(0, i, 1),
                targets: y.narrow(0, i, 1),
            };
            let row = TorchLoss::load(&file("mlp.pt"), one, TorchLossOptions::default()).unwrap();
            row.energy_and_grad(&theta).unwrap()
        })
        .collect();
    let mut seen = vec![0usize; n];
    for _ in 0..20 * n {
        let (u1, g1) = e.energy_and_grad_minibatch(&theta, 1).unwrap();
        let row = per_row
            .iter()
            .position(|(ur, gr)| max_abs(&u1, ur) < 1e-12 && max_abs(&g1, gr) < 1e-12)
            .expect("a one-row mini-batch equals no data row's loss and gradient");
        seen[row] += 1;
    }
    // 20 draws per row on average: a row missed by a uniform draw has probability e^-20.
    assert!(seen.iter().all(|&c| c > 0), "rows never drawn: {seen:?}");
    // Larger mini-batches are unbiased: over many draws their mean gradient is within a few
    // standard errors of the full one in every coordinate (tanh units: every row moves
    // every coordinate, so no standard error is zero).
    let k = n / 3;
    let draws = 400;
    let grads: Vec<Tensor> = (0..draws)
        .map(|_| e.energy_and_grad_minibatch(&theta, k).unwrap().1)
        .collect();
    let all = Tensor::cat(&grads, 0);
    let mean = all.mean_dim(0, true, Kind::Double);
    let se = all.std_dim(0, true, true) / (draws as f64).sqrt();
    let z = ((mean - &g).abs() / se).max().double_value(&[]);
    assert!(
        z < 6.0,
        "k = {k}: a coordinate's mean is {z} standard errors from the full gradient"
    );
}

#[test]
fn bad_data_targets_modules_and_sizes_are_clear_errors() {
    let _g = init();
    // Inputs the module rejects: the message names the module and the input's shape.
    let shape = load_err(
        "cnn.pt",
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions::default(),
    );
    assert!(
        shape.contains("cnn.pt") && shape.contains("inputs [40, 6]"),
        "{shape}"
    );
    // Class losses take integer class indices.
    let soft = LossData {
        inputs: npy("x_flat.npy"),
        targets: npy("y_class.npy") + 0.5,
    };
    let t = load_err("mlp.pt", soft, TorchLossOptions::default());
    assert!(t.contains("class indices") && t.contains(".5"), "{t}");
    let two_d = load_err(
        "mlp.pt",
        data("x_flat.npy", "y_reg.npy"),
        TorchLossOptions::default(),
    );
    assert!(two_d.contains("class indices [N]"), "{two_d}");
    let big_class = LossData {
        inputs: npy("x_flat.npy"),
        targets: npy("y_class.npy") + 3.0,
    };
    let c = load_err("mlp.pt", big_class, TorchLossOptions::default());
    assert!(c.contains("3 classes"), "{c}");
    let mse = load_err(
        "mlp.pt",
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions {
            loss: LossKind::Mse,
            ..Default::default()
        },
    );
    assert!(mse.contains("outputs' shape"), "{mse}");
    let rows = LossData {
        inputs: npy("x_flat.npy"),
        targets: npy("y_img.npy"),
    };
    let r = load_err("mlp.pt", rows, TorchLossOptions::default());
    assert!(r.contains("one target per input row"), "{r}");
    let drop = load_err(
        "cnn_drop.pt",
        data("x_img.npy", "y_img.npy"),
        TorchLossOptions {
            batchnorm: BatchNorm::Recompute,
            ..Default::default()
        },
    );
    assert!(drop.contains("dropout"), "{drop}");
    let missing = load_err(
        "nothing.pt",
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions::default(),
    );
    assert!(missing.contains("no such file"), "{missing}");
    // A model too large for the memory budget.
    telescope::budget::set_limit_gib(1e-6).unwrap();
    let big = TorchLoss::load(
        &file("mlp.pt"),
        data("x_flat.npy", "y_class.npy"),
        TorchLossOptions::default(),
    );
    telescope::budget::set_limit_gib(8.0).unwrap();
    let big = big
        .err()
        .expect("a 1 KiB budget refuses the model")
        .to_string();
    assert!(
        big.contains("parameters of mlp.pt") && big.contains("limit"),
        "{big}"
    );
}

/// The worked example end to end at its smoke size: train.py trains and exports two MLPs and
/// two CNNs on the `make data` MNIST digits, connect.rhai draws every path method between
/// them and their DG. NEB starts on the straight line and only lowers it.
#[test]
fn the_mode_connectivity_example_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let nets = dir.path().join("nets");
    let out = Command::new(".venv/bin/python")
        .args([
            "examples/mode_connectivity/train.py",
            nets.to_str().unwrap(),
            "--quick",
        ])
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("run .venv/bin/python");
    assert!(
        out.status.success(),
        "train.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .args([
            "run",
            "examples/mode_connectivity/connect.rhai",
            nets.to_str().unwrap(),
            dir.path().to_str().unwrap(),
            "quick",
        ])
        .env("TELESCOPE_THREADS", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "connect.rhai: {text}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let highest = |family: &str, method: &str| -> f64 {
        let block = text
            .split(&format!("{family}: "))
            .nth(1)
            .unwrap_or_else(|| panic!("no {family} block in {text}"));
        let line = block
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with(&format!("{method}: highest train loss"))
            })
            .unwrap();
        line.split("highest train loss ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    for family in ["mlp", "cnn"] {
        assert!(
            highest(family, "NEB") <= highest(family, "line") + 1e-3,
            "{family}: NEB above the line in {text}"
        );
        for f in ["paths.png", "accuracy.png", "dg.png", "map.json"] {
            let len = std::fs::metadata(dir.path().join(format!("{family}_{f}")))
                .map(|m| m.len())
                .unwrap_or(0);
            assert!(len > 0, "{family}_{f} not written");
        }
        let map = telescope::landscape::map::LandscapeMap::load(
            &dir.path().join(format!("{family}_map.json")),
        )
        .unwrap();
        assert_eq!(map.groups.len(), 2);
    }
}
