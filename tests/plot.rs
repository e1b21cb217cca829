//! Pictures: PNG decodes with the right size, SVG is well formed with one circle per DG leaf,
//! the text rendering matches stored snapshots, and the script functions work end to end.

use std::path::PathBuf;
use telescope::landscape::dg::Dg;
use telescope::plot::{DgPicture, Figure, Heatmap, Image};
use telescope::script::{new_session, EnergyValue};

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A fresh folder for one test, removed when the guard drops (also on a panic).
fn tmp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("telescope-plot-test-{name}-"))
        .tempdir()
        .unwrap()
}

fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Checks that tags open and close in a nested order (enough to catch truncated output).
fn assert_well_formed_svg(svg: &str) {
    assert!(
        svg.trim_start().starts_with("<svg"),
        "SVG starts with {:?}",
        &svg[..20.min(svg.len())]
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find('<') {
        let end = rest[i..].find('>').expect("unclosed tag") + i;
        let tag = &rest[i + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched closing tag"
            );
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            stack.push(tag.split_whitespace().next().unwrap().to_string());
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
}

/// Five minima: two pairs and a loner joining at the top; group 4 disconnected.
fn sample_dg() -> Dg {
    let n = 5;
    let mut b = vec![vec![None; n]; n];
    for (i, j, v) in [(0, 1, 2.0), (2, 3, 3.0), (1, 2, 5.0)] {
        b[i][j] = Some(v);
        b[j][i] = Some(v);
    }
    Dg::build(&[-1.0, 0.5, 0.0, 1.0, 2.5], &b, &[40, 10, 25, 5, 1]).unwrap()
}

fn sample_line() -> Figure {
    let xs: Vec<f64> = (0..41).map(|i| i as f64 * 0.25).collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|x| (x - 5.0) * (x - 5.0) / 5.0 - 2.0)
        .collect();
    Figure::line(xs, ys, "parabola")
        .unwrap()
        .with_title("a parabola")
        .with_labels("x", "U(x)")
}

#[test]
fn png_has_the_requested_size_and_draws_text() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let f = sample_line();
    let (w, h, pixels) = decode_png(&f.to_png().unwrap());
    assert_eq!((w, h), (800, 600));
    assert_eq!(pixels.len(), 800 * 600 * 3);
    // The bundled font draws the title: the top band has dark pixels only with a title.
    let dark_top = |p: &[u8]| {
        let dark = |i: usize| p[3 * i] < 100 && p[3 * i + 1] < 100 && p[3 * i + 2] < 100;
        (0..30)
            .flat_map(|y| (200..600).map(move |x| y * 800 + x))
            .filter(|&i| dark(i))
            .count()
    };
    assert!(dark_top(&pixels) > 50);
    let mut untitled = f.clone();
    untitled.title.clear();
    let (_, _, p2) = decode_png(&untitled.to_png().unwrap());
    assert_eq!(dark_top(&p2), 0);
    let mut small = f;
    small.width = 320;
    small.height = 200;
    let (w, h, _) = decode_png(&small.to_png().unwrap());
    assert_eq!((w, h), (320, 200));
}

#[test]
fn dg_svg_has_one_circle_per_leaf() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dg = sample_dg();
    let f = Figure::dg(DgPicture::new(dg.clone())).unwrap();
    let svg = f.to_svg().unwrap();
    assert_well_formed_svg(&svg);
    assert_eq!(svg.matches("<circle").count(), 5);
    // Leaf labels are the group ids.
    for id in 0..5 {
        assert!(svg.contains(&format!(">\n{id}\n</text>")), "label {id}");
    }
    let no_circles = Figure::dg(DgPicture {
        circles: false,
        ..DgPicture::new(dg.clone())
    })
    .unwrap();
    assert_eq!(no_circles.to_svg().unwrap().matches("<circle").count(), 0);
    // One minimum per leaf (a GWL map): circles would all be alike, so none are drawn.
    let mut single = dg;
    for l in single.leaves.iter_mut() {
        l.members = 1;
    }
    let f = Figure::dg(DgPicture::new(single)).unwrap();
    assert_eq!(f.to_svg().unwrap().matches("<circle").count(), 0);
}

#[test]
fn dg_with_images_draws_representatives_and_members() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dg = sample_dg();
    let img = |k: usize| {
        Image::from_flat(
            &(0..16).map(|i| ((i + k) % 16) as f64).collect::<Vec<_>>(),
            None,
            None,
        )
        .unwrap()
    };
    let reps: Vec<Image> = (0..5).map(img).collect();
    let members: Vec<Vec<Image>> = (0..5)
        .map(|g| (0..g % 3).map(|k| img(g + k)).collect())
        .collect();
    let pic = DgPicture::new(dg)
        .with_group_images(Some(reps), Some(members))
        .unwrap();
    let f = Figure::dg(pic).unwrap();
    let (w, h, _) = decode_png(&f.to_png().unwrap());
    assert_eq!((w, h), (800, 900));
    let svg = f.to_svg().unwrap();
    assert_well_formed_svg(&svg);
    assert_eq!(svg.matches("<circle").count(), 5);
    // 5 representatives and 0+1+2+0+1 members, 16 pixels each plus a frame.
    assert!(svg.matches("<rect").count() >= 9 * 17);
    // Too few images for the tree's groups is an error.
    let short = DgPicture::new(sample_dg()).with_group_images(Some(vec![img(0)]), None);
    assert!(short.is_err());
}

#[test]
fn images_from_flat_states() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Channels-first RGB 1 x 2: red then green pixel.
    let im = Image::from_flat(
        &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        Some(&[3, 1, 2]),
        Some((0.0, 1.0)),
    )
    .unwrap();
    assert_eq!((im.width, im.height, im.channels), (2, 1, 3));
    assert_eq!(im.rgb(0, 0), (255, 0, 0));
    assert_eq!(im.rgb(1, 0), (0, 255, 0));
    // A perfect square is a gray square image, scaled to its own range.
    let im = Image::from_flat(&[0.0, 1.0, 2.0, 3.0], None, None).unwrap();
    assert_eq!((im.width, im.height), (2, 2));
    assert_eq!(im.rgb(1, 1), (255, 255, 255));
    assert_eq!(im.rgb(0, 0), (0, 0, 0));
    assert!(Image::from_flat(&[0.0; 5], None, None).is_err());
    assert!(Image::from_flat(&[0.0; 6], Some(&[4, 2]), None).is_err());
}

