//! Comparing two maps of one landscape (section 5.1, Figures 12, 14 and 15): which basins of map
//! `a` map `b` also found, how their disconnectivity-graph barriers differ, and whether the two
//! trees merge the shared basins in the same order.
//!
//! * **Matching.** Each group representative of `a` is looked up among `b`'s minima (and group
//!   representatives): exactly for ±1 spin states, within `tol` (largest coordinate difference)
//!   otherwise. With `mirror` (symmetric energies such as SK, `U(s) = U(-s)`), `-s` is tried when
//!   `s` itself is not found. An unmatched basin of `a` is *beyond* `b` when its energy lies above
//!   `b`'s highest minimum (outside the energy range `b` records: the paper's "14 beyond the
//!   energy threshold"), else *missed* by `b`.
//! * **Mirrors.** For every group of `a`, whether `-rep` is among `a`'s own minima (Figure 12's
//!   blue dots: mirror also found; orange: not).
//! * **Barriers.** For every pair of matched groups (matched to distinct groups of `b`), the DG
//!   level at which the two leaves merge in `a` against that in `b`: the minimax barrier over
//!   each map's barrier graph by single linkage ([`Dg::from_map`]), not the raw matrix entry.
//! * **Merge order.** For every internal node of `a`'s DG whose children hold matched leaves on at
//!   least two sides, whether `b` joins exactly those matched leaves at one node, with the same
//!   partition into sides (Figure 15's blue = consistent, red = inconsistent lines). Leaves that
//!   only one map has are ignored; a node whose sides share a `b` group is not compared.

use super::dg::{Dg, DgOptions};
use super::map::LandscapeMap;
use crate::Result;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Options of [`compare_maps`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareOptions {
    /// Largest coordinate difference of two continuous states that are the same minimum (spin
    /// states are compared exactly).
    pub tol: f64,
    /// Also match a representative by its mirror `-s`. `None`: on when both maps' energy is
    /// `"sk"` (symmetric under `s -> -s`), off otherwise.
    pub mirror: Option<bool>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            tol: 1e-6,
            mirror: None,
        }
    }
}

/// How a group of `a` was found in `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    /// `b` has the representative itself.
    Direct,
    /// `b` has its mirror state `-s`.
    Mirror,
}

/// Where a group of `a` stands with respect to `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    /// Its representative (or mirror) is among `b`'s minima.
    InB,
    /// Not in `b`, and above `b`'s highest minimum: beyond the energy range `b` records.
    BeyondB,
    /// Not in `b`, though within its energy range.
    MissedByB,
}

impl MatchStatus {
    /// The name used in JSON and scripts.
    pub fn name(&self) -> &'static str {
        match self {
            MatchStatus::InB => "in_b",
            MatchStatus::BeyondB => "beyond_b",
            MatchStatus::MissedByB => "missed_by_b",
        }
    }
}

/// One group of `a` and what `b` has of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupMatch {
    /// Group id in `a`.
    pub a_group: usize,
    /// Its energy in `a`.
    pub energy: f64,
    /// The group of `b` holding the representative (or its mirror).
    pub b_group: Option<usize>,
    /// Whether the match is direct or by mirror (`None` when unmatched).
    pub by: Option<MatchKind>,
    /// In `b`, beyond `b`'s energy range, or missed by `b`.
    pub status: MatchStatus,
    /// Whether the mirror `-rep` is among `a`'s own minima.
    pub mirror_found: bool,
}

/// The DG levels of one pair of matched groups in both maps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairLevels {
    /// Group of `a`.
    pub i: usize,
    /// Group of `a` (`i < j`).
    pub j: usize,
    /// Level at which `i` and `j` merge in `a`'s DG (`None`: never joined).
    pub a_level: Option<f64>,
    /// Level at which their matches merge in `b`'s DG (`None`: never joined).
    pub b_level: Option<f64>,
    /// `b_level - a_level` when both are known.
    pub diff: Option<f64>,
}

