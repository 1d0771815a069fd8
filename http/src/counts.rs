//! Counts of things in progress per key (requests per client, connections per network), kept
//! only while non-zero so that a map of them is bounded by what is in progress.

use std::collections::HashMap;
use std::hash::Hash;

/// Counts one of `key` given back: one fewer in progress, and the key forgotten at zero.
pub(crate) fn count_down<K: Eq + Hash>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = counts.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count_down;
    use std::collections::HashMap;

    #[test]
    fn a_key_is_forgotten_when_its_count_reaches_zero() {
        let mut counts = HashMap::from([("a", 2), ("b", 1)]);
        count_down(&mut counts, &"a");
        assert_eq!(counts.get("a"), Some(&1));
        count_down(&mut counts, &"a");
        count_down(&mut counts, &"b");
        assert!(counts.is_empty());
        // A key not counted is left alone.
        count_down(&mut counts, &"c");
        assert!(counts.is_empty());
    }
}
