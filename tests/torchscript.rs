//! TorchScript modules from PyTorch: energies, gradients and images against PyTorch's own
//! values (tests/torchscript/export.py, run with the project's .venv), load errors that name
//! the problem, save/load and copies of module networks.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::sync::OnceLock;
use tch::{Kind, Tensor};
use telescope::energy::{Energy, Space};
use telescope::models::{DeepFrameEnergy, ImageSpace, LatentEnergy, Net, Role, TorchEnergy};

/// libtorch has one global RNG and the session dtype is process-wide: tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The exported modules and PyTorch's reference values, made once per test run.
fn exported() -> &'static (PathBuf, serde_json::Value) {
    static DIR: OnceLock<(PathBuf, serde_json::Value)> = OnceLock::new();
    DIR.get_or_init(|| {
        common::python::export("tests/torchscript/export.py", "telescope-torchscript")
    })
}

fn module(name: &str) -> PathBuf {
    exported().0.join(name)
}

fn reference(key: &str) -> &'static serde_json::Value {
    &exported().1[key]
}

fn init() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    telescope::tensor::set_dtype(Kind::Double).unwrap();
    guard
}

/// A JSON matrix (or vector) as a float64 tensor.
fn tensor(v: &serde_json::Value) -> Tensor {
    let rows: Vec<Vec<f64>> = match v.as_array().unwrap()[0].is_array() {
        true => serde_json::from_value(v.clone()).unwrap(),
        false => vec![serde_json::from_value(v.clone()).unwrap()],
    };
    let (n, d) = (rows.len() as i64, rows[0].len() as i64);
    let flat: Vec<f64> = rows.into_iter().flatten().collect();
    let t = Tensor::from_slice(&flat).reshape([n, d]);
    if v.as_array().unwrap()[0].is_array() {
        t
    } else {
        t.reshape([d])
    }
}

/// Largest |a - b| / (scale + |b|) over all entries.
fn rel_err(a: &Tensor, b: &Tensor, scale: f64) -> f64 {
    let a = a.to_kind(Kind::Double);
    let b = b.to_kind(Kind::Double);
    assert_eq!(a.size(), b.size());
    ((&a - &b).abs() / (b.abs() + scale))
        .max()
        .double_value(&[])
}

/// An exported module as a network on the CPU.
fn module_net(
    name: &str,
    role: Role,
    input: [i64; 3],
    image: Option<[i64; 3]>,
) -> telescope::Result<Net> {
    Net::torchscript(&module(name), role, input, image, tch::Device::Cpu)
}

fn continuous(d: usize) -> Space {
    Space::Continuous {
        lo: vec![-3.0; d],
        hi: vec![3.0; d],
    }
}

#[test]
fn mlp_energies_and_gradients_equal_pytorch() {
    let _g = init();
    let r = reference("mlp");
    let x = tensor(&r["x"]);
    let (u_ref, g_ref) = (tensor(&r["u"]), tensor(&r["grad"]));
    // float64 module (torch.jit.script): PyTorch's values to rounding.
    let u = TorchEnergy::load(&module("mlp_energy.pt"), 3, continuous(3)).unwrap();
    let (e, g) = u.energy_and_grad(&x).unwrap();
    assert_eq!(e.kind(), Kind::Double);
    assert!(
        rel_err(&e, &u_ref, 1e-12) < 1e-12,
        "{}",
        rel_err(&e, &u_ref, 1e-12)
    );
    assert!(rel_err(&g, &g_ref, 1e-12) < 1e-10);
    assert!(rel_err(&u.grad(&x).unwrap(), &g_ref, 1e-12) < 1e-10);
    // float32 module (torch.jit.trace): computed in float32, returned in the session dtype.
    let u32 = TorchEnergy::load(&module("mlp_energy_f32.pt"), 3, continuous(3)).unwrap();
    let (e32, g32) = u32.energy_and_grad(&x).unwrap();
    assert_eq!(e32.kind(), Kind::Double);
    assert!(rel_err(&e32, &tensor(&r["u32"]), 1e-6) < 1e-6);
    assert!(rel_err(&g32, &tensor(&r["grad32"]), 1e-6) < 1e-5);
    // And the float32 values are within float32 rounding of the float64 truth.
    assert!(rel_err(&e32, &u_ref, 1e-3) < 1e-5);
    // The description records the module and its dtype.
    let desc = u32.describe();
    assert_eq!(desc["dtype"], "float32");
    assert!(desc["module"]
        .as_str()
        .unwrap()
        .ends_with("mlp_energy_f32.pt"));
}

