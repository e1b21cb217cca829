//! `telescope bench`: throughput of the batched kernels (timings live here, never in tests).

use super::peers::{PeerRate, Peers};
use crate::energy::{self, tempered, EnergyRef};
use crate::landscape::ad::{self, ad_trials, AdOptions, Delta};
use crate::landscape::adelm::{adelm, AdelmOptions, Placement, RandomProposer};
use crate::models::{DeepFrameEnergy, ImageSpace, LatentEnergy, Net};
use crate::sampler::{make_sampler, Chains, SamplerKind, SamplerSpec};
use crate::{tensor, Result};
use std::rc::Rc;
use std::time::Instant;

/// The benchmarks, by the names `telescope bench NAME` takes; those marked `false` run only
/// when named (they take minutes on a CPU).
pub const BENCHMARKS: [(&str, bool); 10] = [
    ("samplers", true),
    ("sk", true),
    ("ad", true),
    ("adelm", true),
    ("gwl", true),
    ("neb", true),
    ("kinks", true),
    ("latent", false),
    ("image", false),
    ("merge", false),
];

/// Runs the benchmarks named in `args` (the quick ones when none is named) on the device
/// given by `--device cpu|cuda`, beside their PyTorch-Python peers with `--peers`; returns the
/// exit status.
pub fn run(args: &[String]) -> u8 {
    crate::interrupt::install_handler();
    let mut names: Vec<&str> = Vec::new();
    let mut peers = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--peers" {
            match Peers::new() {
                Ok(p) => peers = Some(p),
                Err(e) => {
                    eprintln!("telescope bench: cannot set up the peers: {e}");
                    return 2;
                }
            }
            continue;
        }
        let device = match a.as_str() {
            "--device" => it.next().map(String::as_str),
            other => other.strip_prefix("--device="),
        };
        if a.starts_with("--device") {
            let chosen = match device {
                Some("cpu") => tensor::set_device(tch::Device::Cpu),
                Some("cuda") => tensor::set_device(tch::Device::Cuda(0)),
                other => Err(crate::error::invalid(format!(
                    "--device takes cpu or cuda, not {}",
                    other.unwrap_or("nothing")
                ))),
            };
            if let Err(e) = chosen {
                eprintln!("telescope bench: {e}");
                return 2;
            }
        } else if BENCHMARKS.iter().any(|(n, _)| n == a) {
            names.push(a);
        } else {
            let known: Vec<&str> = BENCHMARKS.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "telescope bench: unknown benchmark `{a}`; known: {} (and --device cpu|cuda, --peers)",
                known.join(", ")
            );
            return 2;
        }
    }
    let want = |name: &str| {
        names.contains(&name)
            || (names.is_empty() && BENCHMARKS.iter().any(|&(n, quick)| n == name && quick))
    };
    tensor::manual_seed(0);
    println!(
        "telescope {} benchmarks (device {:?}, {} libtorch threads, {} rayon threads)",
        crate::version(),
        tensor::device(),
        tensor::threads(),
        rayon::current_num_threads()
    );
    println!("{}", tensor::reproducible::describe());
    let mut status = 0;
    let mut report = |name: &str, r: Result<String>| match r {
        Ok(line) => println!("{name:28} {line}"),
        Err(e) => {
            println!("{name:28} failed: {e}");
            status = 1;
        }
    };
    let peer = |script: &str, args: &[&str]| peers.as_ref().map(|p| p.run(script, args));
    if want("samplers") {
        for kind in [SamplerKind::Mh, SamplerKind::Mala, SamplerKind::Hmc] {
            report(
                &format!("{} B=256 D=100", kind.name()),
                sampler_rate(kind).map(|k| k.line(peer("samplers.py", &[kind.name()]))),
            );
        }
    }
    if want("sk") {
        report("sk gibbs N=100 B=256", sk_sweeps());
    }
    if want("ad") {
        report(
            "ad batched vs one-by-one",
            ad_batching()
                .map(|(line, k)| format!("{line}\n{:28} {}", "", k.line(peer("ad.py", &[])))),
        );
    }
    if want("adelm") {
        report("adelm sk N=100", adelm_rate(peer("sk_adelm.py", &["30"])));
    }
    if want("gwl") {
        report("gwl sk N=100 K=500", gwl_rate());
    }
    if want("neb") {
        report("neb 24 bands, muller-brown", neb_bands());
    }
    if want("kinks") {
        report("minimize 32 chains, kinks", kinked_minimize());
    }
    if want("latent") {
        report(
            "latent mh ivy Z=30 B=32",
            latent_mh_rate().map(|k| k.line(peer("latent.py", &["mh"]))),
        );
        for placement in [Placement::Batched, Placement::Sequential] {
            report(
                &format!("latent ivy Z=30 ({placement:?})").to_lowercase(),
                latent_bench_energy().and_then(|e| map_rate(&e, &latent_bench_options(placement))),
            );
        }
        if let Some(p) = &peers {
            // The same 64 iterations in batches of 32, written in PyTorch-Python.
            report(
                "latent ivy Z=30 (peer)",
                p.run("latent.py", &["adelm", "2"]).map(|r| {
                    format!(
                        "{:8.2} {} in PyTorch-Python (Adam descent, AD toward the 12 nearest)",
                        r.rate, r.unit
                    )
                }),
            );
        }
    }
    if want("image") {
        report("image gibbs sweep 16x16x8", image_sweeps());
        let full = image_bench_energy().map(|e| Rc::new(energy::FullPass(e)) as EnergyRef);
        report(
            "image adelm, full pass",
            full.and_then(|e| map_rate(&e, &image_bench_options())),
        );
        report(
            "image adelm, incremental",
            image_bench_energy().and_then(|e| map_rate(&e, &image_bench_options())),
        );
    }
    if want("merge") {
        report("merge 8 shards sk N=100", merge_rate());
    }
    status
}

