//! The result of a mapping as data: groups, minima, barriers, parameters; saved as JSON (with
//! the states of large maps in binary sidecars: [`super::map_states`]).

use crate::{
    error::{invalid, WithPath},
    Result,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A basin group: its representative (lowest minimum found in it) and how many minima joined.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Group {
    /// Group index (row of the barrier matrix).
    pub id: usize,
    /// The representative minimum (in the JSON, or a row of the minima sidecar).
    #[serde(
        default,
        skip_serializing_if = "super::map_states::group_state_elsewhere"
    )]
    pub state: Vec<f64>,
    /// Its energy.
    pub energy: f64,
    /// Local minima sorted into the group (repeats counted).
    pub members: usize,
}

/// A distinct local minimum found by the mapping.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MinimumRecord {
    /// The minimum (in the JSON, or a row of the minima sidecar).
    #[serde(
        default,
        skip_serializing_if = "super::map_states::record_state_elsewhere"
    )]
    pub state: Vec<f64>,
    /// Its energy.
    pub energy: f64,
    /// The group it belongs to.
    pub group: usize,
    /// How many times the minimum search landed on it.
    pub count: usize,
    /// Iteration at which it was first found.
    pub iteration: usize,
}

/// A proposal (starting state) of the mapping and the minimum its search reached.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Proposal {
    /// The starting state (in the JSON, or a row of the proposals sidecar).
    #[serde(
        default,
        skip_serializing_if = "super::map_states::record_state_elsewhere"
    )]
    pub state: Vec<f64>,
    /// Index into `minima` of the minimum it descended to.
    pub minimum: usize,
}

/// How a stored barrier was obtained. Every kind is the maximum of U along a real path between
/// the two *current* representatives, so every stored barrier is an upper bound of their
/// minimax barrier; the kinds differ in how close to it they tend to be.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BarrierKind {
    /// A successful AD trial between the two representatives (placement or consolidation).
    Ad,
    /// Joined paths through another minimum: a new minimum that reached both groups, a
    /// representative replaced by a lower member, or the representative of a merged group.
    Via,
    /// The AD refinement of sections 3.4 / 4.3 (`barrier_matrix`, map completion).
    Refined,
    /// A greedy single-flip path (section 5.1): the fallback between groups AD never connected.
    Greedy,
    /// The maximum on the straight line: the fallback for continuous and level spaces.
    Line,
    /// Crossings between basins met by a GWL chain (lowered by ridge descent), possibly joined
    /// through other minima: [`super::gwl`].
    Transition,
    /// The highest image of a relaxed (D)NEB band between the two ([`super::from_minima`]).
    Neb,
    /// The highest point of a trained curve between the two ([`super::curve`]).
    Curve,
}

impl BarrierKind {
    /// The name used in JSON and scripts.
    pub fn name(&self) -> &'static str {
        match self {
            BarrierKind::Ad => "ad",
            BarrierKind::Via => "via",
            BarrierKind::Refined => "refined",
            BarrierKind::Greedy => "greedy",
            BarrierKind::Line => "line",
            BarrierKind::Transition => "transition",
            BarrierKind::Neb => "neb",
            BarrierKind::Curve => "curve",
        }
    }
}

/// One merge of two groups by consolidation: the two representatives whose AD trial connected
/// them (indices into `minima`) and that trial's barrier.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MergeRecord {
    /// Iteration count when the consolidation ran.
    pub iteration: usize,
    /// The representative kept (the lower energy).
    pub kept: usize,
    /// The representative of the group merged into it.
    pub merged: usize,
    /// Barrier of the successful AD trial between them.
    pub barrier: f64,
}

/// Counters of the work done.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MapStats {
    /// AD trials run while grouping.
    pub ad_trials: usize,
    /// Of those, successful.
    pub ad_successes: usize,
    /// Of those, near-misses: within delta of the target, but a descent from their end
    /// reached another minimum ([`super::ad::SuccessCheck`]); failures.
    #[serde(default)]
    pub ad_near_misses: usize,
    /// Minima assigned without AD because they had been found before.
    pub repeats: usize,
    /// Groups merged by consolidation.
    pub merges: usize,
    /// Pairs of groups whose barriers `barrier_matrix` refined (0: the barriers are the
    /// mapping's upper bounds only).
    #[serde(default)]
    pub refined_pairs: usize,
    /// Seconds spent.
    pub seconds: f64,
    /// Proposals placed: one per iteration (0 in maps saved before telescope counted them).
    #[serde(default)]
    pub proposals: usize,
    /// Minimizer iterations over all proposal batches (a batch's iterations count once).
    #[serde(default)]
    pub min_iterations: usize,
}

