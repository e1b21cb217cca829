//! Draws a Müller-Brown heatmap with a straight path between minima A and B, the energy along
//! that path, and a small disconnectivity graph, as SVG and PNG into a folder (default: the
//! temp directory), then prints the DG as text.
//!
//! `cargo run --release --example plots -- [DIR]`

use telescope::energy::{energies_f64, muller_brown};
use telescope::landscape::dg::Dg;
use telescope::plot::{DgPicture, Figure, Heatmap, Series};

fn main() -> telescope::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let u = muller_brown();
    // The energy on a 120 x 120 grid, in one batched call.
    let n = 120;
    let xs: Vec<f64> = (0..n)
        .map(|i| -1.5 + 2.7 * i as f64 / (n - 1) as f64)
        .collect();
    let ys: Vec<f64> = (0..n)
        .map(|j| -0.5 + 2.5 * j as f64 / (n - 1) as f64)
        .collect();
    let grid: Vec<f64> = ys
        .iter()
        .flat_map(|&y| xs.iter().flat_map(move |&x| [x, y]))
        .collect();
    let z = energies_f64(
        &u,
        &telescope::tensor::from_vec(&grid, &[(n * n) as i64, 2])?,
    )?;
    // The straight line from minimum A to minimum B.
    let (a, b) = ((-0.558224, 1.441726), (0.623499, 0.028038));
    let k = 40;
    let line: Vec<f64> = (0..k)
        .flat_map(|i| {
            let t = i as f64 / (k - 1) as f64;
            [a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)]
        })
        .collect();
    let path = Series::line(
        "1-D line A-B",
        line.iter().step_by(2).copied().collect(),
        line.iter().skip(1).step_by(2).copied().collect(),
        3,
    );
    let heat = Figure::heatmap(Heatmap {
        xs,
        ys,
        z,
        zrange: Some((-150.0, 50.0)),
        levels: 12,
        paths: vec![path],
    })?
    .with_title("Müller-Brown");
    heat.save(dir.join("mb.svg"))?;
    heat.save(dir.join("mb.png"))?;
    let e = energies_f64(&u, &telescope::tensor::from_vec(&line, &[k as i64, 2])?)?;
    let along = Figure::path_energy(vec![e], &["1-D line A-B".to_string()], None)?
        .with_title("energy along the line");
    along.save(dir.join("mb_line.png"))?;
    // The DG of the three Müller-Brown minima with the reference saddle energies.
    let (ea, eb, ec) = (-146.699517, -108.166724, -80.767818);
    let (sac, scb) = (-40.664844, -72.248940);
    let barriers = vec![
        vec![None, None, Some(sac)],
        vec![None, None, Some(scb)],
        vec![Some(sac), Some(scb), None],
    ];
    let dg = Dg::build(&[ea, eb, ec], &barriers, &[30, 20, 10])?;
    let pic = Figure::dg(DgPicture::new(dg))?.with_title("Müller-Brown DG");
    pic.save(dir.join("mb_dg.svg"))?;
    pic.save(dir.join("mb_dg.png"))?;
    print!("{}", pic.to_text(60, 16, false));
    println!("pictures written to {}", dir.display());
    Ok(())
}