fn check_snapshot(name: &str, text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1 once",
            path.display()
        )
    });
    assert_eq!(text, want, "text rendering differs from {}", path.display());
}

#[test]
fn text_rendering_matches_snapshots() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let line = sample_line().to_text(60, 18, false);
    assert_eq!(line, sample_line().to_text(60, 18, false));
    check_snapshot("line_plot.txt", &line);
    let dg = Figure::dg(DgPicture::new(sample_dg()))
        .unwrap()
        .with_title("DG");
    check_snapshot("dg.txt", &dg.to_text(50, 16, false));
    let hist = Figure::histogram(
        (0..100)
            .map(|i| ((i * 37) % 100) as f64 / 10.0)
            .map(|v: f64| v * v / 10.0)
            .collect(),
        8,
    )
    .unwrap();
    check_snapshot("histogram.txt", &hist.to_text(50, 12, false));
}

#[test]
fn text_rendering_has_axes_and_fits_the_size() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t = sample_line().to_text(60, 18, false);
    assert!(t.lines().count() <= 18);
    assert!(t.lines().all(|l| l.chars().count() <= 60));
    assert!(t.contains('└') && t.contains('┤'));
    assert!(t.starts_with(&format!("{}a parabola", " ".repeat((60 - 10) / 2))));
    // The minimum of the parabola (x = 5, y = -2) is on the lowest canvas row.
    let rows: Vec<&str> = t
        .lines()
        .filter(|l| l.contains('│') || l.contains('┤'))
        .collect();
    assert!(rows
        .last()
        .unwrap()
        .chars()
        .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)));
}

fn mb_grid_value(x: f64, y: f64) -> f64 {
    let a = [-200.0, -100.0, -170.0, 15.0];
    let aa = [-1.0, -1.0, -6.5, 0.7];
    let b = [0.0, 0.0, 11.0, 0.6];
    let c = [-10.0, -10.0, -6.5, 0.7];
    let x0 = [1.0, 0.0, -0.5, -1.0];
    let y0 = [0.0, 0.5, 1.5, 1.0];
    (0..4)
        .map(|k| {
            a[k] * (aa[k] * (x - x0[k]).powi(2)
                + b[k] * (x - x0[k]) * (y - y0[k])
                + c[k] * (y - y0[k]).powi(2))
            .exp()
        })
        .sum()
}

