//! Script functions: comparing two maps (`compare_maps`) and the side-by-side DG figure
//! (`dg_compare_plot`), a thin binding over [`crate::landscape::map_compare`] and
//! [`crate::plot::Figure::map_comparison`].

use super::convert::{err, opts, IntoScript, Opts, RhaiResult};
use super::landscape::MapValue;
use super::plot::PlotValue;
use super::{bounds, Api, OptKind, OptionDoc};
use crate::landscape::map_compare::{compare_maps, CompareOptions, MapComparison, MatchStatus};
use crate::plot::{parse_color, ComparisonStyle, Figure};
use rhai::{Array, Dynamic, Map};
use std::rc::Rc;

/// A comparison of two maps as seen by scripts (script type `MapComparison`).
#[derive(Clone)]
pub struct ComparisonValue(pub Rc<MapComparison>);

fn int(v: usize) -> Dynamic {
    Dynamic::from_int(v as i64)
}

fn opt_int(v: Option<usize>) -> Dynamic {
    v.map(int).unwrap_or(Dynamic::UNIT)
}

fn opt_float(v: Option<f64>) -> Dynamic {
    v.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT)
}

fn ints(v: &[usize]) -> Array {
    v.iter().map(|&x| int(x)).collect()
}

/// Reads `mirror` and `tol`.
fn compare_options(o: &mut Opts) -> RhaiResult<CompareOptions> {
    let mirror = o
        .value("mirror")?
        .map(|v| v.as_bool())
        .transpose()
        .map_err(|_| err("compare_maps: option `mirror` must be true or false"))?;
    let tol = o.f64("tol")?;
    if !(tol >= 0.0 && tol.is_finite()) {
        return Err(err("compare_maps: tol must be a number >= 0"));
    }
    Ok(CompareOptions { tol, mirror })
}

/// The options of [`compare_options`], defaults from [`CompareOptions`].
fn compare_option_specs() -> Vec<OptionDoc> {
    vec![
        OptionDoc::described(
            "mirror",
            OptKind::Flag,
            "true when both energies are \"sk\"",
            "also match a representative s by its mirror -s (symmetric energies, U(s) = U(-s))",
        ),
        OptionDoc::number(
            "tol",
            CompareOptions::default().tol,
            "largest coordinate difference of two continuous states that are one minimum (±1 spin states are compared exactly)",
        )
        .bounded(bounds::TOLERANCE),
    ]
}

fn run_compare(a: &MapValue, b: &MapValue, map: Map) -> RhaiResult<ComparisonValue> {
    let mut o = opts(map, "compare_maps");
    let co = compare_options(&mut o)?;
    o.finish()?;
    Ok(ComparisonValue(Rc::new(
        compare_maps(&a.0, &b.0, &co).script()?,
    )))
}

fn matches_of(c: &MapComparison) -> Array {
    c.matches
        .iter()
        .map(|m| {
            let mut r = Map::new();
            r.insert("a_group".into(), int(m.a_group));
            r.insert("energy".into(), Dynamic::from_float(m.energy));
            r.insert("b_group".into(), opt_int(m.b_group));
            r.insert(
                "by".into(),
                match m.by {
                    Some(crate::landscape::map_compare::MatchKind::Direct) => "direct".into(),
                    Some(crate::landscape::map_compare::MatchKind::Mirror) => "mirror".into(),
                    None => Dynamic::UNIT,
                },
            );
            r.insert("status".into(), m.status.name().into());
            r.insert("mirror_found".into(), Dynamic::from_bool(m.mirror_found));
            Dynamic::from_map(r)
        })
        .collect()
}

fn pairs_of(c: &MapComparison) -> Array {
    c.pairs
        .iter()
        .map(|p| {
            let mut r = Map::new();
            r.insert("i".into(), int(p.i));
            r.insert("j".into(), int(p.j));
            r.insert("a_level".into(), opt_float(p.a_level));
            r.insert("b_level".into(), opt_float(p.b_level));
            r.insert("diff".into(), opt_float(p.diff));
            Dynamic::from_map(r)
        })
        .collect()
}

fn merges_of(c: &MapComparison) -> Array {
    c.merges
        .iter()
        .map(|m| {
            let mut r = Map::new();
            r.insert("node".into(), int(m.node));
            r.insert("energy".into(), Dynamic::from_float(m.energy));
            r.insert(
                "sides".into(),
                Dynamic::from_array(
                    m.sides
                        .iter()
                        .map(|s| Dynamic::from_array(ints(s)))
                        .collect(),
                ),
            );
            r.insert(
                "consistent".into(),
                m.consistent
                    .map(Dynamic::from_bool)
                    .unwrap_or(Dynamic::UNIT),
            );
            r.insert("b_node".into(), opt_int(m.b_node));
            Dynamic::from_map(r)
        })
        .collect()
}

