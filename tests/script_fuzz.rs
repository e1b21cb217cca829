//! The script fuzzer (issue #17): random calls of every documented script function, built
//! from the same metadata that `telescope doc` prints (`telescope::script::docs()`: names,
//! signatures, arities, option keys), with adversarial values: wrong types and arities, NaN
//! and infinities, negative, zero and huge sizes, empty tensors, mismatched dimensions,
//! strings, `()`, nested maps, and option maps with the function's real keys but odd values.
//! Most arguments of a case are valid (receivers especially), so that calls reach deep code;
//! one or two are adversarial.
//!
//! Every case is a small standalone script run in a fresh session, in-process, through
//! `new_session(None).eval("fuzz.rhai", ..)`. The rules:
//! - `Ok` is fine;
//! - an error must be located, `fuzz.rhai:LINE:COL: message`, and must not be an
//!   `internal error` (a panic inside a native call);
//! - no case may run longer than the time limit (a hang), or end the process (an abort).
//!
//! The cases run in a worker process (this test binary started again, see [`run_worker`]),
//! so that an abort (stack overflow, allocation failure) or a hang in native code that never
//! polls Ctrl-C is recorded and the run goes on with the next case. The worker caps its
//! address space ([`WORKER_MEMORY_BYTES`]) and runs with a memory budget well below it
//! ([`WORKER_BUDGET_GIB`]), so a huge allocation that slips past the budget fails fast
//! instead of exhausting the machine. Every failure is collected; the test fails once
//! at the end, listing them grouped by message class, each with a full reproducer script
//! (`telescope run fuzz.rhai` reproduces it; relative paths in it are meant for a scratch
//! directory).
//!
//! Environment: `TELESCOPE_FUZZ_CASES` (default [`DEFAULT_CASES`]), `TELESCOPE_FUZZ_SEED`
//! (default [`DEFAULT_SEED`]), `TELESCOPE_FUZZ_TIMEOUT` (seconds per case, default
//! [`DEFAULT_TIMEOUT_S`]), `TELESCOPE_FUZZ_ONLY` (only targets whose name contains it),
//! `TELESCOPE_FUZZ_ALL=1` (also run the cases of [`KNOWN_ABORTS`]), `TELESCOPE_FUZZ_VERBOSE=1`
//! (print every case with its outcome).

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use telescope::script::{FnDoc, OptKind};

/// Cases per run unless `TELESCOPE_FUZZ_CASES` says otherwise.
const DEFAULT_CASES: usize = 300;
/// Seed of the case generator unless `TELESCOPE_FUZZ_SEED` says otherwise.
const DEFAULT_SEED: u64 = 17;
/// Seconds a case may run before it counts as a hang (then Ctrl-C, then kill).
const DEFAULT_TIMEOUT_S: u64 = 20;
/// Address-space cap of the worker process: far above what any valid case here needs, far
/// below what a huge size would take.
const WORKER_MEMORY_BYTES: u64 = 8 << 30;
/// The memory budget (`TELESCOPE_MEMORY_LIMIT`, GiB per allocation) the worker runs under:
/// well below [`WORKER_MEMORY_BYTES`].
const WORKER_BUDGET_GIB: &str = "1";
/// Stack of the thread that runs the cases: the size the `telescope` binary gives its script
/// thread (src/main.rs), so depth limits behave as they do for users.
const SCRIPT_STACK_BYTES: usize = 1 << 30;
/// The file name errors must be located in.
const FILE: &str = "fuzz.rhai";
/// Prefix of the worker's protocol lines on stdout (scripts may print too).
const MARK: &str = "@@telescope-fuzz";
/// Set in the worker's environment: the index of its first case.
const WORKER_ENV: &str = "TELESCOPE_FUZZ_WORKER";

/// Cases that end the whole process today, skipped unless `TELESCOPE_FUZZ_ALL=1`: the worker
/// would survive them, but a plain `telescope run` of the reproducer does not, and without
/// the worker's memory cap they would take the machine's memory first. A case of `target`
/// is skipped when its script contains one of `values`. Remove an entry once its reproducer
/// ends in a located error.
const KNOWN_ABORTS: &[KnownAbort] = &[];

/// A class of case known to abort the process, with its reproducer.
struct KnownAbort {
    /// The target (as `telescope doc` names it) whose cases are skipped...
    target: &'static str,
    /// ...when their script contains one of these.
    values: &'static [&'static str],
    /// What happens, and the smallest script that shows it.
    reproducer: &'static str,
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// What a run does, from the environment.
#[derive(Clone, Debug)]
struct Config {
    cases: usize,
    seed: u64,
    timeout: Duration,
    only: Option<String>,
    run_known_aborts: bool,
    verbose: bool,
}