#[test]
fn script_heatmap_evaluates_the_energy_on_the_grid() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = new_session(None);
    s.scope.push(
        "U",
        EnergyValue(std::rc::Rc::new(telescope::energy::muller_brown())),
    );
    let tmp = tmp_dir("heat");
    let dir = tmp.path().to_path_buf();
    let path = dir.join("mb.svg");
    let code = format!(
        "let p = heatmap(U, #{{xlim: [-1.5, 1.0], ylim: [-0.5, 2.0], n: 30, levels: 5, zmin: -150, zmax: 0, paths: [[[-0.56, 1.44], [0.62, 0.03]]], labels: [\"line\"]}});\n\
         p.save(\"{}\"); p.text(62, 22)",
        path.display()
    );
    let text = s.eval("heat.rhai", &code).unwrap().into_string().unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert_well_formed_svg(&svg);
    assert!(svg.matches("<rect").count() >= 900);
    // Read the shading back: each canvas cell shows the energy at its centre's nearest grid point.
    let rows: Vec<Vec<char>> = text
        .lines()
        .filter(|l| l.contains('│') || l.contains('┤'))
        .map(|l| {
            l.chars()
                .skip_while(|&c| c != '│' && c != '┤')
                .skip(1)
                .collect()
        })
        .collect();
    let (h, w) = (rows.len(), rows.iter().map(|r| r.len()).max().unwrap());
    let ramp = [' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];
    let grid: Vec<f64> = (0..30).map(|i| i as f64 / 29.0).collect();
    let mut checked = 0;
    for (cy, row) in rows.iter().enumerate() {
        for (cx, &ch) in row.iter().enumerate() {
            let Some(level) = ramp.iter().position(|&r| r == ch) else {
                continue;
            };
            let fx = (cx as f64 + 0.5) / w as f64;
            let fy = 1.0 - (cy as f64 + 0.5) / h as f64;
            let near = |t: f64| {
                grid.iter()
                    .copied()
                    .min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()))
                    .unwrap()
            };
            let (x, y) = (-1.5 + 2.5 * near(fx), -0.5 + 2.5 * near(fy));
            let t = ((mb_grid_value(x, y) + 150.0) / 150.0).clamp(0.0, 1.0);
            let want = (t * 9.0).round() as usize;
            assert!(
                want.abs_diff(level) <= 1,
                "cell ({cx}, {cy}) at ({x:.2}, {y:.2}): {ch:?} vs level {want}"
            );
            checked += 1;
        }
    }
    assert!(checked > w * h / 2, "only {checked} shaded cells read");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn script_dg_functions() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = new_session(None);
    let r = s
        .eval("dg.rhai", "let d = dg([0.0, 1.0, 2.0], [[(), 3, 6], [3, (), 5], [6, 5, ()]], [10, 5, 1]);\n[d.merges[1].energy, d.order, d.roots.len(), d.leaves[0].members]")
        .unwrap();
    assert_eq!(r.to_string(), "[5.0, [0, 1, 2], 1, 10]");
    let r = s.eval("dg2.rhai", "let c = dg([2.0, 1.0, 0.0], [[(), 5, ()], [5, (), 6], [(), 6, ()]], (), #{order: \"center\"}); c.order").unwrap();
    assert_eq!(r.to_string(), "[2, 1, 0]");
    let e = s
        .eval("dg3.rhai", "dg([0.0, 1.0], [[(), 1]], [1, 1])")
        .unwrap_err();
    assert!(e.contains("2 x 2"), "{e}");
    let e = s
        .eval(
            "dg4.rhai",
            "dg([0.0, 1.0], [[(), 1], [1, ()]], [1, 1], #{ordr: \"energy\"})",
        )
        .unwrap_err();
    assert!(e.contains("unknown option") && e.contains("order"), "{e}");
    let tmp = tmp_dir("dg");
    let dir = tmp.path().to_path_buf();
    let code = format!(
        "d.save(\"{0}/dg.json\"); d.plot(#{{title: \"t\"}}).save(\"{0}/dg.svg\"); let back = load_dg(\"{0}/dg.json\"); back.to_json() == d.to_json()",
        dir.display()
    );
    assert!(s.eval("dg5.rhai", &code).unwrap().as_bool().unwrap());
    let svg = std::fs::read_to_string(dir.join("dg.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 3);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn script_plots_save_and_show_to_a_file_when_not_a_terminal() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    std::env::set_var("TELESCOPE_PLOT", "file");
    let mut s = new_session(None);
    let tmp = tmp_dir("show");
    let dir = tmp.path().to_path_buf();
    let code = format!(
        "let p = line_plot([1, 2, 3], [3, 1, 2], #{{label: \"a\", markers: true}}).add_line([1, 2, 3], [1, 2, 3], \"b\").title(\"two\");\n\
         let q = scatter([[0, 0], [1, 1], [0.5, 0.2]], [0, 1, 1]);\n\
         let r = alpha_sweep_plot([0.1, 1.0, 10.0], [30, 5, 1], #{{chosen: 1.35}});\n\
         let t = phase_plot([0.1, 0.5], [#{{label: \"A-B\", forward: [1.0, 0.9], backward: [1.2, 1.1]}}]);\n\
         let h = histogram([1, 2, 2, 3, 3, 3], #{{bins: 3}});\n\
         let g = image_grid([[0, 1, 2, 3], [3, 2, 1, 0]], #{{cols: 2}});\n\
         let e = path_energy_plot([[0, 2, 1], [0, 3, 2, 1]], #{{labels: [\"AD\", \"1-D\"]}});\n\
         for x in [q, r, t, h, g, e] {{ x.save(\"{0}/x.png\"); x.save(\"{0}/x.svg\"); }}\n\
         p.show(\"{0}\")",
        dir.display()
    );
    let path = s.eval("show.rhai", &code).unwrap().into_string().unwrap();
    assert!(path.ends_with(".png"), "{path}");
    let (w, h, _) = decode_png(&std::fs::read(&path).unwrap());
    assert_eq!((w, h), (800, 600));
    let e = s
        .eval("bad.rhai", "line_plot([1, 2], [1, 2]).save(\"x.gif\")")
        .unwrap_err();
    assert!(e.contains(".svg or .png"), "{e}");
    let e = s
        .eval("bad2.rhai", "line_plot([1, 2], [1, 2, 3])")
        .unwrap_err();
    assert!(e.contains("2 x values but 3 y values"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn heatmap_core_contours_and_color_range() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let xs: Vec<f64> = (0..5).map(|i| i as f64).collect();
    let ys = xs.clone();
    let z: Vec<f64> = (0..25).map(|k| (k % 5) as f64).collect();
    let h = Heatmap {
        xs,
        ys,
        z,
        zrange: None,
        levels: 3,
        paths: vec![],
    };
    // Values 0..4 in x: the 90th percentile is 4.
    assert_eq!(h.color_range(), (0.0, 4.0));
    let f = Figure::heatmap(h).unwrap();
    assert_well_formed_svg(&f.to_svg().unwrap());
}

/// A hand-made map that could be true: 3 groups of 4 x 4 "images", each represented by its
/// lowest minimum, members with known energies.
fn sample_map() -> telescope::landscape::map::LandscapeMap {
    use telescope::landscape::map::{Group, LandscapeMap, MapStats, MinimumRecord};
    let state = |v: f64| (0..16).map(|i| v + i as f64).collect::<Vec<f64>>();
    let groups: Vec<Group> = (0..3)
        .map(|g| Group {
            id: g,
            state: state(10.0 * g as f64),
            energy: [-3.0, -1.0, -2.0][g],
            members: [5, 2, 1][g],
        })
        .collect();
    let mut minima = Vec::new();
    for (g, n) in [(0usize, 5usize), (1, 2), (2, 1)] {
        for k in 0..n {
            minima.push(MinimumRecord {
                state: state(10.0 * g as f64 + k as f64),
                energy: [-3.0, -1.0, -2.0][g] + k as f64,
                group: g,
                count: 1,
                iteration: k,
            });
        }
    }
    let mut barriers = vec![vec![None; 3]; 3];
    for (i, j, b) in [(0, 1, 0.5), (0, 2, 1.5), (1, 2, 0.0)] {
        barriers[i][j] = Some(b);
        barriers[j][i] = Some(b);
    }
    for g in 0..3 {
        barriers[g][g] = Some(groups[g].energy);
    }
    LandscapeMap {
        version: "test".into(),
        seed: 1,
        provenance: None,
        energy: serde_json::json!({"name": "test"}),
        method: "test".into(),
        params: Default::default(),
        iterations: 8,
        groups,
        minima,
        proposals: vec![],
        barriers,
        barrier_kinds: vec![vec![None; 3]; 3],
        merges: vec![],
        consolidated_at: 8,
        interrupted: false,
        stats: MapStats::default(),
        written: Default::default(),
    }
}

#[test]
fn dg_of_a_map_uses_its_groups_and_images() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use telescope::landscape::dg::DgOptions;
    use telescope::plot::MapImages;
    let map = sample_map();
    let dg = Dg::from_map(&map, &DgOptions::default()).unwrap();
    let plain = Dg::build(&[-3.0, -1.0, -2.0], &map.barriers, &[5, 2, 1]).unwrap();
    assert_eq!(dg, plain);
    // 1 and 2 join at max(0, -1, -2) = 0, then 0 at 0.5.
    assert_eq!(
        dg.merges.iter().map(|m| m.energy).collect::<Vec<_>>(),
        vec![0.0, 0.5]
    );
    let im = MapImages {
        shape: None,
        range: None,
        max_members: 3,
        seed: 7,
    };
    let pic = DgPicture::from_map(dg.clone(), &map, &im).unwrap();
    assert_eq!(
        pic.members.iter().map(|m| m.len()).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    // Representatives are the group states (each group's lowest minimum, k = 0); members are
    // sorted low to high energy, and a member's first pixel tells which minimum it is (10 g +
    // k, energy E_g + k).
    assert_eq!(pic.images.as_ref().unwrap()[1].data[0], 10.0);
    for (g, ms) in pic.members.iter().enumerate() {
        let ks: Vec<f64> = ms.iter().map(|m| m.data[0] - 10.0 * g as f64).collect();
        assert!(
            ks.windows(2).all(|w| w[0] < w[1]),
            "group {g}: {ks:?} not low to high energy"
        );
        assert!(ks.iter().all(|&k| (0.0..[5.0, 2.0, 1.0][g]).contains(&k)));
    }
    assert_eq!(DgPicture::from_map(dg, &map, &im).unwrap(), pic);
    let (w, h, _) = decode_png(&Figure::dg(pic).unwrap().to_png().unwrap());
    assert_eq!((w, h), (800, 900));
}

#[test]
fn script_dg_of_a_saved_map() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tmp_dir("map");
    let dir = tmp.path().to_path_buf();
    let path = dir.join("map.json");
    sample_map().save(&path).unwrap();
    let mut s = new_session(None);
    let code = format!(
        "let m = load_map(\"{0}\"); let d = dg(m, #{{order: \"center\"}}); let p = dg_plot(m, #{{max_members: 2, seed: 3}}); p.save(\"{1}/m.svg\"); [d.order, d.merges.len()]",
        path.display(),
        dir.display()
    );
    let r = s.eval("map.rhai", &code).unwrap();
    assert_eq!(r.to_string(), "[[0, 2, 1], 2]");
    let svg = std::fs::read_to_string(dir.join("m.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 3);
    // 3 representatives and 2 + 2 + 1 members of 16 pixels.
    assert!(svg.matches("<rect").count() >= 8 * 16);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tick_labels_show_every_decimal_their_value_needs() {
    use telescope::plot::format_tick;
    // Ticks at half units under a spacing estimate of one unit stay distinct.
    let labels: Vec<String> = [-1.0, -0.5, 0.0, 0.5, 1.0]
        .iter()
        .map(|&v| format_tick(v, 1.0))
        .collect();
    assert_eq!(labels, ["-1", "-0.5", "0", "0.5", "1"]);
    // Float noise does not add digits, and the spacing still sets the minimum.
    assert_eq!(format_tick(0.1 + 0.2, 0.1), "0.3");
    assert_eq!(format_tick(2.0, 0.25), "2.0");
    assert_eq!(format_tick(1.25, 0.5), "1.25");
    assert_eq!(format_tick(2.5e7, 1e7), "2.5e7");
}

#[test]
fn a_short_log_axis_labels_only_even_one_two_five_ticks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let alphas: Vec<f64> = (0..17).map(|k| 0.5 * 40f64.powf(k as f64 / 16.0)).collect();
    let counts: Vec<f64> = (0..17).map(|k| 100.0 - 6.0 * k as f64).collect();
    let svg = Figure::alpha_sweep(alphas, counts, Some(1.35))
        .unwrap()
        .to_svg()
        .unwrap();
    // The x tick labels (below the axis: `dy="0.76em"`).
    let labels: Vec<String> = svg
        .split("dy=\"0.76em\"")
        .skip(1)
        .filter_map(|t| Some(t.split('>').nth(1)?.split('<').next()?.trim().to_string()))
        .filter(|t| t.parse::<f64>().is_ok())
        .collect();
    // 0.5 to 20: 0.5, 1, 2, 5, 10 (and 20 where a tick falls on it), nothing between (no
    // 0.63, 1.6, 3.2).
    assert_eq!(labels[..5], ["0.5", "1", "2", "5", "10"], "{labels:?}");
    assert!(labels[5..].iter().all(|l| l == "20"), "{labels:?}");
}

#[test]
fn values_too_large_to_draw_are_refused_not_hung_on() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let figures = [
        Figure::line(vec![0.0, 1.0], vec![0.0, 1.7e308], "").unwrap(),
        Figure::histogram(vec![-1e308, 1e308], 10).unwrap(),
        Figure::line(vec![-1e305, 1e305], vec![0.0, 1.0], "").unwrap(),
    ];
    for f in &figures {
        let e = f.to_svg().unwrap_err().to_string();
        assert!(e.contains("too large to draw"), "{e}");
        assert!(f.to_png().is_err());
        assert!(f.to_text(40, 10, false).contains("too large to draw"));
    }
    // Large but drawable values still draw, and NaN / inf are skipped as before.
    let ok = Figure::line(
        vec![0.0, 1.0, 2.0],
        vec![1e299, f64::NAN, f64::INFINITY],
        "",
    )
    .unwrap();
    assert_well_formed_svg(&ok.to_svg().unwrap());
    assert!(Figure::histogram(vec![1.0], 100_000_000_000).is_err());
}

/// The y tick labels of an SVG figure: the text elements right-aligned left of the plot.
fn svg_y_labels(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let (head, body) = t.split_once('>')?;
            if !head.contains("text-anchor=\"end\"") {
                return None;
            }
            Some(body.split_once("</text>")?.0.trim().to_string())
        })
        .collect()
}

/// Counts (an alpha sweep's basins) get whole-number ticks only, however small their range;
/// real values keep decimal ticks.
#[test]
fn count_axes_have_whole_number_ticks() {
    for counts in [
        vec![2.0, 2.0, 1.0, 1.0],
        vec![40.0, 31.0, 12.0, 5.0],
        vec![3.0, 3.0, 3.0, 3.0],
    ] {
        let f = Figure::alpha_sweep(vec![0.3, 1.0, 3.0, 10.0], counts.clone(), None).unwrap();
        let texts = svg_y_labels(&f.to_svg().unwrap());
        let numbers: Vec<f64> = texts.iter().filter_map(|t| t.parse().ok()).collect();
        assert!(!numbers.is_empty(), "{counts:?}: tick labels {texts:?}");
        let mut distinct = numbers.clone();
        distinct.dedup();
        assert_eq!(
            distinct, numbers,
            "{counts:?}: a tick label repeats: {texts:?}"
        );
        for t in &texts {
            if let Ok(v) = t.parse::<f64>() {
                assert_eq!(
                    v.fract(),
                    0.0,
                    "{counts:?}: a tick label {t} is not a whole number"
                );
            }
        }
    }
    let real = Figure::alpha_sweep(vec![1.0, 10.0], vec![1.0, 1.5], None).unwrap();
    let texts = svg_y_labels(&real.to_svg().unwrap());
    assert!(
        texts
            .iter()
            .any(|t| t.parse::<f64>().is_ok_and(|v| v.fract() != 0.0)),
        "{texts:?}"
    );
}

/// `p.add_line(...)` and `p.add_points(...)` as statements change `p` (they used to return a
/// changed copy and leave `p` as it was, silently).
#[test]
fn adding_a_series_as_a_statement_changes_the_plot() {
    let mut s = new_session(None);
    let code = r#"
        let p = line_plot([0, 1, 2], [0, 1, 4], #{label: "first"});
        p.add_line([0, 1, 2], [4, 1, 0], "second");
        p.add_points([0, 2], [2, 2], "third");
        let chained = line_plot([0, 1], [0, 1], #{label: "a"}).add_line([0, 1], [1, 0], "b");
        [p.text(70, 20), chained.text(70, 20)]
    "#;
    let v = s.eval("add.rhai", code).unwrap().into_array().unwrap();
    let p = v[0].clone().into_string().unwrap();
    for label in ["first", "second", "third"] {
        assert!(p.contains(label), "{label} missing from the legend:\n{p}");
    }
    let chained = v[1].clone().into_string().unwrap();
    assert!(chained.contains('a') && chained.contains('b'), "{chained}");
}

/// An image grid with fewer images than columns uses only the columns it needs, and the
/// block of images sits in the middle of the picture (it used to shrink to the left edge).
#[test]
fn image_grids_are_centred_and_no_wider_than_their_images() {
    for (n, cols) in [(2usize, 8usize), (5, 3), (3, 2), (8, 8)] {
        let images: Vec<Image> = (0..n)
            .map(|k| {
                let data: Vec<f64> = (0..64).map(|i| ((i * 7 + k * 3) % 11) as f64).collect();
                Image::from_flat(&data, None, None).unwrap()
            })
            .collect();
        let (w, h, px) = decode_png(&Figure::images(images, cols).unwrap().to_png().unwrap());
        let channels = px.len() / (w * h) as usize;
        // The bounding box of non-white pixels.
        let (mut x0, mut x1, mut y0, mut y1) = (w, 0, h, 0);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as usize * channels;
                if px[i..i + 3].iter().any(|&v| v < 250) {
                    (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
                }
            }
        }
        let (left, right) = (x0 as i64, (w - 1 - x1) as i64);
        let (top, bottom) = (y0 as i64, (h - 1 - y1) as i64);
        assert!(
            (left - right).abs() <= 3,
            "{n} images in {cols} columns: margins {left} and {right}"
        );
        assert!(
            (top - bottom).abs() <= 3,
            "{n} images in {cols} columns: margins {top} and {bottom}"
        );
        assert!(
            x1 - x0 > w / 2 || y1 - y0 > h / 2,
            "{n} images fill the picture one way"
        );
    }
}

/// The text heatmap says what its shades mean (darkest to brightest character and the
/// energies at both ends of the colour range) and still fits the size asked for.
#[test]
fn text_heatmaps_have_a_shading_legend() {
    let mut s = new_session(None);
    let code = r#"
        let p = heatmap(muller_brown(), #{xlim: [-1.5, 1.2], ylim: [-0.3, 2.0], zmax: 50.0});
        p.text(60, 20)
    "#;
    let t = s.eval("hm.rhai", code).unwrap().into_string().unwrap();
    assert!(t.lines().count() <= 20, "{t}");
    let last = t.lines().last().unwrap();
    assert!(last.starts_with("shades \" .:-=+*#%@\" from -14"), "{last}");
    assert!(last.ends_with("to 50"), "{last}");
}

/// A heatmap path is clipped at the plot's edge: a path that lies wholly outside the limits
/// adds no pixel of its colour (it used to be drawn along the edge), while a path inside does.
#[test]
fn heatmap_paths_outside_the_limits_are_not_drawn() {
    let mut s = new_session(None);
    let tmp = tmp_dir("clip");
    let dir = tmp.path().to_path_buf();
    let count = |s: &mut telescope::script::Session, paths: &str| -> usize {
        let file = dir.join("h.png");
        let code = format!(
            "heatmap(muller_brown(), #{{xlim: [-1.5, 1.2], ylim: [-0.3, 2.0], zmax: 50.0, levels: 0, paths: {paths}}}).save(\"{}\")",
            file.display()
        );
        let _ = s.eval("clip.rhai", &code).unwrap();
        let (_, _, px) = decode_png(&std::fs::read(&file).unwrap());
        // The first palette colour, (31, 119, 180), in RGB or RGBA rows.
        let channels = if px.len() % 4 == 0 { 4 } else { 3 };
        px.chunks(channels)
            .filter(|c| c[0] == 31 && c[1] == 119 && c[2] == 180)
            .count()
    };
    // The legend's swatch has the colour too: a one-point path (no segment) is the baseline.
    let baseline = count(&mut s, "[tensor([[3.0, 3.0]])]");
    let outside = count(&mut s, "[tensor([[3.0, 3.0], [4.0, 4.5], [5.0, 3.5]])]");
    let inside = count(&mut s, "[tensor([[-1.0, 0.5], [0.0, 1.5], [0.8, 0.2]])]");
    assert_eq!(outside, baseline, "a path outside the limits was drawn");
    assert!(
        inside > baseline + 100,
        "the same path inside draws {inside} pixels"
    );
}

/// The leaves (node ids) under `node` of `dg`.
fn leaves_under(dg: &Dg, node: usize, out: &mut Vec<usize>) {
    if node < dg.leaves.len() {
        out.push(node);
    } else {
        for &c in &dg.merges[node - dg.leaves.len()].children {
            leaves_under(dg, c, out);
        }
    }
}

#[test]
fn dg_branches_take_the_colour_of_the_one_class_under_them() {
    use rand::{Rng, SeedableRng};
    use telescope::plot::{LeafMarks, PALETTE};
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for case in 0..12 {
        let n = rng.random_range(2..9);
        let energies: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..1.0)).collect();
        let mut b = vec![vec![None; n]; n];
        for i in 0..n {
            for j in 0..i {
                if rng.random_bool(0.6) {
                    let v = energies[i].max(energies[j]) + rng.random_range(0.1..2.0);
                    b[i][j] = Some(v);
                    b[j][i] = Some(v);
                }
            }
        }
        let dg = Dg::build(&energies, &b, &vec![1; n]).unwrap();
        // Three classes over the group ids; some groups stay unclassified.
        let mut classes: Vec<LeafMarks> = (0..3)
            .map(|k| LeafMarks {
                groups: vec![],
                color: PALETTE[k],
                label: format!("class {k}"),
            })
            .collect();
        let mut class_of = vec![None; n];
        for (g, slot) in class_of.iter_mut().enumerate() {
            let k = rng.random_range(0..4);
            if k < 3 {
                classes[k].groups.push(g);
                *slot = Some(k);
            }
        }
        // Brute force: a node has class k when every leaf under it has class k.
        let mut expected = [0usize; 3];
        for node in 0..dg.n_nodes() {
            let mut under = Vec::new();
            leaves_under(&dg, node, &mut under);
            let first = class_of[dg.leaves[under[0]].id];
            if let Some(k) = first {
                if under.iter().all(|&l| class_of[dg.leaves[l].id] == Some(k)) {
                    // Its upward segment, and its bar when it is a merge.
                    expected[k] += 1 + usize::from(node >= dg.leaves.len());
                }
            }
        }
        let pic = DgPicture {
            circles: false,
            classes,
            ..DgPicture::new(dg)
        };
        let svg = Figure::dg(pic).unwrap().to_svg().unwrap();
        for k in 0..3 {
            let (r, g, bl) = PALETTE[k];
            let stroke = format!("stroke=\"#{r:02X}{g:02X}{bl:02X}\"");
            let drawn = svg
                .lines()
                .filter(|l| l.contains("<polyline") && l.contains(&stroke))
                .count();
            let legend = usize::from(svg.contains(&format!("class {k}")));
            assert_eq!(
                drawn,
                expected[k] + legend,
                "case {case}, class {k}: {drawn} segments drawn, {} expected (+ legend)",
                expected[k]
            );
        }
    }
}

/// Decodes a Sixel sequence (as a terminal would): raster size, palette (`#i;2;r;g;b` in
/// percent), then sixel characters, repeats (`!n`), `$` (band start) and `-` (next band).
fn decode_sixel(s: &str) -> (usize, usize, Vec<[u8; 3]>) {
    let body = s.strip_prefix("\x1bP").unwrap();
    let body = &body[body.find('q').unwrap() + 1..];
    let body = body.trim_end().strip_suffix("\x1b\\").unwrap();
    let mut chars = body.chars().peekable();
    let number = |chars: &mut std::iter::Peekable<std::str::Chars>| -> usize {
        let mut n = 0;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        n
    };
    assert_eq!(chars.next(), Some('"'));
    let _ = (
        number(&mut chars),
        chars.next(),
        number(&mut chars),
        chars.next(),
    );
    let w = number(&mut chars);
    assert_eq!(chars.next(), Some(';'));
    let h = number(&mut chars);
    let mut palette = std::collections::HashMap::new();
    let mut pixels = vec![[0u8; 3]; w * h];
    let mut painted = vec![false; w * h];
    let (mut x, mut top, mut colour) = (0usize, 0usize, 0usize);
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                colour = number(&mut chars);
                if chars.peek() == Some(&';') {
                    chars.next();
                    assert_eq!(number(&mut chars), 2, "RGB colour space");
                    let mut rgb = [0u8; 3];
                    for v in rgb.iter_mut() {
                        assert_eq!(chars.next(), Some(';'));
                        *v = (number(&mut chars) as f64 * 2.55).round() as u8;
                    }
                    palette.insert(colour, rgb);
                }
            }
            '$' => x = 0,
            '-' => {
                x = 0;
                top += 6;
            }
            '!' | '?'..='~' => {
                let (count, ch) = if c == '!' {
                    let n = number(&mut chars);
                    (n, chars.next().unwrap())
                } else {
                    (1, c)
                };
                let bits = ch as u8 - 63;
                for _ in 0..count {
                    for dy in 0..6 {
                        if bits & (1 << dy) != 0 && top + dy < h && x < w {
                            let k = (top + dy) * w + x;
                            pixels[k] = palette[&colour];
                            assert!(!painted[k], "pixel ({x}, {}) painted twice", top + dy);
                            painted[k] = true;
                        }
                    }
                    x += 1;
                }
            }
            other => panic!("unexpected {other:?} in the sixel data"),
        }
    }
    assert!(painted.iter().all(|p| *p), "every pixel is painted");
    (w, h, pixels)
}

