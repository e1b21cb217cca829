//! A map's states in binary sidecars: a map of thousands of 12,288-dimensional minima does not
//! fit in JSON text, so its states go to `.npy` matrices beside the JSON (`NAME.minima.npy`,
//! `NAME.proposals.npy`, one float64 row per record) and the JSON names them in
//! `state_files`. Groups point at their representative's row.
//!
//! The row files are append-only logs: minima and proposals only ever grow during a mapping,
//! so a checkpoint appends the rows that are new since the last one ([`append_npy_rows`]) and
//! the JSON, written atomically afterwards, counts the rows it trusts. A crash at any point
//! leaves the last good JSON with every row it counts. When the rows written before changed
//! (another map saved to the same path), the file is written whole under the other of two
//! names, so the old JSON keeps its own file until the new JSON replaces it.

use super::map::LandscapeMap;
use crate::tensor_io::{append_npy_rows, read_npy, write_npy_rows};
use crate::{error::invalid, Result};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where [`LandscapeMap::save_with`] puts the states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateStorage {
    /// In the JSON up to [`INLINE_LIMIT`] state values, in binary sidecars beyond.
    Auto,
    /// Always in the JSON.
    Json,
    /// Always in binary sidecars.
    Binary,
}

impl StateStorage {
    /// The storage named `"auto"`, `"json"` or `"binary"`.
    pub fn parse(name: &str) -> Result<StateStorage> {
        match name {
            "auto" => Ok(StateStorage::Auto),
            "json" => Ok(StateStorage::Json),
            "binary" => Ok(StateStorage::Binary),
            other => Err(invalid(format!(
                "states must be \"auto\", \"json\" or \"binary\", not \"{other}\""
            ))),
        }
    }
}

/// With [`StateStorage::Auto`], maps holding more state values than this (about 20 MB of JSON
/// text) keep their states in binary sidecars.
pub const INLINE_LIMIT: usize = 1_000_000;

/// The sidecar files of a map whose states are stored in binary, as its JSON records them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StateFiles {
    /// State dimension (columns of every file).
    pub dim: usize,
    /// File beside the JSON holding the minima's states: row `i` is `minima[i]`.
    pub minima: String,
    /// File holding the proposals' states, row `j` is `proposals[j]` (when proposals were kept).
    #[serde(default)]
    pub proposals: Option<String>,
    /// Row in the minima file of each group's representative (`None`: group states are in
    /// the JSON).
    #[serde(default)]
    pub group_minima: Option<Vec<usize>>,
}

thread_local! {
    static RECORD_STATES_ELSEWHERE: Cell<bool> = const { Cell::new(false) };
    static GROUP_STATES_ELSEWHERE: Cell<bool> = const { Cell::new(false) };
}

/// `skip_serializing_if` of minimum and proposal states: true while a binary save writes them
/// to the sidecar.
pub(super) fn record_state_elsewhere(_: &[f64]) -> bool {
    RECORD_STATES_ELSEWHERE.with(Cell::get)
}

/// `skip_serializing_if` of group states: true while a binary save refers to their rows.
pub(super) fn group_state_elsewhere(_: &[f64]) -> bool {
    GROUP_STATES_ELSEWHERE.with(Cell::get)
}

/// Sets the two flags for the lifetime of the guard.
struct Elsewhere;

impl Elsewhere {
    fn set(records: bool, groups: bool) -> Elsewhere {
        RECORD_STATES_ELSEWHERE.with(|c| c.set(records));
        GROUP_STATES_ELSEWHERE.with(|c| c.set(groups));
        Elsewhere
    }
}

impl Drop for Elsewhere {
    fn drop(&mut self) {
        RECORD_STATES_ELSEWHERE.with(|c| c.set(false));
        GROUP_STATES_ELSEWHERE.with(|c| c.set(false));
    }
}

/// What this process last wrote to (or read from) a row file: its path, the rows it holds and
/// the hash of those rows, so that the next save appends only new rows when the old ones are
/// unchanged.
#[derive(Clone, Debug)]
struct Log {
    file: PathBuf,
    rows: usize,
    hash: u64,
}

impl Log {
    /// The log of a file that holds exactly `rows`.
    fn of(file: PathBuf, rows: &[Vec<f64>]) -> Log {
        Log {
            file,
            rows: rows.len(),
            hash: hash_rows(HASH_START, rows.iter().map(Vec::as_slice)),
        }
    }
}