impl Config {
    fn from_env() -> Config {
        let num = |key: &str, default: u64| -> u64 {
            std::env::var(key)
                .ok()
                .map(|v| {
                    v.trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("{key}={v}: not a number"))
                })
                .unwrap_or(default)
        };
        Config {
            cases: num("TELESCOPE_FUZZ_CASES", DEFAULT_CASES as u64) as usize,
            seed: num("TELESCOPE_FUZZ_SEED", DEFAULT_SEED),
            timeout: Duration::from_secs(num("TELESCOPE_FUZZ_TIMEOUT", DEFAULT_TIMEOUT_S)),
            only: std::env::var("TELESCOPE_FUZZ_ONLY")
                .ok()
                .filter(|s| !s.is_empty()),
            run_known_aborts: std::env::var("TELESCOPE_FUZZ_ALL").is_ok_and(|v| v == "1"),
            verbose: std::env::var("TELESCOPE_FUZZ_VERBOSE").is_ok_and(|v| v == "1"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Targets: what `telescope doc` documents, as the fuzzer calls it
// ---------------------------------------------------------------------------------------

/// One parameter of a signature, e.g. `dim: int` or the untyped `from`.
#[derive(Clone, Debug)]
struct Param {
    name: String,
    /// The type as documented (`int`, `Tensor|number`, `fn(Tensor) -> Tensor`, ...); `any`
    /// when the signature gives none.
    ty: String,
    /// Marked `name?:` in the signature.
    optional: bool,
}

/// How a target is written in a script.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Form {
    /// `name(args)`
    Call,
    /// `r.name(args)`, the first parameter being the receiver `r`.
    Method,
    /// `r.name`
    Property,
    /// `r[i]`
    Index,
    /// `a OP b`, or `OP a` for arity 1.
    Operator,
}

/// A documented function, method, property or operator.
#[derive(Clone, Debug)]
struct Target {
    doc: FnDoc,
    form: Form,
    /// Parameter lists of the signatures (a method's receiver first).
    signatures: Vec<Vec<Param>>,
    /// Result types the signatures name (`Plot`, `Map`, ...).
    returns: Vec<String>,
}

impl Target {
    fn from_doc(doc: &FnDoc) -> Target {
        let form = if !doc.name.chars().any(|c| c.is_alphanumeric()) {
            Form::Operator
        } else if doc.name.ends_with(".[]") {
            Form::Index
        } else if doc.method && doc.signatures.iter().all(|s| !s.contains('(')) {
            Form::Property
        } else if doc.method {
            Form::Method
        } else {
            Form::Call
        };
        let receiver = doc.name.split('.').next().unwrap_or("any").to_string();
        let signatures = doc
            .signatures
            .iter()
            .filter_map(|s| parse_params(s, doc.method.then_some(receiver.as_str())))
            .collect();
        let returns = doc
            .signatures
            .iter()
            .filter_map(|s| s.split_once("->").map(|(_, r)| r.trim().to_string()))
            .collect();
        Target {
            doc: doc.clone(),
            form,
            signatures,
            returns,
        }
    }

    fn name(&self) -> &str {
        &self.doc.name
    }

    fn bare_name(&self) -> &str {
        self.doc.bare_name()
    }

    /// The receiver's type for methods and properties (`Tensor`, `Map`, ...).
    fn receiver_type(&self) -> &str {
        self.doc.name.split('.').next().unwrap_or("any")
    }

    /// Argument counts the signatures accept (a method's receiver counted).
    fn arities(&self) -> Vec<usize> {
        let mut out = self.doc.arities.clone();
        for params in &self.signatures {
            let required = params.iter().filter(|p| !p.optional).count();
            out.extend(required..=params.len());
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The parameters of a call with `arity` arguments: from a signature that accepts it, or
    /// the longest one cut or padded with untyped extras (a wrong arity).
    fn params_for(&self, arity: usize) -> Vec<Param> {
        let fits =
            |p: &&Vec<Param>| p.iter().filter(|p| !p.optional).count() <= arity && arity <= p.len();
        let base = match self.signatures.iter().find(fits) {
            Some(p) => p.clone(),
            None => self
                .signatures
                .iter()
                .max_by_key(|p| p.len())
                .cloned()
                .unwrap_or_default(),
        };
        let extra = Param {
            name: "extra".into(),
            ty: "any".into(),
            optional: false,
        };
        let mut params: Vec<Param> = base.into_iter().take(arity).collect();
        params.resize(arity, extra);
        params
    }

    /// Calls that reach the landscape machinery get more cases than one-line getters.
    fn weight(&self) -> usize {
        const OBJECTS: &[&str] = &["Energy", "Map", "Net", "NebPath", "Dg", "MapComparison"];
        let deep = !self.doc.options.is_empty()
            || self
                .signatures
                .iter()
                .flatten()
                .any(|p| OBJECTS.iter().any(|o| p.ty.contains(o)));
        match self.form {
            Form::Property => 1,
            _ if deep => 6,
            _ => 2,
        }
    }
}

/// The parameters of a signature such as `x.sum(dim: int) -> Tensor` (receiver `x` typed
/// `receiver`); `None` for one without a parameter list (a property).
fn parse_params(signature: &str, receiver: Option<&str>) -> Option<Vec<Param>> {
    let open = signature.find('(')?;
    let head = &signature[..open];
    let mut depth = 0;
    let mut close = None;
    for (i, c) in signature.char_indices().skip(open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let inner = &signature[open + 1..close?];
    let mut params = Vec::new();
    if let (Some(ty), Some((name, _))) = (receiver, head.split_once('.')) {
        params.push(Param {
            name: name.to_string(),
            ty: ty.to_string(),
            optional: false,
        });
    }
    for part in split_top_level(inner) {
        let (name, ty) = part.split_once(':').unwrap_or((part, "any"));
        let optional = name.trim().ends_with('?');
        params.push(Param {
            name: name.trim().trim_end_matches('?').to_string(),
            ty: ty.trim().to_string(),
            optional,
        });
    }
    Some(params)
}

/// `a: int, f: fn(Tensor) -> Tensor` split at the commas outside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() {
        out.push(s[start..].trim());
    }
    out
}

/// Targets left out: CUDA needs address space beyond the worker's memory cap, and the
/// fuzzer keeps every case on the CPU.
const SKIPPED_TARGETS: &[&str] = &["cuda_available", "Tensor.cuda"];

/// Every target the fuzzer calls, sorted by name.
fn targets(config: &Config) -> Vec<Target> {
    telescope::script::docs()
        .all()
        .filter(|d| !SKIPPED_TARGETS.contains(&d.name.as_str()))
        .filter(|d| {
            config
                .only
                .as_ref()
                .is_none_or(|o| d.name.contains(o.as_str()))
        })
        .map(Target::from_doc)
        .collect()
}

/// The target of each case: every target repeated by its weight, shuffled by the seed;
/// case `i` takes entry `i` modulo the length.
fn schedule(targets: &[Target], seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..targets.len())
        .flat_map(|i| std::iter::repeat_n(i, targets[i].weight()))
        .collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    order
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

/// Valid energies (`U` in a case is one of these).
const ENERGIES: &[&str] = &[
    "quadratic(2)",
    "muller_brown()",
    "sk(8, 1)",
    "ising(3, 3)",
    "double_well()",
    "gmm([[0.0, 0.0], [2.0, 2.0]], [0.5, 0.5], 0.5)",
    "embed(muller_brown(), 4)",
    "energy(|x| x.square().sum(1), 2)",
    "magnetize(quadratic(2), 1.0, 2.0, [1.0, 1.0])",
    "deepframe_energy(descriptor(\"fc(1)\", #{shape: [1, 2, 2]}))",
];
/// Spin energies, for the functions that need them.
const SPIN_ENERGIES: &[&str] = &["sk(8, 1)", "ising(3, 3)"];
/// 2-D continuous energies, for the functions that need them.
const PLANE_ENERGIES: &[&str] = &[
    "muller_brown()",
    "quadratic(2)",
    "gmm([[0.0, 0.0], [2.0, 2.0]], [0.5, 0.5], 0.5)",
    "energy(|x| x.square().sum(1), 2)",
    "magnetize(quadratic(2), 1.0, 2.0, [1.0, 1.0])",
];

/// The valid energies that suit a function.
fn energies_for(function: &str) -> &'static [&'static str] {
    match function {
        "barrier_greedy" | "gwl" => SPIN_ENERGIES,
        "heatmap" | "neb" | "compare_paths" | "path_energy_plot" => PLANE_ENERGIES,
        _ => ENERGIES,
    }
}

/// Valid maps, made on the energy `{U}`, with the energies they are meant for.
const MAPS: &[(&str, &str)] = &[
    ("sk(2, 1)", "load_map(\"map_ok.json\")"),
    (
        "quadratic(2)",
        "adelm({U}, #{iters: 2, max_steps: 100, progress: false})",
    ),
    ("sk(8, 1)", "adelm({U}, #{iters: 4, progress: false})"),
    (
        "sk(8, 1)",
        "gwl({U}, #{emax: 0.0, iters: 2000, K: 10, progress: false})",
    ),
];
const TENSORS: &[&str] = &[
    "randn([4, 2])",
    "tensor([[1, 2], [3, 4]])",
    "ones([3])",
    "randn([2, 3, 4])",
    "tensor(1.5)",
    "zeros([2], \"int64\")",
];
const NETS: &[&str] = &[
    "descriptor(\"fc(1)\", #{shape: [1, 8, 8]})",
    "generator(\"convT(4,4,1) convT(1,5,2)\", #{latent: 2})",
];
const NEB_PATHS: &[&str] = &[
    "neb(muller_brown(), [-0.558, 1.442], [-0.050, 0.467], #{images: 6, max_iter: 20})",
    "neb(quadratic(3), [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], #{images: 4, max_iter: 10})",
];
const DGS: &[&str] = &[
    "load_dg(\"dg_ok.json\")",
    "dg([0.0, 1.0], [[(), 3], [3, ()]], [1, 1])",
    "dg(adelm(sk(8, 1), #{iters: 4, progress: false}))",
];
const PLOTS: &[&str] = &[
    "line_plot([0, 1, 2], [0, 1, 4])",
    "heatmap(muller_brown(), #{n: 8})",
    "histogram(randn([50]))",
    "dg([0.0, 1.0], [[(), 3], [3, ()]], [1, 1]).plot()",
];
const COMPARISONS: &[&str] = &[
    "compare_maps(adelm(sk(8, 1), #{iters: 4, progress: false}), gwl(sk(8, 1), #{emax: 0.0, iters: 2000, K: 10, progress: false}))",
];
const FUNCTIONS: &[&str] = &["|x| x.square().sum(1)", "|x| (x * x).sum(1) * 0.5"];
/// States without an energy in scope.
const STATES: &[&str] = &[
    "[0.0, 0.0]",
    "[-0.558, 1.442]",
    "randn([3, 2])",
    "[1, -1, 1, -1, 1, -1, 1, -1]",
];
/// Parameter names that hold states when an energy is in scope.
const STATE_NAMES: &[&str] = &["a", "b", "x", "x0", "from", "to", "target"];
/// States of the energy `U` in scope.
const STATES_OF_U: &[&str] = &[
    "U.random(1)[0]",
    "U.random(1)[0]",
    "U.random(1)[0]",
    "U.random(3)",
];
/// States of the energy `U` with something wrong: NaN, huge, empty, another dtype or rank.
const BAD_STATES_OF_U: &[&str] = &[
    "U.random(1)[0] * parse_float(\"NaN\")",
    "U.random(1)[0] * 1.0e308",
    "U.random(1)[0].slice(0, 0, 1)",
    "U.random(3).slice(0, 0, 0)",
    "U.random(2).to_dtype(\"float32\")",
    "U.random(2).to_dtype(\"int64\")",
    "U.random(1)[0].unsqueeze(0).unsqueeze(0)",
    "U.random(1)[0].to_array()",
];
/// Files to read in the worker's scratch directory (see [`write_fixtures`]), and names
/// that are not there. No case writes to these, so every case sees them as made.
const READ_FILES: &[&str] = &[
    "\"missing.json\"",
    "\"garbage.json\"",
    "\"huge_sk.json\"",
    "\"empty.npy\"",
    "\"huge.npy\"",
    "\"images\"",
    "\"map_ok.json\"",
    "\"dg_ok.json\"",
    "\".\"",
    "\"\"",
];
/// Files to write (relative, so in the scratch directory), and names that cannot be.
const WRITE_FILES: &[&str] = &[
    "\"out.json\"",
    "\"out.png\"",
    "\"out.svg\"",
    "\"out.safetensors\"",
    "\"missing/dir/out.json\"",
    "\".\"",
    "\"\"",
];

/// Maps read from the inconsistent files [`write_fixtures`] makes.
const BAD_LOADED_MAPS: &[&str] = &[
    "load_map(\"map_ids.json\")",
    "load_map(\"map_dims.json\")",
    "load_map(\"map_extreme.json\")",
    "load_map(\"map_merges.json\")",
    "load_map(\"map_empty.json\")",
    "load_map(\"map_energy.json\")",
    "load_map(\"map_members.json\")",
];
/// Disconnectivity graphs read from the inconsistent files [`write_fixtures`] makes.
const BAD_LOADED_DGS: &[&str] = &[
    "load_dg(\"dg_order.json\")",
    "load_dg(\"dg_roots.json\")",
    "load_dg(\"dg_extreme.json\")",
    "load_dg(\"dg_empty.json\")",
];

const BAD_INTS: &[&str] = &[
    "0",
    "-1",
    "100000000000",
    "4294967296",
    "-4294967296",
    "9223372036854775807",
    "(-9223372036854775807 - 1)",
];
const BAD_FLOATS: &[&str] = &[
    "parse_float(\"NaN\")",
    "parse_float(\"inf\")",
    "parse_float(\"-inf\")",
    "1.0e308",
    "-1.0e308",
    "-0.0",
    "5.0e-324",
];
const BAD_STRINGS: &[&str] = &[
    "\"\"",
    "\"nope\"",
    "\"fc(-1)\"",
    "\"conv(0,0,0) fc(1)\"",
    "\"convT(100000000000,4,1)\"",
    "\"fc(4294967296)\"",
    "\"ü→∞\"",
    "\"float16\"",
    "\"missing/dir/file.json\"",
];
const BAD_ARRAYS: &[&str] = &[
    "[]",
    "[[]]",
    "[1, \"a\"]",
    "[(), ()]",
    "[[1, 2], [3]]",
    "[100000000000]",
    "[4294967296, 4294967296]",
    "[100000000000, 100000000000, 100000000000]",
    "[-1, 2]",
    "[0, 2]",
    "[[[[1.0]]]]",
    "[parse_float(\"NaN\"), parse_float(\"inf\")]",
    "[#{}]",
];
const BAD_MAPS: &[&str] = &["#{}", "#{a: #{b: #{c: ()}}}", "#{x: [()]}", "#{\"\": 1}"];
const BAD_TENSORS: &[&str] = &[
    "zeros([0, 2])",
    "zeros([0])",
    "zeros([0, 0])",
    "tensor(parse_float(\"NaN\"))",
    "full([3, 2], parse_float(\"NaN\"))",
    "full([4, 2], parse_float(\"inf\"))",
    "randn([3, 5])",
    "randn([1, 1, 1, 1])",
    "ones([2], \"bool\")",
    "tensor([1.0e308, -1.0e308])",
    "randn([4, 2]).to_dtype(\"float16\")",
];
/// Energies that misbehave (NaN or infinite values, the wrong output shape, errors) or do
/// not fit the states at hand.
const BAD_ENERGIES: &[&str] = &[
    "sk(8, 1)",
    "ising(3, 3)",
    "quadratic(1)",
    "double_well()",
    "energy(|x| x.sum(1) * parse_float(\"NaN\"), 2)",
    "energy(|x| x.sum(1) * parse_float(\"inf\"), 2)",
    "energy(|x| x.sum(), 2)",
    "energy(|x| x, 2)",
    "energy(|x| throw \"boom\", 2)",
    "energy(|x| x.sum(1), 0)",
    "gmm([[0.0, 0.0]], [1.0], 0.0)",
    "sk(1, 1)",
    "ising(1, 1)",
    "embed(quadratic(2), 2)",
    "energy(Fn(\"again\"), 2)",
    "energy(|x| x.square().sum(1).to_dtype(\"float32\"), 2)",
    "energy(|x| x.square().sum(1).to_dtype(\"int64\"), 2)",
    "energy(|x| x.square().sum(1).unsqueeze(1), 2)",
    "energy(|x| zeros([7]), 2)",
    "energy(|x| x.square().sum(1).detach(), 2)",
    "energy(|x| { set_dtype(\"float32\"); x.square().sum(1) }, 2)",
];
/// Functions that misbehave; `Fn("again")` calls itself through a native call (helper
/// [`AGAIN`]).
const BAD_FUNCTIONS: &[&str] = &[
    "|x| x",
    "|x| ()",
    "|x| throw \"boom\"",
    "Fn(\"abs\")",
    "|x| zeros([0])",
    "|x| x.sum()",
    "|x, y| x",
    "|x| energy(|y| y.square().sum(1), 2).at(x)",
    "Fn(\"again\")",
];
/// A script function that re-enters itself through a native call.
const AGAIN: &str = "fn again(x) { energy(Fn(\"again\"), 2).at(x) }";
/// Values of the wrong kind anywhere.
const BAD_OTHERS: &[&str] = &[
    "()",
    "true",
    "line_plot([1, 2])",
    "descriptor(\"fc(1)\")",
    "quadratic(2)",
];
/// Option keys that count iterations: huge values there are valid and only slow, so they
/// get small ones (huge sizes elsewhere must be refused, so they stay).
const ITERATION_KEYS: &[&str] = &[
    "iters",
    "steps",
    "max_steps",
    "max_iter",
    "max_rounds",
    "epochs",
    "M",
    "trials",
    "starts",
    "min_iter",
    "burn_in",
    "chains",
    "block",
    "latent_steps",
    "leapfrog",
    "max_checks",
    "dneb_patience",
    "consolidate_every",
    "checkpoint_every",
];

/// Every adversarial value, of any kind.
fn any_bad() -> Vec<&'static str> {
    [
        BAD_INTS,
        BAD_FLOATS,
        BAD_STRINGS,
        BAD_ARRAYS,
        BAD_MAPS,
        BAD_TENSORS,
        BAD_ENERGIES,
        BAD_FUNCTIONS,
        BAD_OTHERS,
    ]
    .concat()
}

/// A value that would make an iteration count run (valid but slow).
fn is_huge_positive(expr: &str) -> bool {
    matches!(
        expr,
        "100000000000" | "4294967296" | "9223372036854775807" | "1.0e308" | "parse_float(\"inf\")"
    )
}

/// Valid values for a parameter known by its function and name, if the name says more than
/// the type.
fn valid_by_name(function: &str, param: &str) -> Option<&'static [&'static str]> {
    Some(match (function, param) {
        ("descriptor", "spec") => &["\"fc(1)\"", "\"conv(4,3,2) fc(1)\""],
        ("generator", "spec") => &["\"convT(4,4,1) convT(1,5,2)\""],
        ("dataset", "name") => &["\"digits\"", "\"spots_stripes\""],
        ("help", "name") => &["\"seed\"", "\"Tensor.sum\"", "\"landscape\""],
        ("set_dtype", "name") => &["\"float32\"", "\"float64\""],
        ("set_device", "name") => &["\"cpu\""],
        ("set_limit", "name") => &["\"memory\"", "\"native_depth\""],
        ("gmm", "means") => &["[[0.0, 0.0], [2.0, 2.0]]"],
        ("gmm", "weights") => &["[0.5, 0.5]"],
        ("gmm", "sigma") => &["0.5"],
        ("dg", "energies") => &["[0.0, 1.0]"],
        ("dg", "barriers") => &["[[(), 3], [3, ()]]"],
        ("dg", "members") => &["[1, 1]"],
        ("path_energy_plot", "energies") => &["[[0, 3, 1], [0, 2, 2, 1]]"],
        ("phase_plot", "pairs") => {
            &["[#{label: \"A-B\", forward: [1.2, 1.1], backward: [1.5, 1.3]}]"]
        }
        ("barrier_1d", "points") => &["10"],
        ("quantize_pixels", "levels") => &["4"],
        ("embed", "dim") => &["4"],
        ("energy", "dim") => &["2"],
        ("sk", "n") => &["8"],
        ("quadratic", "d") => &["2", "3"],
        ("ising", "rows" | "cols") => &["3"],
        ("text", "cols") => &["40"],
        ("text", "rows") => &["12"],
        (_, "dtype") => &["\"float32\"", "\"int64\"", "\"bool\""],
        ("load_map", "path") => &["\"map_ok.json\"", "\"map_dims.json\"", "\"map_ids.json\""],
        ("load_dg", "path") => &["\"dg_ok.json\"", "\"dg_order.json\"", "\"dg_extreme.json\""],
        ("load_npy_images", "path") => &["\"huge.npy\"", "\"empty.npy\""],
        ("load_images", "folder") => &["\"images\""],
        ("save", "path") => WRITE_FILES,
        (_, "path" | "folder") => READ_FILES,
        (_, "dir") => &["\".\""],
        (_, "text" | "label") => &["\"t\""],
        (_, "tensors") => &["[zeros(3), ones(3)]", "[randn([2, 2]), randn([2, 2])]"],
        (_, "shape") => &["[2, 3]", "3", "[4, 2]"],
        (_, "paths") => &["[[[0.0, 0.0], [1.0, 1.0]]]"],
        (_, "xs") => &["[0, 1, 2]", "randn([3])"],
        (_, "ys") => &["[0, 1, 4]", "randn([3])"],
        (_, "points") => &["[[0, 0], [1, 1], [0, 1]]", "randn([3, 2])"],
        (_, "labels") => &["[0, 1, 1]"],
        (_, "temps") => &["[0.1, 0.5]"],
        (_, "alphas") => &["[0.1, 1.0]"],
        (_, "counts") => &["[3, 1]"],
        (_, "images") => &["rand([4, 64])"],
        (_, "z") => &["randn([3, 2])"],
        (_, "indices") => &["[0, 1]", "tensor([0, 1], \"int64\")"],
        (_, "cond") => &["randn([4, 2]) > 0"],
        (_, "data") => &["dataset(\"digits\", #{n: 8, size: 8})", "rand([8, 64])"],
        (_, "desc") => &NETS[..1],
        (_, "gen") => &NETS[1..],
        (_, "width" | "height") => &["100"],
        (_, "lo" | "hi") => &["0.0", "1.0", "()"],
        (_, "i") => &["0", "-1", "1"],
        (_, "dim" | "d0" | "d1" | "start") => &["0", "1", "-1"],
        (_, "end") => &["2"],
        (_, "step") => &["1", "2"],
        (_, "n") => &["3"],
        (_, "value") => &["1.5"],
        (_, "T" | "alpha") => &["0.5", "1.0"],
        (_, "H") => &["0.1"],
        (_, "rtol" | "atol") => &["0.00001"],
        _ => return None,
    })
}