#[test]
fn sixel_output_decodes_to_the_picture_within_one_colour_step() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for (w, h) in [(1, 1), (13, 11), (40, 6), (7, 19)] {
        // Random pixels, and flat runs (to exercise the run-length code).
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                if i % 3 == 0 {
                    [rng.random(), rng.random(), rng.random()]
                } else {
                    [200, 30, 30]
                }
            })
            .collect();
        let seq = telescope::plot::sixel::sixel_sequence(w, h, &rgb);
        let (dw, dh, pixels) = decode_sixel(&seq);
        assert_eq!((dw, dh), (w, h));
        for (k, p) in pixels.iter().enumerate() {
            for c in 0..3 {
                let want = rgb[3 * k + c] as i32;
                // Half a step of the 6-level cube (25.5) plus the percent rounding.
                assert!(
                    (p[c] as i32 - want).abs() <= 28,
                    "pixel {k} channel {c}: {} vs {want}",
                    p[c]
                );
            }
        }
    }
    // A figure goes through the same encoder.
    let seq = sample_line().to_sixel().unwrap();
    let (w, h, _) = decode_sixel(&seq);
    assert_eq!((w, h), (800, 600));
}

#[test]
fn dg_branches_take_the_colour_of_the_weighted_mean_value_under_them() {
    use rand::{Rng, SeedableRng};
    use telescope::plot::{colormap, LeafValues};
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = rand::rngs::StdRng::seed_from_u64(21);
    for case in 0..10 {
        let n = rng.random_range(2..8);
        let energies: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..1.0)).collect();
        let mut b = vec![vec![None; n]; n];
        for i in 0..n {
            for j in 0..i {
                if rng.random_bool(0.7) {
                    let v = energies[i].max(energies[j]) + rng.random_range(0.1..2.0);
                    b[i][j] = Some(v);
                    b[j][i] = Some(v);
                }
            }
        }
        let members: Vec<usize> = (0..n).map(|_| rng.random_range(1..6)).collect();
        let dg = Dg::build(&energies, &b, &members).unwrap();
        let values: Vec<f64> = (0..n)
            .map(|_| {
                if rng.random_bool(0.2) {
                    f64::NAN
                } else {
                    rng.random_range(-1.0..3.0)
                }
            })
            .collect();
        // Brute force: each node's member-weighted mean over the valued leaves under it.
        let mut node_value = Vec::new();
        for node in 0..dg.n_nodes() {
            let mut under = Vec::new();
            leaves_under(&dg, node, &mut under);
            let (s, w) = under.iter().fold((0.0, 0.0), |(s, w), &l| {
                let v = values[dg.leaves[l].id];
                if v.is_finite() {
                    let m = dg.leaves[l].members as f64;
                    (s + v * m, w + m)
                } else {
                    (s, w)
                }
            });
            node_value.push((w > 0.0).then(|| s / w));
        }
        let lo = node_value
            .iter()
            .flatten()
            .cloned()
            .fold(f64::INFINITY, f64::min);
        let hi = node_value
            .iter()
            .flatten()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        let hex = |(r, g, b): (u8, u8, u8)| format!("#{r:02X}{g:02X}{b:02X}");
        let mut expected: Vec<String> = Vec::new();
        for (node, v) in node_value.iter().enumerate() {
            if let Some(v) = v {
                let c = hex(colormap((v - lo) / (hi - lo).max(1e-300)));
                // Its upward segment, and its bar when it is a merge.
                for _ in 0..1 + usize::from(node >= dg.leaves.len()) {
                    expected.push(c.clone());
                }
            }
        }
        if lo.is_finite() {
            for t in [0.0, 0.5, 1.0] {
                expected.push(hex(colormap(t)));
            }
        }
        let pic = DgPicture {
            circles: false,
            values: Some(LeafValues {
                by_group: values.clone(),
                label: "v".into(),
            }),
            ..DgPicture::new(dg)
        };
        let svg = Figure::dg(pic).unwrap().to_svg().unwrap();
        let mut drawn: Vec<String> = svg
            .lines()
            .filter(|l| l.contains("<polyline"))
            .filter_map(|l| l.split("stroke=\"").nth(1).map(|s| s[..7].to_string()))
            .filter(|c| c != "#000000")
            .collect();
        drawn.sort();
        expected.sort();
        assert_eq!(drawn, expected, "case {case}");
    }
}

