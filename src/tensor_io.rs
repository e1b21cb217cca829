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

/// Length of the fixed header of an appendable row file ([`write_npy_rows`]): room for any
/// shape, so that appending rows rewrites the header in place.
const ROWS_HEADER: usize = 128;

fn rows_header(rows: usize, dim: usize) -> Vec<u8> {
    let mut dict =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    while 10 + dict.len() + 1 < ROWS_HEADER {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out
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
/// fixed length, atomically (temporary file, sync, rename). [`append_npy_rows`] extends it.
pub fn write_npy_rows<'a>(
    path: &Path,
    dim: usize,
    rows: impl ExactSizeIterator<Item = &'a [f64]>,
) -> Result<()> {
    let mut out = rows_header(rows.len(), dim);
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
    let mut head = vec![0u8; ROWS_HEADER];
    std::io::Read::read_exact(&mut f, &mut head).with_path(path)?;
    let dim_text = format!(", {dim}), }}");
    if &head[..6] != b"\x93NUMPY" || !String::from_utf8_lossy(&head).contains(&dim_text) {
        return Err(invalid(format!(
            "{}: not a row file of dimension {dim}",
            path.display()
        )));
    }
    let end = (ROWS_HEADER + have * dim * 8) as u64;
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
    f.write_all(&rows_header(have + added, dim))
        .with_path(path)?;
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
        let dir = std::env::temp_dir().join(format!("telescope-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.npy");
        super::write_npy(&p, &[1.0, -2.5, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let (v, s) = super::read_npy(&p).unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(v, vec![1.0, -2.5, 3.0, 4.0, 5.0, 6.0]);
    }
}