/// Summary of the pair differences with both levels known.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BarrierDiff {
    /// Pairs with both levels known.
    pub count: usize,
    /// Mean of `|b_level - a_level|` (0 when `count` is 0).
    pub mean_abs: f64,
    /// Largest `|b_level - a_level|`.
    pub max_abs: f64,
    /// Fraction of pairs where `b`'s level is strictly lower.
    pub b_lower_fraction: f64,
}

/// One internal node of `a`'s DG and whether `b` merges its matched leaves the same way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergeCheck {
    /// Node id in `a`'s DG ([`MapComparison::a_dg`]).
    pub node: usize,
    /// Its energy.
    pub energy: f64,
    /// Per side (child) with matched leaves: the `b` groups matched under it, sorted.
    pub sides: Vec<Vec<usize>>,
    /// `None` when there is nothing to compare: fewer than two sides hold matched leaves, or
    /// two sides share a `b` group (`b` has two basins of `a` as one, e.g. `s` and `-s` under
    /// mirror matching). Otherwise whether `b` joins exactly these groups at one node with the
    /// same sides.
    pub consistent: Option<bool>,
    /// The `b` node where the matched groups first all join (`None` if never).
    pub b_node: Option<usize>,
}

/// The comparison of map `a` against map `b`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapComparison {
    /// Groups of `a`.
    pub a_groups: usize,
    /// Groups of `b`.
    pub b_groups: usize,
    /// Whether mirror states were matched.
    pub mirror: bool,
    /// Tolerance of continuous matches.
    pub tol: f64,
    /// Highest energy among `b`'s minima (the energy range `b` records).
    pub b_max_energy: f64,
    /// `a`'s groups whose representative (or mirror) is among `b`'s minima.
    pub a_in_b: usize,
    /// Of those, matched by mirror.
    pub a_in_b_by_mirror: usize,
    /// `a`'s groups not in `b` and above `b`'s highest minimum.
    pub a_beyond_b: usize,
    /// `a`'s groups not in `b` though within its energy range.
    pub a_missed_by_b: usize,
    /// `a`'s groups whose mirror is among `a`'s own minima.
    pub mirror_found: usize,
    /// One entry per group of `a`, by id.
    pub matches: Vec<GroupMatch>,
    /// Every pair of `a` groups matched to distinct `b` groups.
    pub pairs: Vec<PairLevels>,
    /// Summary of the pair differences.
    pub barrier_diff: BarrierDiff,
    /// One entry per internal node of `a`'s DG.
    pub merges: Vec<MergeCheck>,
    /// Nodes of `a`'s DG merged the same way in `b`.
    pub consistent_merges: usize,
    /// Nodes of `a`'s DG merged differently in `b`.
    pub inconsistent_merges: usize,
    /// `a`'s DG (full, energy order), to which `merges[k].node` refers.
    pub a_dg: Dg,
    /// `b`'s DG (full, energy order), to which `merges[k].b_node` refers.
    pub b_dg: Dg,
}

