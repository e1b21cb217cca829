//! Rhai modules shipped inside the binary (`stdlib/*.rhai`), importable from any script:
//! `import "stats" as stats;`.

/// `(module name, source)` of every embedded module.
pub const MODULES: &[(&str, &str)] = &[
    ("stats", include_str!("../../stdlib/stats.rhai")),
    ("latent_map", include_str!("../../stdlib/latent_map.rhai")),
];
