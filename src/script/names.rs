//! "Did you mean": one edit distance and one ranking of close names, shared by option
//! checks, the docs, the REPL and the static analysis.

/// Edit distance between two short strings, a swap of neighbours counting as one edit
/// (for "did you mean").
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j - 1] + cost)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// Up to `max` names close to `name` (small edit distance, or containing it), best first.
pub fn close_names<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
    max: usize,
) -> Vec<String> {
    let lname = name.to_lowercase();
    let mut scored: Vec<(usize, String)> = candidates
        .filter_map(|c| {
            let d = edit_distance(&lname, &c.to_lowercase());
            let n = name.chars().count();
            let limit = if n <= 3 { 1 } else { (n / 3).clamp(2, 3) };
            if d <= limit {
                Some((d, c.to_string()))
            } else if lname.len() >= 3 && c.to_lowercase().contains(&lname) {
                Some((limit + 1, c.to_string()))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(max).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("seed", "sed"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("sede", "seed"), 1);
        assert_eq!(
            close_names("sede", ["seed", "device", "version"].into_iter(), 3),
            vec!["seed"]
        );
    }
}