impl std::fmt::Display for MapStats {
    /// One line: AD trials and successes, proposals, minimizer work and time.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let share = if self.ad_trials > 0 {
            format!(
                " ({:.0}%)",
                100.0 * self.ad_successes as f64 / self.ad_trials as f64
            )
        } else {
            String::new()
        };
        write!(
            f,
            "MapStats: {} AD trials, {} succeeded{share}, {} near-misses; {} proposals, {} repeats, {} minimizer iterations; {} merges, {} refined pairs; {:.1} s",
            self.ad_trials,
            self.ad_successes,
            self.ad_near_misses,
            self.proposals,
            self.repeats,
            self.min_iterations,
            self.merges,
            self.refined_pairs,
            self.seconds
        )
    }
}

/// What a DG of a map whose barriers were never refined says about itself.
pub const UNREFINED_NOTE: &str =
    "unrefined: barriers are upper bounds from mapping; m.barrier_matrix(U, #{}) refines them";

/// Relative slack of [`LandscapeMap::offer_barrier`]'s check: energies of one state computed in
/// batches of different sizes may differ in their last bits (float32 energies in more).
pub const BARRIER_SLACK: f64 = 1e-6;

/// An energy landscape map (ADELM output). JSON schema in docs/map-files.md.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LandscapeMap {
    /// telescope version that wrote it.
    pub version: String,
    /// Seed of the run.
    pub seed: u64,
    /// Where the map came from: telescope's version and commit, libtorch's version, device,
    /// dtype, threads, CPU capability, MKL_CBWR, reproducible mode and seed (of the run that
    /// started the map). `null` in maps written before telescope recorded it.
    #[serde(default)]
    pub provenance: Option<crate::provenance::Provenance>,
    /// Description of the energy.
    pub energy: serde_json::Value,
    /// The mapping method that made it: `"adelm"` or `"gwl"`.
    #[serde(default = "adelm_method")]
    pub method: String,
    /// The method's parameters, as the method wrote them (ADELM: its options; GWL: its
    /// options and counts).
    pub params: serde_json::Value,
    /// Iterations completed.
    pub iterations: usize,
    /// Basin groups, by id.
    pub groups: Vec<Group>,
    /// Distinct local minima found.
    pub minima: Vec<MinimumRecord>,
    /// Every proposal with the minimum it reached, when the run kept them (`keep_proposals`):
    /// colouring proposals by their minimum's group shows the basins in the proposal space
    /// (Figure 19).
    #[serde(default)]
    pub proposals: Vec<Proposal>,
    /// Group-by-group barrier energies (max U along the best known path), `null` where unknown;
    /// the diagonal holds the group energies.
    pub barriers: Vec<Vec<Option<f64>>>,
    /// How each barrier was obtained, same shape as `barriers` (`null` on the diagonal and
    /// where unknown). Maps written before this field load with every kind unknown.
    #[serde(default)]
    pub barrier_kinds: Vec<Vec<Option<BarrierKind>>>,
    /// Every merge made by consolidation, in order.
    #[serde(default)]
    pub merges: Vec<MergeRecord>,
    /// Iteration count at which representatives were last consolidated (so a resumed run
    /// neither skips nor repeats a consolidation).
    #[serde(default)]
    pub consolidated_at: usize,
    /// True when the run was stopped by Ctrl-C before finishing.
    pub interrupted: bool,
    /// Work counters.
    pub stats: MapStats,
    /// The binary state files this map was last saved to or loaded from (not saved).
    #[serde(skip)]
    pub written: super::map_states::StatesWritten,
}

fn adelm_method() -> String {
    "adelm".into()
}

/// The rows and columns of a square matrix whose `keep` flag is set.
fn keep_square<T: Copy>(m: &[Vec<T>], keep: &[bool]) -> Vec<Vec<T>> {
    let kept = |row: &[T]| -> Vec<T> {
        row.iter()
            .zip(keep)
            .filter(|(_, &k)| k)
            .map(|(v, _)| *v)
            .collect()
    };
    m.iter()
        .zip(keep)
        .filter(|(_, &k)| k)
        .map(|(r, _)| kept(r))
        .collect()
}

impl LandscapeMap {
    /// True for an ADELM map of two or more groups whose barriers `barrier_matrix` never
    /// refined: they are the upper bounds that mapping found (a DG of it may merge basins
    /// higher, and less symmetrically, than the landscape does).
    pub fn unrefined(&self) -> bool {
        self.method == "adelm" && self.groups.len() >= 2 && self.stats.refined_pairs == 0
    }