#[test]
fn dg_colour_options_of_the_wrong_type_are_named() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = new_session(None);
    for (opts, says) in [
        (
            "#{classes: \"x\"}",
            "option `classes` must be an array of labels",
        ),
        (
            "#{values: 3}",
            "option `values` must be an array of numbers",
        ),
        ("#{values: [\"a\"]}", "values must be numbers or ()"),
        ("#{marks: 1}", "option `marks` must be an array of #{groups"),
    ] {
        let code =
            format!("let d = dg([0.0, 1.0], [[(), 2.0], [2.0, ()]], [1, 1]);\nd.plot({opts})");
        let e = s
            .eval("<t>", &code)
            .err()
            .unwrap_or_else(|| panic!("{opts} accepted"));
        assert!(e.contains(says), "{opts}: {e}");
    }
}

/// Class colours follow the labels, not the order the groups come in: over random label
/// sets ("digit N" with N up to 14, bare numbers, words) and random group orders, each label
/// gets the palette colour of its rank in natural order (numbers by value: "digit 2" before
/// "digit 10"), and shuffling the groups changes no label's colour.
#[test]
fn dg_class_colours_follow_the_labels_in_natural_order() {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let mut s = new_session(None);
    for case in 0..30 {
        let n_groups = rng.random_range(3..12);
        let style = case % 3;
        let labels: Vec<String> = (0..n_groups)
            .map(|_| {
                let k: u32 = rng.random_range(0..15);
                match style {
                    0 => format!("\"digit {k}\""),
                    1 => k.to_string(),
                    _ => format!("\"{}\"", ["ivy", "brick", "grass"][k as usize % 3]),
                }
            })
            .collect();
        // Independent truth: the distinct labels ranked by (number, text).
        let key = |l: &str| {
            let t = l.trim_matches('"');
            let num: Option<u32> = t.rsplit(' ').next().and_then(|d| d.parse().ok());
            (num, t.to_string())
        };
        let mut distinct: Vec<String> = labels.clone();
        distinct.sort_by_key(|l| key(l));
        distinct.dedup();
        let mut colours = |order: &[usize]| -> Vec<(String, (u8, u8, u8))> {
            let list: Vec<String> = order.iter().map(|&g| labels[g].clone()).collect();
            let energies: Vec<String> = (0..n_groups).map(|g| format!("{}.0", g)).collect();
            // Every pair joined at 20: one tree.
            let row = |i: usize| -> String {
                let cells: Vec<&str> = (0..n_groups)
                    .map(|j| if i == j { "()" } else { "20.0" })
                    .collect();
                format!("[{}]", cells.join(", "))
            };
            let barriers: Vec<String> = (0..n_groups).map(row).collect();
            let code = format!(
                "dg([{}], [{}]).plot(#{{classes: [{}]}})",
                energies.join(", "),
                barriers.join(", "),
                list.join(", ")
            );
            let v = s
                .eval("<t>", &code)
                .unwrap_or_else(|e| panic!("{code}: {e}"));
            let f = telescope::script::figure_of(&v).expect("a Plot");
            let telescope::plot::Plot::Dg(p) = &f.plot else {
                panic!("not a DG")
            };
            let mut out: Vec<(String, (u8, u8, u8))> = p
                .classes
                .iter()
                .map(|c| (c.label.clone(), c.color))
                .collect();
            out.sort();
            out
        };
        let identity: Vec<usize> = (0..n_groups).collect();
        let mut shuffled = identity.clone();
        shuffled.shuffle(&mut rng);
        let a = colours(&identity);
        let b = colours(&shuffled);
        assert_eq!(a, b, "labels {labels:?}");
        for (label, colour) in &a {
            let rank = distinct
                .iter()
                .position(|d| d.trim_matches('"') == label)
                .unwrap();
            assert_eq!(
                *colour,
                telescope::plot::PALETTE[rank % telescope::plot::PALETTE.len()],
                "{label} in {distinct:?}"
            );
        }
    }
}

