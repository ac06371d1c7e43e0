//! A small direct-mapped cache of recent lookups, one per thread, so that reading needs no lock.
//!
//! Running text asks for the same `(context, word)` pairs again and again (", and", "of the"): a hit costs one
//! probe of a table of a few MB instead of the dozens of scattered reads of a walk through the shard's trie. The
//! key is the whole query (the context words as the store uses them, and the word), compared in full, so a hit
//! is exactly what the lookup would answer. Each table belongs to one opened store at a time (by a process-wide
//! id given at open): a thread that turns to another store empties its table first.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::shard::Lookup;
use crate::model::{MAX_ORDER, WordId};

/// Entries per thread (a power of two): 2^16 entries of 40 bytes, 2.5 MB.
const ENTRIES: usize = 1 << 16;
/// The `len` of an empty entry (no query has that many context words).
const EMPTY: u8 = u8::MAX;

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// A fresh owner id for an opened store.
pub(crate) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The context (`len` words, oldest first), then the word at `words[len]`.
    words: [WordId; MAX_ORDER],
    len: u8,
    matched: u8,
    keep: u8,
    log10: f32,
}

const VACANT: Entry = Entry {
    words: [0; MAX_ORDER],
    len: EMPTY,
    matched: 0,
    keep: 0,
    log10: 0.0,
};

/// One thread's table.
#[derive(Debug)]
pub(crate) struct Cache {
    owner: u64,
    entries: Vec<Entry>,
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache { owner: 0, entries: Vec::new() }) };
}

/// Runs `f` with this thread's table, emptied first unless it already belongs to `owner`.
pub(crate) fn with_cache<R>(owner: u64, f: impl FnOnce(&mut Cache) -> R) -> R {
    CACHE.with(|cell| {
        let mut cache = cell.borrow_mut();
        if cache.owner != owner || cache.entries.len() != ENTRIES {
            cache.entries.clear();
            cache.entries.resize(ENTRIES, VACANT);
            cache.owner = owner;
        }
        f(&mut cache)
    })
}

#[inline]
fn slot(context: &[WordId], word: WordId) -> usize {
    let mut h = u64::from(word).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ context.len() as u64;
    for &w in context {
        h = (h ^ u64::from(w)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    }
    h ^= h >> 29;
    (h.wrapping_mul(0x94D0_49BB_1331_11EB) >> 40) as usize & (ENTRIES - 1)
}

impl Cache {
    /// The cached answer to `(context, word)`; `context` has at most `MAX_ORDER - 1` words.
    #[inline]
    pub(crate) fn get(&self, context: &[WordId], word: WordId) -> Option<Lookup> {
        let e = self.entries.get(slot(context, word))?;
        let m = context.len();
        (usize::from(e.len) == m && e.words[m] == word && e.words[..m] == *context).then_some(Lookup {
            log10: e.log10,
            matched: usize::from(e.matched),
            keep: usize::from(e.keep),
        })
    }

    /// Remembers the answer to `(context, word)`.
    #[inline]
    pub(crate) fn put(&mut self, context: &[WordId], word: WordId, lookup: &Lookup) {
        let m = context.len();
        if m >= MAX_ORDER {
            return;
        }
        let index = slot(context, word);
        if let Some(e) = self.entries.get_mut(index) {
            e.words[..m].copy_from_slice(context);
            e.words[m] = word;
            e.len = m as u8;
            e.matched = lookup.matched as u8;
            e.keep = lookup.keep as u8;
            e.log10 = lookup.log10;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_only_the_same_query() {
        let a = Lookup {
            log10: -1.5,
            matched: 3,
            keep: 2,
        };
        with_cache(new_owner(), |cache| {
            assert_eq!(cache.get(&[1, 2], 3), None);
            cache.put(&[1, 2], 3, &a);
            assert_eq!(cache.get(&[1, 2], 3), Some(a));
            assert_eq!(cache.get(&[2], 3), None);
            assert_eq!(cache.get(&[1, 2], 4), None);
            assert_eq!(cache.get(&[0, 1, 2], 3), None);
            cache.put(&[], 3, &a);
            assert_eq!(cache.get(&[], 3), Some(a));
        });
        // Another store's table starts empty.
        with_cache(new_owner(), |cache| assert_eq!(cache.get(&[1, 2], 3), None));
    }
}
