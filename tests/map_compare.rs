//! Comparing two maps (compare_maps) on small SK glasses against exact enumeration: matches,
//! mirror matches, missing basins by category, DG-level differences against an independent
//! minimax, merge consistency against an independent triplet criterion; and the figures.

mod common;

use common::{exact, spins, Exact};
use serde_json::json;
use telescope::energy::sk;
use telescope::landscape::adelm::AdelmOptions;
use telescope::landscape::map::{LandscapeMap, MapStats};
use telescope::landscape::map_compare::{compare_maps, CompareOptions, MatchKind, MatchStatus};

/// One group per state (its only minimum), plus `extra` minima `(state, energy, group)`.
fn make_map(
    name: &str,
    states: &[Vec<f64>],
    energies: &[f64],
    barriers: &[Vec<Option<f64>>],
    extra: &[(Vec<f64>, f64, usize)],
) -> LandscapeMap {
    let g = states.len();
    // The diagonal holds the group energies (a map's invariant).
    let barriers: Vec<Vec<Option<f64>>> = (0..g)
        .map(|i| {
            let mut row = barriers[i].clone();
            row[i] = Some(energies[i]);
            row
        })
        .collect();
    let groups: Vec<_> = (0..g)
        .map(|i| json!({"id": i, "state": states[i], "energy": energies[i], "members": 1 + i % 3}))
        .collect();
    let mut minima: Vec<_> = (0..g)
        .map(|i| json!({"state": states[i], "energy": energies[i], "group": i, "count": 1, "iteration": i}))
        .collect();
    for (s, e, grp) in extra {
        minima.push(json!({"state": s, "energy": e, "group": grp, "count": 1, "iteration": 0}));
    }
    let m: LandscapeMap = serde_json::from_value(json!({
        "version": "test",
        "seed": 0,
        "energy": {"name": name},
        "params": serde_json::to_value(AdelmOptions::default()).unwrap(),
        "iterations": g,
        "groups": groups,
        "minima": minima,
        "barriers": barriers,
        "barrier_kinds": vec![vec![serde_json::Value::Null; g]; g],
        "interrupted": false,
        "stats": serde_json::to_value(MapStats::default()).unwrap(),
    }))
    .unwrap();
    m.check().unwrap();
    m
}

/// The exact map of a set of minima (positions in `t.minima`): exact minimax barriers.
fn exact_map(t: &Exact, pick: &[usize], negate: bool) -> LandscapeMap {
    let states: Vec<Vec<f64>> = pick
        .iter()
        .map(|&k| {
            let s = spins(t.minima[k], t.n);
            if negate {
                s.iter().map(|v| -v).collect()
            } else {
                s
            }
        })
        .collect();
    let energies: Vec<f64> = pick.iter().map(|&k| t.energy[t.minima[k]]).collect();
    let barriers: Vec<Vec<Option<f64>>> = pick
        .iter()
        .map(|&i| pick.iter().map(|&j| Some(t.barrier[i][j])).collect())
        .collect();
    make_map("sk", &states, &energies, &barriers, &[])
}

/// Minimax over edge weights `max(b_ij, E_i, E_j)` by Floyd-Warshall (an independent single
/// linkage): `None` where no path of known barriers joins the two.
fn minimax_levels(m: &LandscapeMap) -> Vec<Vec<Option<f64>>> {
    common::floyd_minimax(&m.group_energies(), &m.barriers)
        .into_iter()
        .map(|r| r.into_iter().map(|x| x.is_finite().then_some(x)).collect())
        .collect()
}

/// Small deterministic generator (tests must not depend on libtorch's global RNG).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() * n as f64) as usize % n
    }
}

fn instances() -> Vec<(u64, Exact)> {
    [3u64, 7, 11, 19, 23]
        .iter()
        .map(|&seed| (seed, exact(&sk(12, seed, 1.0).unwrap())))
        .collect()
}

/// Minima with spin 0 up: one of each mirror pair.
fn up_half(t: &Exact) -> Vec<usize> {
    (0..t.minima.len())
        .filter(|&k| t.minima[k] & 1 == 1)
        .collect()
}