/// A DG with images uses the figure's height: however many leaves (so however small the
/// images), the image rows reach close to the bottom edge instead of leaving a blank band
/// under them (the tree takes the height the image rows leave free).
#[test]
fn dg_with_many_images_leaves_no_blank_band_below_them() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = new_session(None);
    for n in [6usize, 12, 24, 48, 96] {
        // A chain of merges at rising energies over n leaves.
        let code = format!(
            "let n = {n};\n\
             let e = []; for i in 0..n {{ e.push(i.to_float()); }}\n\
             let b = []; for i in 0..n {{ let r = []; for j in 0..n {{ r.push(if i == j {{ () }} else {{ (if i > j {{ i }} else {{ j }}).to_float() + 1.0 }}); }} b.push(r); }}\n\
             let mem = []; for i in 0..n {{ mem.push(zeros([3, 64])); }}\n\
             dg(e, b).plot(#{{images: zeros([n, 64]), members: mem, range: [0.0, 1.0], labels: false, height: 900}})"
        );
        let v = s.eval("<t>", &code).unwrap_or_else(|e| panic!("{n}: {e}"));
        let f = telescope::script::figure_of(&v).unwrap();
        let (w, h, px) = decode_png(&f.to_png().unwrap());
        let channels = px.len() / (w * h) as usize;
        // The lowest row holding a black image pixel (the tree's lines are black too, but lie
        // above the images).
        let dark = |x: u32, y: u32| {
            let i = ((y * w + x) as usize) * channels;
            px[i] < 30 && px[i + 1] < 30 && px[i + 2] < 30
        };
        let lowest = (0..h)
            .rev()
            .find(|&y| (0..w).filter(|&x| dark(x, y)).count() > n)
            .unwrap();
        let blank = h - 1 - lowest;
        assert!(
            (blank as f64) < 0.1 * h as f64,
            "{n} leaves: {blank} blank rows of {h} under the images"
        );
    }
}

