//! Reading and writing `.npy` arrays (float64/float32/int, C order), with no extra crate.

use crate::error::{invalid, WithPath};
use crate::Result;
use std::path::Path;

/// Reads a `.npy` file into `f64` values and its shape.
pub fn read_npy(path: &Path) -> Result<(Vec<f64>, Vec<usize>)> {
    let bytes = std::fs::read(path).with_path(path)?;
    parse_npy(&bytes).map_err(invalid).with_path(path)
}

fn parse_npy(bytes: &[u8]) -> std::result::Result<(Vec<f64>, Vec<usize>), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file".into());
    }
    let major = bytes[6];
    let (hlen, start) = if major == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        if bytes.len() < 12 {
            return Err("truncated header".into());
        }
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(bytes.get(start..start + hlen).ok_or("truncated header")?)
        .map_err(|_| "bad header")?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        Some(header[at..].trim_start_matches([':', ' ']))
    };
    let descr = field("descr").ok_or("no descr")?;
    let descr = descr
        .trim_start_matches('\'')
        .split('\'')
        .next()
        .unwrap_or("");
    if field("fortran_order")
        .map(|f| f.starts_with("True"))
        .unwrap_or(false)
    {
        return Err(
            "Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into(),
        );
    }
    let shape_text = field("shape").ok_or("no shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|t| t.split_once(')'))
        .map(|(inner, _)| inner)
        .ok_or("bad shape")?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| "bad shape".to_string()))
        .collect::<std::result::Result<_, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} is too large"))?;
    let data = &bytes[start + hlen..];
    let values: Vec<f64> = match descr {
        "<f8" => data
            .chunks_exact(8)
            .take(count)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        "<f4" => data
            .chunks_exact(4)
            .take(count)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        "<i8" => data
            .chunks_exact(8)
            .take(count)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        "<i4" => data
            .chunks_exact(4)
            .take(count)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        "|u1" => data.iter().take(count).map(|&b| b as f64).collect(),
        other => return Err(format!("unsupported dtype {other}")),
    };
    if values.len() != count {
        return Err(format!(
            "file holds {} values, shape needs {count}",
            values.len()
        ));
    }
    Ok((values, shape))
}

/// Writes `f64` values with a shape as a `.npy` (version 1.0, `<f8`).
pub fn write_npy(path: &Path, data: &[f64], shape: &[usize]) -> Result<()> {
    if shape.iter().product::<usize>() != data.len() {
        return Err(invalid("shape does not match the data"));
    }
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for v in data {
        out.extend(v.to_le_bytes());
    }
    write_atomic(path, &out)
}

/// Length of the dictionary part of an appendable row file's header ([`write_npy_rows`]):
/// room for any shape, so that appending rows rewrites the header in place. (Files written
/// before headers carried a note end their header right after it: 128 bytes in all.)
const ROWS_DICT: usize = 117;

/// The header of a row file of `rows` x `dim` with `note` after the dictionary as a Python
/// comment (`np.load` reads past it): its length depends on the note alone.
fn rows_header(rows: usize, dim: usize, note: &str) -> Vec<u8> {
    let mut text =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    while text.len() < ROWS_DICT {
        text.push(' ');
    }
    if !note.is_empty() {
        // One line, and no quote the dictionary reader could take for a key.
        let clean: String = note
            .chars()
            .map(|c| if c.is_control() || c == '\'' { ' ' } else { c })
            .collect();
        text.push_str(" # ");
        text.push_str(&clean);
    }
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(' ');
    }
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text.as_bytes());
    out
}

/// The note in the header of a row file written by [`write_npy_rows`] (empty when it has none).
pub fn read_npy_note(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_path(path)?;
    let header = row_file_header(&bytes).map_err(invalid).with_path(path)?;
    Ok(note_of(header).to_string())
}

/// The header text of a version-1.0 `.npy` file.
fn row_file_header(bytes: &[u8]) -> std::result::Result<&str, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" || bytes[6] != 1 {
        return Err("not a telescope row file (.npy version 1.0)".into());
    }
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = bytes.get(10..10 + hlen).ok_or("truncated header")?;
    std::str::from_utf8(header).map_err(|_| "bad header".into())
}

/// The comment after the dictionary of a row file's header.
fn note_of(header: &str) -> &str {
    header
        .get(ROWS_DICT..)
        .and_then(|rest| rest.trim_start().strip_prefix('#'))
        .map_or("", str::trim)
}

