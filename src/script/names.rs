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
            let lc = c.to_lowercase();
            let prefix = |a: &str, b: &str| b.chars().count() >= 3 && a.starts_with(b);
            if d <= limit {
                Some((d, c.to_string()))
            } else if stem(&lname) == stem(&lc) && stem(&lc).chars().count() >= 3 {
                // Word forms: `climbing` for `climb`, `seeds` for `seed`.
                Some((limit, c.to_string()))
            } else if prefix(&lname, &lc)
                || prefix(&lc, &lname)
                || shares_a_long_prefix(&lname, &lc)
                || lname.len() >= 3 && lc.contains(&lname)
            {
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

/// True when `a` and `b` start alike for at least 4 characters and 60% of the shorter
/// (`iterations` and `iters`).
fn shares_a_long_prefix(a: &str, b: &str) -> bool {
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let shorter = a.chars().count().min(b.chars().count());
    common >= 4 && common as f64 >= 0.6 * shorter as f64
}

/// `word` without an English inflection (`-ing`, `-ed`, `-es`, `-s`), for matching word forms.
fn stem(word: &str) -> &str {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(s) = word.strip_suffix(suffix) {
            if s.chars().count() >= 3 {
                return s;
            }
        }
    }
    word
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

    #[test]
    fn word_forms_and_prefixes_are_close() {
        let options = [
            "climb",
            "climb_after",
            "iters",
            "images",
            "max_iter",
            "tol",
            "seed",
        ];
        let close = |n: &str| close_names(n, options.iter().copied(), 3);
        assert_eq!(close("climbing").first().map(String::as_str), Some("climb"));
        assert_eq!(close("climbed").first().map(String::as_str), Some("climb"));
        assert_eq!(close("iter").first().map(String::as_str), Some("iters"));
        assert_eq!(
            close("iterations").first().map(String::as_str),
            Some("iters")
        );
        assert_eq!(close("seeds").first().map(String::as_str), Some("seed"));
        assert!(close("zzzz").is_empty());
        assert!(
            close("temperature").is_empty(),
            "{:?}",
            close("temperature")
        );
    }
}