#[test]
fn module_networks_give_pytorchs_image_and_latent_energies() {
    let _g = init();
    let d = Rc::new(module_net("conv_descriptor.pt", Role::Descriptor, [1, 8, 8], None).unwrap());
    let gen = Rc::new(module_net("convT_generator.pt", Role::Generator, [4, 1, 1], None).unwrap());
    assert_eq!(gen.output_shape(), [1, 8, 8]);
    assert_eq!(d.kind(), Kind::Float);
    let r = reference("image");
    let sigma = r["sigma"].as_f64().unwrap();
    let x = tensor(&r["x"]);
    let score = tch::no_grad(|| d.score(&x)).unwrap();
    assert!(rel_err(&score, &tensor(&r["score"]), 1e-3) < 1e-5);
    let img = DeepFrameEnergy::new(d.clone(), sigma, ImageSpace::default()).unwrap();
    let (e, g) = img.energy_and_grad(&x).unwrap();
    assert!(rel_err(&e, &tensor(&r["u"]), 1e-3) < 1e-5);
    assert!(rel_err(&g, &tensor(&r["grad"]), 1e-3) < 1e-5);

    let l = reference("latent");
    let z = tensor(&l["z"]);
    let images = tch::no_grad(|| gen.generate(&z)).unwrap();
    assert!(rel_err(&images, &tensor(&l["images"]), 1e-3) < 1e-5);
    let lat = LatentEnergy::new(d, gen, sigma, 0.0, 3.0).unwrap();
    let (e, g) = lat.energy_and_grad(&z).unwrap();
    assert!(rel_err(&e, &tensor(&l["u"]), 1e-3) < 1e-5);
    assert!(rel_err(&g, &tensor(&l["grad"]), 1e-3) < 1e-4);
}

#[test]
fn flat_generators_get_their_image_shape() {
    let _g = init();
    let load = |image| module_net("flat_generator.pt", Role::Generator, [4, 1, 1], image);
    // 48 values: a square RGB image 3x4x4 without being told.
    let g = load(None).unwrap();
    assert_eq!(g.output_shape(), [3, 4, 4]);
    let f = reference("flat");
    let images = tch::no_grad(|| g.generate(&tensor(&f["z"]))).unwrap();
    assert!(rel_err(&images, &tensor(&f["images"]), 1e-3) < 1e-5);
    // A shape that fits the count is taken; one that does not is refused.
    assert_eq!(load(Some([1, 6, 8])).unwrap().output_shape(), [1, 6, 8]);
    let e = load(Some([1, 8, 8])).err().unwrap().to_string();
    assert!(e.contains("48 values per image"), "{e}");
}

#[test]
fn bad_modules_are_clear_errors() {
    let _g = init();
    let dir = &exported().0;
    let err = |path: &Path, dim| {
        TorchEnergy::load(path, dim, continuous(dim))
            .err()
            .expect("an error")
            .to_string()
    };
    let e = err(&module("wrong_shape.pt"), 3);
    assert!(
        e.contains("returned [2, 2]") && e.contains("one energy per state"),
        "{e}"
    );
    let e = err(&module("tuple_out.pt"), 3);
    assert!(e.contains("did not return a tensor"), "{e}");
    // The wrong dimension: libtorch's reason and the line of the user's forward.
    let e = err(&module("mlp_energy.pt"), 5);
    assert!(
        e.contains("cannot be multiplied") && e.contains("export.py:"),
        "{e}"
    );
    let e = err(&dir.join("missing.pt"), 3);
    assert!(e.contains("no such file"), "{e}");
    // Not an archive, and a real module cut short.
    let junk = dir.join("junk.pt");
    std::fs::write(&junk, b"not a module at all").unwrap();
    let e = err(&junk, 3);
    assert!(e.contains("not a TorchScript module"), "{e}");
    let bytes = std::fs::read(module("mlp_energy.pt")).unwrap();
    for cut in [10, bytes.len() / 2, bytes.len() - 10] {
        let cut_path = dir.join(format!("cut{cut}.pt"));
        std::fs::write(&cut_path, &bytes[..cut]).unwrap();
        assert!(err(&cut_path, 3).contains("not a TorchScript module"));
    }
    // A network with the wrong role or shape.
    let e = module_net("conv_descriptor.pt", Role::Descriptor, [1, 9, 9], None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("takes neither [2, 1, 9, 9] nor [2, 81]"), "{e}");
}