/// 8 shards of a section 5.1 map (SK N = 100, 100 iterations each, seeds 1 to 8), then their
/// merge: its wall time against the mean shard's mapping time, and the AD trials it ran.
fn merge_rate() -> Result<String> {
    use crate::landscape::merge::merge_maps;
    let e: EnergyRef = Rc::new(energy::sk(100, 1, 1.0)?);
    let base = sk_section51_options(100);
    let mut shards = Vec::new();
    let t = Instant::now();
    for seed in 1..=8 {
        let o = AdelmOptions {
            seed,
            ..base.clone()
        };
        crate::tensor::manual_seed(seed);
        shards.push(adelm(&e, &mut RandomProposer(e.clone()), &o)?);
    }
    let per_shard = t.elapsed().as_secs_f64() / 8.0;
    let trials_before: usize = shards.iter().map(|m| m.stats.ad_trials).sum();
    let groups_before: usize = shards.iter().map(|m| m.groups.len()).sum();
    let before = crate::profile::snapshot();
    let t = Instant::now();
    // As a script's merge_maps does by default: half the mapping's checks.
    let merge_opts = AdelmOptions {
        max_checks: base.max_checks.div_ceil(2),
        ..base.clone()
    };
    let merged = merge_maps(&e, &shards, &merge_opts)?;
    let secs = t.elapsed().as_secs_f64();
    Ok(format!(
        "{secs:6.2} s merge against {per_shard:6.2} s per shard ({:.2}x a shard; target below 1); {} AD trials; {groups_before} shard groups into {}\n{}",
        secs / per_shard,
        merged.stats.ad_trials - trials_before,
        merged.groups.len(),
        profile_table(&before, secs)
    ))
}