/// Adversarial values of one documented type (`any` for untyped parameters).
fn bad_of_type(ty: &str) -> Vec<&'static str> {
    match ty {
        "int" => BAD_INTS.to_vec(),
        "float" | "number" => [BAD_FLOATS, BAD_INTS].concat(),
        "string" => BAD_STRINGS.to_vec(),
        "bool" => vec!["()", "0", "\"yes\""],
        "array" => BAD_ARRAYS.to_vec(),
        "map" => BAD_MAPS.to_vec(),
        "Tensor" => BAD_TENSORS.to_vec(),
        "Energy" => BAD_ENERGIES.to_vec(),
        "Map" => BAD_LOADED_MAPS.to_vec(),
        "Dg" => BAD_LOADED_DGS.to_vec(),
        t if t.starts_with("fn(") => BAD_FUNCTIONS.to_vec(),
        "any" => [BAD_TENSORS, BAD_ARRAYS, BAD_FLOATS, BAD_OTHERS].concat(),
        _ => any_bad(),
    }
}

/// Adversarial values that fit a parameter or option known by its name: the right type,
/// the wrong content (NaN energies, ragged or empty data, sizes that do not match).
fn bad_by_name(function: &str, name: &str) -> &'static [&'static str] {
    match (function, name) {
        ("dg", "energies") => &["[parse_float(\"NaN\"), 1.0]", "[]", "[1.0e308, -1.0e308]"],
        ("dg", "barriers") => &[
            "[[(), parse_float(\"NaN\")], [parse_float(\"NaN\"), ()]]",
            "[[(), 3, 4], [3, ()]]",
            "[[()]]",
            "[[(), -5], [7, ()]]",
        ],
        ("dg", "members") => &["[0, 0]", "[-1, 100000000000]", "[1]"],
        ("gmm", "means") => &["[]", "[[]]", "[[0.0, 0.0], [1.0]]"],
        ("gmm", "weights") => &[
            "[0.0, 0.0]",
            "[-1.0, 2.0]",
            "[parse_float(\"NaN\"), 1.0]",
            "[1.0]",
        ],
        ("gmm", "sigma") => &["0.0", "-1.0", "parse_float(\"NaN\")"],
        ("path_energy_plot", "energies") => &["[[]]", "[[parse_float(\"NaN\")]]", "[]"],
        ("phase_plot", "pairs") => &[
            "[#{}]",
            "[#{label: 1, forward: [], backward: [parse_float(\"NaN\")]}]",
        ],
        ("barrier_greedy", "a" | "b") => &["[1, 1, 1]", "U.random(1)[0] * 0.5", "[]"],
        ("quantize_pixels", "levels") => &["0", "1", "-1", "100000000000"],
        // Mostly as long as the valid partner (xs and ys, points and labels: 3 values).
        (_, "xs" | "ys") => &[
            "[parse_float(\"NaN\"), 1.0, 2.0]",
            "[1.0e308, -1.0e308, 0.0]",
            "[0.0, 0.0, 0.0]",
            "[-1.0, 0.0, 1.0]",
            "full([3], parse_float(\"inf\"))",
            "[]",
            "zeros([0])",
        ],
        (_, "points") => &[
            "[[parse_float(\"NaN\"), 0.0], [1.0, 1.0], [0.0, 1.0]]",
            "[[1.0e308, 0.0], [-1.0e308, 1.0], [0.0, 0.0]]",
            "full([3, 2], parse_float(\"inf\"))",
            "zeros([3, 2])",
            "zeros([0, 2])",
            "randn([3, 3])",
        ],
        (_, "labels") => &[
            "[100000000000, -1, 0]",
            "[0, 0, 0]",
            "[\"a\", \"b\", \"c\"]",
            "[]",
        ],
        (_, "images") => &[
            "zeros([0, 64])",
            "rand([4, 63])",
            "full([4, 64], parse_float(\"NaN\"))",
            "rand([1, 1])",
            "0",
            "100000000000",
        ],
        (_, "temps") => &["[]", "[0.0]", "[-1.0]", "[parse_float(\"NaN\")]"],
        // As long as the valid partner (alphas and counts: 2 values).
        (_, "alphas") => &[
            "[0.0, 1.0]",
            "[-1.0, 1.0]",
            "[parse_float(\"NaN\"), 1.0]",
            "[parse_float(\"inf\"), 1.0]",
            "[1.0, 1.0]",
            "[]",
        ],
        (_, "counts") => &[
            "[-1, 100000000000]",
            "[0, 0]",
            "[parse_float(\"NaN\"), 1.0]",
        ],
        (_, "propose") => &[
            "|n| zeros([n, 2])",
            "|n| ()",
            "|n| throw \"boom\"",
            "|n| full([n, 2], parse_float(\"NaN\"))",
            "generator(\"convT(4,4,1) convT(1,5,2)\", #{latent: 2})",
            "\"normal\"",
        ],
        (_, "init") => &[
            "zeros([0, 2])",
            "randn([1, 2])",
            "full([5, 2], parse_float(\"NaN\"))",
            "randn([5, 3])",
        ],
        (_, "paths") => &["[[]]", "[zeros([0, 2])]", "[[[parse_float(\"NaN\"), 0.0]]]"],
        (_, "xlim" | "ylim") => &[
            "[1.0, 1.0]",
            "[2.0, -2.0]",
            "[parse_float(\"NaN\"), 1.0]",
            "[0.0]",
            "[-1.0e308, 1.0e308]",
        ],
        (_, "marks") => &["[#{groups: [100000000000], color: \"nope\"}]", "[#{}]"],
        (_, "classes") => &["[100000000000]", "[-1]", "[]"],
        (_, "shape") => &[
            "[1, 0, 16]",
            "[100000000000, 1, 1]",
            "[1, 4294967296, 4294967296]",
            "[1, 16]",
            "[-1, 2]",
        ],
        (_, "titles") => &["[]", "[1, 2, 3]"],
        (_, "resume") => &[
            "\"garbage.json\"",
            "\"huge_sk.json\"",
            "\"map_ok.json\"",
            "\".\"",
        ],
        (_, "checkpoint") => &[
            "\"ckpt.json\"",
            "\"missing/dir/ckpt.json\"",
            "\".\"",
            "\"\"",
        ],
        (_, "delta") => &["\"nope\"", "parse_float(\"NaN\")", "-1.0"],
        (_, "indices") => &["[100000000000]", "[-100]", "tensor([0.5])", "[]"],
        // Nested options keep their budget (defaults would run long).
        ("compare_paths", "ad") => &[
            "#{trials: 2, max_rounds: 3, max_steps: 100, T: parse_float(\"NaN\")}",
            "#{trials: 2, max_rounds: 3, max_steps: 100, alpha: -1.0}",
            "#{trials: 2, max_rounds: 3, max_steps: 100, sampler: \"gibbs\"}",
            "#{a: #{b: ()}}",
            "[]",
            "()",
        ],
        ("compare_paths", "neb") => &[
            "#{images: 6, max_iter: 30, k: parse_float(\"NaN\")}",
            "#{images: 2, max_iter: 30}",
            "#{images: 100000000000, max_iter: 30}",
            "#{images: 6, max_iter: 30, method: \"nope\"}",
            "()",
        ],
        _ => &[],
    }
}

