//! Maps whose states live in binary sidecars: exact round trips over generated maps, appends
//! that leave the rows written before untouched, and a last good JSON that still loads after
//! a crash mid-save.

use rand::{Rng, SeedableRng};
use std::path::Path;
use telescope::landscape::map::{Group, LandscapeMap, MinimumRecord, Proposal};
use telescope::landscape::map_states::StateStorage;

/// A fresh folder for one test, removed when the guard drops (also on a panic).
fn tmpdir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("telescope-states-{tag}-"))
        .tempdir()
        .unwrap()
}

/// Awkward floats: signed zeros, subnormals, huge and tiny magnitudes, ordinary values.
fn value(rng: &mut rand::rngs::StdRng) -> f64 {
    match rng.random_range(0..6) {
        0 => -0.0,
        1 => f64::MIN_POSITIVE / 3.0,
        2 => rng.random_range(-1.0..1.0) * 1e300,
        3 => rng.random_range(-1.0..1.0) * 1e-300,
        _ => rng.random_range(-3.0..3.0),
    }
}

/// A map with `minima` minima of dimension `dim`, groups represented by some of them, and
/// `proposals` proposals.
fn random_map(seed: u64, dim: usize, minima: usize, proposals: usize) -> LandscapeMap {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut m = LandscapeMap::empty(
        "test",
        serde_json::json!({"name": "t", "dim": dim}),
        serde_json::json!({}),
        seed,
    );
    let groups = 1 + minima / 3;
    for i in 0..minima {
        m.minima.push(MinimumRecord {
            state: (0..dim).map(|_| value(&mut rng)).collect(),
            energy: rng.random_range(-5.0..5.0),
            group: i % groups,
            count: 1 + i % 4,
            iteration: i,
        });
    }
    for g in 0..groups.min(minima) {
        m.groups.push(Group {
            id: g,
            state: m.minima[g].state.clone(),
            energy: m.minima[g].energy,
            members: 1,
        });
    }
    let g = m.groups.len();
    m.barriers = (0..g)
        .map(|i| {
            (0..g)
                .map(|j| (i == j).then(|| m.groups[i].energy))
                .collect()
        })
        .collect();
    m.barrier_kinds = vec![vec![None; g]; g];
    for j in 0..if minima > 0 { proposals } else { 0 } {
        m.proposals.push(Proposal {
            state: (0..dim).map(|_| value(&mut rng)).collect(),
            minimum: j % minima.max(1),
        });
    }
    m
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Equal states to the bit (so -0.0 is not 0.0), equal everything else.
fn same(a: &LandscapeMap, b: &LandscapeMap) {
    assert_eq!(a.groups.len(), b.groups.len());
    for (x, y) in a.groups.iter().zip(&b.groups) {
        assert_eq!(bits(&x.state), bits(&y.state));
        assert_eq!(
            (x.id, x.energy.to_bits(), x.members),
            (y.id, y.energy.to_bits(), y.members)
        );
    }
    assert_eq!(a.minima.len(), b.minima.len());
    for (x, y) in a.minima.iter().zip(&b.minima) {
        assert_eq!(bits(&x.state), bits(&y.state));
        assert_eq!(
            (x.group, x.count, x.iteration),
            (y.group, y.count, y.iteration)
        );
    }
    assert_eq!(a.proposals.len(), b.proposals.len());
    for (x, y) in a.proposals.iter().zip(&b.proposals) {
        assert_eq!(bits(&x.state), bits(&y.state));
        assert_eq!(x.minimum, y.minimum);
    }
    assert_eq!(a.barriers, b.barriers);
}

fn npy_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".npy"))
        .collect();
    v.sort();
    v
}

#[test]
fn binary_and_json_states_load_back_to_the_bit() {
    let tmp = tmpdir("roundtrip");
    let dir = tmp.path().to_path_buf();
    for case in 0..40u64 {
        let dim = [1, 2, 7, 64, 300][case as usize % 5];
        let (minima, proposals) = ((case % 9) as usize, (case % 4) as usize * 5);
        let m = random_map(case, dim, minima, proposals);
        for storage in [StateStorage::Binary, StateStorage::Json] {
            let path = dir.join(format!("m{case}.json"));
            m.save_with(&path, storage).unwrap();
            let back = LandscapeMap::load(&path).unwrap();
            same(&m, &back);
            let text = std::fs::read_to_string(&path).unwrap();
            let has_files = text.contains("\"state_files\"");
            assert_eq!(
                has_files,
                storage == StateStorage::Binary && minima > 0,
                "case {case}"
            );
        }
    }
    // Auto: small maps stay in the JSON, large ones go binary.
    let small = random_map(1, 10, 20, 10);
    small.save(&dir.join("small.json")).unwrap();
    assert!(!std::fs::read_to_string(dir.join("small.json"))
        .unwrap()
        .contains("state_files"));
    let big = random_map(2, 12_288, 90, 0);
    assert!(big.state_values() > telescope::landscape::map_states::INLINE_LIMIT);
    big.save(&dir.join("big.json")).unwrap();
    let json_len = std::fs::metadata(dir.join("big.json")).unwrap().len();
    assert!(
        json_len < 100_000,
        "the JSON of a binary map holds no states: {json_len} bytes"
    );
    same(&big, &LandscapeMap::load(&dir.join("big.json")).unwrap());
}

