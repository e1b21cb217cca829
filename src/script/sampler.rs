//! Script functions: batched MCMC sampling.

use super::convert::{opts, to_tensor, tv, IntoScript, RhaiResult};
use super::{bounds, Api, EnergyValue, OptionDoc};
use crate::energy::{self, Energy};
use crate::sampler::{self, SamplerKind, SamplerSpec};
use crate::tensor;
use rhai::{Dynamic, Map};

/// The options [`sampler_spec`] reads, with the caller's default step size.
pub fn sampler_options(step: f64) -> Vec<OptionDoc> {
    let d = SamplerSpec::default();
    vec![
        OptionDoc::text("sampler", d.kind.name(), "\"mh\" (random walk), \"cmh\" (component-wise), \"mala\", \"langevin\" (unadjusted), \"hmc\", \"gibbs\"; auto: gibbs for discrete, mh otherwise")
            .choices(&SamplerKind::ALL.map(SamplerKind::name)),
        OptionDoc::number(
            "step",
            step,
            "proposal scale (MH) or time step (MALA, Langevin, HMC); 1e-12 to 1e12",
        )
        .within(1e-12, 1e12),
        OptionDoc::count("leapfrog", d.leapfrog, "leapfrog steps per HMC proposal (1 to 10,000: each costs a gradient)").within(1.0, 1e4),
    ]
}

/// Reads the sampler options shared by every function that runs chains.
pub fn sampler_spec(o: &mut super::Opts) -> RhaiResult<SamplerSpec> {
    let kind = SamplerKind::parse(&o.string("sampler")?).script()?;
    Ok(SamplerSpec {
        kind,
        step: o.f64("step")?,
        leapfrog: o.usize("leapfrog")?,
    })
}

fn sample(u: EnergyValue, x0: Dynamic, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "sample");
    let t = o.f64("T")?;
    let steps = o.usize("steps")?;
    let thin = o.usize("thin")?;
    let burn = o.usize("burn_in")?;
    let spec = sampler_spec(&mut o)?;
    let _seed = o.call_seed()?;
    o.finish()?;
    let x0 = to_tensor(&x0)?;
    let density = energy::tempered(u.0.clone(), t).script()?;
    let mut s = sampler::make_sampler(&spec, &density.space()).script()?;
    let _g = tch::no_grad_guard();
    let start = if burn > 0 {
        sampler::run(&density, s.as_mut(), &x0, burn, 0)
            .script()?
            .chains
            .x
    } else {
        tensor::as_batch(&x0).script()?
    };
    let trace = sampler::run(&density, s.as_mut(), &start, steps, thin).script()?;
    let acc = trace.chains.acceptance().script()?;
    let mean_acc = acc.iter().sum::<f64>() / acc.len().max(1) as f64;
    let mut out = Map::new();
    out.insert("x".into(), tv(trace.chains.x.shallow_clone()));
    let base = u.0.energy(&trace.chains.x).script()?;
    out.insert("energy".into(), tv(base));
    out.insert("acceptance".into(), Dynamic::from_float(mean_acc));
    out.insert("steps".into(), Dynamic::from_int(trace.chains.steps as i64));
    if thin > 0 && !trace.states.is_empty() {
        let refs: Vec<&tch::Tensor> = trace.states.iter().collect();
        out.insert(
            "states".into(),
            tv(tch::Tensor::f_stack(&refs, 0).script()?),
        );
        let e: Vec<&tch::Tensor> = trace.energies.iter().collect();
        out.insert(
            "trace".into(),
            tv(tch::Tensor::f_stack(&e, 0)
                .script()?
                .f_mul_scalar(t)
                .script()?),
        );
    }
    let cut = super::convert::cut_short();
    if cut {
        super::convert::say_interrupted(
            "sample",
            &format!("{} steps of each chain", trace.chains.steps),
        );
    }
    out.insert("interrupted".into(), Dynamic::from_bool(cut));
    Ok(super::records::make::<{ super::records::SAMPLES }>(out))
}

/// Registers the sampling functions.
pub fn register(api: &mut Api) {
    api.func("sample", "sample(U: Energy, x0, opts: map) -> Samples", "Runs batched MCMC chains on exp(-U/T) from x0 (a state [D] or chains [B, D]). Returns #{x: final states, energy: U of x, acceptance: mean acceptance rate, steps, states: [S, B, D] and trace: U values [S, B] when thin > 0}. Ctrl-C stops early and keeps what was sampled.", sample);
    api.func(
        "sample",
        "sample(U: Energy, x0) -> Samples",
        "",
        |u: EnergyValue, x0: Dynamic| sample(u, x0, Map::new()),
    );
    let mut sample_options = vec![
        OptionDoc::number("T", 1.0, "temperature (1e-12 to 1e12)").within(1e-12, 1e12),
        OptionDoc::count("steps", 1000, "steps (Gibbs and component-wise MH: sweeps)")
            .bounded(bounds::STEPS),
        OptionDoc::count("thin", 0, "record every thin-th state (0: none)").bounded(bounds::STEPS),
        OptionDoc::count("burn_in", 0, "steps discarded before recording").bounded(bounds::STEPS),
    ];
    sample_options.extend(sampler_options(0.1));
    sample_options.push(OptionDoc::call_seed());
    api.options("sample", sample_options);
    api.example("sample", "let r = sample(quadratic(2), zeros([256, 2]), #{sampler: \"mala\", step: 0.5, steps: 2000});\nprint(r.acceptance);\nprint(r.x.mean(0));");
}