/// The alternatives of a union type such as `Tensor|number` (`fn(..) -> A | B` stays whole).
fn alternatives(ty: &str) -> Vec<&str> {
    if ty.starts_with("fn(") {
        vec![ty]
    } else {
        ty.split('|').map(str::trim).collect()
    }
}

/// Quoted words in an option's default and doc: the values it names (samplers, methods).
fn quoted_words(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.is_empty() && w.len() < 20)
        .map(|w| format!("\"{w}\""))
        .collect()
}

/// Option values that keep a valid call short (iteration counts, progress output). They are
/// in every options map unless the case makes that key adversarial.
fn budget(function: &str) -> &'static [(&'static str, &'static str)] {
    const MAPPING: &[(&str, &str)] = &[
        ("iters", "2"),
        ("max_steps", "100"),
        ("min_iter", "200"),
        ("progress", "false"),
    ];
    const REFINE: &[(&str, &str)] = &[("trials", "2"), ("max_rounds", "3"), ("max_steps", "100")];
    match function {
        "adelm" => MAPPING,
        "tune_alpha" => &[
            ("alphas", "[1.0]"),
            ("iters", "2"),
            ("max_steps", "100"),
            ("min_iter", "200"),
        ],
        "gwl" => &[
            ("emax", "0.0"),
            ("iters", "2000"),
            ("K", "10"),
            ("block", "500"),
            ("progress", "false"),
        ],
        "ad" => &[("max_steps", "100")],
        "barrier_ad" | "barrier_matrix" => REFINE,
        "phase_diagram" => &[
            ("temps", "[0.1]"),
            ("trials", "2"),
            ("max_rounds", "3"),
            ("max_steps", "100"),
        ],
        "find_minima" => &[("starts", "4"), ("max_iter", "100")],
        "minimize" => &[("max_iter", "100")],
        "sample" => &[("steps", "20")],
        "neb" => &[("images", "6"), ("max_iter", "30")],
        "saddle" => &[("max_iter", "20")],
        "tune_temperature" => &[("temps", "[0.1]"), ("steps", "20"), ("chains", "2")],
        "train_deepframe" => &[("epochs", "1"), ("steps", "2"), ("batch", "4")],
        "train_coop" => &[
            ("epochs", "1"),
            ("steps", "2"),
            ("batch", "4"),
            ("latent_steps", "2"),
        ],
        "compare_paths" => &[
            ("print", "false"),
            ("ad", "#{trials: 2, max_rounds: 3, max_steps: 100}"),
            ("neb", "#{images: 6, max_iter: 30}"),
        ],
        "dataset" => &[("n", "8"), ("size", "8")],
        "load_images" => &[("size", "8")],
        "heatmap" => &[("n", "12")],
        _ => &[],
    }
}

/// One generated case.
#[derive(Clone, Debug)]
struct Case {
    index: usize,
    target: String,
    script: String,
}

impl Case {
    /// The known abort this case would hit, if any.
    fn known_abort(&self) -> Option<&'static KnownAbort> {
        KNOWN_ABORTS
            .iter()
            .find(|k| k.target == self.target && k.values.iter().any(|v| self.script.contains(v)))
    }
    /// True when the case changes settings of the whole process (dtype, device, limits):
    /// the worker starts afresh after it, so the next case sees the defaults.
    fn changes_process_settings(&self) -> bool {
        self.script.contains("set_")
    }
}

/// Builds the script of one case: statements binding what the call needs, then the call.
struct Gen<'a> {
    rng: StdRng,
    target: &'a Target,
    /// `let` statements before the call (`U`, the receiver `r`).
    lets: Vec<String>,
    /// Script functions some values call.
    helpers: Vec<&'static str>,
    /// Whether the energy `U` is bound.
    has_energy: bool,
}