#[test]
fn a_growing_map_appends_rows_and_the_last_good_json_survives_a_crash() {
    let tmp = tmpdir("grow");
    let dir = tmp.path().to_path_buf();
    let path = dir.join("map.json");
    let full = random_map(7, 50, 30, 12);
    let upto = |k: usize, p: usize| {
        let mut m = full.clone();
        m.minima.truncate(k);
        m.proposals.truncate(p);
        m.groups
            .retain(|g| full.minima[..k].iter().any(|r| r.state == g.state));
        let g = m.groups.len();
        m.barriers.truncate(g);
        m.barriers.iter_mut().for_each(|r| r.truncate(g));
        m.barrier_kinds = vec![vec![None; g]; g];
        m.minima
            .iter_mut()
            .for_each(|r| r.group = r.group.min(g.saturating_sub(1)));
        m
    };
    // Checkpoints of one growing map (one value, as a mapping run holds it).
    let mut live = upto(10, 4);
    live.save_with(&path, StateStorage::Binary).unwrap();
    let first_json = std::fs::read_to_string(&path).unwrap();
    let first_rows = std::fs::read(dir.join("map.minima.npy")).unwrap();
    let first = LandscapeMap::load(&path).unwrap();
    for (k, p) in [(18, 4), (18, 9), (30, 12)] {
        let grown = upto(k, p);
        live.minima = grown.minima;
        live.proposals = grown.proposals;
        live.groups = grown.groups;
        live.barriers = grown.barriers;
        live.barrier_kinds = grown.barrier_kinds;
        live.save_with(&path, StateStorage::Binary).unwrap();
        // Appended: the same file, its first rows' bytes unchanged, one row per minimum.
        assert_eq!(npy_files(&dir), ["map.minima.npy", "map.proposals.npy"]);
        let rows = std::fs::read(dir.join("map.minima.npy")).unwrap();
        // The header (its length in bytes 8..10, after the magic and version) carries the
        // provenance note, so it is longer than numpy's 128 bytes; an append rewrites its shape
        // in place and never its length.
        let header = 10 + u16::from_le_bytes([rows[8], rows[9]]) as usize;
        assert_eq!(header % 64, 0, "numpy aligns the data to 64 bytes");
        assert_eq!(
            rows[8..10],
            first_rows[8..10],
            "the header keeps its length"
        );
        assert_eq!(rows.len(), header + k * 50 * 8);
        assert_eq!(rows[header..first_rows.len()], first_rows[header..]);
        same(&live, &LandscapeMap::load(&path).unwrap());
    }
    // A crash after the rows were appended but before the new JSON replaced the old one: the
    // old JSON counts only its own rows and loads exactly as it was saved.
    std::fs::write(&path, &first_json).unwrap();
    same(&first, &LandscapeMap::load(&path).unwrap());
    // An append cut short (half a row) after that JSON: the next save drops the partial row.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("map.minima.npy"))
        .unwrap();
    std::io::Write::write_all(&mut f, &[7u8; 200]).unwrap();
    drop(f);
    let mut resumed = LandscapeMap::load(&path).unwrap();
    resumed.minima.push(MinimumRecord {
        group: 0,
        ..full.minima[10].clone()
    });
    resumed.save_with(&path, StateStorage::Binary).unwrap();
    let back = LandscapeMap::load(&path).unwrap();
    assert_eq!(back.minima.len(), 11);
    assert_eq!(bits(&back.minima[10].state), bits(&full.minima[10].state));
}

#[test]
fn changed_rows_are_written_whole_under_the_other_name() {
    let tmp = tmpdir("rewrite");
    let dir = tmp.path().to_path_buf();
    let path = dir.join("map.json");
    let mut m = random_map(3, 20, 12, 0);
    m.save_with(&path, StateStorage::Binary).unwrap();
    let old_json = std::fs::read_to_string(&path).unwrap();
    assert_eq!(npy_files(&dir), ["map.minima.npy"]);
    // A row written before changes: no append; a whole file under the other name, and the
    // file the old JSON named is removed once the new JSON is in place.
    m.minima[0].state[0] += 1.0;
    m.groups[0].state = m.minima[0].state.clone();
    m.save_with(&path, StateStorage::Binary).unwrap();
    assert_eq!(npy_files(&dir), ["map.minima.b.npy"]);
    same(&m, &LandscapeMap::load(&path).unwrap());
    m.minima[1].state[1] -= 1.0;
    if m.groups.len() > 1 {
        m.groups[1].state = m.minima[1].state.clone();
    }
    m.save_with(&path, StateStorage::Binary).unwrap();
    assert_eq!(npy_files(&dir), ["map.minima.npy"]);
    same(&m, &LandscapeMap::load(&path).unwrap());
    // A JSON whose state file is gone is an error that names the file.
    std::fs::write(&path, &old_json).unwrap();
    std::fs::remove_file(dir.join("map.minima.npy")).unwrap();
    let e = LandscapeMap::load(&path).unwrap_err().to_string();
    assert!(e.contains("map.minima.npy"), "{e}");
    // A JSON counting more rows than its file holds is an error too.
    m.save_with(&path, StateStorage::Binary).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let grown = text.replacen(
        "\"minima\": [",
        &format!(
            "\"minima\": [{},",
            serde_json::to_string(&MinimumRecord {
                state: vec![],
                ..m.minima[0].clone()
            })
            .unwrap()
        ),
        1,
    );
    std::fs::write(&path, grown).unwrap();
    let e = LandscapeMap::load(&path).unwrap_err().to_string();
    assert!(e.contains("needs 13 rows"), "{e}");
}