/// The row files this map was last saved to or loaded from (not saved itself).
#[derive(Clone, Debug, Default)]
pub struct StatesWritten(RefCell<HashMap<&'static str, Log>>);

/// A fast hash of float rows (their bits), continued row by row.
fn hash_rows<'a>(mut h: u64, rows: impl Iterator<Item = &'a [f64]>) -> u64 {
    for r in rows {
        for v in r {
            h = (h ^ v.to_bits())
                .wrapping_mul(0x100_0000_01b3)
                .rotate_left(29);
        }
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
    h
}

const HASH_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The JSON's `state_files`, read without the rest of the map.
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    state_files: Option<StateFiles>,
}

/// What a binary save writes to the JSON besides the map.
#[derive(Serialize)]
struct WithFiles<'a> {
    state_files: &'a StateFiles,
    #[serde(flatten)]
    map: &'a LandscapeMap,
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "map".into())
}

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The `state_files` of the JSON now at `path`, if it has them.
fn current_files(path: &Path) -> Option<StateFiles> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str::<Header>(&text).ok()?.state_files
}

impl LandscapeMap {
    /// Number of state values the map holds (groups, minima and proposals).
    pub fn state_values(&self) -> usize {
        let count = |n: usize, d: Option<usize>| n * d.unwrap_or(0);
        count(
            self.groups.len(),
            self.groups.first().map(|g| g.state.len()),
        ) + count(
            self.minima.len(),
            self.minima.first().map(|m| m.state.len()),
        ) + count(
            self.proposals.len(),
            self.proposals.first().map(|p| p.state.len()),
        )
    }

    /// Writes the map to `path` with its states where `storage` says (see the module docs).
    /// The JSON is written atomically after its sidecars.
    pub fn save_with(&self, path: &Path, storage: StateStorage) -> Result<()> {
        crate::profile::time(crate::profile::Phase::Save, || {
            self.save_untimed(path, storage)
        })
    }

    fn save_untimed(&self, path: &Path, storage: StateStorage) -> Result<()> {
        let binary = match storage {
            StateStorage::Auto => self.state_values() > INLINE_LIMIT,
            StateStorage::Json => false,
            StateStorage::Binary => true,
        };
        if !binary || self.minima.is_empty() {
            let text = serde_json::to_string_pretty(self)?;
            return crate::tensor_io::write_atomic(path, text.as_bytes());
        }
        let dim = self.minima[0].state.len();
        let all_dims = self
            .groups
            .iter()
            .map(|g| g.state.len())
            .chain(self.minima.iter().map(|m| m.state.len()))
            .chain(self.proposals.iter().map(|p| p.state.len()));
        if let Some(bad) = all_dims.into_iter().find(|&d| d != dim) {
            return Err(invalid(format!(
                "the map mixes states of {dim} and {bad} coordinates"
            )));
        }
        let previous = current_files(path);
        let minima = self.write_rows(
            path,
            "minima",
            previous.as_ref().map(|f| f.minima.clone()),
            dim,
            self.minima.iter().map(|m| m.state.as_slice()),
        )?;
        let proposals = if self.proposals.is_empty() {
            None
        } else {
            Some(self.write_rows(
                path,
                "proposals",
                previous.as_ref().and_then(|f| f.proposals.clone()),
                dim,
                self.proposals.iter().map(|p| p.state.as_slice()),
            )?)
        };
        let files = StateFiles {
            dim,
            minima,
            proposals,
            group_minima: self.group_rows(),
        };
        let text = {
            let _hidden = Elsewhere::set(true, files.group_minima.is_some());
            serde_json::to_string_pretty(&WithFiles {
                state_files: &files,
                map: self,
            })?
        };
        crate::tensor_io::write_atomic(path, text.as_bytes())?;
        // The files the old JSON named and the new one does not are stale now.
        if let Some(old) = previous {
            let keep = [Some(&files.minima), files.proposals.as_ref()];
            for name in [Some(old.minima), old.proposals].into_iter().flatten() {
                if !keep.contains(&Some(&name)) {
                    let _ = std::fs::remove_file(folder(path).join(name));
                }
            }
        }
        Ok(())
    }