impl<'a> Gen<'a> {
    fn pick(&mut self, pool: &[&'static str]) -> &'static str {
        pool.choose(&mut self.rng).copied().unwrap_or("()")
    }

    /// `U`, binding it to a valid energy first when needed; sometimes a second energy.
    fn energy(&mut self) -> String {
        if self.has_energy && self.rng.random_bool(0.7) {
            return "U".into();
        }
        let e = self.pick(energies_for(self.target.bare_name()));
        if self.has_energy {
            return e.into();
        }
        self.bind_energy(e)
    }

    fn bind_energy(&mut self, expr: &str) -> String {
        self.lets.push(format!("let U = {expr};"));
        self.has_energy = true;
        "U".into()
    }

    /// A valid map, made on `U` when `U` is not bound yet.
    fn map(&mut self) -> String {
        let (energy, template) = *MAPS.choose(&mut self.rng).expect("maps");
        let u = if self.has_energy {
            energy.to_string()
        } else {
            self.bind_energy(energy)
        };
        template.replace("{U}", &u)
    }

    /// A state: of `U` when bound, else a generic one.
    fn state(&mut self) -> String {
        if self.has_energy && self.rng.random_bool(0.9) {
            self.pick(STATES_OF_U).into()
        } else {
            self.pick(STATES).into()
        }
    }

    /// A valid value of one (non-union) type.
    fn valid_of_type(&mut self, ty: &str) -> String {
        match ty {
            "Energy" => self.energy(),
            "Map" => self.map(),
            "Tensor" => self.pick(TENSORS).into(),
            "Net" => self.pick(NETS).into(),
            "Net:desc" => NETS[0].into(),
            "Net:gen" => NETS[1].into(),
            "NebPath" => self.pick(NEB_PATHS).into(),
            "Dg" => self.pick(DGS).into(),
            "Plot" => self.pick(PLOTS).into(),
            "MapComparison" => self.pick(COMPARISONS).into(),
            "int" => self.pick(&["1", "2", "3"]).into(),
            "float" => self.pick(&["0.5", "1.0"]).into(),
            "number" => self.pick(&["2", "0.5"]).into(),
            "bool" => self.pick(&["true", "false"]).into(),
            "string" => "\"t\"".into(),
            "array" => "[0.0, 1.0]".into(),
            "map" => "#{}".into(),
            "()" => "()".into(),
            t if t.starts_with("fn(") => self.pick(FUNCTIONS).into(),
            _ => self.state(),
        }
    }

    /// A valid value for `param` (an options map when it is one).
    fn valid(&mut self, param: &Param, bad_keys: &[String]) -> String {
        if param.ty == "map" && param.name == "opts" {
            return self.options(bad_keys);
        }
        let typed_object = [
            "Energy",
            "Map",
            "Net",
            "NebPath",
            "Dg",
            "Plot",
            "MapComparison",
        ]
        .iter()
        .any(|o| param.ty.contains(o))
            || param.ty.starts_with("fn(");
        if !typed_object && self.has_energy && STATE_NAMES.contains(&param.name.as_str()) {
            return self.state();
        }
        if !typed_object {
            if let Some(pool) = valid_by_name(self.target.bare_name(), &param.name) {
                return self.pick(pool).into();
            }
        }
        let alts = alternatives(&param.ty);
        let ty = alts.choose(&mut self.rng).copied().unwrap_or("any");
        if ty == "Net" && matches!(param.name.as_str(), "desc" | "gen") {
            return self.valid_of_type(&format!("Net:{}", param.name));
        }
        self.valid_of_type(ty)
    }

    /// An adversarial value for `param`: usually of its type, sometimes of any kind.
    fn adversarial(&mut self, param: &Param) -> String {
        let by_name = bad_by_name(self.target.bare_name(), &param.name);
        let alts = alternatives(&param.ty);
        let ty = alts.choose(&mut self.rng).copied().unwrap_or("any");
        let state_like = ty == "any" || STATE_NAMES.contains(&param.name.as_str());
        let pool = if !by_name.is_empty() && self.rng.random_bool(0.6) {
            by_name.to_vec()
        } else if state_like && self.has_energy && self.rng.random_bool(0.6) {
            BAD_STATES_OF_U.to_vec()
        } else if self.rng.random_bool(0.1) {
            any_bad()
        } else {
            bad_of_type(ty)
        };
        let v = self.pick(&pool);
        self.add_helpers_for(v);
        if ty == "Energy" && !self.has_energy {
            // States that follow are then of this energy.
            return self.bind_energy(v);
        }
        v.into()
    }

    /// Defines the script functions that a value calls.
    fn add_helpers_for(&mut self, value: &str) {
        if value.contains("Fn(\"again\")") && !self.helpers.contains(&AGAIN) {
            self.helpers.push(AGAIN);
        }
    }

    /// A plausible value for an option: the budget's, the default when it is a literal, or
    /// a value its doc names.
    fn plausible_option(&mut self, key: &str, default: &str, doc: &str) -> String {
        if let Some((_, v)) = budget(self.target.bare_name())
            .iter()
            .find(|(k, _)| *k == key)
        {
            return v.to_string();
        }
        if ITERATION_KEYS.contains(&key) {
            return "2".into();
        }
        let mut pool: Vec<String> = quoted_words(doc);
        if matches!(default, "true" | "false") {
            pool.extend(["true".to_string(), "false".to_string()]);
        }
        let literal = default.parse::<f64>().is_ok()
            || matches!(default, "true" | "false" | "()")
            || (default.starts_with('"') && default.ends_with('"') && default.len() > 1)
            || (default.starts_with('[') && !default.contains("..."));
        if literal {
            pool.push(default.to_string());
        }
        pool.choose(&mut self.rng)
            .cloned()
            .unwrap_or_else(|| "()".into())
    }

    /// An adversarial value for an option, its kind guessed from the default.
    fn bad_option(&mut self, key: &str, default: &str, doc: &str) -> String {
        let by_name = bad_by_name(self.target.bare_name(), key);
        let budgeted = budget(self.target.bare_name())
            .iter()
            .any(|(k, _)| *k == key);
        let mut pool: Vec<String> =
            if !by_name.is_empty() && (budgeted || self.rng.random_bool(0.6)) {
                by_name.iter().map(|s| s.to_string()).collect()
            } else if self.rng.random_bool(0.1) {
                any_bad().iter().map(|s| s.to_string()).collect()
            } else if default.parse::<f64>().is_ok() {
                [BAD_INTS, BAD_FLOATS]
                    .concat()
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else if default.starts_with('"') {
                let mut p: Vec<String> = BAD_STRINGS.iter().map(|s| s.to_string()).collect();
                p.extend(quoted_words(doc));
                p
            } else if matches!(default, "true" | "false") {
                ["()", "0", "\"yes\"", "[]"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else if default.starts_with('[') {
                BAD_ARRAYS.iter().map(|s| s.to_string()).collect()
            } else if default.starts_with("#{") {
                BAD_MAPS.iter().map(|s| s.to_string()).collect()
            } else {
                any_bad().iter().map(|s| s.to_string()).collect()
            };
        if ITERATION_KEYS.contains(&key) {
            pool.retain(|v| !is_huge_positive(v));
        }
        let v = pool
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or_else(|| "()".into());
        self.add_helpers_for(&v);
        v
    }

    /// An options map: the budget, a plausible value for another key now and then, the
    /// adversarial keys, and sometimes a key the function does not know.
    fn options(&mut self, bad_keys: &[String]) -> String {
        let options = self.target.doc.options.clone();
        let mut entries: BTreeMap<String, String> = budget(self.target.bare_name())
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !options.is_empty() && self.rng.random_bool(0.4) {
            let o = options.choose(&mut self.rng).expect("options");
            let v = self.plausible_option(&o.name, &o.default.to_string(), &o.doc);
            entries.insert(o.name.clone(), v);
        }
        for key in bad_keys {
            if let Some(o) = options.iter().find(|o| &o.name == key) {
                let v = match o.range {
                    // A declared range: often a value just beyond it, or far beyond.
                    Some((lo, hi)) if self.rng.random_bool(0.4) => {
                        beyond_range(&mut self.rng, o.kind == OptKind::Count, lo, hi)
                    }
                    _ => self.bad_option(&o.name, &o.default.to_string(), &o.doc),
                };
                entries.insert(o.name.clone(), v);
            }
        }
        if self.rng.random_bool(0.05) {
            entries.insert("no_such_option".into(), "1".into());
        }
        let body: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        format!("#{{{}}}", body.join(", "))
    }
}

/// A value outside the declared range `[lo, hi]` of an option, as a script literal: just
/// above or below it, or far beyond (a count stays a non-negative integer).
fn beyond_range(rng: &mut StdRng, count: bool, lo: f64, hi: f64) -> String {
    let above = [hi + 1.0, hi * 2.0 + 1.0, hi * 1e6 + 1.0];
    let below = [lo - 1.0, lo / 10.0 - 1e-9, -1e300];
    let pick = if rng.random_bool(0.5) || (count && lo < 1.0) {
        above[rng.random_range(0..above.len())]
    } else {
        below[rng.random_range(0..below.len())]
    };
    if count {
        format!("{}", pick.clamp(0.0, 9.0e18).round() as i64)
    } else {
        format!("{pick:e}")
    }
}

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

impl<'a> Gen<'a> {
    /// Documented arities mostly; now and then a wrong one.
    fn arity(&mut self) -> usize {
        let mut arities = self.target.arities();
        let max = arities.iter().copied().max().unwrap_or(0);
        // Functions whose defaults run for minutes are called with their options map (which
        // holds the budget): their bare forms would run the full defaults.
        const SLOW_DEFAULTS: &[&str] = &[
            "adelm",
            "tune_alpha",
            "tune_temperature",
            "phase_diagram",
            "find_minima",
            "barrier_ad",
            "barrier_matrix",
            "compare_paths",
        ];
        if SLOW_DEFAULTS.contains(&self.target.bare_name()) {
            arities.retain(|&a| a == max);
        }
        if self.rng.random_bool(0.92) {
            *arities.choose(&mut self.rng).unwrap_or(&0)
        } else {
            self.rng.random_range(0..=max + 1)
        }
    }

    /// Which arguments and which option keys get adversarial values: none, one or two
    /// slots; a receiver mostly stays valid so that the call reaches the code behind it.
    fn adversarial_slots(&mut self, params: &[Param]) -> (Vec<usize>, Vec<String>) {
        let has_options = !self.target.doc.options.is_empty()
            && params.iter().any(|p| p.ty == "map" && p.name == "opts");
        let slots = match self.rng.random_range(0..20) {
            0..=2 => 0,
            3..=14 => 1,
            _ => 2,
        };
        let (mut positions, mut keys) = (Vec::new(), Vec::new());
        for _ in 0..slots {
            if has_options && self.rng.random_bool(0.5) {
                let o = self
                    .target
                    .doc
                    .options
                    .choose(&mut self.rng)
                    .expect("options");
                keys.push(o.name.clone());
            } else if !params.is_empty() {
                let i = self.rng.random_range(0..params.len());
                let receiver = i == 0 && self.target.form != Form::Call;
                // An options map without the budget could run long legitimately.
                let budgeted =
                    params[i].name == "opts" && !budget(self.target.bare_name()).is_empty();
                if !budgeted && (!receiver || self.rng.random_bool(0.3)) {
                    positions.push(i);
                }
            }
        }
        (positions, keys)
    }

    /// The receiver of a method or property, bound as `r` (or `U` itself).
    fn receiver(&mut self, expr: String) -> String {
        if expr == "U" {
            return expr;
        }
        self.lets.push(format!("let r = {expr};"));
        "r".into()
    }

    /// `let out = f(..);` or `let out = r.f(..);`
    fn call(&mut self) -> String {
        let arity = self.arity();
        let params = self.target.params_for(arity);
        let (bad_positions, bad_keys) = self.adversarial_slots(&params);
        let args: Vec<String> = params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if bad_positions.contains(&i) {
                    self.adversarial(p)
                } else {
                    self.valid(p, &bad_keys)
                }
            })
            .collect();
        let name = self.target.bare_name().to_string();
        match self.target.form {
            Form::Method if !args.is_empty() => {
                let r = self.receiver(args[0].clone());
                format!("let out = {r}.{name}({});", args[1..].join(", "))
            }
            _ => format!("let out = {name}({});", args.join(", ")),
        }
    }

    /// `let out = r.name;`
    fn property(&mut self) -> String {
        let ty = self.target.receiver_type().to_string();
        let expr = if self.rng.random_bool(0.85) {
            self.valid_of_type(&ty)
        } else {
            let receiver = Param {
                name: "r".into(),
                ty,
                optional: false,
            };
            self.adversarial(&receiver)
        };
        let r = self.receiver(expr);
        format!("let out = {r}.{};", self.target.bare_name())
    }

    /// A tensor or number operand, adversarial with probability `p_bad`.
    fn operand(&mut self, p_bad: f64) -> String {
        if self.rng.random_bool(p_bad) {
            self.pick(&[BAD_TENSORS, BAD_FLOATS, BAD_OTHERS, BAD_ARRAYS].concat())
                .into()
        } else {
            self.pick(&[TENSORS, &["2", "0.5"]].concat()).into()
        }
    }

    /// `let out = (a) OP (b);` or `let out = OP (a);`
    fn operator(&mut self) -> String {
        let op = self.target.name().to_string();
        let a = self.operand(0.35);
        if self.arity() == 1 {
            return format!("let out = {op}({a});");
        }
        let b = self.operand(0.35);
        format!("let out = ({a}) {op} ({b});")
    }

    /// `let out = r[i];`, or an assignment `r[i] = v; let out = r;`.
    fn index(&mut self) -> String {
        let expr = if self.rng.random_bool(0.85) {
            self.pick(TENSORS)
        } else {
            self.pick(&[BAD_TENSORS, BAD_OTHERS].concat())
        };
        let r = self.receiver(expr.into());
        let i = if self.rng.random_bool(0.5) {
            self.pick(&["0", "1", "-1"])
        } else {
            self.pick(BAD_INTS)
        };
        if self.rng.random_bool(0.3) {
            let v = self.operand(0.5);
            format!("{r}[{i}] = {v};\nlet out = {r};")
        } else {
            format!("let out = {r}[{i}];")
        }
    }

    /// Uses of the result that run more code: rendering a plot, drawing a tree, saving and
    /// loading a map. Empty for other results.
    fn follow_up(&mut self) -> &'static str {
        let returns = |t: &str| self.target.returns.iter().any(|r| r == t);
        let uses: &[&str] = if returns("Plot") {
            &[
                "let shown = out.to_svg();",
                "let shown = out.text();",
                "out.save(\"out.png\");",
            ]
        } else if returns("Dg") {
            &[
                "let shown = out.plot().to_svg();",
                "let shown = out.to_json();",
            ]
        } else if returns("Map") {
            &[
                "let shown = dg_plot(out).to_svg();",
                "out.save(\"map.json\");\nlet back = load_map(\"map.json\");\nlet shown = `${back}`;",
                "let shown = dg(out).to_json();",
            ]
        } else if returns("NebPath") {
            &["let shown = out.saddle(#{max_iter: 5});"]
        } else if returns("Net") {
            &["let shown = out.describe();"]
        } else if returns("MapComparison") {
            &["let shown = out.to_json();"]
        } else {
            &[]
        };
        uses.choose(&mut self.rng).copied().unwrap_or("")
    }

    fn statement(&mut self) -> String {
        match self.target.form {
            Form::Operator => self.operator(),
            Form::Index => self.index(),
            Form::Property => self.property(),
            Form::Call | Form::Method => self.call(),
        }
    }
}

/// Case `index` of a run: its target from the schedule, its values from a generator seeded
/// by the run's seed and the index (so any case can be made without the ones before it).
fn generate(seed: u64, targets: &[Target], order: &[usize], index: usize) -> Case {
    let target = &targets[order[index % order.len()]];
    let case_seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index as u64;
    let mut g = Gen {
        rng: StdRng::seed_from_u64(case_seed),
        target,
        lets: Vec::new(),
        helpers: Vec::new(),
        has_energy: false,
    };
    // Now and then the whole case runs in float32 (the worker restarts after it).
    let float32 = g.rng.random_bool(0.05);
    let statement = g.statement();
    let follow_up = g.follow_up();
    let mut lines = vec![
        format!("// fuzz case {index} (seed {seed}): {}", target.name()),
        "seed(0);".to_string(),
    ];
    if float32 {
        lines.push("set_dtype(\"float32\");".to_string());
    }
    lines.extend(g.helpers.iter().map(|h| h.to_string()));
    lines.extend(g.lets);
    lines.push(statement);
    // Printing the result runs its to_string too.
    lines.push("let text = `${out}`;".to_string());
    if !follow_up.is_empty() {
        lines.push(follow_up.to_string());
    }
    Case {
        index,
        target: target.name().to_string(),
        script: lines.join("\n") + "\n",
    }
}

// ---------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------

/// Why a case failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// A panic inside a native call (`internal error (please report)`).
    Panic,
    /// An error without `fuzz.rhai:LINE:COL:`.
    Unlocated,
    /// Ran past the time limit.
    Hang,
    /// Ended the worker process.
    Abort,
}

/// What a case did.
#[derive(Clone, Debug)]
enum Outcome {
    Ok,
    /// A located error, as it should be.
    Located(String),
    /// Not run: it matches [`KNOWN_ABORTS`].
    Skipped,
    Failed(Class, String),
}

/// One case's outcome and how long it took.
#[derive(Clone, Debug)]
struct Record {
    index: usize,
    outcome: Outcome,
    seconds: f64,
}

/// True for `fuzz.rhai:LINE:COL: ...`.
fn is_located(message: &str) -> bool {
    let Some(rest) = message.strip_prefix(FILE).and_then(|r| r.strip_prefix(':')) else {
        return false;
    };
    let digits = |s: &str| -> Option<usize> {
        let n = s.chars().take_while(char::is_ascii_digit).count();
        (n > 0).then_some(n)
    };
    let Some(n) = digits(rest) else { return false };
    let Some(rest) = rest[n..].strip_prefix(':') else {
        return false;
    };
    let Some(n) = digits(rest) else { return false };
    rest[n..].starts_with(": ")
}

/// Judges the result of `eval`.
fn judge(result: Result<(), String>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(m) if m.contains("internal error") => Outcome::Failed(Class::Panic, m),
        Err(m) if !is_located(&m) => Outcome::Failed(Class::Unlocated, m),
        Err(m) => Outcome::Located(m),
    }
}