    /// An empty map of `energy` made by `method` with these parameters and seed.
    pub fn empty(
        method: &str,
        energy: serde_json::Value,
        params: serde_json::Value,
        seed: u64,
    ) -> LandscapeMap {
        LandscapeMap {
            version: crate::version().to_string(),
            seed,
            provenance: Some(crate::provenance::Provenance::current(seed)),
            energy,
            method: method.into(),
            params,
            iterations: 0,
            groups: vec![],
            minima: vec![],
            proposals: vec![],
            barriers: vec![],
            barrier_kinds: vec![],
            merges: vec![],
            consolidated_at: 0,
            interrupted: false,
            stats: MapStats::default(),
            written: Default::default(),
        }
    }
    /// Writes the map as pretty JSON, atomically: a temporary file beside `path` is written,
    /// synced and renamed over it, so a crash never leaves a partial file or loses the last
    /// good one. Large maps keep their states in binary sidecars
    /// ([`super::map_states::StateStorage::Auto`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_with(path, super::map_states::StateStorage::Auto)
    }
    /// Reads a map written by [`LandscapeMap::save`].
    pub fn load(path: &Path) -> Result<LandscapeMap> {
        let text = std::fs::read_to_string(path).with_path(path)?;
        let mut m: LandscapeMap = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("{}: not a telescope map: {e}", path.display())))?;
        m.read_state_files(path, &text).with_path(path)?;
        let g = m.groups.len();
        if m.barrier_kinds.is_empty() {
            m.barrier_kinds = vec![vec![None; g]; g];
        }
        m.check().with_path(path)?;
        Ok(m)
    }
    /// `Ok` when every state of the map (group representatives and minima) has the dimension
    /// of `e`: a map made for another energy is refused before anything indexes its states.
    pub fn check_energy(&self, e: &dyn crate::energy::Energy) -> Result<()> {
        let Some(d) = e.dim() else { return Ok(()) };
        let states = self
            .groups
            .iter()
            .map(|g| &g.state)
            .chain(self.minima.iter().map(|m| &m.state));
        match states.map(Vec::len).find(|&len| len != d) {
            Some(len) => Err(invalid(format!(
                "the map's states have {len} coordinates but {} has {d}: was the map made for another energy?",
                e.name()
            ))),
            None => Ok(()),
        }
    }
    /// Checks that the map could be true (after loading, before resuming): every invariant
    /// that `adelm` and `gwl` keep. Matrices are `groups x groups`, symmetric, with the group
    /// energies on the diagonal; every barrier is finite and at least the higher energy of its
    /// two groups (every path between them passes both ends); a kind is recorded only beside a
    /// barrier; ids are in range; every state has the map's dimension; counts are at least
    /// one; each group's representative is one of its own minima, with its energy. Each
    /// violation names the field and the group or minimum.
    pub fn check(&self) -> Result<()> {
        let g = self.groups.len();
        let bad = |msg: String| Err(invalid(msg));
        if self.barriers.len() != g || self.barriers.iter().any(|r| r.len() != g) {
            return bad(format!("barrier matrix is not {g}x{g}"));
        }
        if self.barrier_kinds.len() != g || self.barrier_kinds.iter().any(|r| r.len() != g) {
            return bad(format!("barrier kind matrix is not {g}x{g}"));
        }
        if let Some(m) = self.minima.iter().find(|m| m.group >= g) {
            return bad(format!("a minimum refers to group {} of {g}", m.group));
        }
        if let Some(p) = self
            .proposals
            .iter()
            .find(|p| p.minimum >= self.minima.len())
        {
            return bad(format!(
                "a proposal refers to minimum {} of {}",
                p.minimum,
                self.minima.len()
            ));
        }
        // States: one dimension for all of them.
        let dim = self
            .groups
            .first()
            .map(|gr| gr.state.len())
            .or_else(|| self.minima.first().map(|m| m.state.len()));
        if let Some(d) = dim {
            if let Some(gr) = self.groups.iter().find(|gr| gr.state.len() != d) {
                return bad(format!(
                    "groups[{}].state has {} values, group 0's has {d}",
                    gr.id,
                    gr.state.len()
                ));
            }
            if let Some(k) = self.minima.iter().position(|m| m.state.len() != d) {
                return bad(format!(
                    "minima[{k}].state has {} values, the groups' have {d}",
                    self.minima[k].state.len()
                ));
            }
            if let Some(k) = self
                .proposals
                .iter()
                .position(|p| !p.state.is_empty() && p.state.len() != d)
            {
                return bad(format!(
                    "proposals[{k}].state has {} values, the groups' have {d}",
                    self.proposals[k].state.len()
                ));
            }
        }
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        for (i, gr) in self.groups.iter().enumerate() {
            if gr.id != i {
                return bad(format!("groups[{i}] has id {}", gr.id));
            }
            if !gr.energy.is_finite() || !finite(&gr.state) {
                return bad(format!("group {i}: its energy or state is not finite"));
            }
            if gr.members < 1 {
                return bad(format!("group {i} has {} members", gr.members));
            }
        }
        for (k, m) in self.minima.iter().enumerate() {
            if !m.energy.is_finite() || !finite(&m.state) {
                return bad(format!("minima[{k}]: its energy or state is not finite"));
            }
            if m.count < 1 {
                return bad(format!("minima[{k}] has count {}", m.count));
            }
        }
        for (i, gr) in self.groups.iter().enumerate() {
            let own = self
                .minima
                .iter()
                .find(|m| m.group == i && m.state == gr.state);
            let rep = own.or_else(|| self.minima.iter().find(|m| m.state == gr.state));
            match rep {
                Some(m) if m.group == i => {
                    if (m.energy - gr.energy).abs() > BARRIER_SLACK * (1.0 + gr.energy.abs()) {
                        return bad(format!(
                            "group {i}'s energy {} is not its representative's {}",
                            gr.energy, m.energy
                        ));
                    }
                }
                Some(m) => {
                    return bad(format!(
                        "group {i}'s representative is a minimum of group {}",
                        m.group
                    ))
                }
                None if self.minima.is_empty() => {}
                None => return bad(format!("group {i}'s representative is none of its minima")),
            }
        }
        for i in 0..g {
            match self.barriers[i][i] {
                Some(e) if (e - self.groups[i].energy).abs() <= BARRIER_SLACK * (1.0 + e.abs()) => {
                }
                None => {}
                other => {
                    return bad(format!(
                        "barriers[{i}][{i}] is {other:?}, not group {i}'s energy {}",
                        self.groups[i].energy
                    ))
                }
            }
            for j in 0..g {
                if i == j {
                    continue;
                }
                let b = self.barriers[i][j];
                if b != self.barriers[j][i] {
                    return bad(format!(
                        "the barrier matrix is not symmetric: [{i}][{j}] is {b:?}, [{j}][{i}] is {:?}",
                        self.barriers[j][i]
                    ));
                }
                if self.barrier_kinds[i][j] != self.barrier_kinds[j][i] {
                    return bad(format!(
                        "barrier_kinds is not symmetric at groups {i} and {j}"
                    ));
                }
                if b.is_none() && self.barrier_kinds[i][j].is_some() {
                    return bad(format!(
                        "barrier_kinds[{i}][{j}] names a kind for a barrier that is absent"
                    ));
                }
                if let Some(b) = b {
                    let ends = self.groups[i].energy.max(self.groups[j].energy);
                    if !b.is_finite() || b < ends - BARRIER_SLACK * (1.0 + ends.abs()) {
                        return bad(format!(
                            "the barrier {b} between groups {i} and {j} lies below their higher energy {ends}: no path can"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
    /// Group energies, by id.
    pub fn group_energies(&self) -> Vec<f64> {
        self.groups.iter().map(|g| g.energy).collect()
    }
    /// Member counts, by id.
    pub fn member_counts(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.members).collect()
    }
    /// Records a barrier bound between the current representatives of groups `i` and `j`,
    /// keeping the lower of the old and new bound. A barrier below the higher of the two
    /// energies is impossible (every path between them passes both ends): an internal error.
    pub fn offer_barrier(&mut self, i: usize, j: usize, b: f64, kind: BarrierKind) -> Result<()> {
        if i == j || !b.is_finite() {
            return Ok(());
        }
        let ends = self.groups[i].energy.max(self.groups[j].energy);
        if b < ends - BARRIER_SLACK * (1.0 + ends.abs()) {
            return Err(crate::Error::Internal(format!(
                "a {} barrier {b} between groups {i} and {j} lies below their higher energy {ends}",
                kind.name()
            )));
        }
        let lower = self.barriers[i][j].is_none_or(|old| b < old);
        if lower {
            self.barriers[i][j] = Some(b);
            self.barriers[j][i] = Some(b);
            self.barrier_kinds[i][j] = Some(kind);
            self.barrier_kinds[j][i] = Some(kind);
        }
        Ok(())
    }
    /// Adds a group whose representative is the new minimum `state`; returns its id.
    pub fn add_group(&mut self, state: Vec<f64>, energy: f64, iteration: usize) -> usize {
        let id = self.groups.len();
        self.groups.push(Group {
            id,
            state: state.clone(),
            energy,
            members: 1,
        });
        for row in self.barriers.iter_mut() {
            row.push(None);
        }
        for row in self.barrier_kinds.iter_mut() {
            row.push(None);
        }
        let mut row = vec![None; id + 1];
        row[id] = Some(energy);
        self.barriers.push(row);
        self.barrier_kinds.push(vec![None; id + 1]);
        self.minima.push(MinimumRecord {
            state,
            energy,
            group: id,
            count: 1,
            iteration,
        });
        id
    }
    /// Makes `state` (energy `energy`, connected to the old representative of group `g` by a
    /// path whose maximum is `via`) the representative of `g`. Every bound of `g` stays a path
    /// bound for the new representative only through the old one, so it becomes
    /// `max(old bound, via)`.
    pub fn replace_representative(&mut self, g: usize, state: Vec<f64>, energy: f64, via: f64) {
        self.groups[g].state = state;
        self.groups[g].energy = energy;
        self.barriers[g][g] = Some(energy);
        for k in 0..self.groups.len() {
            if k == g {
                continue;
            }
            if let Some(b) = self.barriers[g][k] {
                if via > b {
                    self.barriers[g][k] = Some(via);
                    self.barriers[k][g] = Some(via);
                    self.barrier_kinds[g][k] = Some(BarrierKind::Via);
                    self.barrier_kinds[k][g] = Some(BarrierKind::Via);
                }
            }
        }
    }
    /// Merges group `gone` into group `keep`, whose representatives are connected by a path
    /// with maximum `b`; `keep`'s representative stays. A bound of `gone` to another group `k`
    /// becomes the bound `max(b, bound)` of `keep` through `gone`'s representative, kept when
    /// lower. `gone` keeps its row until [`LandscapeMap::retain_groups`] drops it.
    pub fn merge_groups(&mut self, keep: usize, gone: usize, b: f64) -> Result<()> {
        for k in 0..self.groups.len() {
            if k == keep || k == gone {
                continue;
            }
            if let Some(bk) = self.barriers[gone][k] {
                self.offer_barrier(keep, k, b.max(bk), BarrierKind::Via)?;
            }
        }
        self.groups[keep].members += self.groups[gone].members;
        self.groups[gone].members = 0;
        for m in self.minima.iter_mut().filter(|m| m.group == gone) {
            m.group = keep;
        }
        Ok(())
    }
    /// Drops the groups whose `keep` flag is false (after merges) and renumbers the rest.
    pub fn retain_groups(&mut self, keep: &[bool]) {
        let new_id: Vec<Option<usize>> = keep
            .iter()
            .scan(0usize, |next, &k| {
                Some(k.then(|| {
                    *next += 1;
                    *next - 1
                }))
            })
            .collect();
        self.barriers = keep_square(&self.barriers, keep);
        self.barrier_kinds = keep_square(&self.barrier_kinds, keep);
        let mut groups = Vec::new();
        for (g, &k) in self.groups.iter().zip(keep) {
            if k {
                let mut g = g.clone();
                g.id = groups.len();
                groups.push(g);
            }
        }
        self.groups = groups;
        for m in self.minima.iter_mut() {
            m.group = new_id[m.group].expect("minima were moved out of dropped groups");
        }
    }
    /// Index into `minima` of group `g`'s representative.
    pub fn representative(&self, g: usize) -> Option<usize> {
        let state = &self.groups[g].state;
        self.minima
            .iter()
            .position(|m| m.group == g && &m.state == state)
    }
    /// Connected components of the groups under the known barriers: `component[i]` is the
    /// smallest group id of `i`'s component. A map whose groups share one component has a
    /// disconnectivity graph that is one tree.
    pub fn components(&self) -> Vec<usize> {
        let g = self.groups.len();
        let mut uf = super::union_find::UnionFind::new(g);
        for i in 0..g {
            for j in i + 1..g {
                if self.barriers[i][j].is_some() {
                    uf.union(i, j);
                }
            }
        }
        (0..g).map(|i| uf.find(i)).collect()
    }
    /// How many connected components [`LandscapeMap::components`] finds (1: the DG is one tree).
    pub fn component_count(&self) -> usize {
        let c = self.components();
        (0..c.len()).filter(|&i| c[i] == i).count()
    }
}