/// Section 5.1's ADELM settings on an SK glass (T 0.1/N, alpha 1.35, delta 0, M 100, Gibbs)
/// with `iters` iterations and seed 1.
fn sk_section51_options(iters: usize) -> AdelmOptions {
    AdelmOptions {
        ad: AdOptions {
            temperature: 0.001,
            alpha: 1.35,
            delta: Delta::Fixed(0.0),
            improvement_limit: 100,
            sampler: SamplerSpec {
                kind: SamplerKind::Gibbs,
                ..Default::default()
            },
            ..Default::default()
        },
        iters,
        same_tol: 0.0,
        seed: 1,
        ..Default::default()
    }
}

/// 24 NEB bands between the Müller-Brown minima (A-B, A-C, C-B, each endpoint moved by up to
/// 0.02): relaxed together (one energy-and-gradient call per iteration for all bands) against
/// one at a time.
fn neb_bands() -> Result<String> {
    use crate::landscape::neb::{neb, neb_many, NebOptions};
    let e = energy::muller_brown();
    let minima = [
        [-0.558224, 1.441726],
        [0.623499, 0.028038],
        [-0.050011, 0.466694],
    ];
    let jitter = |i: usize| 0.02 * (((i * 2_654_435_761usize) % 1000) as f64 / 500.0 - 1.0);
    let pairs: Vec<(tch::Tensor, tch::Tensor)> = (0..24)
        .map(|i| {
            let (p, q) = [(0, 1), (0, 2), (2, 1)][i % 3];
            let at = |m: usize, k: usize| {
                let v = [
                    minima[m][0] + jitter(4 * i + k),
                    minima[m][1] + jitter(4 * i + k + 1),
                ];
                tensor::from_vec(&v, &[2])
            };
            Ok((at(p, 0)?, at(q, 2)?))
        })
        .collect::<Result<_>>()?;
    let opts = NebOptions {
        images: 12,
        tol: 1e-2,
        max_iter: 1500,
        ..Default::default()
    };
    let t = Instant::now();
    let together = neb_many(&e, &pairs, &opts)?;
    let tb = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (a, b) in &pairs {
        neb(&e, a, b, &opts)?;
    }
    let ts = t.elapsed().as_secs_f64();
    let iterations: usize = together.iter().map(|r| r.iterations).sum();
    Ok(format!(
        "{:8.0} band-iterations/s together, {:8.0} one at a time ({:.1}x; {} converged of 24)",
        iterations as f64 / tb,
        iterations as f64 / ts,
        ts / tb,
        together.iter().filter(|r| r.converged).count()
    ))
}

/// 32 chains on a latent ReLU energy (the digits script's CPU networks: 16x16 images, Z = 8,
/// random weights, float32, prior 1), whose minima lie on kinks: FIRE until every chain has
/// converged or stalled on a kink, then gradient sampling for the stalled ones; the time and
/// the chains converged after each.
fn kinked_minimize() -> Result<String> {
    use crate::minimize::{continue_stalled, fire, MinimizeOptions};
    tensor::manual_seed(0);
    let d = Net::descriptor("conv(32,5,2) conv(64,5,2) fc(1)", [1, 16, 16], "float32")?;
    let g = Net::generator("convT(64,4,1) convT(32,5,2) convT(1,5,2)", 8, "float32")?;
    let e = LatentEnergy::new(Rc::new(d), Rc::new(g), 1.0, 1.0, 3.0)?;
    let x0 = energy::random_states(&e, 32)?;
    let opts = MinimizeOptions {
        max_iter: 2000,
        ..Default::default()
    };
    let converged = |c: &[bool]| c.iter().filter(|c| **c).count();
    let t = Instant::now();
    let first = fire(&e, &x0, &opts)?;
    let (t_fire, n_fire, i_fire) = (
        t.elapsed().as_secs_f64(),
        converged(&first.converged),
        first.iterations,
    );
    let t = Instant::now();
    let done = continue_stalled(&e, first, &opts)?;
    let rest = if i_fire < opts.max_iter {
        "the others stalled on kinks"
    } else {
        "the others ran out of iterations"
    };
    Ok(format!(
        "FIRE: {n_fire}/32 converged, {rest}, after {i_fire} iterations ({t_fire:.1} s); \
         gradient sampling: {}/32 converged after {} more ({:.1} s)",
        converged(&done.converged),
        done.iterations - i_fire,
        t.elapsed().as_secs_f64()
    ))
}

