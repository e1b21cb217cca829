//! Disconnectivity graphs (DG): a tree over the minima of a landscape.
//!
//! Leaves sit at the energies of the minima (or basin representatives); an internal node sits at
//! the lowest energy at which two groups of minima become connected. The tree is built by single
//! linkage over the barrier matrix (Kruskal's algorithm with a union-find):
//!
//! * Each known barrier `b_ij` gives an edge of weight `w_ij = max(b_ij, E_i, E_j)`. A barrier
//!   estimate can fall below an endpoint's energy (noisy estimates, or a barrier measured from
//!   another representative); taking the maximum keeps the tree monotone, so every merge lies at
//!   or above all of its children. Asymmetric matrices are symmetrised with the lower of both
//!   directions (the authors' convention); one known direction is enough.
//! * Edges are processed by increasing weight; ties are broken by `(min(i,j), max(i,j))`, so the
//!   tree is the same for the same input. When an edge joins two different groups a merge node is
//!   created at `w_ij`. When a group's top node already sits at exactly that energy (several
//!   minima joining at the same barrier), the new node absorbs its children instead of stacking a
//!   zero-height node: merge nodes may have more than two children.
//! * A barrier of `None` (or `+inf`) is unknown / disconnected. Groups never joined stay separate
//!   trees: the result is a forest with several roots, drawn side by side.
//!
//! Trimming (lowest N minima, or minima below an energy) happens after the full tree is built, so
//! merge energies between the kept minima are those of the full data; merge nodes left with one
//! child are removed.
//!
//! Node numbering: nodes `0..leaves.len()` are the leaves (in input order), node
//! `leaves.len() + k` is `merges[k]`. Merges are listed in merge order (increasing energy).

use super::union_find::UnionFind;
use crate::{
    error::{invalid, WithPath},
    Result,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A leaf of the tree: one minimum / basin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DgLeaf {
    /// The group id: the index of this minimum in the input.
    pub id: usize,
    /// Energy of the minimum.
    pub energy: f64,
    /// Number of members of the basin (sizes the circle in pictures).
    pub members: usize,
}

/// An internal node: groups merging at an energy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DgMerge {
    /// Node ids of the children (leaves are `0..leaves.len()`, merges follow), left to right.
    pub children: Vec<usize>,
    /// The energy at which the children connect.
    pub energy: f64,
}

/// How leaves are ordered from left to right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LeafOrder {
    /// Global minimum leftmost; the children of every node (and the trees of a forest) are
    /// ordered by their lowest leaf energy.
    #[default]
    Energy,
    /// Global minimum centered (as pele and disconnectionDPS draw it): walking up from the
    /// global minimum, each sibling subtree goes to the side with fewer leaves so far; subtrees
    /// off that path are ordered by energy.
    Center,
}

impl LeafOrder {
    /// Parses `"energy"` or `"center"`.
    pub fn parse(s: &str) -> Result<LeafOrder> {
        match s {
            "energy" => Ok(LeafOrder::Energy),
            "center" | "centre" => Ok(LeafOrder::Center),
            other => Err(invalid(format!(
                "unknown leaf order `{other}`; use \"energy\" or \"center\""
            ))),
        }
    }
}

/// Options of [`Dg::build_with`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DgOptions {
    /// Leaf order.
    pub order: LeafOrder,
    /// Keep only the lowest `n` minima (ties by id).
    pub max_leaves: Option<usize>,
    /// Keep only minima with energy at or below this value.
    pub max_energy: Option<f64>,
}

/// A disconnectivity graph: a forest of merge trees over minima.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dg {
    /// Leaves (nodes `0..leaves.len()`), in input order.
    pub leaves: Vec<DgLeaf>,
    /// Merge nodes (node `leaves.len() + k` is `merges[k]`), by increasing energy.
    pub merges: Vec<DgMerge>,
    /// Root node ids, left to right (one per connected component).
    pub roots: Vec<usize>,
    /// Leaf node ids from left to right, as drawn.
    pub order: Vec<usize>,
    /// The leaf order used.
    pub leaf_order: LeafOrder,
    /// What the reader must know about the barriers, shown in the summary and the title
    /// (a DG of an unrefined map: [`crate::landscape::map::UNREFINED_NOTE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
}

/// Merges whose energies agree within a relative 1e-9 (rounding of the same barrier reached
/// along different paths) are one node.
pub const SAME_LEVEL_RTOL: f64 = 1e-9;