/// The message of a failure without what varies between cases of one bug (the location,
/// numbers), cut to its first line: failures with the same key are one finding.
fn message_class(message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    let body = first.strip_prefix(FILE).unwrap_or(first);
    let body = body.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit() || c == ' ');
    let mut out = String::new();
    let mut in_number = false;
    for c in body.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    let mut class: String = out.chars().take(140).collect();
    // Panics with one message at different places are different bugs.
    if let Some(place) = message.lines().find_map(|l| l.split_once("panicked at ")) {
        let file = place.1.split(':').next().unwrap_or("");
        class.push_str(" @ ");
        class.push_str(file);
    }
    class
}

// ---------------------------------------------------------------------------------------
// The worker: runs cases in-process and reports on stdout
// ---------------------------------------------------------------------------------------

/// Caps the address space of this process so that a huge allocation fails at once.
fn cap_address_space(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct passed to it.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    assert_eq!(rc, 0, "setrlimit(RLIMIT_AS) failed");
}

/// Resets what a case may change for the whole process: dtype, device, Ctrl-C flag.
fn reset_process_state() {
    telescope::interrupt::clear();
    let _ = telescope::tensor::set_dtype(tch::Kind::Double);
    let _ = telescope::tensor::set_device(tch::Device::Cpu);
}