fn barrier_diff_of(c: &MapComparison) -> Map {
    let d = &c.barrier_diff;
    let mut r = Map::new();
    r.insert("count".into(), int(d.count));
    r.insert("mean_abs".into(), Dynamic::from_float(d.mean_abs));
    r.insert("max_abs".into(), Dynamic::from_float(d.max_abs));
    r.insert(
        "b_lower_fraction".into(),
        Dynamic::from_float(d.b_lower_fraction),
    );
    r
}

fn describe(c: &ComparisonValue) -> String {
    c.0.table()
}

fn compare_plot(
    a: &MapValue,
    b: &MapValue,
    cmp: Option<&ComparisonValue>,
    map: Map,
) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "dg_compare_plot");
    let co = compare_options(&mut o)?;
    let titles = match o.value("titles")? {
        None => vec!["a".to_string(), "b".to_string()],
        Some(v) => {
            let t: Vec<String> = v
                .read_lock::<Array>()
                .ok_or_else(|| err("dg_compare_plot: titles must be an array of two strings"))?
                .iter()
                .map(|s| s.to_string())
                .collect();
            if t.len() != 2 {
                return Err(err(
                    "dg_compare_plot: titles must be an array of two strings",
                ));
            }
            t
        }
    };
    let color = |o: &mut Opts, key: &str| -> RhaiResult<(u8, u8, u8)> {
        parse_color(&o.string(key)?).script()
    };
    let style = ComparisonStyle {
        titles: [titles[0].clone(), titles[1].clone()],
        matched: color(&mut o, "matched_color")?,
        beyond: color(&mut o, "beyond_color")?,
        missed: color(&mut o, "missed_color")?,
        consistency: o.bool("consistency")?,
        circles: o.bool("circles")?,
        labels: o.bool("labels")?,
    };
    let owned;
    let c: &MapComparison = match cmp {
        Some(c) => {
            if o.has("mirror") || o.has("tol") {
                return Err(err(
                    "dg_compare_plot: mirror and tol apply only when no comparison is given",
                ));
            }
            &c.0
        }
        None => {
            owned = compare_maps(&a.0, &b.0, &co).script()?;
            &owned
        }
    };
    if c.a_groups != a.0.groups.len() || c.b_groups != b.0.groups.len() {
        return Err(err(
            "dg_compare_plot: the comparison was made from other maps (group counts differ)",
        ));
    }
    let f = Figure::map_comparison(c, &style).script()?;
    let f = super::plot::common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