#[test]
fn a_map_compared_with_itself_matches_everything() {
    for (seed, t) in instances() {
        let all: Vec<usize> = (0..t.minima.len()).collect();
        let m = exact_map(&t, &all, false);
        let c = compare_maps(&m, &m, &CompareOptions::default()).unwrap();
        let g = m.groups.len();
        assert!(c.mirror, "sk maps match mirrors by default");
        assert_eq!((c.a_in_b, c.a_beyond_b, c.a_missed_by_b), (g, 0, 0));
        for (i, mt) in c.matches.iter().enumerate() {
            assert_eq!(mt.b_group, Some(i), "seed {seed}");
            assert_eq!(mt.by, Some(MatchKind::Direct));
        }
        // The exact minima of SK come in mirror pairs.
        assert_eq!(c.mirror_found, g, "seed {seed}");
        assert_eq!(c.pairs.len(), g * (g - 1) / 2);
        assert!(c.pairs.iter().all(|p| p.diff == Some(0.0)));
        assert_eq!(c.barrier_diff.max_abs, 0.0);
        assert_eq!(c.barrier_diff.b_lower_fraction, 0.0);
        assert_eq!(c.inconsistent_merges, 0, "seed {seed}");
        assert_eq!(c.consistent_merges, c.merges.len(), "seed {seed}");
        // The DG levels are the exact minimax barriers.
        for p in &c.pairs {
            assert!((p.a_level.unwrap() - t.barrier[p.i][p.j]).abs() < 1e-12);
        }
        assert!(c.table().contains(&format!("{g}")));
    }
}

#[test]
fn a_permuted_mirrored_copy_matches_by_mirror() {
    for (seed, t) in instances() {
        let half = up_half(&t);
        let a = exact_map(&t, &half, false);
        // b: the same basins, listed in a shuffled order, stored as their mirror states.
        let mut perm: Vec<usize> = (0..half.len()).collect();
        let mut rng = Lcg(seed);
        for i in (1..perm.len()).rev() {
            perm.swap(i, rng.below(i + 1));
        }
        let shuffled: Vec<usize> = perm.iter().map(|&p| half[p]).collect();
        let b = exact_map(&t, &shuffled, true);
        let c = compare_maps(&a, &b, &CompareOptions::default()).unwrap();
        assert_eq!(c.a_in_b, half.len(), "seed {seed}");
        assert_eq!(c.a_in_b_by_mirror, half.len());
        for (i, mt) in c.matches.iter().enumerate() {
            let at = perm.iter().position(|&p| p == i).unwrap();
            assert_eq!(mt.b_group, Some(at), "seed {seed}: group {i}");
            assert_eq!(mt.by, Some(MatchKind::Mirror));
            assert!(!mt.mirror_found, "a holds one of each mirror pair");
        }
        assert!(c.pairs.iter().all(|p| p.diff.unwrap().abs() < 1e-12));
        assert_eq!(c.inconsistent_merges, 0);
        assert!(c.consistent_merges > 0);
        // Without mirror matching nothing matches, and none lies above b's range.
        let off = CompareOptions {
            mirror: Some(false),
            ..Default::default()
        };
        let c = compare_maps(&a, &b, &off).unwrap();
        assert_eq!((c.a_in_b, c.a_missed_by_b), (0, half.len()));
        assert!(c.pairs.is_empty() && c.consistent_merges + c.inconsistent_merges == 0);
    }
}

#[test]
fn mirror_found_reads_a_own_minima() {
    let (_, t) = instances().remove(0);
    let half = up_half(&t);
    let mut a = exact_map(&t, &half, false);
    // Add the mirrors of the even groups to a's minima (sorted into some group).
    for (g, &k) in half.iter().enumerate().step_by(2) {
        let s: Vec<f64> = spins(t.minima[k], t.n).iter().map(|v| -v).collect();
        a.minima.push(telescope::landscape::map::MinimumRecord {
            state: s,
            energy: t.energy[t.minima[k]],
            group: (g + 1) % half.len(),
            count: 1,
            iteration: 0,
        });
    }
    let c = compare_maps(&a, &a, &CompareOptions::default()).unwrap();
    for (g, m) in c.matches.iter().enumerate() {
        assert_eq!(m.mirror_found, g % 2 == 0, "group {g}");
    }
    assert_eq!(c.mirror_found, half.len().div_ceil(2));
    assert_eq!(
        c.b_matched(Some(true)).len() + c.b_matched(Some(false)).len(),
        half.len()
    );
}

