//! Script functions: disconnectivity graphs from barrier matrices and maps, and their pictures.

use super::*;

/// Reads the DG construction options (order, max_leaves, max_energy).
fn dg_options(o: &mut Opts) -> RhaiResult<DgOptions> {
    let order = LeafOrder::parse(&o.string("order")?).script()?;
    let max_leaves = o.usize_opt("max_leaves")?;
    let max_energy = o.f64_opt("max_energy")?;
    Ok(DgOptions {
        order,
        max_leaves,
        max_energy,
    })
}

fn map_dg(m: &MapValue, map: Map) -> RhaiResult<DgValue> {
    let mut o = opts(map, "dg");
    let dgo = dg_options(&mut o)?;
    o.finish()?;
    warn_if_forest(&m.0, "dg");
    Dg::from_map(&m.0, &dgo).map(DgValue).script()
}

/// Says so on stderr when a map's groups are not all connected by barriers (an interrupted
/// run, a run with `complete: false`, or a map file from before completion existed): its DG
/// is then a forest.
fn warn_if_forest(m: &crate::landscape::map::LandscapeMap, what: &str) {
    let parts = m.component_count();
    if parts > 1 {
        eprintln!(
            "{what}: warning: the map's {} groups fall into {} parts that no barrier joins, so the graph is a forest; m.connect(U) joins them (greedy or line bounds, then a short AD refinement), m.barrier_matrix(U) refines every pair",
            m.groups.len(),
            parts
        );
    }
}

/// True when a state of length `n` can be shown as a square image without a shape.
fn looks_like_image(n: usize) -> bool {
    let square = |k: usize| {
        let r = (k as f64).sqrt().round() as usize;
        r * r == k && k >= 16
    };
    square(n) || (n.is_multiple_of(3) && square(n / 3))
}

/// True for maps of spin energies (`sk`, `ising`) or whose representatives are all ±1: their
/// states are configurations, not pictures, so DG plots draw no images unless asked.
fn spin_map(m: &crate::landscape::map::LandscapeMap) -> bool {
    let named = matches!(
        m.energy.get("name").and_then(|v| v.as_str()),
        Some("sk" | "ising")
    );
    let pm1 = !m.groups.is_empty()
        && m.groups
            .iter()
            .all(|g| g.state.iter().all(|&v| v == 1.0 || v == -1.0));
    named || pm1
}

/// Reads `marks`: an array of #{groups: [ids], color, label} (Figure 12's dots).
fn marks_opt(o: &mut Opts, what: &str) -> RhaiResult<Vec<LeafMarks>> {
    let Some(a) = o.array("marks", "#{groups, color, label}")? else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for (k, m) in a.iter().enumerate() {
        let mm = m
            .read_lock::<Map>()
            .ok_or_else(|| {
                err(format!(
                    "{what}: each mark must be a map #{{groups, color, label}}"
                ))
            })?
            .clone();
        let mut mo = Opts::with_spec(mm, &format!("{what} mark"), mark_keys());
        let groups = match mo.value("groups")? {
            None => return Err(err(format!("{what}: a mark needs `groups` (group ids)"))),
            Some(g) => to_f64s(&g)?
                .into_iter()
                .map(|x| {
                    if x >= 0.0 && x.fract() == 0.0 {
                        Ok(x as usize)
                    } else {
                        Err(err(format!(
                            "{what}: mark groups must be group ids (integers >= 0), got {x}"
                        )))
                    }
                })
                .collect::<RhaiResult<Vec<usize>>>()?,
        };
        let color = match mo.value("color")? {
            None => PALETTE[k % PALETTE.len()],
            Some(c) => parse_color(&c.to_string()).script()?,
        };
        let label = mo.string("label")?;
        mo.finish()?;
        out.push(LeafMarks {
            groups,
            color,
            label,
        });
    }
    Ok(out)
}