#[test]
fn module_networks_save_load_and_copy_independently() {
    let _g = init();
    let dir = &exported().0;
    let d = module_net("conv_descriptor.pt", Role::Descriptor, [1, 8, 8], None).unwrap();
    // Training a copy changes its parameters, not the original's.
    let copy = d.try_clone().unwrap();
    let data = Tensor::rand([32, 64], (Kind::Float, tch::Device::Cpu)) * 2.0 - 1.0;
    let o = telescope::models::TrainOptions {
        epochs: 2,
        batch: 16,
        steps: 2,
        print_every: 0,
        ..Default::default()
    };
    telescope::models::train_deepframe(&copy, &data, &o).unwrap();
    let x = tensor(&reference("image")["x"]);
    let before = tch::no_grad(|| d.score(&x)).unwrap();
    let after = tch::no_grad(|| copy.score(&x)).unwrap();
    assert!(rel_err(&before, &tensor(&reference("image")["score"]), 1e-3) < 1e-5);
    assert!(
        rel_err(&after, &before, 1e-3) > 1e-4,
        "training changed nothing"
    );
    // Saved with its trained parameters and loaded back through the sidecar.
    let path = dir.join("trained.pt");
    copy.save(&path).unwrap();
    let back = Net::load(&path).unwrap();
    assert!(back.is_torchscript() && back.role() == Role::Descriptor);
    let reloaded = tch::no_grad(|| back.score(&x)).unwrap();
    assert!(rel_err(&reloaded, &after, 1e-6) < 1e-6);
    assert!(copy.save(&dir.join("trained.safetensors")).is_err());
}

#[test]
fn scripts_reach_modules_and_errors_carry_the_location() {
    let _g = init();
    let dir = &exported().0;
    let script = dir.join("use.rhai");
    let energy = module("mlp_energy.pt");
    let desc = module("conv_descriptor.pt");
    let gen = module("convT_generator.pt");
    std::fs::write(
        &script,
        format!(
            "let U = torch_energy(\"{}\", #{{dim: 3}});\n\
             let ms = find_minima(U, #{{starts: 8}});\n\
             print(`minima ${{ms.len()}}`);\n\
             print(`state ${{ms[0].x.to_array()}}`);\n\
             let d = torch_net(\"{}\", #{{role: \"descriptor\", shape: [1, 8, 8]}});\n\
             let g = torch_net(\"{}\", #{{role: \"generator\", latent: 4}});\n\
             let L = latent_energy(d, g, #{{sigma: 0.5}});\n\
             print(`latent ${{L.dim}}`);\n\
             let m = adelm(deepframe_energy(d, #{{sigma: 0.5}}), #{{propose: g, iters: 4, batch: 4, max_steps: 50, min_iter: 200, progress: false}});\n\
             print(`image map ${{m.n_groups}} ${{m.minima.len()}}`);\n\
             let bad = torch_energy(\"{}\", #{{dim: 4}});\n",
            energy.display(),
            desc.display(),
            gen.display(),
            energy.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .arg("run")
        .arg(&script)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("minima ") && stdout.contains("latent 4"),
        "{stdout}\n{stderr}"
    );
    // ADELM over the module descriptor's image energy with the module generator's proposals.
    let image_map = stdout
        .lines()
        .find_map(|l| l.strip_prefix("image map "))
        .unwrap();
    let counts: Vec<usize> = image_map.split(' ').map(|v| v.parse().unwrap()).collect();
    assert!(counts[0] >= 1 && counts[1] >= counts[0], "{image_map}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("use.rhai:11:11") && stderr.contains("cannot be multiplied"),
        "{stderr}"
    );
    // The minimum the script found is a stationary point of PyTorch's energy.
    let state: Vec<f64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("state "))
        .map(|l| {
            l.trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|v| v.trim().parse().unwrap())
                .collect()
        })
        .unwrap();
    let u = TorchEnergy::load(&energy, 3, continuous(3)).unwrap();
    let g = u.grad(&Tensor::from_slice(&state).reshape([1, 3])).unwrap();
    assert!(g.norm().double_value(&[]) < 1e-4, "{g:?}");
}

#[test]
fn the_pytorch_energy_example_maps_the_four_blobs_it_was_trained_on() {
    let _g = init();
    let dir = exported().0.join("example");
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("energy.pt");
    let out = Command::new(".venv/bin/python")
        .arg("examples/torch_energy/train_energy.py")
        .arg(&model)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .args(["run", "examples/torch_energy/map_energy.rhai"])
        .arg(&model)
        .arg(&dir)
        .arg("quick")
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let map =
        telescope::landscape::map::LandscapeMap::load(&dir.join("torch_energy_map.json")).unwrap();
    // One basin per blob of the training data, its representative near the blob's centre.
    assert_eq!(map.groups.len(), 4, "{:?}", map.groups);
    for (cx, cy) in [(1.5, 1.5), (-1.5, 1.5), (-1.5, -1.5), (1.5, -1.5)] {
        let near = map
            .groups
            .iter()
            .filter(|g| (g.state[0] - cx).hypot(g.state[1] - cy) < 0.4);
        assert_eq!(near.count(), 1, "blob ({cx}, {cy}): {:?}", map.groups);
    }
    assert!(dir.join("torch_energy_map.png").exists() && dir.join("torch_energy_dg.png").exists());
}
