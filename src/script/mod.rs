//! The Rhai binding: a thin, documented layer over the core library. One file per area; each
//! registers its functions through [`Api`], which records the docs that `telescope doc`, the
//! REPL's help and completion, `check` and the language server read.

pub mod convert;
mod curve;
pub mod docs;
mod energy;
mod files;
mod format;
mod gwl;
pub mod help;
pub(crate) mod host;
mod landscape;
pub mod limits;
mod loss;
mod map_compare;
mod map_stats;
mod merge;
mod models;
mod modules;
pub mod names;
mod neb;
mod plot;
pub mod records;
mod sampler;
mod session;
pub mod stdlib;
mod tensor;

pub use convert::{err, opts, Opts, RhaiResult};
pub use docs::{bounds, Bound, Docs, FnDoc, OptDefault, OptKind, OptionDoc};
pub use host::{located_message, new_session, Session, FUNCTION_SCOPE};

use rhai::{Engine, RhaiNativeFunc, Variant};
use std::rc::Rc;

/// A tensor as seen by scripts (cloning is a cheap reference bump).
pub struct TensorValue(pub tch::Tensor);

impl Clone for TensorValue {
    fn clone(&self) -> Self {
        TensorValue(self.0.shallow_clone())
    }
}

/// An energy as seen by scripts.
#[derive(Clone)]
pub struct EnergyValue(pub crate::energy::EnergyRef);

/// Registers functions with their documentation.
pub struct Api<'a> {
    /// The engine functions go into.
    pub engine: &'a mut Engine,
    /// The docs being collected.
    pub docs: &'a mut Docs,
    area: &'static str,
}

impl<'a> Api<'a> {
    /// An API writer for one area.
    pub fn new(engine: &'a mut Engine, docs: &'a mut Docs, area: &'static str) -> Self {
        Api { engine, docs, area }
    }
    /// Registers a function `name` with its signature (as users read it) and doc.
    pub fn func<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool>(
        &mut self,
        name: &str,
        signature: &str,
        doc: &str,
        f: impl RhaiNativeFunc<A, N, X, R, F> + 'static,
    ) -> &mut Self {
        self.engine.register_fn(name, f);
        self.docs
            .add(self.area, name, signature, N - usize::from(X), doc, false);
        self
    }
    /// Registers a method `name` of script type `type_name` (first argument is the receiver).
    pub fn method<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool>(
        &mut self,
        type_name: &str,
        name: &str,
        signature: &str,
        doc: &str,
        f: impl RhaiNativeFunc<A, N, X, R, F> + 'static,
    ) -> &mut Self {
        self.engine.register_fn(name, f);
        self.docs.add(
            self.area,
            &format!("{type_name}.{name}"),
            signature,
            N - usize::from(X),
            doc,
            true,
        );
        self
    }
    /// Registers a property getter `name` of `type_name`.
    pub fn getter<T: Variant + Clone, R: Variant + Clone>(
        &mut self,
        type_name: &str,
        name: &str,
        doc: &str,
        f: impl Fn(&mut T) -> R + 'static,
    ) -> &mut Self {
        self.engine.register_get(name, f);
        self.docs.add(
            self.area,
            &format!("{type_name}.{name}"),
            &format!("{type_name}.{name}"),
            1,
            doc,
            true,
        );
        self
    }
    /// Registers `name(a)`: `name(a, #{})`, every option at its default (`signature` shows it).
    pub fn bare1<A: Variant + Clone>(&mut self, name: &'static str, signature: &str) -> &mut Self {
        self.func(
            name,
            signature,
            "",
            move |ctx: rhai::NativeCallContext, a: A| {
                ctx.call_native_fn::<rhai::Dynamic>(name, (a, rhai::Map::new()))
            },
        )
    }
    /// Registers `name(a, b)`: `name(a, b, #{})`.
    pub fn bare2<A: Variant + Clone, B: Variant + Clone>(
        &mut self,
        name: &'static str,
        signature: &str,
    ) -> &mut Self {
        self.func(
            name,
            signature,
            "",
            move |ctx: rhai::NativeCallContext, a: A, b: B| {
                ctx.call_native_fn::<rhai::Dynamic>(name, (a, b, rhai::Map::new()))
            },
        )
    }
    /// Registers `name(a, b, c)`: `name(a, b, c, #{})`.
    pub fn bare3<A: Variant + Clone, B: Variant + Clone, C: Variant + Clone>(
        &mut self,
        name: &'static str,
        signature: &str,
    ) -> &mut Self {
        self.func(
            name,
            signature,
            "",
            move |ctx: rhai::NativeCallContext, a: A, b: B, c: C| {
                ctx.call_native_fn::<rhai::Dynamic>(name, (a, b, c, rhai::Map::new()))
            },
        )
    }
    /// Declares the options map keys of `name`: the one table its parser reads
    /// ([`Opts`]) and its docs, completion and checks show.
    pub fn options(&mut self, name: &str, options: Vec<docs::OptionDoc>) -> &mut Self {
        self.docs.set_options(name, options);
        self
    }
    /// Sets the example shown in `name`'s help.
    pub fn example(&mut self, name: &str, example: &str) -> &mut Self {
        self.docs.set_example(name, example);
        self
    }
}