/// The Appendix A ivy networks (descriptor over 32x32x3 images, generator from Z = 30) with
/// random weights from seed 0, float32, as a latent energy (sigma 3: with the default 1 the
/// prior term flattens the random landscape into one valley).
fn latent_bench_energy() -> Result<EnergyRef> {
    tensor::manual_seed(0);
    let d = Net::descriptor("conv(100,5,2) conv(200,5,2) fc(1)", [3, 32, 32], "float32")?;
    let g = Net::generator(
        "convT(200,4,1) convT(100,5,2) convT(50,5,2) convT(3,5,2)",
        30,
        "float32",
    )?;
    Ok(Rc::new(LatentEnergy::new(
        Rc::new(d),
        Rc::new(g),
        3.0,
        0.0,
        3.0,
    )?))
}

/// ADELM settings of `bench latent`: two proposal batches of 32, AD at most 100 steps.
fn latent_bench_options(placement: Placement) -> AdelmOptions {
    AdelmOptions {
        ad: AdOptions {
            temperature: 0.01,
            alpha: 100.0,
            delta: Delta::Fixed(0.5),
            improvement_limit: 20,
            max_steps: 100,
            sampler: SamplerSpec {
                kind: SamplerKind::Mh,
                step: 0.05,
                leapfrog: 1,
            },
            ..Default::default()
        },
        iters: 64,
        batch: 32,
        placement,
        minimize: crate::minimize::MinimizeOptions {
            max_iter: 100,
            ..Default::default()
        },
        complete: false,
        seed: 1,
        ..Default::default()
    }
}

/// The section 5.2 descriptor (conv(50,5,2) fc(100) fc(1)) over 16x16 images with 8 pixel
/// levels, random weights, as an image energy.
fn image_bench_energy() -> Result<EnergyRef> {
    tensor::manual_seed(0);
    let d = Net::descriptor("conv(50,5,2) fc(100) fc(1)", [1, 16, 16], "float32")?;
    let space = ImageSpace {
        levels: 8,
        ..Default::default()
    };
    Ok(Rc::new(DeepFrameEnergy::new(Rc::new(d), 1.0, space)?))
}

/// One Gibbs sweep of 100 chains over 8-level 16 x 16 images under Table 1's descriptor, with
/// every pixel's levels scored by full forward passes and by the incremental site scorer, in
/// one run: milliseconds per chain-sweep and the ratio.
fn image_sweeps() -> Result<String> {
    let e = image_bench_energy()?;
    let full: EnergyRef = Rc::new(energy::FullPass(e.clone()));
    let x0 = energy::random_states(e.as_ref(), 100)?;
    let per_chain_sweep = |e: &EnergyRef, sweeps: usize| -> Result<f64> {
        let mut gibbs = crate::sampler::Gibbs::new(e.space())?;
        let mut chains = Chains::new(e.as_ref(), &x0)?;
        let t = Instant::now();
        for _ in 0..sweeps {
            crate::sampler::Sampler::step(&mut gibbs, e.as_ref(), &mut chains)?;
        }
        Ok(t.elapsed().as_secs_f64() * 1e3 / (100 * sweeps) as f64)
    };
    let slow = per_chain_sweep(&full, 1)?;
    let fast = per_chain_sweep(&e, 4)?;
    Ok(format!(
        "full pass {slow:.2} ms, incremental {fast:.2} ms per chain-sweep: {:.1}x",
        slow / fast
    ))
}