#[test]
fn scatter_labels_stay_apart_beyond_the_palette() {
    use telescope::plot::{Marker, Plot, PALETTE};
    // 30 labels: colour (mod the palette) and marker together tell every two apart.
    let n = 30;
    let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let labels: Vec<i64> = (0..n as i64).rev().collect();
    let fig = Figure::scatter(xs.clone(), xs, Some(&labels)).unwrap();
    let Plot::Xy { series, .. } = &fig.plot else {
        panic!("a scatter is an x-y plot")
    };
    assert_eq!(series.len(), n);
    let mut looks: Vec<(usize, Marker)> = series
        .iter()
        .map(|s| (s.color % PALETTE.len(), s.marker))
        .collect();
    assert!(looks.iter().all(|l| l.1 != Marker::None));
    looks.sort_by_key(|l| (l.0, l.1 as u8));
    looks.dedup();
    assert_eq!(looks.len(), n, "two labels look alike");
    // Each series holds exactly the points of its label.
    for s in series {
        let lab: i64 = s.name.parse().unwrap();
        assert_eq!(s.xs, vec![(n as i64 - 1 - lab) as f64]);
    }
    // And they render.
    let png = fig.to_png().unwrap();
    assert!(decode_png(&png).0 > 0);
}

/// The `(name, attributes)` of the SVG elements named `tag` (`<circle .../>`), attributes as
/// (key, value) pairs.
fn svg_elements(svg: &str, tag: &str) -> Vec<Vec<(String, String)>> {
    svg.split(&format!("<{tag} "))
        .skip(1)
        .map(|rest| {
            let body = &rest[..rest.find('>').unwrap()];
            body.split('"')
                .collect::<Vec<_>>()
                .chunks(2)
                .filter(|kv| kv.len() == 2)
                .map(|kv| {
                    (
                        kv[0].trim().trim_end_matches('=').to_string(),
                        kv[1].to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_legend_plotters_draws_covers_no_point_when_a_corner_is_free() {
    // A dense grid of points over the plot with one corner left empty: the legend box that
    // plotters itself draws (its translucent background) must hold no point.
    let attr = |e: &Vec<(String, String)>, k: &str| -> f64 {
        e.iter()
            .find(|(key, _)| key == k)
            .unwrap()
            .1
            .parse()
            .unwrap()
    };
    for free in 0..4 {
        let (mut xs, mut ys, mut labels) = (vec![], vec![], vec![]);
        for i in 0..=40 {
            for j in 0..=40 {
                let (x, y) = (i as f64 / 4.0, j as f64 / 4.0);
                let right = x > 7.0;
                let top = y > 7.0;
                if [(true, true), (false, true), (true, false), (false, false)][free]
                    == (right, top)
                    && (x - 5.0).abs() > 2.0
                    && (y - 5.0).abs() > 2.0
                {
                    continue;
                }
                xs.push(x);
                ys.push(y);
                labels.push(((i + j) % 3) as i64);
            }
        }
        let svg = Figure::scatter(xs, ys, Some(&labels))
            .unwrap()
            .to_svg()
            .unwrap();
        let boxes: Vec<_> = svg_elements(&svg, "rect")
            .into_iter()
            .filter(|r| r.iter().any(|(k, v)| k == "opacity" && v == "0.85"))
            .collect();
        assert_eq!(boxes.len(), 1, "one legend box");
        let b = &boxes[0];
        let (x0, y0) = (attr(b, "x"), attr(b, "y"));
        let (x1, y1) = (x0 + attr(b, "width"), y0 + attr(b, "height"));
        let points: Vec<_> = svg_elements(&svg, "circle")
            .into_iter()
            .filter(|c| attr(c, "r") == 3.0)
            .collect();
        assert_eq!(points.len(), 41 * 41 - 12 * 12, "every point drawn");
        for c in &points {
            let (cx, cy) = (attr(c, "cx"), attr(c, "cy"));
            assert!(
                !(cx >= x0 - 3.0 && cx <= x1 + 3.0 && cy >= y0 - 3.0 && cy <= y1 + 3.0),
                "corner {free}: the legend [{x0}, {x1}] x [{y0}, {y1}] covers a point at ({cx}, {cy})"
            );
        }
    }
}