/// Builds an engine with every telescope function registered, and the docs describing them.
pub fn build_engine() -> (Engine, Docs) {
    let mut engine = Engine::new();
    engine.set_max_expr_depths(256, 256);
    limits::apply(&mut engine);
    limits::register_sized(&mut engine);
    let mut docs = Docs::default();
    engine.register_type_with_name::<TensorValue>("Tensor");
    engine.register_type_with_name::<EnergyValue>("Energy");
    session::register(&mut Api::new(&mut engine, &mut docs, "session"));
    files::register(&mut Api::new(&mut engine, &mut docs, "output"));
    format::register(&mut Api::new(&mut engine, &mut docs, "output"));
    tensor::register(&mut Api::new(&mut engine, &mut docs, "tensor"));
    energy::register(&mut Api::new(&mut engine, &mut docs, "energy"));
    sampler::register(&mut Api::new(&mut engine, &mut docs, "sampler"));
    landscape::register(&mut Api::new(&mut engine, &mut docs, "landscape"));
    gwl::register(&mut Api::new(&mut engine, &mut docs, "landscape"));
    merge::register(&mut Api::new(&mut engine, &mut docs, "landscape"));
    neb::register(&mut Api::new(&mut engine, &mut docs, "paths"));
    curve::register(&mut Api::new(&mut engine, &mut docs, "paths"));
    landscape::register_compare(&mut Api::new(&mut engine, &mut docs, "paths"));
    landscape::register_from_minima(&mut Api::new(&mut engine, &mut docs, "landscape"));
    plot::register(&mut Api::new(&mut engine, &mut docs, "plot"));
    map_compare::register(&mut Api::new(&mut engine, &mut docs, "landscape"));
    map_stats::register(&mut Api::new(&mut engine, &mut docs, "landscape"));
    records::register(&mut Api::new(&mut engine, &mut docs, "results"));
    models::register(&mut Api::new(&mut engine, &mut docs, "models"));
    loss::register(&mut Api::new(&mut engine, &mut docs, "models"));
    (engine, docs)
}

thread_local! {
    /// The docs catalogue, built once per thread (with a throwaway engine) on first use.
    static DOCS: std::cell::OnceCell<Rc<Docs>> = const { std::cell::OnceCell::new() };
}

/// The docs catalogue of every script function (built on the first call, then shared).
pub fn docs() -> Rc<Docs> {
    DOCS.with(|d| d.get_or_init(|| Rc::new(build_engine().1)).clone())
}

/// The figure in `v` when it is a `Plot` (the REPL shows it instead of printing it).
pub fn figure_of(v: &rhai::Dynamic) -> Option<crate::plot::Figure> {
    v.clone().try_cast::<plot::PlotValue>().map(|p| p.0)
}

/// The map a value holds when it is a map (`adelm`, `gwl`, `load_map`).
pub fn map_of(v: &rhai::Dynamic) -> Option<crate::landscape::map::LandscapeMap> {
    v.read_lock::<landscape::MapValue>().map(|m| m.0.clone())
}

/// A value as the REPL prints it (tensors and results readable).
pub fn display_value(engine: &Engine, v: &rhai::Dynamic) -> String {
    if let Some(t) = v.clone().try_cast::<TensorValue>() {
        return tensor::format_tensor(&t.0);
    }
    // An array of maps (minima, table rows) prints one map per line.
    if let Some(items) = v.read_lock::<rhai::Array>() {
        if items.len() >= 2 && items.iter().all(|x| records::fields_of(x).is_some()) {
            let lines: Vec<String> = items
                .iter()
                .map(|x| format!("  {}", display_value(engine, x)))
                .collect();
            return format!("[\n{}\n]", lines.join(",\n"));
        }
    }
    // Custom types print through their registered `to_string`, as `print` does.
    let mut scope = rhai::Scope::new();
    scope.push("__value", v.clone());
    engine
        .eval_with_scope::<String>(&mut scope, "to_string(__value)")
        .unwrap_or_else(|_| v.to_string())
}