#[test]
fn missing_basins_are_beyond_or_missed() {
    for (seed, t) in instances() {
        let all = t.by_energy();
        let a = exact_map(&t, &all, false);
        // b records the lowest 60% of the minima (a GWL-like energy threshold) but misses one.
        let keep = (all.len() * 3 / 5).max(3);
        let hole = keep / 2;
        let picked: Vec<usize> = (0..keep).filter(|&r| r != hole).map(|r| all[r]).collect();
        let b = exact_map(&t, &picked, false);
        // Mirror matching off: b holds the mirror partner of the hole.
        let off = CompareOptions {
            mirror: Some(false),
            ..Default::default()
        };
        let c = compare_maps(&a, &b, &off).unwrap();
        let top = t.energy[t.minima[all[keep - 1]]];
        for (r, m) in c.matches.iter().enumerate() {
            let want = if r == hole {
                MatchStatus::MissedByB
            } else if r < keep {
                MatchStatus::InB
            } else if m.energy > top {
                MatchStatus::BeyondB
            } else {
                // Same energy as b's highest minimum (a degenerate pair): within range.
                MatchStatus::MissedByB
            };
            assert_eq!(m.status, want, "seed {seed}: rank {r}");
        }
        assert_eq!(c.a_in_b, keep - 1);
        assert_eq!(c.a_in_b + c.a_beyond_b + c.a_missed_by_b, all.len());
        assert_eq!(c.b_max_energy, top);
        // Exact barriers in both: no differences, and the restricted trees agree.
        assert!(c.pairs.iter().all(|p| p.diff.unwrap().abs() < 1e-12));
        assert_eq!(c.inconsistent_merges, 0, "seed {seed}");
    }
}

#[test]
fn barrier_differences_and_merge_order_against_independent_truth() {
    for (seed, t) in instances() {
        let half = up_half(&t);
        let a = exact_map(&t, &half, false);
        // b: upper bounds of the exact barriers (noise >= 0), a fifth of them unknown, so its DG
        // levels rise and some merges change order.
        let mut rng = Lcg(seed * 31 + 1);
        let mut b = a.clone();
        let g = half.len();
        for i in 0..g {
            for j in i + 1..g {
                let v = if rng.next() < 0.2 {
                    None
                } else {
                    Some(t.barrier[half[i]][half[j]] + 0.05 * rng.next())
                };
                b.barriers[i][j] = v;
                b.barriers[j][i] = v;
            }
        }
        let c = compare_maps(&a, &b, &CompareOptions::default()).unwrap();
        let lb = minimax_levels(&b);
        assert_eq!(c.pairs.len(), g * (g - 1) / 2);
        let mut diffs = Vec::new();
        for p in &c.pairs {
            let exact_a = t.barrier[half[p.i]][half[p.j]];
            assert!((p.a_level.unwrap() - exact_a).abs() < 1e-12);
            match (p.b_level, lb[p.i][p.j]) {
                (Some(x), Some(y)) => assert!((x - y).abs() < 1e-9, "seed {seed}: {x} vs {y}"),
                (x, y) => assert_eq!(x, y),
            }
            if let Some(d) = p.diff {
                // Upper bounds of an ultrametric never lower a level.
                assert!(d >= -1e-12, "seed {seed}: b below the exact minimax");
                diffs.push(d);
            }
        }
        let n = diffs.len() as f64;
        let mean = diffs.iter().map(|d| d.abs()).sum::<f64>() / n;
        let max = diffs.iter().map(|d| d.abs()).fold(0.0, f64::max);
        assert_eq!(c.barrier_diff.count, diffs.len());
        assert!((c.barrier_diff.mean_abs - mean).abs() < 1e-12);
        assert_eq!(c.barrier_diff.max_abs, max);
        // Merge order: a node is consistent exactly when, in b, every cross-side pair joins at
        // one level L, every same-side pair below L, and every pair leaving the node above L.
        let matched: Vec<usize> = (0..g).collect();
        for mc in &c.merges {
            let Some(flag) = mc.consistent else {
                let n: usize = mc.sides.iter().map(|s| s.len()).sum();
                let mut u: Vec<usize> = mc.sides.iter().flatten().copied().collect();
                u.sort_unstable();
                u.dedup();
                assert!(mc.sides.len() < 2 || u.len() < n);
                continue;
            };
            let lev = |p: usize, q: usize| lb[p][q].unwrap_or(f64::INFINITY);
            let inside: Vec<usize> = mc.sides.iter().flatten().copied().collect();
            let mut cross = Vec::new();
            let mut within = Vec::new();
            for (x, s) in mc.sides.iter().enumerate() {
                for &p in s {
                    for &q in s {
                        if p < q {
                            within.push(lev(p, q));
                        }
                    }
                    for s2 in &mc.sides[x + 1..] {
                        for &q in s2 {
                            cross.push(lev(p, q));
                        }
                    }
                }
            }
            let l = cross[0];
            let same = |u: f64, v: f64| (u - v).abs() <= 1e-9 * u.abs().max(1.0);
            let truth = l.is_finite()
                && cross.iter().all(|&v| same(v, l))
                && within.iter().all(|&v| v < l && !same(v, l))
                && matched
                    .iter()
                    .filter(|r| !inside.contains(r))
                    .all(|&r| inside.iter().all(|&p| lev(p, r) > l && !same(lev(p, r), l)));
            assert_eq!(
                flag, truth,
                "seed {seed}: node {} sides {:?}",
                mc.node, mc.sides
            );
        }
        assert_eq!(
            c.consistent_merges + c.inconsistent_merges,
            c.merges.iter().filter(|m| m.consistent.is_some()).count()
        );
    }
}