/// ADELM settings of `bench image`: Gibbs sweeps, one proposal batch of 16.
fn image_bench_options() -> AdelmOptions {
    AdelmOptions {
        ad: AdOptions {
            temperature: 1.0,
            alpha: 2.0,
            delta: Delta::Fixed(0.6),
            improvement_limit: 10,
            max_steps: 20,
            sampler: SamplerSpec {
                kind: SamplerKind::Gibbs,
                ..Default::default()
            },
            ..Default::default()
        },
        iters: 16,
        batch: 16,
        max_checks: 6,
        complete: false,
        seed: 1,
        ..Default::default()
    }
}

/// Maps `e` with `opts` and reports iterations/s, chain-steps/s, mean chains per AD step and
/// host reads per AD step; on CUDA also the GPU's peak memory and mean utilisation as
/// `nvidia-smi` saw them.
fn map_rate(e: &EnergyRef, opts: &AdelmOptions) -> Result<String> {
    let watch = GpuWatch::start();
    let (steps0, chain_steps0) = ad::work_done();
    let reads0 = tensor::host_reads();
    let t = Instant::now();
    let map = adelm(e, &mut RandomProposer(e.clone()), opts)?;
    let secs = t.elapsed().as_secs_f64();
    let (steps1, chain_steps1) = ad::work_done();
    let steps = (steps1 - steps0).max(1) as f64;
    let chain_steps = (chain_steps1 - chain_steps0) as f64;
    let reads = (tensor::host_reads() - reads0) as f64;
    Ok(format!(
        "{:8.2} iterations/s  {:10.0} chain-steps/s  {:6.1} chains/step  {:.3} host reads/step  ({} groups, {} AD trials, {:.1} s{})",
        map.iterations as f64 / secs,
        chain_steps / secs,
        chain_steps / steps,
        reads / steps,
        map.groups.len(),
        map.stats.ad_trials,
        secs,
        watch.finish()
    ))
}

/// Polls `nvidia-smi` while a CUDA benchmark runs (nothing on the CPU).
struct GpuWatch(Option<std::process::Child>);

impl GpuWatch {
    fn start() -> GpuWatch {
        if !matches!(tensor::device(), tch::Device::Cuda(_)) {
            return GpuWatch(None);
        }
        let child = std::process::Command::new("nvidia-smi")
            .args([
                "--query-gpu=utilization.gpu,memory.used",
                "--format=csv,noheader,nounits",
                "-lms",
                "200",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok();
        GpuWatch(child)
    }
    /// `, GPU busy X% (mean), peak Y MiB`, or nothing.
    fn finish(self) -> String {
        let Some(mut child) = self.0 else {
            return String::new();
        };
        let _ = child.kill();
        let Ok(out) = child.wait_with_output() else {
            return ", nvidia-smi gave nothing".into();
        };
        let rows: Vec<(f64, f64)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (u, m) = l.split_once(',')?;
                Some((u.trim().parse().ok()?, m.trim().parse().ok()?))
            })
            .collect();
        if rows.is_empty() {
            return ", nvidia-smi gave nothing".into();
        }
        let busy = rows.iter().map(|r| r.0).sum::<f64>() / rows.len() as f64;
        let peak = rows.iter().map(|r| r.1).fold(0.0, f64::max);
        format!(
            ", GPU busy {busy:.0}% (mean of {} reads), peak {peak:.0} MiB",
            rows.len()
        )
    }
}

/// A kernel's rate and what one of its steps costs in libtorch calls.
struct Kernel {
    rate: f64,
    unit: &'static str,
    cost: StepCost,
}

/// libtorch operators (top-level and all dispatched) and host reads per step.
struct StepCost {
    ops: f64,
    dispatched: f64,
    reads: f64,
}

