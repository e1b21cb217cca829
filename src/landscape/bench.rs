//! `telescope bench`: throughput of the batched kernels (timings live here, never in tests).

use crate::energy::{self, tempered, EnergyRef};
use crate::landscape::ad::{ad_trials, AdOptions, Delta};
use crate::landscape::adelm::{adelm, AdelmOptions, RandomProposer};
use crate::sampler::{make_sampler, Chains, SamplerSpec};
use crate::{tensor, Result};
use std::rc::Rc;
use std::time::Instant;

/// Runs the benchmarks named in `args` (all when empty); returns the exit status.
pub fn run(args: &[String]) -> u8 {
    crate::interrupt::install_handler();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    tensor::manual_seed(0);
    println!(
        "telescope {} benchmarks (device {:?}, {} threads)",
        crate::version(),
        tensor::device(),
        rayon::current_num_threads()
    );
    let mut status = 0;
    let mut report = |name: &str, r: Result<String>| match r {
        Ok(line) => println!("{name:28} {line}"),
        Err(e) => {
            println!("{name:28} failed: {e}");
            status = 1;
        }
    };
    if want("samplers") {
        for kind in ["mh", "mala", "hmc"] {
            report(&format!("{kind} B=256 D=100"), sampler_rate(kind));
        }
    }
    if want("sk") {
        report("sk gibbs N=100 B=256", sk_sweeps());
    }
    if want("ad") {
        report("ad batched vs one-by-one", ad_batching());
    }
    if want("adelm") {
        report("adelm sk N=100", adelm_rate());
    }
    if want("gwl") {
        report("gwl sk N=100 K=500", gwl_rate());
    }
    status
}

fn sampler_rate(kind: &str) -> Result<String> {
    let base: EnergyRef = Rc::new(energy::quadratic(100)?);
    let e = tempered(base, 1.0)?;
    let mut s = make_sampler(
        &SamplerSpec {
            kind: kind.into(),
            step: 0.1,
            leapfrog: 5,
        },
        &energy::Space::Continuous {
            lo: vec![],
            hi: vec![],
        },
    )?;
    let mut c = Chains::new(
        &e,
        &tch::Tensor::f_zeros([256, 100], (tensor::dtype(), tensor::device()))?,
    )?;
    let _g = tch::no_grad_guard();
    let steps = 300;
    let t = Instant::now();
    for _ in 0..steps {
        s.step(&e, &mut c)?;
    }
    let secs = t.elapsed().as_secs_f64();
    Ok(format!(
        "{:10.0} steps/s  ({:.1} us/step, {:.2e} chain-steps/s)",
        steps as f64 / secs,
        secs / steps as f64 * 1e6,
        256.0 * steps as f64 / secs
    ))
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

fn ad_batching() -> Result<String> {
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
            kind: "mh".into(),
            step: 0.02,
            leapfrog: 1,
        },
        ..Default::default()
    };
    let starts = a.f_expand([n, 2], false)?;
    let targets = c.f_expand([n, 2], false)?;
    let t = Instant::now();
    let batched = ad_trials(&e, &starts, &targets, &vec![40.0; n as usize], &opts)?;
    let tb = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut single_steps = 0;
    for _ in 0..n {
        single_steps += ad_trials(&e, &a, &c, &[40.0], &opts)?[0].steps;
    }
    let ts = t.elapsed().as_secs_f64();
    let batched_steps: usize = batched.iter().map(|t| t.steps).sum();
    Ok(format!(
        "{:8.0} trials/s batched, {:8.0} trials/s one at a time ({:.1}x; {} vs {} chain-steps)",
        n as f64 / tb,
        n as f64 / ts,
        ts / tb,
        batched_steps,
        single_steps
    ))
}

fn adelm_rate() -> Result<String> {
    let e: EnergyRef = Rc::new(energy::sk(100, 1, 1.0)?);
    let opts = AdelmOptions {
        ad: AdOptions {
            temperature: 0.001,
            alpha: 1.35,
            delta: Delta::Fixed(0.0),
            improvement_limit: 100,
            sampler: SamplerSpec {
                kind: "gibbs".into(),
                ..Default::default()
            },
            ..Default::default()
        },
        iters: 100,
        same_tol: 0.0,
        seed: 1,
        ..Default::default()
    };
    let t = Instant::now();
    let map = adelm(&e, &mut RandomProposer(e.clone()), &opts)?;
    let secs = t.elapsed().as_secs_f64();
    Ok(format!(
        "{:10.1} iterations/s  ({} groups, {} AD trials in {:.1} s)",
        map.iterations as f64 / secs,
        map.groups.len(),
        map.stats.ad_trials,
        secs
    ))
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