#[test]
fn merges_in_another_order_are_inconsistent() {
    // a: x-y at 1, then z at 2; b: x-z at 1, then y at 2.
    let s = |v: f64| vec![v, 0.0];
    let states = [s(0.0), s(1.0), s(2.0)];
    let e = [0.0, 0.1, 0.2];
    let m = |xy: f64, xz: f64, yz: f64| {
        vec![
            vec![Some(0.0), Some(xy), Some(xz)],
            vec![Some(xy), Some(0.1), Some(yz)],
            vec![Some(xz), Some(yz), Some(0.2)],
        ]
    };
    let a = make_map("gmm", &states, &e, &m(1.0, 2.0, 2.0), &[]);
    let b = make_map("gmm", &states, &e, &m(2.0, 1.0, 2.0), &[]);
    let c = compare_maps(&a, &b, &CompareOptions::default()).unwrap();
    assert!(!c.mirror);
    assert_eq!((c.consistent_merges, c.inconsistent_merges), (0, 2));
    let c = compare_maps(&a, &a, &CompareOptions::default()).unwrap();
    assert_eq!((c.consistent_merges, c.inconsistent_merges), (2, 0));
    // b lower on (y, z)? a: 2, b: 2; on (x, y): a 1, b 2; on (x, z): a 2, b 1.
    let c = compare_maps(&a, &b, &CompareOptions::default()).unwrap();
    assert_eq!(c.barrier_diff.count, 3);
    assert!((c.barrier_diff.b_lower_fraction - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(c.barrier_diff.max_abs, 1.0);
}

#[test]
fn continuous_states_match_within_tol() {
    let states = [vec![0.0, 0.0], vec![1.0, 1.0]];
    let b_states = [vec![1.0 + 1e-8, 1.0], vec![0.0, 3e-3]];
    let bar = vec![vec![Some(0.0), Some(1.0)], vec![Some(1.0), Some(0.5)]];
    let a = make_map("gmm", &states, &[0.0, 0.5], &bar, &[]);
    let b = make_map("gmm", &b_states, &[0.5, 0.0], &bar, &[]);
    let c = compare_maps(&a, &b, &CompareOptions::default()).unwrap();
    assert_eq!(c.matches[0].b_group, None);
    assert_eq!(c.matches[0].status, MatchStatus::MissedByB);
    assert_eq!(c.matches[1].b_group, Some(0));
    let loose = CompareOptions {
        tol: 1e-2,
        ..Default::default()
    };
    let c = compare_maps(&a, &b, &loose).unwrap();
    assert_eq!(c.matches[0].b_group, Some(1));
    assert_eq!(c.a_in_b, 2);
}

/// A fresh folder for one test, removed when the guard drops (also on a panic).
fn tmp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("telescope-map-compare-{name}-"))
        .tempdir()
        .unwrap()
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let dec = png::Decoder::new(std::io::Cursor::new(std::fs::read(path).unwrap()));
    let r = dec.read_info().unwrap();
    let i = r.info();
    (i.width, i.height)
}