fn same_level(a: f64, b: f64) -> bool {
    (a - b).abs() <= SAME_LEVEL_RTOL * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
}

impl Dg {
    /// Builds the DG with default options (energy order, no trimming).
    ///
    /// `energies[i]` is the energy of minimum `i`; `barriers` is an `n x n` matrix (diagonal
    /// ignored, `None` = unknown); `members[i]` is the member count of group `i` (an empty slice
    /// means one member each).
    pub fn build(energies: &[f64], barriers: &[Vec<Option<f64>>], members: &[usize]) -> Result<Dg> {
        Dg::build_with(energies, barriers, members, &DgOptions::default())
    }

    /// Builds the DG with options (leaf order, trimming).
    pub fn build_with(
        energies: &[f64],
        barriers: &[Vec<Option<f64>>],
        members: &[usize],
        opts: &DgOptions,
    ) -> Result<Dg> {
        let n = energies.len();
        if n == 0 {
            return Err(invalid("dg: no minima given"));
        }
        if let Some(i) = energies.iter().position(|e| !e.is_finite()) {
            return Err(invalid(format!(
                "dg: energy of minimum {i} is not finite ({})",
                energies[i]
            )));
        }
        if barriers.len() != n || barriers.iter().any(|r| r.len() != n) {
            return Err(invalid(format!(
                "dg: the barrier matrix must be {n} x {n} for {n} minima"
            )));
        }
        if !members.is_empty() && members.len() != n {
            return Err(invalid(format!(
                "dg: {} member counts for {n} minima",
                members.len()
            )));
        }
        // Symmetrised edges with monotone weights.
        let known = |b: Option<f64>| -> Result<Option<f64>> {
            match b {
                None => Ok(None),
                Some(x) if x.is_nan() => Err(invalid("dg: a barrier is NaN; use () for unknown")),
                Some(x) if x == f64::INFINITY => Ok(None),
                Some(x) if x == f64::NEG_INFINITY => Err(invalid("dg: a barrier is -inf")),
                Some(x) => Ok(Some(x)),
            }
        };
        let mut edges = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let b = match (known(barriers[i][j])?, known(barriers[j][i])?) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if let Some(b) = b {
                    edges.push((b.max(energies[i]).max(energies[j]), i, j));
                }
            }
        }
        edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

        let leaves: Vec<DgLeaf> = (0..n)
            .map(|i| DgLeaf {
                id: i,
                energy: energies[i],
                members: if members.is_empty() { 1 } else { members[i] },
            })
            .collect();
        let mut merges: Vec<DgMerge> = Vec::new();
        let mut uf = UnionFind::new(n);
        // Top node of each union-find root.
        let mut top: Vec<usize> = (0..n).collect();
        for &(w, i, j) in &edges {
            let (ri, rj) = (uf.find(i), uf.find(j));
            if ri == rj {
                continue;
            }
            let mut children = Vec::new();
            for t in [top[ri], top[rj]] {
                match t.checked_sub(n).map(|k| &merges[k]) {
                    Some(m) if same_level(m.energy, w) => {
                        children.extend(m.children.iter().copied())
                    }
                    _ => children.push(t),
                }
            }
            // Absorbed merge nodes are left in place and dropped by `compact` below.
            merges.push(DgMerge {
                children,
                energy: w,
            });
            uf.union(ri, rj);
            top[ri.min(rj)] = n + merges.len() - 1;
        }
        let mut roots: Vec<usize> = (0..n)
            .filter(|&i| uf.find(i) == i)
            .map(|i| top[i])
            .collect();
        roots.sort();
        let mut dg = Dg {
            leaves,
            merges,
            roots,
            order: Vec::new(),
            leaf_order: opts.order,
            caveat: None,
        };
        dg.compact();

        // Trimming.
        let mut keep = vec![true; n];
        if let Some(emax) = opts.max_energy {
            for (k, l) in keep.iter_mut().zip(&dg.leaves) {
                *k &= l.energy <= emax;
            }
        }
        if let Some(m) = opts.max_leaves {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| energies[a].total_cmp(&energies[b]).then(a.cmp(&b)));
            for &i in idx.iter().skip(m) {
                keep[i] = false;
            }
        }
        if !keep.iter().all(|&k| k) {
            if !keep.iter().any(|&k| k) {
                return Err(invalid("dg: trimming removed every minimum"));
            }
            dg = dg.pruned(&keep);
        }
        dg.order_leaves();
        Ok(dg)
    }

    /// The DG of an ADELM map: group energies, member counts and the barrier matrix (groups are
    /// the leaves; leaf ids are group ids).
    pub fn from_map(map: &crate::landscape::map::LandscapeMap, opts: &DgOptions) -> Result<Dg> {
        map.check()?;
        let mut dg = Dg::build_with(
            &map.group_energies(),
            &map.barriers,
            &map.member_counts(),
            opts,
        )?;
        if map.unrefined() {
            dg.caveat = Some(crate::landscape::map::UNREFINED_NOTE.to_string());
        }
        Ok(dg)
    }

    /// The picture's title: "disconnectivity graph", with the caveat's first clause when there
    /// is one (the summary has all of it).
    pub fn title(&self) -> String {
        match &self.caveat {
            Some(c) => format!(
                "disconnectivity graph ({})",
                c.split(';').next().unwrap_or(c)
            ),
            None => "disconnectivity graph".to_string(),
        }
    }

    /// Number of nodes (leaves and merges).
    pub fn n_nodes(&self) -> usize {
        self.leaves.len() + self.merges.len()
    }

    /// Energy of node `id`.
    pub fn energy(&self, id: usize) -> f64 {
        if id < self.leaves.len() {
            self.leaves[id].energy
        } else {
            self.merges[id - self.leaves.len()].energy
        }
    }

    /// Children of node `id` (empty for leaves).
    pub fn children(&self, id: usize) -> &[usize] {
        if id < self.leaves.len() {
            &[]
        } else {
            &self.merges[id - self.leaves.len()].children
        }
    }

    /// The group ids of the leaves from left to right.
    pub fn leaf_ids(&self) -> Vec<usize> {
        self.order.iter().map(|&l| self.leaves[l].id).collect()
    }

    /// Horizontal positions of every node: leaves at `0, 1, 2, ...` in drawing order (with a gap
    /// of one between the trees of a forest); a merge node at the middle of its children.
    pub fn node_x(&self) -> Vec<f64> {
        let mut x = vec![0.0; self.n_nodes()];
        let mut pos = 0.0;
        for &r in &self.roots {
            for l in self.subtree_leaves(r) {
                x[l] = pos;
                pos += 1.0;
            }
            pos += 1.0;
        }
        // Merges are stored children-first, so a forward pass suffices.
        for k in 0..self.merges.len() {
            let c = &self.merges[k].children;
            let (lo, hi) = c
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &ch| {
                    (lo.min(x[ch]), hi.max(x[ch]))
                });
            x[self.leaves.len() + k] = 0.5 * (lo + hi);
        }
        x
    }

    /// The energy at which every pair of leaves merges, by leaf index (the input order):
    /// the leaf's own energy on the diagonal, `None` across trees. Each merge node sets the
    /// level of the pairs whose leaves lie under different children.
    pub fn leaf_levels(&self) -> Vec<Vec<Option<f64>>> {
        let nl = self.leaves.len();
        let mut level = vec![vec![None; nl]; nl];
        for (i, row) in level.iter_mut().enumerate() {
            row[i] = Some(self.leaves[i].energy);
        }
        let mut under: Vec<Vec<usize>> = (0..nl).map(|i| vec![i]).collect();
        for m in &self.merges {
            for (x, &c) in m.children.iter().enumerate() {
                for &d in &m.children[x + 1..] {
                    for &p in &under[c] {
                        for &q in &under[d] {
                            level[p][q] = Some(m.energy);
                            level[q][p] = Some(m.energy);
                        }
                    }
                }
            }
            let all: Vec<usize> = m
                .children
                .iter()
                .flat_map(|&c| under[c].iter().copied())
                .collect();
            under.push(all);
        }
        level
    }
    /// Leaf node ids under node `id`, left to right.
    pub fn subtree_leaves(&self, id: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(v) = stack.pop() {
            if v < self.leaves.len() {
                out.push(v);
            } else {
                stack.extend(self.children(v).iter().rev());
            }
        }
        out
    }

    /// The tree as JSON text.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Reads a tree from JSON text.
    pub fn from_json(text: &str) -> Result<Dg> {
        let dg: Dg = serde_json::from_str(text)?;
        dg.validate()?;
        Ok(dg)
    }

    /// Writes the tree as JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        crate::tensor_io::write_atomic(path, self.to_json()?.as_bytes())
    }

    /// Reads a tree saved by [`Dg::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Dg> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).with_path(path)?;
        Dg::from_json(&text)
    }

    /// Checks that a tree read from a file could be true: node references in range, every
    /// node the child of at most one merge, every merge of at least two children at a finite
    /// energy no lower than any child's (a basin cannot join another below its own floor),
    /// finite leaf energies.
    fn validate(&self) -> Result<()> {
        let n = self.n_nodes();
        let nl = self.leaves.len();
        if let Some(l) = self.leaves.iter().position(|l| !l.energy.is_finite()) {
            return Err(invalid(format!("dg: leaf {l}'s energy is not finite")));
        }
        let mut parent = vec![None; n];
        for (k, m) in self.merges.iter().enumerate() {
            if m.children.iter().any(|&c| c >= nl + k) {
                return Err(invalid("dg: a merge refers to a later or unknown node"));
            }
            if m.children.len() < 2 {
                return Err(invalid(format!(
                    "dg: merge {} has fewer than two children",
                    nl + k
                )));
            }
            if !m.energy.is_finite() {
                return Err(invalid(format!(
                    "dg: merge {}'s energy is not finite",
                    nl + k
                )));
            }
            for &c in &m.children {
                if let Some(p) = parent[c] {
                    return Err(invalid(format!(
                        "dg: node {c} is a child of both merge {p} and merge {}",
                        nl + k
                    )));
                }
                parent[c] = Some(nl + k);
                let below = if c < nl {
                    self.leaves[c].energy
                } else {
                    self.merges[c - nl].energy
                };
                if m.energy < below - 1e-9 * (1.0 + below.abs()) {
                    return Err(invalid(format!(
                        "dg: merge {} at {} lies below its child {c} at {below}",
                        nl + k,
                        m.energy
                    )));
                }
            }
        }
        if self.roots.iter().chain(&self.order).any(|&r| r >= n)
            || self.order.iter().any(|&l| l >= self.leaves.len())
        {
            return Err(invalid("dg: unknown node in roots or order"));
        }
        Ok(())
    }

    /// Drops merge nodes absorbed into equal-energy parents and renumbers.
    fn compact(&mut self) {
        let nl = self.leaves.len();
        let mut reachable = vec![false; self.n_nodes()];
        let mut stack = self.roots.clone();
        while let Some(v) = stack.pop() {
            if !reachable[v] {
                reachable[v] = true;
                stack.extend(self.children(v).iter().copied());
            }
        }
        self.rebuild(|id| reachable[id], nl);
    }

    /// Keeps the leaves marked in `keep`, removing empty merges and collapsing single-child ones.
    fn pruned(&self, keep: &[bool]) -> Dg {
        let nl = self.leaves.len();
        // For each node: the node that represents it after pruning (None when empty).
        let mut rep: Vec<Option<usize>> = (0..nl)
            .map(|i| if keep[i] { Some(i) } else { None })
            .collect();
        let mut merges: Vec<(Vec<usize>, f64)> = Vec::new();
        for m in &self.merges {
            let kids: Vec<usize> = m.children.iter().filter_map(|&c| rep[c]).collect();
            rep.push(match kids.len() {
                0 => None,
                1 => Some(kids[0]),
                _ => {
                    merges.push((kids, m.energy));
                    Some(usize::MAX - (merges.len() - 1)) // temporary id for merge k
                }
            });
        }
        let leaf_map: Vec<Option<usize>> = {
            let mut next = 0;
            keep.iter()
                .map(|&k| {
                    if k {
                        next += 1;
                        Some(next - 1)
                    } else {
                        None
                    }
                })
                .collect()
        };
        let kept_leaves: Vec<DgLeaf> = self
            .leaves
            .iter()
            .zip(keep)
            .filter(|(_, &k)| k)
            .map(|(l, _)| l.clone())
            .collect();
        let nk = kept_leaves.len();
        let map = |id: usize| {
            if id > usize::MAX / 2 {
                nk + (usize::MAX - id)
            } else {
                leaf_map[id].unwrap_or(0)
            }
        };
        let merges: Vec<DgMerge> = merges
            .into_iter()
            .map(|(kids, e)| DgMerge {
                children: kids.into_iter().map(map).collect(),
                energy: e,
            })
            .collect();
        let roots: Vec<usize> = self.roots.iter().filter_map(|&r| rep[r]).map(map).collect();
        Dg {
            leaves: kept_leaves,
            merges,
            roots,
            order: Vec::new(),
            leaf_order: self.leaf_order,
            caveat: self.caveat.clone(),
        }
    }

    /// Renumbers keeping the merge nodes for which `alive` holds (leaves always stay).
    fn rebuild(&mut self, alive: impl Fn(usize) -> bool, nl: usize) {
        let mut new_id = vec![usize::MAX; self.n_nodes()];
        for (i, id) in new_id.iter_mut().enumerate().take(nl) {
            *id = i;
        }
        let mut merges = Vec::new();
        for k in 0..self.merges.len() {
            if alive(nl + k) {
                new_id[nl + k] = nl + merges.len();
                let m = &self.merges[k];
                merges.push(DgMerge {
                    children: m.children.iter().map(|&c| new_id[c]).collect(),
                    energy: m.energy,
                });
            }
        }
        self.roots = self.roots.iter().map(|&r| new_id[r]).collect();
        self.merges = merges;
    }

    /// Lowest leaf energy under each node (with the leaf node id for tie-breaking).
    fn lowest(&self) -> Vec<(f64, usize)> {
        let nl = self.leaves.len();
        let mut low: Vec<(f64, usize)> = self
            .leaves
            .iter()
            .enumerate()
            .map(|(i, l)| (l.energy, i))
            .collect();
        for m in &self.merges {
            let best = m
                .children
                .iter()
                .map(|&c| low[c])
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .unwrap_or((f64::INFINITY, nl));
            low.push(best);
        }
        low
    }

    /// Orders children and roots, then records the leaf order.
    fn order_leaves(&mut self) {
        let nl = self.leaves.len();
        let low = self.lowest();
        let cmp = |a: &usize, b: &usize| {
            low[*a]
                .0
                .total_cmp(&low[*b].0)
                .then(low[*a].1.cmp(&low[*b].1))
        };
        for m in &mut self.merges {
            m.children.sort_by(cmp);
        }
        self.roots.sort_by(cmp);
        if self.leaf_order == LeafOrder::Center {
            // Path from the global minimum's root down to the global minimum.
            let gmin = low[self.roots[0]].1;
            let mut parent = vec![usize::MAX; self.n_nodes()];
            for (k, m) in self.merges.iter().enumerate() {
                for &c in &m.children {
                    parent[c] = nl + k;
                }
            }
            let size: Vec<usize> = (0..self.n_nodes())
                .map(|v| self.subtree_leaves(v).len())
                .collect();
            let (mut left, mut right) = (0usize, 0usize);
            let mut node = gmin;
            while parent[node] != usize::MAX {
                let p = parent[node];
                let k = p - nl;
                let siblings: Vec<usize> = self.merges[k]
                    .children
                    .iter()
                    .copied()
                    .filter(|&c| c != node)
                    .collect();
                self.merges[k].children =
                    place_around(node, siblings, &size, &mut left, &mut right);
                node = p;
            }
            // Trees of a forest: the one holding the global minimum in the middle.
            let others: Vec<usize> = self.roots[1..].to_vec();
            self.roots = place_around(node, others, &size, &mut left, &mut right);
        }
        self.order = self
            .roots
            .iter()
            .flat_map(|&r| self.subtree_leaves(r))
            .collect();
    }
}

/// `centre` with `others` placed on whichever side has fewer leaves so far (`left`, `right`
/// count them and are updated); the first placed sit closest to the centre.
fn place_around(
    centre: usize,
    others: Vec<usize>,
    size: &[usize],
    left: &mut usize,
    right: &mut usize,
) -> Vec<usize> {
    let (mut l, mut r) = (Vec::new(), Vec::new());
    for s in others {
        if *left < *right {
            *left += size[s];
            l.push(s);
        } else {
            *right += size[s];
            r.push(s);
        }
    }
    l.reverse();
    l.push(centre);
    l.extend(r);
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_minimum_is_one_leaf() {
        let dg = Dg::build(&[1.0], &[vec![None]], &[]).unwrap();
        assert_eq!(dg.roots, vec![0]);
        assert_eq!(dg.order, vec![0]);
        assert!(dg.merges.is_empty());
    }
}
