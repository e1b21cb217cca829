//! A loaded map is a map that could be true: random valid maps (built with the same
//! primitives ADELM uses) load back, and every single-field mutation of their JSON that
//! breaks an invariant is refused with an error naming the field.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use telescope::landscape::map::{BarrierKind, LandscapeMap};
use telescope::landscape::map_states::StateStorage;

/// A valid map of `g` groups: each group one random minimum, a few joined minima of higher
/// energy, barriers at or above the higher end of each pair, some unknown.
fn random_map(rng: &mut StdRng, g: usize, dim: usize) -> LandscapeMap {
    let mut m = LandscapeMap::empty("adelm", json!({"name": "t", "dim": dim}), json!({}), 1);
    for _ in 0..g {
        let state: Vec<f64> = (0..dim).map(|_| rng.random_range(-2.0..2.0)).collect();
        m.add_group(state, rng.random_range(-5.0..5.0), 0);
    }
    for i in 0..g {
        for j in i + 1..g {
            if rng.random_bool(0.7) {
                let ends = m.groups[i].energy.max(m.groups[j].energy);
                m.offer_barrier(i, j, ends + rng.random_range(0.0..3.0), BarrierKind::Ad)
                    .unwrap();
            }
        }
    }
    for _ in 0..rng.random_range(0..2 * g) {
        let grp = rng.random_range(0..g);
        let energy = m.groups[grp].energy + rng.random_range(0.1..2.0);
        m.minima.push(telescope::landscape::map::MinimumRecord {
            state: (0..dim).map(|_| rng.random_range(-2.0..2.0)).collect(),
            energy,
            group: grp,
            count: rng.random_range(1..4),
            iteration: 1,
        });
        m.groups[grp].members += 1;
    }
    m.check().unwrap();
    m
}