/// Calls of `step` per second: the best of `rounds` rounds of `steps` calls (the round the
/// machine disturbed least; the peers take their best round too).
fn best_rate(rounds: usize, steps: usize, mut step: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..steps {
            step()?;
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(steps as f64 / best)
}

/// Runs `step` `steps` times with operators counted (a pass apart from the timed one:
/// counting costs a little per operator) and divides by the steps.
fn step_cost(steps: usize, mut step: impl FnMut() -> Result<usize>) -> Result<StepCost> {
    let reads0 = tensor::host_reads();
    let (done, ops) = tensor::count_ops(|| -> Result<usize> {
        let mut n = 0;
        for _ in 0..steps {
            n += step()?;
        }
        Ok(n)
    });
    let n = done?.max(1) as f64;
    Ok(StepCost {
        ops: ops.top as f64 / n,
        dispatched: ops.all as f64 / n,
        reads: (tensor::host_reads() - reads0) as f64 / n,
    })
}

impl Kernel {
    /// `rate unit (ops, host reads per step)`, then the peer's rate and ops per step and the
    /// ratio of the rates when a peer ran.
    fn line(&self, peer: Option<Result<PeerRate>>) -> String {
        let ours = format!(
            "{:10.0} {}  ({:.1} ops/step, {:.1} dispatched; {:.2} host reads/step)",
            self.rate, self.unit, self.cost.ops, self.cost.dispatched, self.cost.reads
        );
        match peer {
            None => ours,
            Some(Ok(p)) => format!(
                "{ours}\n{:28} {:10.0} {}  ({:.1} ops/step) PyTorch-Python: telescope {:.2}x",
                "",
                p.rate,
                p.unit,
                p.ops_per_step.unwrap_or(f64::NAN),
                self.rate / p.rate
            ),
            Some(Err(e)) => format!("{ours}\n{:28} peer failed: {e}", ""),
        }
    }
}

/// MH, MALA or HMC (step 0.1, 5 leapfrog steps) on the quadratic energy in D = 100 at T = 1,
/// 256 chains from the origin (`bench/peers/samplers.py` is the same loop in PyTorch).
fn sampler_rate(kind: SamplerKind) -> Result<Kernel> {
    let base: EnergyRef = Rc::new(energy::quadratic(100)?);
    let e = tempered(base, 1.0)?;
    let mut s = make_sampler(
        &SamplerSpec {
            kind,
            step: 0.1,
            leapfrog: 5,
        },
        &energy::Space::Continuous {
            lo: vec![],
            hi: vec![],
        },
    )?;
    let x0 = tch::Tensor::f_zeros([256, 100], (tensor::dtype(), tensor::device()))?;
    sampler_kernel(&e, s.as_mut(), &x0, 300, 20)
}

/// A sampler's best rate over 5 rounds of `steps` steps from `x0` (after 5 untimed ones),
/// and its cost per step over `counted` more.
fn sampler_kernel(
    e: &dyn energy::Energy,
    s: &mut dyn crate::sampler::Sampler,
    x0: &tch::Tensor,
    steps: usize,
    counted: usize,
) -> Result<Kernel> {
    let mut c = Chains::new(e, x0)?;
    let _g = tch::no_grad_guard();
    for _ in 0..5 {
        s.step(e, &mut c)?;
    }
    let rate = best_rate(5, steps, || s.step(e, &mut c))?;
    let cost = step_cost(counted, || s.step(e, &mut c).map(|_| 1))?;
    Ok(Kernel {
        rate,
        unit: "steps/s",
        cost,
    })
}

/// Random-walk MH (step 0.05, T 0.01) on the ivy latent energy, 32 chains from N(0, I)
/// (`bench/peers/latent.py`).
fn latent_mh_rate() -> Result<Kernel> {
    let base = latent_bench_energy()?;
    let e = tempered(base, 0.01)?;
    let mut s = make_sampler(
        &SamplerSpec {
            kind: SamplerKind::Mh,
            step: 0.05,
            leapfrog: 1,
        },
        &energy::Energy::space(&e),
    )?;
    let z0 = tch::Tensor::f_randn([32, 30], (tensor::dtype(), tensor::device()))?;
    sampler_kernel(&e, s.as_mut(), &z0, 20, 3)
}

fn sk_sweeps() -> Result<String> {
    let model = energy::sk(100, 1, 1.0)?;
    let mut states: Vec<f64> = (0..256 * 100)
        .map(|i| {
            if (i * 2_654_435_761usize) % 7 < 3 {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    let sweeps = 200;
    let t = Instant::now();
    model.gibbs_sweeps(&mut states, None, 0.01, &vec![0.0; 256], sweeps, 1);
    let secs = t.elapsed().as_secs_f64();
    Ok(format!(
        "{:10.0} sweeps/s per chain  ({:.2e} chain-sweeps/s)",
        sweeps as f64 / secs,
        256.0 * sweeps as f64 / secs
    ))
}

/// 64 AD trials on Müller-Brown from A toward C (T 2, alpha 40, delta 0.03, M 60, MH step
/// 0.02), batched against one at a time; and the batched rate as a kernel, with its libtorch
/// calls per batch step (`bench/peers/ad.py` is the batched loop in PyTorch).
fn ad_batching() -> Result<(String, Kernel)> {
    let e: EnergyRef = Rc::new(energy::muller_brown());
    let a = tensor::from_vec(&[-0.558224, 1.441726], &[1, 2])?;
    let c = tensor::from_vec(&[-0.050011, 0.466694], &[1, 2])?;
    let n = 64;
    let opts = AdOptions {
        temperature: 2.0,
        alpha: 40.0,
        delta: Delta::Fixed(0.03),
        improvement_limit: 60,
        sampler: SamplerSpec {
            kind: SamplerKind::Mh,
            step: 0.02,
            leapfrog: 1,
        },
        // The states alone, as the peer's loop scores them; the default's cost is printed beside.
        path_points: 0,
        ..Default::default()
    };
    let starts = a.f_expand([n, 2], false)?;
    let targets = c.f_expand([n, 2], false)?;
    let alphas = vec![40.0; n as usize];
    let mut batched = Vec::new();
    for _ in 0..2 {
        batched = ad_trials(&e, &starts, &targets, &alphas, &opts)?;
    }
    let tb = 1.0
        / best_rate(5, 2, || {
            batched = ad_trials(&e, &starts, &targets, &alphas, &opts)?;
            Ok(())
        })?;
    let t = Instant::now();
    let mut single_steps = 0;
    for _ in 0..n {
        single_steps += ad_trials(&e, &a, &c, &[40.0], &opts)?[0].steps;
    }
    let ts = t.elapsed().as_secs_f64();
    let batched_steps: usize = batched.iter().map(|t| t.steps).sum();
    let cost = step_cost(1, || {
        let before = ad::work_done().0;
        ad_trials(&e, &starts, &targets, &alphas, &opts)?;
        Ok((ad::work_done().0 - before) as usize)
    })?;
    let scored = AdOptions {
        path_points: ad::DEFAULT_PATH_POINTS,
        ..opts.clone()
    };
    let t_scored = 1.0
        / best_rate(3, 1, || {
            ad_trials(&e, &starts, &targets, &alphas, &scored)?;
            Ok(())
        })?;
    let line = format!(
        "{:8.0} trials/s batched, {:8.0} trials/s one at a time ({:.1}x; {} vs {} chain-steps, {} of 64 succeeded); states only, {:.0} trials/s with moves scored (path_points {})",
        n as f64 / tb,
        n as f64 / ts,
        ts / tb,
        batched_steps,
        single_steps,
        batched.iter().filter(|t| t.success).count(),
        n as f64 / t_scored,
        ad::DEFAULT_PATH_POINTS
    );
    let kernel = Kernel {
        rate: n as f64 / tb,
        unit: "trials/s",
        cost,
    };
    Ok((line, kernel))
}

/// ADELM on the section 5.1 glass (N = 100, T = 0.001, alpha 1.35, delta 0, M 100), 100
/// iterations: the rate, chain-sweeps per second of AD, and the profile by phase; beside the
/// numpy peer (`bench/peers/sk_adelm.py`, 30 iterations) when one ran.
fn adelm_rate(peer: Option<Result<PeerRate>>) -> Result<String> {
    let e: EnergyRef = Rc::new(energy::sk(100, 1, 1.0)?);
    let opts = sk_section51_options(100);
    let before = crate::profile::snapshot();
    let sweeps0 = ad::work_done().1;
    let t = Instant::now();
    let map = adelm(&e, &mut RandomProposer(e.clone()), &opts)?;
    let path = std::env::temp_dir().join(format!("telescope-bench-{}.json", std::process::id()));
    map.save(&path)?;
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    let (rate, sweeps) = (
        map.iterations as f64 / secs,
        (ad::work_done().1 - sweeps0) as f64 / secs,
    );
    let peer = match peer {
        None => String::new(),
        Some(Ok(p)) => {
            let theirs = p.chain_sweeps_per_s.unwrap_or(f64::NAN);
            format!(
                "\n{:28} {:10.1} {}, {theirs:.3e} chain-sweeps/s numpy: telescope {:.0}x the \
                 iterations, {:.0}x the sweeps ({} rayon threads)",
                "",
                p.rate,
                p.unit,
                rate / p.rate,
                sweeps / theirs,
                rayon::current_num_threads()
            )
        }
        Some(Err(e)) => format!("\n{:28} peer failed: {e}", ""),
    };
    Ok(format!(
        "{rate:10.1} iterations/s, {sweeps:.3e} chain-sweeps/s  ({} groups, {} AD trials in {secs:.2} s, the map's JSON included){peer}\n{}",
        map.groups.len(),
        map.stats.ad_trials,
        profile_table(&before, secs)
    ))
}

/// Where the time since `before` went, phase by phase, as indented lines: self seconds,
/// share of `total`, entries; the rest (placement rules, groups, union-find) as bookkeeping.
fn profile_table(before: &[(crate::profile::Phase, f64, u64)], total: f64) -> String {
    let after = crate::profile::snapshot();
    let mut lines = Vec::new();
    let mut timed = 0.0;
    for ((phase, s1, n1), (_, s0, n0)) in after.iter().zip(before) {
        let (secs, calls) = (s1 - s0, n1 - n0);
        timed += secs;
        lines.push(format!(
            "{:28}   {:14} {:7.3} s {:5.1}%  ({calls} calls)",
            "",
            phase.name(),
            secs,
            100.0 * secs / total
        ));
    }
    let rest = (total - timed).max(0.0);
    lines.push(format!(
        "{:28}   {:14} {:7.3} s {:5.1}%",
        "",
        "bookkeeping",
        rest,
        100.0 * rest / total
    ));
    lines.join("\n")
}

/// GWL on the section 5.1 glass: chain steps per second (basins by steepest descent at every
/// proposal) and the cost of the final ridge descent and greedy paths over the 500 kept.
fn gwl_rate() -> Result<String> {
    use crate::landscape::gwl::{gwl, GwlOptions};
    let e = energy::sk(100, 1, 1.0)?;
    let opts = GwlOptions {
        emax: -0.35,
        iters: 1_000_000,
        seed: 1,
        ..GwlOptions::default()
    };
    let t = Instant::now();
    let m = gwl(&e, &opts)?;
    let secs = t.elapsed().as_secs_f64();
    Ok(format!(
        "{:.0} steps/s including the final refinement ({} basins met, {} kept, {:.1} s)",
        opts.iters as f64 / secs,
        m.params["basins_found"],
        m.groups.len(),
        secs
    ))
}
