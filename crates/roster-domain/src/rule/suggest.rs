//! "Did you mean": the closest known name to a misspelt one, by edit distance.

/// Names longer than this get no suggestion (the distance costs length squared).
const MAX_LEN: usize = 100;

/// The candidate closest to `word`, ignoring case, if it is close enough to be a typo:
/// at most one edit for short words, one per three characters for longer ones
/// (an edit inserts, deletes, replaces or swaps two neighbouring characters).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word: Vec<char> = word.chars().flat_map(char::to_lowercase).collect();
    if word.is_empty() || word.len() > MAX_LEN {
        return None;
    }
    let limit = (word.len() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let other: Vec<char> = candidate.chars().flat_map(char::to_lowercase).collect();
            if other.len().abs_diff(word.len()) > limit || other.len() > MAX_LEN {
                return None;
            }
            let distance = distance(&word, &other);
            (distance <= limit).then_some((distance, candidate))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// ` — did you mean "x"?` when a candidate is close to `word`, else nothing.
pub(crate) fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map_or_else(String::new, |c| format!(" — did you mean \"{c}\"?"))
}

/// The optimal-string-alignment distance: Levenshtein plus swaps of neighbours.
fn distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in rows.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[i * width] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[(i - 1) * width + j] + 1)
                .min(rows[i * width + j - 1] + 1)
                .min(rows[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[(i - 2) * width + j - 2] + 1);
            }
            rows[i * width + j] = best;
        }
    }
    rows[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_name_within_reach() {
        assert_eq!(closest("emial", ["username", "email", "status"]), Some("email"));
        assert_eq!(closest("Departmnet", ["Job Title", "Department"]), Some("Department"));
        assert_eq!(closest("STATSU", ["status"]), Some("status"));
        assert_eq!(closest("xyz", ["email", "status"]), None);
        assert_eq!(closest("", ["a"]), None);
    }

    #[test]
    fn prefers_the_nearest_and_then_the_first() {
        assert_eq!(closest("cours", ["courses", "course"]), Some("course"));
        assert_eq!(closest("ab", ["ax", "ay"]), Some("ax"));
    }

    #[test]
    fn hint_reads_as_a_question() {
        assert_eq!(hint("emial", ["email"]), " — did you mean \"email\"?");
        assert_eq!(hint("zzz", ["email"]), "");
    }
}