/// Runs cases `first..` on a thread with the CLI's script stack, one fresh session each,
/// printing `MARK start i` and `MARK end i RESULT` around each. Stops after a case that
/// changes process-wide settings (the supervisor starts a fresh worker).
fn run_worker(first: usize, config: Config) {
    cap_address_space(WORKER_MEMORY_BYTES);
    let work = move || {
        let targets = targets(&config);
        let order = schedule(&targets, config.seed);
        for index in first..config.cases {
            let case = generate(config.seed, &targets, &order, index);
            if case.known_abort().is_some() && !config.run_known_aborts {
                println!("{MARK} end {index} skip");
                continue;
            }
            println!("{MARK} start {index}");
            eprintln!("{MARK} start {index}");
            reset_process_state();
            let mut session = telescope::script::new_session(None);
            let result = session.eval(FILE, &case.script).map(|_| ());
            let encoded = match &result {
                Ok(()) => "ok".to_string(),
                Err(m) => format!("err {}", serde_json::to_string(m).expect("json")),
            };
            println!("{MARK} end {index} {encoded}");
            if case.changes_process_settings() {
                return;
            }
        }
    };
    std::thread::Builder::new()
        .name("fuzz-worker".into())
        .stack_size(SCRIPT_STACK_BYTES)
        .spawn(work)
        .expect("spawn the worker thread")
        .join()
        .expect("the worker thread panicked");
}

/// A protocol line of the worker.
enum Event {
    Start(usize),
    End(usize, Option<Result<(), String>>),
    /// The worker's stdout closed.
    Closed,
}

fn parse_event(line: &str) -> Option<Event> {
    let rest = &line[line.find(MARK)? + MARK.len()..];
    let mut parts = rest.trim_start().splitn(3, ' ');
    let (kind, index) = (parts.next()?, parts.next()?.parse().ok()?);
    let result = parts.next().unwrap_or("");
    match kind {
        "start" => Some(Event::Start(index)),
        "end" if result == "skip" => Some(Event::End(index, None)),
        "end" if result == "ok" => Some(Event::End(index, Some(Ok(())))),
        "end" => {
            let m: String = serde_json::from_str(result.strip_prefix("err ")?).ok()?;
            Some(Event::End(index, Some(Err(m))))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// The supervisor: starts workers, watches the time, records aborts and hangs
// ---------------------------------------------------------------------------------------

/// How long a fresh worker may take before its first line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// A running worker process.
struct Worker {
    child: Child,
    events: mpsc::Receiver<Event>,
    log: PathBuf,
}

impl Worker {
    /// Starts this test binary again as a worker from case `first`, in `dir`.
    fn spawn(first: usize, dir: &Path) -> Worker {
        let log = dir.join(format!("worker-{first}.log"));
        let stderr = std::fs::File::create(&log).expect("worker log");
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["fuzz_scripts", "--exact", "--nocapture", "--test-threads=1"])
            .env(WORKER_ENV, first.to_string())
            .env("RUST_BACKTRACE", "0")
            // Anything the memory budget allows fits under the worker's address-space cap, so
            // only allocations that bypass the budget can fail there.
            .env("TELESCOPE_MEMORY_LIMIT", WORKER_BUDGET_GIB)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start a worker");
        let stdout = child.stdout.take().expect("worker stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(e) = parse_event(&line) {
                    if tx.send(e).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(Event::Closed);
        });
        Worker { child, events, log }
    }

    /// What the worker wrote to stderr during case `index` (the worker marks each case's
    /// start there too), without backtraces and libtorch warnings; the last lines of the
    /// log when the case is not found.
    fn case_log(&self, index: usize) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = format!("{MARK} start {index}");
        let section: Vec<&str> = match text.find(&start) {
            Some(at) => text[at + start.len()..]
                .lines()
                .take_while(|l| !l.contains(MARK))
                .collect(),
            None => text.lines().collect(),
        };
        let noise = |l: &str| {
            let t = l.trim_start();
            t.is_empty()
                || t.starts_with("[W")
                || t.starts_with("note: ")
                || t.starts_with("stack backtrace")
                || t.starts_with("at ")
                || t.split_once(": ")
                    .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        };
        let kept: Vec<String> = section
            .iter()
            .filter(|l| !noise(l))
            .map(|l| l.chars().take(300).collect())
            .collect();
        kept[kept.len().saturating_sub(6)..].to_vec()
    }

    /// The message of a case that ended the worker: how it ended, the line of its stderr
    /// that says why, then the rest of that stderr.
    fn abort_message(&self, index: usize, status: ExitStatus) -> String {
        let log = self.case_log(index);
        const WHY: &[&str] = &[
            "memory allocation",
            "overflowed",
            "panicked",
            "terminate",
            "what()",
        ];
        let why = log
            .iter()
            .rev()
            .find(|l| WHY.iter().any(|w| l.contains(w)))
            .or(log.last())
            .cloned()
            .unwrap_or_default();
        format!(
            "worker {}: {why}\n{}",
            describe_status(status),
            log.join("\n")
        )
    }

    /// Sends Ctrl-C (SIGINT) to the worker.
    fn interrupt(&self) {
        // SAFETY: kill only sends a signal to the worker we started.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
    }

    /// Stops case `index` that ran past the limit: Ctrl-C twice, then kill. Returns the
    /// hang's description.
    fn stop_hang(&mut self, index: usize, limit: Duration) -> String {
        for grace in [Duration::from_secs(3), Duration::from_secs(2)] {
            self.interrupt();
            let deadline = Instant::now() + grace;
            while let Ok(e) = self
                .events
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                if let Event::End(i, result) = e {
                    if i == index {
                        self.kill();
                        let how = match result {
                            Some(Err(m)) => format!("then ended with: {m}"),
                            _ => "then ended".into(),
                        };
                        return format!("ran past {} s; stopped by Ctrl-C, {how}", limit.as_secs());
                    }
                }
            }
        }
        self.kill();
        format!("ran past {} s and ignored Ctrl-C (killed)", limit.as_secs())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("wait for the worker")
    }
}

impl Drop for Worker {
    /// A worker never outlives its supervisor (even one that panicked).
    fn drop(&mut self) {
        self.kill();
    }
}

/// How a process ended, in words.
fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (_, Some(libc::SIGABRT)) => "killed by SIGABRT".into(),
        (_, Some(libc::SIGSEGV)) => "killed by SIGSEGV".into(),
        (_, Some(libc::SIGKILL)) => "killed by SIGKILL (out of memory?)".into(),
        (_, Some(s)) => format!("killed by signal {s}"),
        (Some(c), _) => format!("exited with status {c}"),
        _ => "ended".into(),
    }
}

/// Runs every case in workers, restarting after aborts, hangs and settings changes.
fn supervise(config: &Config, dir: &Path) -> Vec<Record> {
    let mut records = Vec::new();
    let mut next = 0;
    while next < config.cases {
        let mut worker = Worker::spawn(next, dir);
        let first = next;
        let mut current: Option<(usize, Instant)> = None;
        loop {
            let wait = match current {
                Some((_, t)) => config.timeout.saturating_sub(t.elapsed()),
                None => STARTUP_TIMEOUT,
            };
            match worker.events.recv_timeout(wait) {
                Ok(Event::Start(i)) => current = Some((i, Instant::now())),
                Ok(Event::End(i, result)) => {
                    let seconds = current.map_or(0.0, |(_, t)| t.elapsed().as_secs_f64());
                    let outcome = match result.map_or(Outcome::Skipped, judge) {
                        Outcome::Failed(Class::Panic, m) => {
                            let log = worker.case_log(i).join("\n");
                            Outcome::Failed(Class::Panic, format!("{m}\n{log}"))
                        }
                        other => other,
                    };
                    records.push(Record {
                        index: i,
                        outcome,
                        seconds,
                    });
                    next = i + 1;
                    current = None;
                }
                Ok(Event::Closed) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = worker.wait();
                    if let Some((i, t)) = current {
                        let message = worker.abort_message(i, status);
                        records.push(Record {
                            index: i,
                            outcome: Outcome::Failed(Class::Abort, message),
                            seconds: t.elapsed().as_secs_f64(),
                        });
                        next = i + 1;
                    }
                    assert!(
                        next > first || next >= config.cases,
                        "the worker ended before its first case ({}):\n{}",
                        describe_status(status),
                        worker.case_log(first).join("\n")
                    );
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let Some((i, t)) = current else {
                        panic!("the worker printed nothing for {STARTUP_TIMEOUT:?}");
                    };
                    let message = worker.stop_hang(i, config.timeout);
                    records.push(Record {
                        index: i,
                        outcome: Outcome::Failed(Class::Hang, message),
                        seconds: t.elapsed().as_secs_f64(),
                    });
                    next = i + 1;
                    break;
                }
            }
        }
    }
    records
}

// ---------------------------------------------------------------------------------------
// Scratch directory and report
// ---------------------------------------------------------------------------------------