/// Compares map `a` against map `b` (see the module doc). Both maps must pass
/// [`LandscapeMap::check`] and have at least one group.
pub fn compare_maps(
    a: &LandscapeMap,
    b: &LandscapeMap,
    opts: &CompareOptions,
) -> Result<MapComparison> {
    let a_dg = Dg::from_map(a, &DgOptions::default())?;
    let b_dg = Dg::from_map(b, &DgOptions::default())?;
    let mirror = opts
        .mirror
        .unwrap_or_else(|| energy_name(a) == Some("sk") && energy_name(b) == Some("sk"));

    let b_index = StateIndex::new(
        b.minima
            .iter()
            .map(|m| (m.state.as_slice(), m.group))
            .chain(b.groups.iter().map(|g| (g.state.as_slice(), g.id))),
        opts.tol,
    );
    let a_index = StateIndex::new(
        a.minima
            .iter()
            .map(|m| (m.state.as_slice(), m.group))
            .chain(a.groups.iter().map(|g| (g.state.as_slice(), g.id))),
        opts.tol,
    );
    let b_max_energy = b
        .minima
        .iter()
        .map(|m| m.energy)
        .chain(b.groups.iter().map(|g| g.energy))
        .fold(f64::NEG_INFINITY, f64::max);

    let matches: Vec<GroupMatch> = a
        .groups
        .iter()
        .map(|g| {
            let neg: Vec<f64> = g.state.iter().map(|v| -v).collect();
            let (b_group, by) = match b_index.find(&g.state) {
                Some(k) => (Some(k), Some(MatchKind::Direct)),
                None if mirror => match b_index.find(&neg) {
                    Some(k) => (Some(k), Some(MatchKind::Mirror)),
                    None => (None, None),
                },
                None => (None, None),
            };
            let status = if b_group.is_some() {
                MatchStatus::InB
            } else if g.energy > b_max_energy {
                MatchStatus::BeyondB
            } else {
                MatchStatus::MissedByB
            };
            GroupMatch {
                a_group: g.id,
                energy: g.energy,
                b_group,
                by,
                status,
                mirror_found: a_index.find(&neg).is_some(),
            }
        })
        .collect();
    let count = |s: MatchStatus| matches.iter().filter(|m| m.status == s).count();

    // Pair levels.
    let la = a_dg.leaf_levels();
    let lb = b_dg.leaf_levels();
    let mut pairs = Vec::new();
    for (i, mi) in matches.iter().enumerate() {
        let Some(bi) = mi.b_group else { continue };
        for (j, mj) in matches.iter().enumerate().skip(i + 1) {
            let Some(bj) = mj.b_group else { continue };
            if bi == bj {
                continue;
            }
            let a_level = la[i][j];
            let b_level = lb[bi][bj];
            let diff = match (a_level, b_level) {
                (Some(x), Some(y)) => Some(y - x),
                _ => None,
            };
            pairs.push(PairLevels {
                i,
                j,
                a_level,
                b_level,
                diff,
            });
        }
    }
    let barrier_diff = summarize(&pairs);

    // Merge order.
    let b_of: Vec<Option<usize>> = matches.iter().map(|m| m.b_group).collect();
    let merges = merge_checks(&a_dg, &b_dg, &b_of);
    let consistent_merges = merges.iter().filter(|m| m.consistent == Some(true)).count();
    let inconsistent_merges = merges
        .iter()
        .filter(|m| m.consistent == Some(false))
        .count();

    Ok(MapComparison {
        a_groups: a.groups.len(),
        b_groups: b.groups.len(),
        mirror,
        tol: opts.tol,
        b_max_energy,
        a_in_b: count(MatchStatus::InB),
        a_in_b_by_mirror: matches
            .iter()
            .filter(|m| m.by == Some(MatchKind::Mirror))
            .count(),
        a_beyond_b: count(MatchStatus::BeyondB),
        a_missed_by_b: count(MatchStatus::MissedByB),
        mirror_found: matches.iter().filter(|m| m.mirror_found).count(),
        matches,
        pairs,
        barrier_diff,
        merges,
        consistent_merges,
        inconsistent_merges,
        a_dg,
        b_dg,
    })
}

impl MapComparison {
    /// The `b` groups matched by some group of `a`, sorted and without repeats. With
    /// `Some(true)` only those matched by a group whose mirror `a` also found (Figure 12's blue
    /// dots), with `Some(false)` only those whose mirror `a` did not find (orange dots).
    pub fn b_matched(&self, mirror_found: Option<bool>) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .matches
            .iter()
            .filter(|m| mirror_found.is_none_or(|f| m.mirror_found == f))
            .filter_map(|m| m.b_group)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The `a` groups with this status, by id.
    pub fn a_with(&self, status: MatchStatus) -> Vec<usize> {
        self.matches
            .iter()
            .filter(|m| m.status == status)
            .map(|m| m.a_group)
            .collect()
    }

