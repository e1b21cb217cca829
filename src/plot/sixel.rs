//! Sixel graphics (DEC VT340, supported by xterm in VT340 mode, foot, mlterm, WezTerm and
//! others): an RGB picture as a DCS escape sequence, with colours quantized to the 6 x 6 x 6
//! cube (216 palette registers, each defined only when used) and runs compressed.

/// Levels per channel of the colour cube.
const LEVELS: u32 = 6;

/// The palette index of a pixel: its nearest colour in the cube.
fn cube_index(r: u8, g: u8, b: u8) -> usize {
    let q = |v: u8| (v as u32 * (LEVELS - 1) + 127) / 255;
    (q(r) * LEVELS * LEVELS + q(g) * LEVELS + q(b)) as usize
}

/// The colour of palette index `i`, in percent per channel as Sixel defines colours.
fn cube_percent(i: usize) -> (u32, u32, u32) {
    let l = LEVELS as usize;
    let p = |v: usize| (v as u32 * 100) / (LEVELS - 1);
    (p(i / (l * l)), p(i / l % l), p(i % l))
}

/// Appends `count` copies of the sixel character `c`, run-length encoded (`!n c`) when longer
/// than three.
fn push_run(out: &mut String, c: char, count: usize) {
    match count {
        0 => {}
        1..=3 => out.extend(std::iter::repeat_n(c, count)),
        _ => out.push_str(&format!("!{count}{c}")),
    }
}

/// The Sixel sequence showing the `width` x `height` picture `rgb` (row-major, 3 bytes per
/// pixel), followed by a newline.
pub fn sixel_sequence(width: usize, height: usize, rgb: &[u8]) -> String {
    let index: Vec<usize> = rgb
        .chunks_exact(3)
        .take(width * height)
        .map(|p| cube_index(p[0], p[1], p[2]))
        .collect();
    let cube = (LEVELS * LEVELS * LEVELS) as usize;
    let mut used = vec![false; cube];
    for &i in &index {
        used[i] = true;
    }
    // DCS, pixel aspect 1:1, raster size, then the palette of the colours that occur.
    let mut out = format!("\x1bP0;1;0q\"1;1;{width};{height}");
    for (i, _) in used.iter().enumerate().filter(|(_, u)| **u) {
        let (r, g, b) = cube_percent(i);
        out.push_str(&format!("#{i};2;{r};{g};{b}"));
    }
    for top in (0..height).step_by(6) {
        let rows = (height - top).min(6);
        let mut in_band = vec![false; cube];
        for y in top..top + rows {
            for &i in &index[y * width..(y + 1) * width] {
                in_band[i] = true;
            }
        }
        let colours: Vec<usize> = (0..cube).filter(|&i| in_band[i]).collect();
        for (k, &colour) in colours.iter().enumerate() {
            out.push_str(&format!("#{colour}"));
            let (mut run_char, mut run) = ('?', 0usize);
            for x in 0..width {
                let bits = (0..rows)
                    .filter(|dy| index[(top + dy) * width + x] == colour)
                    .fold(0u8, |acc, dy| acc | (1 << dy));
                let c = (63 + bits) as char;
                if c == run_char {
                    run += 1;
                } else {
                    push_run(&mut out, run_char, run);
                    (run_char, run) = (c, 1);
                }
            }
            // Trailing empty sixels draw nothing: they can be left out.
            if run_char != '?' {
                push_run(&mut out, run_char, run);
            }
            // `$` returns to the band's start for the next colour; `-` moves to the next band.
            if k + 1 < colours.len() {
                out.push('$');
            }
        }
        out.push('-');
    }
    out.push_str("\x1b\\\n");
    out
}