    /// Row of each group's representative among the minima (by exact state), or `None` when
    /// some representative is not a minimum.
    fn group_rows(&self) -> Option<Vec<usize>> {
        let mut by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, m) in self.minima.iter().enumerate() {
            by_hash
                .entry(hash_rows(HASH_START, std::iter::once(m.state.as_slice())))
                .or_default()
                .push(i);
        }
        self.groups
            .iter()
            .map(|g| {
                let h = hash_rows(HASH_START, std::iter::once(g.state.as_slice()));
                by_hash
                    .get(&h)?
                    .iter()
                    .copied()
                    .find(|&i| self.minima[i].state == g.state)
            })
            .collect()
    }

    /// Writes one kind of rows for a map saved at `path`, appending when the file this process
    /// wrote last still holds our first rows; returns the file name.
    fn write_rows<'a>(
        &self,
        path: &Path,
        kind: &'static str,
        named_now: Option<String>,
        dim: usize,
        rows: impl ExactSizeIterator<Item = &'a [f64]> + Clone,
    ) -> Result<String> {
        let names = [
            format!("{}.{kind}.npy", stem(path)),
            format!("{}.{kind}.b.npy", stem(path)),
        ];
        let n = rows.len();
        let mut logs = self.written.0.borrow_mut();
        if let Some(log) = logs.get(kind).cloned() {
            let name = log
                .file
                .file_name()
                .map(|f| f.to_string_lossy().to_string());
            let same_file = log.file.parent() == Some(folder(path))
                && name.is_some()
                && name == named_now
                && log.file.is_file();
            if same_file && log.rows <= n {
                let prefix = hash_rows(HASH_START, rows.clone().take(log.rows));
                if prefix == log.hash {
                    let new_rows: Vec<&[f64]> = rows.clone().skip(log.rows).collect();
                    if !new_rows.is_empty() {
                        append_npy_rows(&log.file, dim, log.rows, new_rows.into_iter())?;
                    }
                    let name = name.unwrap_or_default();
                    let hash = hash_rows(prefix, rows.skip(log.rows));
                    logs.insert(
                        kind,
                        Log {
                            file: log.file,
                            rows: n,
                            hash,
                        },
                    );
                    return Ok(name);
                }
            }
        }
        // A whole new file, under the name the JSON now at `path` does not use.
        let name = if named_now.as_deref() == Some(names[0].as_str()) {
            names[1].clone()
        } else {
            names[0].clone()
        };
        let file = folder(path).join(&name);
        let note = match &self.provenance {
            Some(p) => format!(
                "telescope provenance: {}",
                serde_json::to_string(p).unwrap_or_default()
            ),
            None => String::new(),
        };
        write_npy_rows(&file, dim, &note, rows.clone())?;
        logs.insert(
            kind,
            Log {
                file,
                rows: n,
                hash: hash_rows(HASH_START, rows),
            },
        );
        Ok(name)
    }

    /// Fills the states of a map just parsed from `path` whose JSON names binary sidecars.
    pub(super) fn read_state_files(&mut self, path: &Path, text: &str) -> Result<()> {
        let Some(files) = serde_json::from_str::<Header>(text)?.state_files else {
            return Ok(());
        };
        let dir = folder(path);
        let rows = |name: &str, need: usize| -> Result<(PathBuf, Vec<Vec<f64>>)> {
            let file = dir.join(name);
            let (values, shape) = read_npy(&file)?;
            if shape.len() != 2 || shape[1] != files.dim || shape[0] < need {
                return Err(invalid(format!(
                    "{}: holds {shape:?}; the map needs {need} rows of {}",
                    file.display(),
                    files.dim
                )));
            }
            let rows = values
                .chunks_exact(files.dim.max(1))
                .take(need)
                .map(<[f64]>::to_vec)
                .collect();
            Ok((file, rows))
        };
        let (file, minima) = rows(&files.minima, self.minima.len())?;
        let mut logs = self.written.0.borrow_mut();
        logs.insert("minima", Log::of(file, &minima));
        for (m, s) in self.minima.iter_mut().zip(minima) {
            m.state = s;
        }
        if let Some(name) = &files.proposals {
            let (file, proposals) = rows(name, self.proposals.len())?;
            logs.insert("proposals", Log::of(file, &proposals));
            for (p, s) in self.proposals.iter_mut().zip(proposals) {
                p.state = s;
            }
        }
        if let Some(rows) = &files.group_minima {
            if rows.len() != self.groups.len() || rows.iter().any(|&r| r >= self.minima.len()) {
                return Err(invalid(
                    "state_files.group_minima does not match the groups and minima",
                ));
            }
            for (g, &r) in self.groups.iter_mut().zip(rows) {
                g.state = self.minima[r].state.clone();
            }
        }
        Ok(())
    }
}