#[test]
fn script_compare_maps_and_figures() {
    let (_, t) = instances().remove(1);
    let all = t.by_energy();
    let a = exact_map(&t, &all[..all.len() * 2 / 3], false);
    let half = up_half(&t);
    let b = exact_map(&t, &half, true);
    let tmp = tmp_dir("script");
    let dir = tmp.path().to_path_buf();
    a.save(&dir.join("a.json")).unwrap();
    b.save(&dir.join("b.json")).unwrap();
    let mut s = telescope::script::new_session(None);
    let code = format!(
        "let a = load_map(\"{0}/a.json\"); let b = load_map(\"{0}/b.json\");\n\
         let c = compare_maps(a, b);\n\
         let p = dg_plot(b, #{{marks: [#{{groups: c.b_with_mirror, color: \"blue\", label: \"mirror found\"}}, #{{groups: c.b_without_mirror, color: \"#ff7f0e\", label: \"mirror not found\"}}]}});\n\
         p.save(\"{0}/marks.svg\"); p.save(\"{0}/marks.png\");\n\
         let q = dg_compare_plot(a, b, c, #{{titles: [\"ADELM\", \"GWL\"]}});\n\
         q.save(\"{0}/pair.svg\"); q.save(\"{0}/pair.png\");\n\
         [c.a_groups, c.b_groups, c.a_in_b, c.a_in_b_by_mirror, c.b_with_mirror.len() + c.b_without_mirror.len(), c.barrier_diff.count, c.inconsistent_merges, c.matches[0].status, `${{c}}`.len() > 100]",
        dir.display()
    );
    let r = s.eval("cmp.rhai", &code).unwrap();
    let c = compare_maps(&a, &b, &CompareOptions::default()).unwrap();
    let k = c.b_matched(None).len();
    assert_eq!(
        r.to_string(),
        format!(
            "[{}, {}, {}, {}, {k}, {}, 0, \"in_b\", true]",
            a.groups.len(),
            b.groups.len(),
            c.a_in_b,
            c.a_in_b_by_mirror,
            c.barrier_diff.count
        )
    );
    // Every basin of a matched: b holds one of each mirror pair.
    assert_eq!(c.a_in_b, a.groups.len());
    let svg = std::fs::read_to_string(dir.join("marks.svg")).unwrap();
    assert!(svg.contains("mirror found") && svg.contains("mirror not found"));
    // One outline circle per leaf, one dot per marked leaf, two legend dots.
    assert_eq!(svg.matches("<circle").count(), b.groups.len() + k + 2);
    assert_eq!(png_size(&dir.join("marks.png")), (800, 600));
    let svg = std::fs::read_to_string(dir.join("pair.svg")).unwrap();
    assert!(svg.contains("ADELM") && svg.contains("GWL") && svg.contains("in both"));
    assert_eq!(png_size(&dir.join("pair.png")), (1200, 650));
    // Options are checked.
    let e = s
        .eval(
            "bad.rhai",
            &format!("compare_maps(load_map(\"{0}/a.json\"), load_map(\"{0}/b.json\"), #{{mirorr: true}})", dir.display()),
        )
        .unwrap_err();
    assert!(e.contains("did you mean `mirror`"), "{e}");
    let e = s
        .eval(
            "bad2.rhai",
            &format!("dg_plot(load_map(\"{0}/a.json\"), #{{marks: [#{{groups: [0], color: \"mauve\"}}]}})", dir.display()),
        )
        .unwrap_err();
    assert!(e.contains("unknown color"), "{e}");
    // TELESCOPE_KEEP_FIGURES=1 keeps the pictures for a look.
    if std::env::var_os("TELESCOPE_KEEP_FIGURES").is_none() {
        std::fs::remove_dir_all(&dir).ok();
    } else {
        eprintln!("figures kept in {}", dir.display());
    }
}