/// One mutation of the map's JSON: a name, and what it does (`None` when it does not apply
/// to this map).
type Mutation = (&'static str, fn(&mut Value, &mut StdRng) -> Option<()>);

fn groups(v: &Value) -> usize {
    v["groups"].as_array().unwrap().len()
}

/// Two different group ids, when the map has two groups.
fn pair(v: &Value, rng: &mut StdRng) -> Option<(usize, usize)> {
    let g = groups(v);
    (g >= 2).then(|| {
        let i = rng.random_range(0..g);
        (i, (i + 1 + rng.random_range(0..g - 1)) % g)
    })
}

const MUTATIONS: &[Mutation] = &[
    ("a group's state loses a value", |v, _| {
        v["groups"][0]["state"].as_array_mut()?.pop().map(|_| ())
    }),
    ("a minimum's state gains a value", |v, rng| {
        let n = v["minima"].as_array()?.len();
        let k = rng.random_range(0..n);
        v["minima"][k]["state"].as_array_mut()?.push(json!(0.5));
        Some(())
    }),
    ("a barrier below its higher end, both ways", |v, rng| {
        let (i, j) = pair(v, rng)?;
        let low = v["groups"][i]["energy"]
            .as_f64()?
            .min(v["groups"][j]["energy"].as_f64()?)
            - 1.0;
        v["barriers"][i][j] = json!(low);
        v["barriers"][j][i] = json!(low);
        Some(())
    }),
    ("a barrier of -1e9", |v, rng| {
        let (i, j) = pair(v, rng)?;
        v["barriers"][i][j] = json!(-1e9);
        v["barriers"][j][i] = json!(-1e9);
        Some(())
    }),
    ("an asymmetric barrier", |v, rng| {
        let (i, j) = pair(v, rng)?;
        let e = v["groups"][i]["energy"]
            .as_f64()?
            .max(v["groups"][j]["energy"].as_f64()?);
        v["barriers"][i][j] = json!(e + 10.0);
        v["barriers"][j][i] = json!(e + 20.0);
        Some(())
    }),
    ("a minimum counted zero times", |v, rng| {
        let n = v["minima"].as_array()?.len();
        v["minima"][rng.random_range(0..n)]["count"] = json!(0);
        Some(())
    }),
    ("a group without members", |v, rng| {
        let g = groups(v);
        v["groups"][rng.random_range(0..g)]["members"] = json!(0);
        Some(())
    }),
    ("a representative from another group", |v, rng| {
        let (i, j) = pair(v, rng)?;
        let other = v["groups"][j]["state"].clone();
        let energy = v["groups"][j]["energy"].clone();
        v["groups"][i]["state"] = other;
        v["groups"][i]["energy"] = energy.clone();
        v["barriers"][i][i] = energy;
        Some(())
    }),
    ("a representative that is no minimum", |v, _| {
        let s = v["groups"][0]["state"].as_array_mut()?;
        s[0] = json!(s[0].as_f64()? + 0.25);
        Some(())
    }),
    (
        "a group energy that is not its representative's",
        |v, rng| {
            let g = groups(v);
            let i = rng.random_range(0..g);
            let e = v["groups"][i]["energy"].as_f64()? - 3.0;
            v["groups"][i]["energy"] = json!(e);
            v["barriers"][i][i] = json!(e);
            Some(())
        },
    ),
    ("a diagonal that is not the group's energy", |v, _| {
        let e = v["groups"][0]["energy"].as_f64()?;
        v["barriers"][0][0] = json!(e + 1.0);
        Some(())
    }),
    ("barrier_kinds one row short", |v, _| {
        // (An empty matrix is a map written before kinds were recorded: it loads.)
        if groups(v) < 2 {
            return None;
        }
        v["barrier_kinds"].as_array_mut()?.pop().map(|_| ())
    }),
    ("a kind beside an absent barrier", |v, rng| {
        let g = groups(v);
        let (i, j) = (0..g * g)
            .map(|_| pair(v, rng))
            .find_map(|p| p.filter(|&(i, j)| v["barriers"][i][j].is_null()))?;
        v["barrier_kinds"][i][j] = json!("ad");
        v["barrier_kinds"][j][i] = json!("ad");
        Some(())
    }),
    ("a minimum of a group that does not exist", |v, _| {
        let g = groups(v);
        v["minima"][0]["group"] = json!(g);
        Some(())
    }),
    ("a group id out of order", |v, _| {
        let g = groups(v);
        v["groups"][0]["id"] = json!(g + 3);
        Some(())
    }),
];

#[test]
fn random_valid_maps_load_and_every_broken_field_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let mut refused = vec![0usize; MUTATIONS.len()];
    for case in 0..60 {
        let g = 1 + case % 6;
        let dim = 1 + rng.random_range(0..5);
        let m = random_map(&mut rng, g, dim);
        let path = dir.path().join(format!("m{case}.json"));
        m.save_with(&path, StateStorage::Json).unwrap();
        let loaded = LandscapeMap::load(&path)
            .unwrap_or_else(|e| panic!("case {case}: a valid map was refused: {e}"));
        assert_eq!(loaded.barriers, m.barriers);
        let text = std::fs::read_to_string(&path).unwrap();
        for (k, (name, mutate)) in MUTATIONS.iter().enumerate() {
            let mut v: Value = serde_json::from_str(&text).unwrap();
            if mutate(&mut v, &mut rng).is_none() {
                continue;
            }
            let bad = dir.path().join(format!("m{case}_{k}.json"));
            std::fs::write(&bad, serde_json::to_string(&v).unwrap()).unwrap();
            match LandscapeMap::load(&bad) {
                Ok(_) => panic!("case {case}: {name}: the broken map loaded"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&bad.display().to_string()), "{name}: {msg}");
                    refused[k] += 1;
                }
            }
        }
    }
    // Every mutation was tried on some map.
    for ((name, _), n) in MUTATIONS.iter().zip(&refused) {
        assert!(*n > 0, "{name} never applied");
    }
}
