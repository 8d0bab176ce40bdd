//! What a warm process keeps between invocations for the fan-out (a Lambda container keeps its
//! globals): entries shared by every invocation that asks for the same key, bounded, and emptied
//! when full.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Shared entries by key, at most `max` keys (the map is emptied when a new key would pass it:
/// an entry is only ever a saving, never needed).
pub struct PerProcess<K, V> {
    entries: Mutex<HashMap<K, Arc<V>>>,
    max: usize,
}

impl<K: Hash + Eq, V: Default> PerProcess<K, V> {
    pub fn new(max: usize) -> Self {
        PerProcess {
            entries: Mutex::new(HashMap::new()),
            max,
        }
    }

    /// The entry of `key`, made (`V::default()`) if there is none.
    pub fn entry(&self, key: K) -> Arc<V> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.entry(key).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_key_emptied_when_a_new_key_passes_the_bound() {
        let kept: PerProcess<u32, Mutex<u32>> = PerProcess::new(2);
        *kept.entry(1).lock().unwrap() = 10;
        assert_eq!(*kept.entry(1).lock().unwrap(), 10);
        kept.entry(2);
        // At the bound, a key already kept is served as it is.
        assert_eq!(*kept.entry(1).lock().unwrap(), 10);
        // A third key empties the map first.
        kept.entry(3);
        assert_eq!(*kept.entry(1).lock().unwrap(), 0);
    }
}