#[test]
fn spin_maps_draw_no_images_and_crowded_trees_thin_their_labels() {
    use telescope::landscape::dg::Dg;
    use telescope::plot::{DgPicture, Figure};
    // An N = 16 spin map: states of square length, but configurations, not pictures.
    let (_, t) = instances().remove(0);
    let m = exact_map(&t, &(0..t.minima.len()).collect::<Vec<_>>(), false);
    let mut m16 = m.clone();
    for g in m16.groups.iter_mut() {
        g.state.extend(std::iter::repeat_n(1.0, 4));
    }
    for mm in m16.minima.iter_mut() {
        mm.state.extend(std::iter::repeat_n(1.0, 4));
    }
    let tmp = tmp_dir("spin");
    let dir = tmp.path().to_path_buf();
    m16.save(&dir.join("m.json")).unwrap();
    let mut s = telescope::script::new_session(None);
    let code = format!(
        "let m = load_map(\"{0}/m.json\"); dg_plot(m).save(\"{0}/plain.svg\"); dg_plot(m, #{{images: true}}).save(\"{0}/img.svg\");",
        dir.display()
    );
    let _ = s.eval("spin.rhai", &code).unwrap();
    let plain = std::fs::read_to_string(dir.join("plain.svg")).unwrap();
    let img = std::fs::read_to_string(dir.join("img.svg")).unwrap();
    assert!(plain.matches("<rect").count() < 5, "spins drawn as images");
    assert!(img.matches("<rect").count() >= 16 * m16.groups.len());
    std::fs::remove_dir_all(&dir).ok();
    // 500 leaves: labels thinned to what fits, none overlapping.
    let n = 500;
    let mut rng = Lcg(5);
    let e: Vec<f64> = (0..n).map(|_| rng.next()).collect();
    let mut b = vec![vec![None; n]; n];
    for i in 1..n {
        let j = rng.below(i);
        let v = Some(e[i].max(e[j]) + rng.next());
        b[i][j] = v;
        b[j][i] = v;
    }
    let dg = Dg::build(&e, &b, &[]).unwrap();
    let f = Figure::dg(DgPicture::new(dg)).unwrap();
    if std::env::var_os("TELESCOPE_KEEP_FIGURES").is_some() {
        f.save(std::env::temp_dir().join("telescope-dg500.png"))
            .unwrap();
    }
    let svg = f.to_svg().unwrap();
    // Only the axis texts: every k-th of 500 ids would name nothing.
    let texts = svg.matches("<text").count();
    assert!(texts < 20, "{texts} text elements for 500 leaves");
    // 60 leaves: thinned to every other label or so, never overlapping.
    let n = 60;
    let e: Vec<f64> = (0..n).map(|_| rng.next()).collect();
    let mut b = vec![vec![None; n]; n];
    for i in 1..n {
        let j = rng.below(i);
        let v = Some(e[i].max(e[j]) + rng.next());
        b[i][j] = v;
        b[j][i] = v;
    }
    let dg = Dg::build(&e, &b, &[]).unwrap();
    let svg = Figure::dg(DgPicture::new(dg)).unwrap().to_svg().unwrap();
    let texts = svg.matches("<text").count();
    assert!(
        (28..60).contains(&texts),
        "{texts} text elements for 60 leaves"
    );
}

#[test]
fn a_larger_comparison_figure_renders() {
    use telescope::plot::{ComparisonStyle, Figure};
    // N = 16: a holds every minimum with noisy upper-bound barriers (an ADELM-like map), b the
    // lowest 70% with exact ones (a GWL-like map with an energy threshold).
    let t = exact(&sk(16, 5, 1.0).unwrap());
    let all = t.by_energy();
    let mut a = exact_map(&t, &all, false);
    let mut rng = Lcg(9);
    let g = all.len();
    for i in 0..g {
        for j in i + 1..g {
            let v = a.barriers[i][j].map(|x| x + 0.02 * rng.next());
            a.barriers[i][j] = v;
            a.barriers[j][i] = v;
        }
    }
    let b = exact_map(&t, &all[..g * 7 / 10], false);
    let c = compare_maps(&a, &b, &CompareOptions::default()).unwrap();
    assert!(c.a_beyond_b > 0 && c.a_in_b == g * 7 / 10);
    let style = ComparisonStyle {
        titles: ["ADELM".into(), "GWL".into()],
        ..Default::default()
    };
    let f = Figure::map_comparison(&c, &style).unwrap();
    let png = f.to_png().unwrap();
    let dir = std::env::temp_dir();
    if std::env::var_os("TELESCOPE_KEEP_FIGURES").is_some() {
        f.save(dir.join("telescope-compare16.png")).unwrap();
    }
    let dec = png::Decoder::new(std::io::Cursor::new(png));
    let info = dec.read_info().unwrap();
    assert_eq!((info.info().width, info.info().height), (1200, 650));
    let text = f.to_text(120, 30, false);
    assert!(text.contains("ADELM") && text.contains("GWL"), "{text}");
}
