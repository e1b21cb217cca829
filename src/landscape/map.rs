//! The result of a mapping as data: groups, minima, barriers, parameters; saved as JSON.

use super::adelm::AdelmOptions;
use crate::{error::invalid, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A basin group: its representative (lowest minimum found in it) and how many minima joined.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Group {
    /// Group index (row of the barrier matrix).
    pub id: usize,
    /// The representative minimum.
    pub state: Vec<f64>,
    /// Its energy.
    pub energy: f64,
    /// Local minima sorted into the group (repeats counted).
    pub members: usize,
}

/// A distinct local minimum found by the mapping.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MinimumRecord {
    /// The minimum.
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
    /// The starting state.
    pub state: Vec<f64>,
    /// Index into `minima` of the minimum it descended to.
    pub minimum: usize,
}

/// Counters of the work done.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MapStats {
    /// AD trials run while grouping.
    pub ad_trials: usize,
    /// Of those, successful.
    pub ad_successes: usize,
    /// Minima assigned without AD because they had been found before.
    pub repeats: usize,
    /// Groups merged by consolidation.
    pub merges: usize,
    /// Seconds spent.
    pub seconds: f64,
}

/// An energy landscape map (ADELM output). JSON schema in the README.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LandscapeMap {
    /// telescope version that wrote it.
    pub version: String,
    /// Seed of the run.
    pub seed: u64,
    /// Description of the energy.
    pub energy: serde_json::Value,
    /// Mapping parameters.
    pub params: AdelmOptions,
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
    /// True when the run was stopped by Ctrl-C before finishing.
    pub interrupted: bool,
    /// Work counters.
    pub stats: MapStats,
}

impl LandscapeMap {
    /// Writes the map as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text).map_err(|e| invalid(format!("{}: {e}", path.display())))
    }
    /// Reads a map written by [`LandscapeMap::save`].
    pub fn load(path: &Path) -> Result<LandscapeMap> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        let m: LandscapeMap = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("{}: not a telescope map: {e}", path.display())))?;
        m.check()?;
        Ok(m)
    }
    /// Checks internal consistency (after loading).
    pub fn check(&self) -> Result<()> {
        let g = self.groups.len();
        if self.barriers.len() != g || self.barriers.iter().any(|r| r.len() != g) {
            return Err(invalid(format!("barrier matrix is not {g}x{g}")));
        }
        if let Some(m) = self.minima.iter().find(|m| m.group >= g) {
            return Err(invalid(format!(
                "a minimum refers to group {} of {g}",
                m.group
            )));
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
    /// Records a barrier estimate between two groups, keeping the lower.
    pub fn offer_barrier(&mut self, i: usize, j: usize, b: f64) {
        if i == j || !b.is_finite() {
            return;
        }
        let lower = self.barriers[i][j].is_none_or(|old| b < old);
        if lower {
            self.barriers[i][j] = Some(b);
            self.barriers[j][i] = Some(b);
        }
    }
}