    /// A plain-text summary.
    pub fn table(&self) -> String {
        let mut s = format!(
            "map comparison: a has {} groups, b has {} (mirror matching {}, tol {:e})\n",
            self.a_groups,
            self.b_groups,
            if self.mirror { "on" } else { "off" },
            self.tol
        );
        let row = |name: &str, n: usize, note: String| format!("  {name:<34} {n:>6}  {note}\n");
        s.push_str(&row(
            "a's basins also in b",
            self.a_in_b,
            if self.mirror {
                format!("({} by their mirror state)", self.a_in_b_by_mirror)
            } else {
                String::new()
            },
        ));
        s.push_str(&row(
            "a's basins beyond b's energy range",
            self.a_beyond_b,
            format!("(above b's highest minimum {:.6})", self.b_max_energy),
        ));
        s.push_str(&row(
            "a's basins missed by b",
            self.a_missed_by_b,
            "(within b's energy range)".into(),
        ));
        s.push_str(&row(
            "a's basins with their mirror in a",
            self.mirror_found,
            format!("of {}", self.a_groups),
        ));
        let d = &self.barrier_diff;
        if d.count > 0 {
            s.push_str(&format!(
                "  DG levels (b - a) over {} pairs: mean |diff| {:.6}, max |diff| {:.6}, b lower in {:.1}%\n",
                d.count,
                d.mean_abs,
                d.max_abs,
                100.0 * d.b_lower_fraction
            ));
        } else {
            s.push_str("  DG levels: no pair of matched basins to compare\n");
        }
        let open = self.merges.len() - self.consistent_merges - self.inconsistent_merges;
        s.push_str(&format!(
            "  merges of a's DG: {} consistent with b, {} inconsistent, {} without matched leaves on two sides\n",
            self.consistent_merges, self.inconsistent_merges, open
        ));
        s
    }
}

fn energy_name(m: &LandscapeMap) -> Option<&str> {
    m.energy.get("name").and_then(|v| v.as_str())
}

/// States to look up: spin states (every entry ±1) by exact bit pattern, others by a scan
/// within `tol`.
struct StateIndex<'a> {
    spins: HashMap<Vec<u64>, usize>,
    other: Vec<(&'a [f64], usize)>,
    tol: f64,
}

fn spin_key(s: &[f64]) -> Option<Vec<u64>> {
    if s.is_empty() || !s.iter().all(|&v| v == 1.0 || v == -1.0) {
        return None;
    }
    let mut key = vec![s.len() as u64; s.len().div_ceil(64) + 1];
    for (i, &v) in s.iter().enumerate() {
        if v > 0.0 {
            key[i / 64] |= 1 << (i % 64);
        }
    }
    Some(key)
}