/// The `classes` option: one label per group id (a string or number; `()` leaves the group
/// unclassified), as leaf classes coloured from the palette in the natural order of their
/// labels ("digit 2" before "digit 10"), so that a label keeps its colour from run to run
/// whatever order the groups come in.
fn classes_opt(o: &mut Opts) -> RhaiResult<Vec<LeafMarks>> {
    let Some(labels) = o.array("classes", "labels, one per group id")? else {
        return Ok(vec![]);
    };
    let mut out: Vec<LeafMarks> = Vec::new();
    for (group, label) in labels.iter().enumerate() {
        if label.is_unit() {
            continue;
        }
        let text = label.to_string();
        match out.iter_mut().find(|c| c.label == text) {
            Some(c) => c.groups.push(group),
            None => out.push(LeafMarks {
                groups: vec![group],
                color: PALETTE[0],
                label: text,
            }),
        }
    }
    out.sort_by(|a, b| natural_order(&a.label, &b.label));
    for (k, c) in out.iter_mut().enumerate() {
        c.color = PALETTE[k % PALETTE.len()];
    }
    Ok(out)
}

/// Compares labels as people read them: runs of digits by their value, the rest by character.
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    /// The label as runs: numbers (by value) and single other characters.
    fn runs(s: &str) -> Vec<(Option<f64>, String)> {
        let mut out: Vec<(Option<f64>, String)> = Vec::new();
        let mut digits = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if !digits.is_empty() {
                out.push((digits.parse().ok(), std::mem::take(&mut digits)));
            }
            out.push((None, c.to_string()));
        }
        if !digits.is_empty() {
            out.push((digits.parse().ok(), digits));
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(&rb) {
        let ord = match (x.0, y.0) {
            (Some(p), Some(q)) => p.total_cmp(&q),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => x.1.cmp(&y.1),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ra.len().cmp(&rb.len())
}

/// The `values` option (one number per group id, `()` for none) with its `values_label`.
fn values_opt(o: &mut Opts, what: &str) -> RhaiResult<Option<LeafValues>> {
    let label = o.string("values_label")?;
    let Some(items) = o.array("values", "numbers, one per group id")? else {
        return Ok(None);
    };
    let by_group = items
        .iter()
        .map(|x| {
            if x.is_unit() {
                Ok(f64::NAN)
            } else {
                num(x).ok_or_else(|| {
                    err(format!(
                        "{what}: values must be numbers or (), got {}",
                        x.type_name()
                    ))
                })
            }
        })
        .collect::<RhaiResult<Vec<f64>>>()?;
    Ok(Some(LeafValues { by_group, label }))
}

fn map_dg_plot(m: &MapValue, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "dg_plot");
    let dgo = dg_options(&mut o)?;
    let shape = shape_opt(&mut o)?;
    let range = range_opt(&mut o, "range")?;
    let dim = m.0.groups.first().map(|g| g.state.len()).unwrap_or(0);
    let images = o
        .value("images")?
        .map(|v| v.as_bool())
        .transpose()
        .map_err(|_| err("dg_plot: option `images` must be true or false"))?
        .unwrap_or(shape.is_some() || (looks_like_image(dim) && !spin_map(&m.0)));
    let marks = marks_opt(&mut o, "dg_plot")?;
    let classes = classes_opt(&mut o)?;
    let values = values_opt(&mut o, "dg_plot")?;
    let max_members = o.usize("max_members")?;
    let seed = match o.usize_opt("seed")? {
        None => tensor::next_seed(),
        Some(s) => s as u64,
    };
    let circles = o.bool("circles")?;
    let labels = o.bool("labels")?;
    warn_if_forest(&m.0, "dg_plot");
    let dg = Dg::from_map(&m.0, &dgo).script()?;
    let title = dg.title();
    let pic = if images {
        DgPicture::from_map(
            dg,
            &m.0,
            &MapImages {
                shape,
                range,
                max_members,
                seed,
            },
        )
        .script()?
    } else {
        DgPicture::new(dg)
    };
    let f = Figure::dg(DgPicture {
        circles,
        labels,
        marks,
        classes,
        values,
        ..pic
    })
    .script()?
    .with_title(&title);
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn build_dg(
    energies: &Dynamic,
    barriers: &Dynamic,
    members: Option<&Dynamic>,
    map: Map,
) -> RhaiResult<DgValue> {
    let e = to_f64s(energies)?;
    let b = barriers_of(barriers)?;
    let m: Vec<usize> = match members {
        None => vec![],
        Some(m) => to_f64s(m)?
            .into_iter()
            .map(|x| x.max(0.0).round() as usize)
            .collect(),
    };
    let mut o = opts(map, "dg");
    let dgo = dg_options(&mut o)?;
    o.finish()?;
    Dg::build_with(&e, &b, &m, &dgo).map(DgValue).script()
}

fn dg_plot(d: &DgValue, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "Dg.plot");
    let shape = shape_opt(&mut o)?;
    let range = range_opt(&mut o, "range")?;
    let circles = o.bool("circles")?;
    let labels = o.bool("labels")?;
    let max_members = o.usize("max_members")?;
    let reps = match o.value("images")? {
        None => None,
        Some(v) => Some(images_of(&v, shape.as_deref(), range)?),
    };
    let energies: Option<Array> = match o.value("member_energies")? {
        None => None,
        Some(e) => Some(
            e.read_lock::<Array>()
                .ok_or_else(|| err("Dg.plot: member_energies must be an array of lists"))?
                .clone(),
        ),
    };
    let members = match o.value("members")? {
        None => None,
        Some(v) => {
            let a = v
                .read_lock::<Array>()
                .ok_or_else(|| {
                    err("Dg.plot: members must be an array with one [M, D] batch per group")
                })?
                .clone();
            let mut out = Vec::new();
            for (k, g) in a.iter().enumerate() {
                let rows = if g.is_array()
                    && g.read_lock::<Array>()
                        .map(|x| x.is_empty())
                        .unwrap_or(false)
                {
                    vec![]
                } else {
                    rows_of(g)?
                };
                let mut idx: Vec<usize> = (0..rows.len()).collect();
                if let Some(es) = &energies {
                    let e = to_f64s(es.get(k).ok_or_else(|| {
                        err("Dg.plot: member_energies must have one list per group")
                    })?)?;
                    if e.len() != rows.len() {
                        return Err(err(format!(
                            "Dg.plot: group {k} has {} member images but {} energies",
                            rows.len(),
                            e.len()
                        )));
                    }
                    idx.sort_by(|&i, &j| e[i].total_cmp(&e[j]));
                }
                idx.truncate(max_members);
                out.push(
                    idx.iter()
                        .map(|&i| Image::from_flat(&rows[i], shape.as_deref(), range))
                        .collect::<crate::Result<Vec<_>>>()
                        .script()?,
                );
            }
            Some(out)
        }
    };
    let marks = marks_opt(&mut o, "Dg.plot")?;
    let classes = classes_opt(&mut o)?;
    let values = values_opt(&mut o, "Dg.plot")?;
    let pic = DgPicture {
        circles,
        labels,
        marks,
        classes,
        values,
        ..DgPicture::new(d.0.clone())
    }
    .with_group_images(reps, members)
    .script()?;
    let f = Figure::dg(pic).script()?.with_title(&d.0.title());
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

/// The keys of one mark of the `marks` option.
fn mark_keys() -> Vec<OptionDoc> {
    vec![
        OptionDoc::described("groups", OptKind::Any, "required", "group ids"),
        OptionDoc::described(
            "color",
            OptKind::Text,
            "palette",
            "a colour name or \"#rrggbb\"",
        ),
        OptionDoc::text("label", "", "legend entry"),
    ]
}

/// The leaf colourings and marks of a DG picture ([`marks_opt`], [`classes_opt`],
/// [`values_opt`]) and its circles and labels.
fn dg_picture_options() -> Vec<OptionDoc> {
    vec![
        OptionDoc::flag("circles", true, "circles around leaves, area proportional to the member count (none when every leaf holds one minimum)"),
        OptionDoc::flag("labels", true, "group ids under the leaves (thinned where leaves are too close for every label)"),
        OptionDoc::described("marks", OptKind::Array, "none", "dots at chosen leaves: [#{groups: [ids], color: \"blue\" or \"#rrggbb\" (default: palette), label: \"...\" (legend entry)}, ...] (Figure 12's blue and orange dots)"),
        OptionDoc::described("classes", OptKind::Array, "none", "one label per group id (string or number, () for none): a branch whose groups all share a label is drawn in that label's colour, with a legend (disconnectionDPS's colouring; e.g. the majority digit of each basin); colours go to the labels in natural order (\"digit 2\" before \"digit 10\"), so a label keeps its colour from run to run"),
        OptionDoc::described("values", OptKind::Array, "none", "one number per group id (() for none), drawn as colour along the tree (dark blue low, yellow high): a leaf's branch by its value, a merge's by the member-weighted mean below it; classes take precedence"),
        OptionDoc::text("values_label", "value", "what the values are, for the legend"),
        OptionDoc::count("max_members", 5, "member images drawn per group (0 to 1,000)").within(0.0, 1e3),
    ]
}

/// The tree options of [`dg_options`].
fn dg_tree_options() -> Vec<OptionDoc> {
    vec![
        OptionDoc::text("order", "energy", "leaf order: \"energy\" (global minimum leftmost, children by lowest leaf) or \"center\" (global minimum centered)")
            .choices(&["energy", "center"]),
        OptionDoc::described("max_leaves", OptKind::Count, "all", "keep only the lowest N minima (merge energies come from the full tree)").bounded(bounds::BATCH),
        OptionDoc::described("max_energy", OptKind::Number, "none", "keep only minima at or below this energy").bounded(bounds::FINITE),
    ]
}

/// Registers the disconnectivity-graph functions and the Dg methods.
pub(super) fn register(api: &mut Api) {
    // ---- disconnectivity graphs
    const DG_DOC: &str = "A disconnectivity graph by single linkage over a barrier matrix.\n\
        energies: one per minimum; barriers: n x n (arrays with () for unknown, or a Tensor with inf/NaN for unknown; asymmetric matrices use the lower direction); members: basin sizes (circle areas, default 1).\n\
        Leaves sit at the minima; a merge sits at the lowest barrier joining two groups, raised to the energies of both sides so the tree stays monotone; equal-energy merges share one node. Groups never joined are separate trees.";
    api.func(
        "dg",
        "dg(energies, barriers) -> Dg",
        DG_DOC,
        |e: Dynamic, b: Dynamic| build_dg(&e, &b, None, Map::new()),
    );
    api.func(
        "dg",
        "dg(energies, barriers, members) -> Dg",
        DG_DOC,
        |e: Dynamic, b: Dynamic, m: Dynamic| build_dg(&e, &b, Some(&m), Map::new()),
    );
    api.func(
        "dg",
        "dg(energies, barriers, members, opts: map) -> Dg",
        DG_DOC,
        |e: Dynamic, b: Dynamic, m: Dynamic, o: Map| {
            let m = if m.is_unit() { None } else { Some(m) };
            build_dg(&e, &b, m.as_ref(), o)
        },
    );
    api.options("dg", dg_tree_options());
    api.example("dg", "let d = dg([0.0, 1.0, 2.0], [[(), 3, 6], [3, (), 5], [6, 5, ()]], [10, 5, 1]);\nd.plot().save(\"dg.svg\");\nd.save(\"dg.json\");");
    api.func("dg", "dg(m: Map) -> Dg", "The disconnectivity graph of an ADELM map: its groups are the leaves (group energies, member counts, barrier matrix).", |m: MapValue| map_dg(&m, Map::new()));
    api.func("dg", "dg(m: Map, opts: map) -> Dg", "The disconnectivity graph of an ADELM map with options (order, max_leaves, max_energy, as for dg(energies, barriers)).", |m: MapValue, o: Map| map_dg(&m, o));
    const DG_PLOT_DOC: &str = "The DG picture of an ADELM map in one call: tree, circles sized by member count, group labels, and for image landscapes each group's representative under its leaf with randomly chosen members (sorted low to high energy) above it.";
    api.func(
        "dg_plot",
        "dg_plot(m: Map) -> Plot",
        DG_PLOT_DOC,
        |m: MapValue| map_dg_plot(&m, Map::new()),
    );
    api.func(
        "dg_plot",
        "dg_plot(m: Map, opts: map) -> Plot",
        DG_PLOT_DOC,
        |m: MapValue, o: Map| map_dg_plot(&m, o),
    );
    let mut map_plot = dg_tree_options();
    map_plot.push(OptionDoc::described("images", OptKind::Flag, "true for image-like states", "draw representatives and members as images (automatic when the state length is a square >= 16, or 3 x one, or a shape is given; never automatic for spin maps: energy sk or ising, or ±1 states)"));
    map_plot.push(
        OptionDoc::described(
            "seed",
            OptKind::Count,
            "session",
            "seed of the random choice of members",
        )
        .bounded(bounds::SEED),
    );
    map_plot.extend(image_options());
    map_plot.extend(dg_picture_options());
    api.options("dg_plot", with_dg_common(map_plot));
    api.example(
        "dg_plot",
        "let U = muller_brown();\nlet m = adelm(U, #{T: 5.0, alpha: 10.0, step: 0.02, iters: 24, progress: false});\nlet p = dg_plot(m);\np.show();\np.save(\"dg.png\");",
    );
    api.func(
        "load_dg",
        "load_dg(path: string) -> Dg",
        "Reads a disconnectivity graph saved with d.save(path).",
        |path: &str| Dg::load(path).map(DgValue).script(),
    );

    api.method("Dg", "plot", "d.plot() -> Plot", "The DG picture: tree, energy axis, circles sized by member count, leaf labels (group ids).", |d: &mut DgValue| dg_plot(d, Map::new()));
    api.method("Dg", "plot", "d.plot(opts: map) -> Plot", "The DG picture with options; for image landscapes, representatives in a row under the tree and member images above each (lowest energy nearest the representative).", |d: &mut DgValue, m: Map| dg_plot(d, m));
    let mut dgo = dg_picture_options();
    dgo.extend([
        OptionDoc::described("images", OptKind::Any, "none", "representative states, one per group (Tensor [n, D] or array), drawn as images under the tree"),
        OptionDoc::described("members", OptKind::Array, "none", "per group, a batch of member states [M, D] drawn above its representative"),
        OptionDoc::described("member_energies", OptKind::Array, "none", "per group, energies of the member states: sorts them low to high"),
    ]);
    dgo.extend(image_options());
    api.options("Dg.plot", with_dg_common(dgo));
    api.method(
        "Dg",
        "save",
        "d.save(path: string)",
        "Writes the tree as JSON (leaves, merges, roots, order).",
        |d: &mut DgValue, path: &str| d.0.save(path).script(),
    );
    api.method(
        "Dg",
        "to_json",
        "d.to_json() -> string",
        "The tree as JSON text.",
        |d: &mut DgValue| d.0.to_json().script(),
    );
    api.getter("Dg", "leaves", "Leaves in input order: array of #{node, id, energy, members} (id = group index given to dg).", |d: &mut DgValue| -> Array {
        d.0.leaves
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut m = Map::new();
                m.insert("node".into(), Dynamic::from_int(i as i64));
                m.insert("id".into(), Dynamic::from_int(l.id as i64));
                m.insert("energy".into(), Dynamic::from_float(l.energy));
                m.insert("members".into(), Dynamic::from_int(l.members as i64));
                Dynamic::from_map(m)
            })
            .collect()
    });
    api.getter("Dg", "merges", "Merge nodes in merge order: array of #{node, children, energy} (children are node ids; leaves are nodes 0..n-1).", |d: &mut DgValue| -> Array {
        let nl = d.0.leaves.len();
        d.0.merges
            .iter()
            .enumerate()
            .map(|(k, mg)| {
                let mut m = Map::new();
                m.insert("node".into(), Dynamic::from_int((nl + k) as i64));
                m.insert("children".into(), Dynamic::from_array(mg.children.iter().map(|&c| Dynamic::from_int(c as i64)).collect()));
                m.insert("energy".into(), Dynamic::from_float(mg.energy));
                Dynamic::from_map(m)
            })
            .collect()
    });
    api.getter("Dg", "levels", "The energy at which every pair of leaves merges, by leaf (input order, as in d.leaves): an array of rows, the leaf's own energy on the diagonal, () across trees.", |d: &mut DgValue| -> Array {
        d.0.leaf_levels()
            .into_iter()
            .map(|row| Dynamic::from_array(row.into_iter().map(|v| v.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT)).collect()))
            .collect()
    });
    api.getter(
        "Dg",
        "roots",
        "Root node ids, left to right (several when some groups are never connected).",
        |d: &mut DgValue| -> Array {
            d.0.roots
                .iter()
                .map(|&r| Dynamic::from_int(r as i64))
                .collect()
        },
    );
    api.getter(
        "Dg",
        "order",
        "Group ids of the leaves from left to right, as drawn.",
        |d: &mut DgValue| -> Array {
            d.0.leaf_ids()
                .into_iter()
                .map(|r| Dynamic::from_int(r as i64))
                .collect()
        },
    );
}

/// `extra` followed by the options every plot takes, with a DG's taller default height.
fn with_dg_common(mut extra: Vec<OptionDoc>) -> Vec<OptionDoc> {
    let height = crate::plot::DEFAULT_SIZE.1;
    extra.extend(super::common_options_sized(&format!(
        "{height} (900 with images)"
    )));
    extra
}