fn rows_bytes<'a>(rows: impl Iterator<Item = &'a [f64]>, dim: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for r in rows {
        if r.len() != dim {
            return Err(invalid(format!(
                "a row of {} values in a file of rows of {dim}",
                r.len()
            )));
        }
        for v in r {
            out.extend(v.to_le_bytes());
        }
    }
    Ok(out)
}

/// Writes rows of `dim` float64 values as a `.npy` matrix `[rows, dim]` whose header has a
/// fixed length and carries `note` (one line, e.g. the map's provenance) as a comment that
/// `np.load` skips, atomically (temporary file, sync, rename). [`append_npy_rows`] extends it.
pub fn write_npy_rows<'a>(
    path: &Path,
    dim: usize,
    note: &str,
    rows: impl ExactSizeIterator<Item = &'a [f64]>,
) -> Result<()> {
    let mut out = rows_header(rows.len(), dim, note);
    out.extend(rows_bytes(rows, dim)?);
    write_atomic(path, &out)
}

/// Appends rows to a file written by [`write_npy_rows`] that its reader trusts for its first
/// `have` rows: anything after them (an append cut short) is dropped, the new rows are
/// written and synced, and only then does the header count them. A crash at any point leaves
/// the first `have` rows intact.
pub fn append_npy_rows<'a>(
    path: &Path,
    dim: usize,
    have: usize,
    rows: impl ExactSizeIterator<Item = &'a [f64]>,
) -> Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    crate::sandbox::check_write(path)?;
    let added = rows.len();
    let bytes = rows_bytes(rows, dim)?;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_path(path)?;
    let mut start = [0u8; 10];
    std::io::Read::read_exact(&mut f, &mut start).with_path(path)?;
    let mut head = start.to_vec();
    head.resize(10 + u16::from_le_bytes([start[8], start[9]]) as usize, 0);
    std::io::Read::read_exact(&mut f, &mut head[10..]).with_path(path)?;
    let dim_text = format!(", {dim}), }}");
    let note = match row_file_header(&head) {
        Ok(h) if h.contains(&dim_text) && h.len() > ROWS_DICT => note_of(h).to_string(),
        _ => {
            return Err(invalid(format!(
                "{}: not a row file of dimension {dim}",
                path.display()
            )))
        }
    };
    let header = rows_header(have + added, dim, &note);
    if header.len() != head.len() {
        return Err(invalid(format!(
            "{}: its header is not one telescope writes",
            path.display()
        )));
    }
    let end = (head.len() + have * dim * 8) as u64;
    if f.metadata().with_path(path)?.len() < end {
        return Err(invalid(format!(
            "{}: holds fewer than {have} rows",
            path.display()
        )));
    }
    f.set_len(end).with_path(path)?;
    f.seek(SeekFrom::Start(end)).with_path(path)?;
    f.write_all(&bytes).with_path(path)?;
    f.sync_data().with_path(path)?;
    f.seek(SeekFrom::Start(0)).with_path(path)?;
    f.write_all(&header).with_path(path)?;
    f.sync_data().with_path(path)
}

/// Writes `bytes` to `path` so that a crash never leaves a partial file: a temporary file in
/// the same folder is written and synced, then renamed over `path` (the old file stays intact
/// until the rename). Errors name the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    crate::sandbox::check_write(path)?;
    let tmp = temporary_beside(path)?;
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_path(path);
    }
    Ok(())
}

/// A temporary path beside `path` (same folder, so a rename over `path` is atomic): the
/// hidden name `.tmpPID.NAME`, which keeps the extension (libtorch picks formats by it).
pub fn temporary_beside(path: &Path) -> Result<std::path::PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| invalid(format!("{}: not a file name", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(format!(".tmp{}.", std::process::id()));
    tmp_name.push(name);
    Ok(path.with_file_name(tmp_name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn npy_round_trip() {
        let dir = tempfile::Builder::new()
            .prefix("telescope-npy-")
            .tempdir()
            .unwrap();
        let p = dir.path().join("a.npy");
        super::write_npy(&p, &[1.0, -2.5, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let (v, s) = super::read_npy(&p).unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(v, vec![1.0, -2.5, 3.0, 4.0, 5.0, 6.0]);
    }
}