/// Registers `compare_maps`, the `MapComparison` type and `dg_compare_plot`.
pub fn register(api: &mut Api) {
    api.engine
        .register_type_with_name::<ComparisonValue>("MapComparison");
    api.engine
        .register_fn("to_string", |c: &mut ComparisonValue| describe(c));
    api.engine
        .register_fn("to_debug", |c: &mut ComparisonValue| describe(c));

    const DOC: &str = "Compares map a against map b of the same landscape (section 5.1: ADELM against GWL, Figures 12, 14, 15). Returns a MapComparison; print it for a summary table.\n\
        Each group representative of a is looked up among b's minima: exactly for ±1 spin states, within tol otherwise, and with `mirror` also by its mirror -s. A group not in b is `beyond_b` when its energy is above b's highest minimum (outside the range b records), else `missed_by_b`.\n\
        For every pair of a-groups matched to distinct b-groups, the DG level at which they merge (minimax over each map's barrier graph, single linkage) in a against b; for every merge of a's DG, whether b joins the same matched leaves with the same sides (Figure 15's consistent / inconsistent merges).\n\
        c.b_with_mirror and c.b_without_mirror are the b-groups matched by a-groups whose mirror a did / did not find: Figure 12's blue and orange dots via dg_plot(b, #{marks: [...]}).";
    api.func(
        "compare_maps",
        "compare_maps(a: Map, b: Map) -> MapComparison",
        DOC,
        |a: MapValue, b: MapValue| run_compare(&a, &b, Map::new()),
    );
    api.func(
        "compare_maps",
        "compare_maps(a: Map, b: Map, opts: map) -> MapComparison",
        DOC,
        |a: MapValue, b: MapValue, m: Map| run_compare(&a, &b, m),
    );
    api.options("compare_maps", compare_option_specs());
    api.example(
        "compare_maps",
        "let c = compare_maps(load_map(\"adelm.json\"), load_map(\"gwl.json\"));\nprint(c);\nprint(c.barrier_diff.mean_abs);\ndg_plot(load_map(\"gwl.json\"), #{marks: [#{groups: c.b_with_mirror, color: \"blue\", label: \"mirror found\"}, #{groups: c.b_without_mirror, color: \"orange\", label: \"mirror not found\"}]}).save(\"fig12.png\");",
    );

    let t = "MapComparison";
    api.getter(
        t,
        "a_groups",
        "Number of groups of a.",
        |c: &mut ComparisonValue| c.0.a_groups as i64,
    );
    api.getter(
        t,
        "b_groups",
        "Number of groups of b.",
        |c: &mut ComparisonValue| c.0.b_groups as i64,
    );
    api.getter(
        t,
        "mirror",
        "Whether mirror states were matched.",
        |c: &mut ComparisonValue| c.0.mirror,
    );
    api.getter(
        t,
        "tol",
        "Tolerance of continuous matches.",
        |c: &mut ComparisonValue| c.0.tol,
    );
    api.getter(
        t,
        "b_max_energy",
        "Highest energy among b's minima (the range b records).",
        |c: &mut ComparisonValue| c.0.b_max_energy,
    );
    api.getter(
        t,
        "a_in_b",
        "Groups of a whose representative (or mirror) is among b's minima.",
        |c: &mut ComparisonValue| c.0.a_in_b as i64,
    );
    api.getter(
        t,
        "a_in_b_by_mirror",
        "Of a_in_b, those found by their mirror state.",
        |c: &mut ComparisonValue| c.0.a_in_b_by_mirror as i64,
    );
    api.getter(
        t,
        "a_beyond_b",
        "Groups of a not in b and above b's highest minimum (beyond b's energy range).",
        |c: &mut ComparisonValue| c.0.a_beyond_b as i64,
    );
    api.getter(
        t,
        "a_missed_by_b",
        "Groups of a not in b though within its energy range.",
        |c: &mut ComparisonValue| c.0.a_missed_by_b as i64,
    );
    api.getter(
        t,
        "mirror_found",
        "Groups of a whose mirror -rep is among a's own minima.",
        |c: &mut ComparisonValue| c.0.mirror_found as i64,
    );
    api.getter(t, "matches", "Per group of a, by id: #{a_group, energy, b_group (() if none), by (\"direct\", \"mirror\" or ()), status (\"in_b\", \"beyond_b\", \"missed_by_b\"), mirror_found}.", |c: &mut ComparisonValue| matches_of(&c.0));
    api.getter(t, "pairs", "Per pair of a-groups matched to distinct b-groups: #{i, j, a_level, b_level, diff = b_level - a_level} (DG merge levels; () where a tree never joins them).", |c: &mut ComparisonValue| pairs_of(&c.0));
    api.getter(t, "barrier_diff", "Summary of the pairs with both levels known: #{count, mean_abs, max_abs, b_lower_fraction}.", |c: &mut ComparisonValue| barrier_diff_of(&c.0));
    api.getter(t, "merges", "Per merge node of a's DG: #{node, energy, sides (matched b-groups under each child), consistent (true, false, or () when fewer than two sides hold matched leaves), b_node}.", |c: &mut ComparisonValue| merges_of(&c.0));
    api.getter(
        t,
        "consistent_merges",
        "Merges of a's DG that b makes the same way.",
        |c: &mut ComparisonValue| c.0.consistent_merges as i64,
    );
    api.getter(
        t,
        "inconsistent_merges",
        "Merges of a's DG that b makes differently.",
        |c: &mut ComparisonValue| c.0.inconsistent_merges as i64,
    );
    api.getter(
        t,
        "b_matched",
        "b-groups matched by some group of a, sorted.",
        |c: &mut ComparisonValue| ints(&c.0.b_matched(None)),
    );
    api.getter(
        t,
        "b_with_mirror",
        "b-groups matched by a-groups whose mirror a also found (Figure 12's blue dots).",
        |c: &mut ComparisonValue| ints(&c.0.b_matched(Some(true))),
    );
    api.getter(
        t,
        "b_without_mirror",
        "b-groups matched by a-groups whose mirror a did not find (Figure 12's orange dots).",
        |c: &mut ComparisonValue| ints(&c.0.b_matched(Some(false))),
    );
    api.getter(
        t,
        "a_matched",
        "Groups of a found in b, by id.",
        |c: &mut ComparisonValue| ints(&c.0.a_with(MatchStatus::InB)),
    );
    api.getter(
        t,
        "a_beyond",
        "Groups of a beyond b's energy range, by id.",
        |c: &mut ComparisonValue| ints(&c.0.a_with(MatchStatus::BeyondB)),
    );
    api.getter(
        t,
        "a_missed",
        "Groups of a missed by b within its energy range, by id.",
        |c: &mut ComparisonValue| ints(&c.0.a_with(MatchStatus::MissedByB)),
    );
    api.getter(
        t,
        "a_levels",
        "Per pair in `pairs`, the level in a (numbers, () unknown).",
        |c: &mut ComparisonValue| -> Array {
            c.0.pairs.iter().map(|p| opt_float(p.a_level)).collect()
        },
    );
    api.getter(
        t,
        "b_levels",
        "Per pair in `pairs`, the level in b (numbers, () unknown).",
        |c: &mut ComparisonValue| -> Array {
            c.0.pairs.iter().map(|p| opt_float(p.b_level)).collect()
        },
    );
    api.getter(
        t,
        "table",
        "The summary table as text (what print shows).",
        |c: &mut ComparisonValue| c.0.table(),
    );
    api.method(
        t,
        "to_json",
        "c.to_json() -> string",
        "The comparison as JSON text (both DGs included).",
        |c: &mut ComparisonValue| -> RhaiResult<String> {
            serde_json::to_string_pretty(&*c.0).map_err(|e| err(e.to_string()))
        },
    );

    const PLOT_DOC: &str = "Two disconnectivity graphs side by side on one energy scale (Figure 15): a's DG left, b's right.\n\
        Leaves of a found in b carry a dot of one color in both trees, and b's matched leaves are labelled with the id of the a-group that matched them, so a label names the same minimum in both panels; a's leaves beyond b's energy range and those missed by b get their own dots. With `consistency`, each merge of a's DG whose matched leaves b joins the same way is drawn blue, one b joins differently red (black: fewer than two sides with matched leaves).\n\
        Give a comparison from compare_maps to reuse it, or mirror / tol to make one.";
    api.func(
        "dg_compare_plot",
        "dg_compare_plot(a: Map, b: Map) -> Plot",
        PLOT_DOC,
        |a: MapValue, b: MapValue| compare_plot(&a, &b, None, Map::new()),
    );
    api.func(
        "dg_compare_plot",
        "dg_compare_plot(a: Map, b: Map, opts: map) -> Plot",
        PLOT_DOC,
        |a: MapValue, b: MapValue, m: Map| compare_plot(&a, &b, None, m),
    );
    api.func(
        "dg_compare_plot",
        "dg_compare_plot(a: Map, b: Map, c: MapComparison) -> Plot",
        PLOT_DOC,
        |a: MapValue, b: MapValue, c: ComparisonValue| compare_plot(&a, &b, Some(&c), Map::new()),
    );
    api.func(
        "dg_compare_plot",
        "dg_compare_plot(a: Map, b: Map, c: MapComparison, opts: map) -> Plot",
        PLOT_DOC,
        |a: MapValue, b: MapValue, c: ComparisonValue, m: Map| compare_plot(&a, &b, Some(&c), m),
    );
    let d = ComparisonStyle::default();
    let hex = |(r, g, b): (u8, u8, u8)| format!("#{r:02x}{g:02x}{b:02x}");
    let mut plot_opts = vec![
        OptionDoc::described("titles", OptKind::Array, "[\"a\", \"b\"]", "panel titles, e.g. [\"ADELM\", \"GWL\"] (group counts are appended)"),
        OptionDoc::text("matched_color", &hex(d.matched), "dot color of leaves found in both maps: a name or \"#rrggbb\""),
        OptionDoc::text("beyond_color", &hex(d.beyond), "dot color of a's leaves beyond b's energy range"),
        OptionDoc::text("missed_color", &hex(d.missed), "dot color of a's leaves missed by b"),
        OptionDoc::flag("consistency", d.consistency, "color a's merges blue (consistent with b) or red (inconsistent)"),
        OptionDoc::flag("circles", d.circles, "circles around leaves, area proportional to the member count (none when every leaf holds one minimum)"),
        OptionDoc::flag("labels", d.labels, "leaf labels (a: group ids; b: the matching a-group id), thinned where crowded"),
    ];
    plot_opts.extend(compare_option_specs());
    plot_opts.extend(
        super::plot::common_options()
            .into_iter()
            .map(|o| match o.name.as_str() {
                "width" => OptionDoc {
                    default: super::OptDefault::Described("1200".into()),
                    ..o
                },
                "height" => OptionDoc {
                    default: super::OptDefault::Described("650".into()),
                    ..o
                },
                _ => o,
            }),
    );
    api.options("dg_compare_plot", plot_opts);
    api.example(
        "dg_compare_plot",
        "let a = load_map(\"adelm.json\"); let b = load_map(\"gwl.json\");\nlet c = compare_maps(a, b);\ndg_compare_plot(a, b, c, #{titles: [\"ADELM\", \"GWL\"]}).save(\"fig15.png\");",
    );
}