/// A fresh directory for the workers (their current directory: every relative path a case
/// writes lands here) with the files that [`READ_FILES`] names.
fn scratch_dir() -> PathBuf {
    // Cargo's scratch folder for integration tests (under target/), kept after a failure.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("telescope-fuzz");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("images/class")).expect("scratch dir");
    write_fixtures(&dir).expect("fixtures");
    dir
}

/// Broken inputs for the loaders: truncated JSON, SK couplings claiming a huge size, an
/// empty `.npy`, a `.npy` header claiming a huge shape, and images that are not PNGs.
fn write_fixtures(dir: &Path) -> std::io::Result<()> {
    std::fs::write(dir.join("garbage.json"), "{\"n\": 3, \"J\": [[1, 2")?;
    std::fs::write(
        dir.join("huge_sk.json"),
        "{\"n\": 100000000000, \"J\": [[0.0]]}",
    )?;
    std::fs::write(dir.join("empty.npy"), "")?;
    let mut header =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    std::fs::write(dir.join("huge.npy"), npy)?;
    std::fs::write(dir.join("images/a.png"), "not a png")?;
    std::fs::write(dir.join("images/class/b.png"), b"\x89PNG\r\n\x1a\n")?;
    write_map_fixtures(dir)?;
    write_dg_fixtures(dir)
}

/// A fixture file: its name and how it changes the consistent base.
type Variant<'a> = (&'a str, &'a dyn Fn(&mut serde_json::Value));

/// Writes each variant of `base` as JSON into `dir`.
fn write_variants(
    dir: &Path,
    base: &serde_json::Value,
    variants: &[Variant],
) -> std::io::Result<()> {
    for (name, mutate) in variants {
        let mut v = base.clone();
        mutate(&mut v);
        std::fs::write(dir.join(name), v.to_string())?;
    }
    Ok(())
}

/// A consistent two-group map (`map_ok.json`) and copies that pass `load_map`'s checks but
/// are inconsistent in other ways: group ids that are not indices, states of different
/// lengths, extreme energies and barriers below the minima, merges naming minima that do
/// not exist, no groups at all, an energy description with a huge size, huge member counts.
fn write_map_fixtures(dir: &Path) -> std::io::Result<()> {
    use serde_json::json;
    let base = json!({
        "version": "0.1.0", "seed": 0, "method": "adelm", "iterations": 2,
        "energy": {"name": "sk", "n": 2, "seed": 1, "T": 1.0},
        "params": {"iters": 2},
        "groups": [
            {"id": 0, "state": [1.0, 1.0], "energy": -1.0, "members": 3},
            {"id": 1, "state": [-1.0, 1.0], "energy": -0.5, "members": 1}
        ],
        "minima": [
            {"state": [1.0, 1.0], "energy": -1.0, "group": 0, "count": 3, "iteration": 0},
            {"state": [-1.0, 1.0], "energy": -0.5, "group": 1, "count": 1, "iteration": 1}
        ],
        "proposals": [],
        "barriers": [[-1.0, 0.5], [0.5, -0.5]],
        "barrier_kinds": [[null, "ad"], ["ad", null]],
        "merges": [],
        "consolidated_at": 0, "interrupted": false,
        "stats": {"ad_trials": 1, "ad_successes": 1, "repeats": 0, "merges": 0, "seconds": 0.0}
    });
    let variants: [Variant; 8] = [
        ("map_ok.json", &|_| {}),
        ("map_ids.json", &|m| {
            m["groups"][0]["id"] = json!(5);
            m["groups"][1]["id"] = json!(100000000000u64);
        }),
        ("map_dims.json", &|m| {
            m["groups"][1]["state"] = json!([1.0]);
            m["minima"][1]["state"] = json!([1.0, 2.0, 3.0]);
        }),
        ("map_extreme.json", &|m| {
            m["groups"][0]["energy"] = json!(1e308);
            m["groups"][1]["energy"] = json!(-1e308);
            m["barriers"] = json!([[null, -1e308], [-1e308, null]]);
        }),
        ("map_merges.json", &|m| {
            m["merges"] = json!([{"iteration": 0, "kept": 100, "merged": 200, "barrier": 1.0}]);
        }),
        ("map_empty.json", &|m| {
            for key in ["groups", "minima", "barriers", "barrier_kinds"] {
                m[key] = json!([]);
            }
        }),
        ("map_energy.json", &|m| {
            m["energy"] = json!({"name": "sk", "n": 4294967296u64, "seed": 1, "T": 1.0});
            m["method"] = json!("gwl");
        }),
        ("map_members.json", &|m| {
            m["groups"][0]["members"] = json!(u64::MAX);
            m["groups"][1]["members"] = json!(u64::MAX);
            m["minima"][0]["count"] = json!(0);
        }),
    ];
    write_variants(dir, &base, &variants)
}

/// A consistent tree (`dg_ok.json`) and inconsistent ones: a leaf drawn twice, no roots,
/// extreme energies with a merge below its leaves, no leaves.
fn write_dg_fixtures(dir: &Path) -> std::io::Result<()> {
    use serde_json::json;
    let base = json!({
        "leaves": [
            {"id": 0, "energy": -1.0, "members": 3},
            {"id": 1, "energy": -0.5, "members": 1}
        ],
        "merges": [{"children": [0, 1], "energy": 0.5}],
        "roots": [2],
        "order": [0, 1],
        "leaf_order": "energy"
    });
    let variants: [Variant; 5] = [
        ("dg_ok.json", &|_| {}),
        ("dg_order.json", &|d| d["order"] = json!([0, 0])),
        ("dg_roots.json", &|d| d["roots"] = json!([])),
        ("dg_extreme.json", &|d| {
            d["leaves"][0]["energy"] = json!(1e308);
            d["leaves"][1]["energy"] = json!(-1e308);
            d["merges"][0]["energy"] = json!(-1e308);
            d["leaves"][0]["members"] = json!(0);
        }),
        ("dg_empty.json", &|d| {
            for key in ["leaves", "merges", "roots", "order"] {
                d[key] = json!([]);
            }
        }),
    ];
    write_variants(dir, &base, &variants)
}

/// One line of counts, the slowest cases, and the skipped known aborts.
fn summary(config: &Config, records: &[Record], seconds: f64) -> String {
    let count = |f: &dyn Fn(&Outcome) -> bool| records.iter().filter(|r| f(&r.outcome)).count();
    let ok = count(&|o| matches!(o, Outcome::Ok));
    let located = count(&|o| matches!(o, Outcome::Located(_)));
    let not_found =
        count(&|o| matches!(o, Outcome::Located(m) if m.contains("Function not found")));
    let skipped = count(&|o| matches!(o, Outcome::Skipped));
    let failed = count(&|o| matches!(o, Outcome::Failed(..)));
    let mut slow: Vec<&Record> = records.iter().collect();
    slow.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    let slowest: Vec<String> = slow
        .iter()
        .take(3)
        .map(|r| format!("case {} {:.1} s", r.index, r.seconds))
        .collect();
    let mut s = format!(
        "script fuzz: {} cases (seed {}) in {seconds:.1} s: {ok} ok, {located} located errors \
         ({not_found} of them no such overload), {failed} failed, {skipped} skipped; slowest: {}",
        records.len(),
        config.seed,
        slowest.join(", ")
    );
    if skipped > 0 {
        s.push_str("\nskipped cases match KNOWN_ABORTS (TELESCOPE_FUZZ_ALL=1 runs them):");
        for k in KNOWN_ABORTS {
            s.push_str(&format!("\n  {}", k.reproducer));
        }
    }
    s
}

/// The failures grouped by class and message class: how many cases, the full message of
/// the shortest case, and the shortest reproducer of each target that failed that way.
/// Empty when nothing failed.
fn failure_report(records: &[Record], case: &dyn Fn(usize) -> Case) -> String {
    let mut groups: BTreeMap<(Class, String), Vec<(Case, String)>> = BTreeMap::new();
    for r in records {
        if let Outcome::Failed(class, message) = &r.outcome {
            groups
                .entry((*class, message_class(message)))
                .or_default()
                .push((case(r.index), message.clone()));
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let mut out = format!(
        "{total} failing cases, {} distinct failures:\n",
        groups.len()
    );
    for ((class, _), cases) in &groups {
        let mut shortest: BTreeMap<&str, &(Case, String)> = BTreeMap::new();
        for c in cases {
            let best = shortest.entry(c.0.target.as_str()).or_insert(c);
            if c.0.script.len() < best.0.script.len() {
                *best = c;
            }
        }
        let (_, message) = cases
            .iter()
            .min_by_key(|(c, _)| c.script.len())
            .expect("a case");
        let names: Vec<&str> = shortest.keys().copied().collect();
        out.push_str(&format!(
            "\n== {class:?}, {} case(s), in {}\n{message}\n",
            cases.len(),
            names.join(", ")
        ));
        for (c, _) in shortest.values() {
            out.push_str(&format!("-- reproducer (case {}):\n{}", c.index, c.script));
        }
    }
    out
}

#[test]
fn fuzz_scripts() {
    let config = Config::from_env();
    if let Ok(first) = std::env::var(WORKER_ENV) {
        return run_worker(first.parse().expect("worker start index"), config);
    }
    let started = Instant::now();
    let dir = scratch_dir();
    let records = supervise(&config, &dir);
    let targets = targets(&config);
    let order = schedule(&targets, config.seed);
    let case = |i| generate(config.seed, &targets, &order, i);
    if config.verbose {
        for r in &records {
            let script = case(r.index).script;
            println!("{script}=> {:?} ({:.2} s)\n", r.outcome, r.seconds);
        }
    }
    println!(
        "{}",
        summary(&config, &records, started.elapsed().as_secs_f64())
    );
    let failures = failure_report(&records, &case);
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        failures.is_empty(),
        "{failures}\n(scratch directory {})",
        dir.display()
    );
}