impl<'a> StateIndex<'a> {
    fn new(states: impl Iterator<Item = (&'a [f64], usize)>, tol: f64) -> StateIndex<'a> {
        let mut idx = StateIndex {
            spins: HashMap::new(),
            other: Vec::new(),
            tol,
        };
        for (s, g) in states {
            match spin_key(s) {
                Some(k) => {
                    idx.spins.entry(k).or_insert(g);
                }
                None => idx.other.push((s, g)),
            }
        }
        idx
    }

    /// The group of a stored state equal to `s` (the first stored, when several are).
    fn find(&self, s: &[f64]) -> Option<usize> {
        if let Some(k) = spin_key(s) {
            if let Some(&g) = self.spins.get(&k) {
                return Some(g);
            }
        }
        self.other
            .iter()
            .find(|(t, _)| {
                t.len() == s.len() && t.iter().zip(s).all(|(x, y)| (x - y).abs() <= self.tol)
            })
            .map(|&(_, g)| g)
    }
}

fn summarize(pairs: &[PairLevels]) -> BarrierDiff {
    let known: Vec<(f64, f64)> = pairs
        .iter()
        .filter_map(|p| Some((p.a_level?, p.b_level?)))
        .collect();
    if known.is_empty() {
        return BarrierDiff::default();
    }
    let n = known.len() as f64;
    BarrierDiff {
        count: known.len(),
        mean_abs: known.iter().map(|(a, b)| (b - a).abs()).sum::<f64>() / n,
        max_abs: known.iter().map(|(a, b)| (b - a).abs()).fold(0.0, f64::max),
        b_lower_fraction: known.iter().filter(|(a, b)| b < a).count() as f64 / n,
    }
}

/// Per internal node of `a`: the matched `b` groups on each side, and whether `b` joins exactly
/// them at one node with the same sides. `b_of[g]` is the `b` group matched by `a`'s group `g`.
fn merge_checks(a: &Dg, b: &Dg, b_of: &[Option<usize>]) -> Vec<MergeCheck> {
    let na = a.leaves.len();
    let nb = b.leaves.len();
    // `b` leaves matched by some group of `a`, and below every `b` node the matched ones.
    let mut matched = vec![false; nb];
    for &g in b_of.iter().flatten() {
        matched[g] = true;
    }
    let mut sets: Vec<Vec<usize>> = (0..nb)
        .map(|l| if matched[l] { vec![l] } else { vec![] })
        .collect();
    let mut parent = vec![usize::MAX; b.n_nodes()];
    for (k, m) in b.merges.iter().enumerate() {
        let mut s: Vec<usize> = m
            .children
            .iter()
            .flat_map(|&c| sets[c].iter().copied())
            .collect();
        s.sort_unstable();
        sets.push(s);
        for &c in &m.children {
            parent[c] = nb + k;
        }
    }
    let mut out = Vec::with_capacity(a.merges.len());
    for (k, m) in a.merges.iter().enumerate() {
        let node = na + k;
        let mut sides: Vec<Vec<usize>> = m
            .children
            .iter()
            .map(|&c| {
                let mut s: Vec<usize> = a
                    .subtree_leaves(c)
                    .into_iter()
                    .filter_map(|l| b_of[a.leaves[l].id])
                    .collect();
                s.sort_unstable();
                s.dedup();
                s
            })
            .filter(|s| !s.is_empty())
            .collect();
        sides.sort();
        if sides.len() < 2 {
            out.push(MergeCheck {
                node,
                energy: m.energy,
                sides,
                consistent: None,
                b_node: None,
            });
            continue;
        }
        let mut union: Vec<usize> = sides.iter().flatten().copied().collect();
        union.sort_unstable();
        if union.windows(2).any(|w| w[0] == w[1]) {
            // Both sides hold basins that `b` has as one group (say `s` and `-s` under mirror
            // matching): `b` has no merge between them to compare.
            out.push(MergeCheck {
                node,
                energy: m.energy,
                sides,
                consistent: None,
                b_node: None,
            });
            continue;
        }
        // Lowest `b` node holding every matched group of this node.
        let holds = |v: usize| union.iter().all(|g| sets[v].binary_search(g).is_ok());
        let mut v = union[0];
        while !holds(v) && parent[v] != usize::MAX {
            v = parent[v];
        }
        let b_node = holds(v).then_some(v);
        let consistent = b_node.is_some_and(|u| {
            let mut b_sides: Vec<Vec<usize>> = b
                .children(u)
                .iter()
                .map(|&c| sets[c].clone())
                .filter(|s| !s.is_empty())
                .collect();
            b_sides.sort();
            sets[u] == union && b_sides == sides
        });
        out.push(MergeCheck {
            node,
            energy: m.energy,
            sides,
            consistent: Some(consistent),
            b_node,
        });
    }
    out
}
