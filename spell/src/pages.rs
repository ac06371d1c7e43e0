//! Large tables of fixed-width entries in anonymous memory advised for transparent huge pages.
//!
//! The candidate search reads a few hundred scattered entries of tables of tens of megabytes per word; on
//! 4 KiB pages nearly every one of those reads also misses the TLB. Where the kernel's transparent huge pages are
//! enabled only on request (`madvise`, the usual default), a table here asks for them (`MADV_HUGEPAGE`); the
//! advice is only a hint, and without huge pages (or where anonymous maps fail) the table works the same.

/// A read-only table of `u64` or `u32` entries (native byte order).
#[derive(Debug)]
pub(crate) struct Table {
    bytes: Bytes,
}

#[derive(Debug)]
enum Bytes {
    Map(memmap2::MmapMut),
    Heap(Vec<u8>),
}

impl Table {
    /// A table of `len` zero bytes.
    fn zeroed(len: usize) -> Table {
        if len == 0 {
            return Table {
                bytes: Bytes::Heap(Vec::new()),
            };
        }
        match memmap2::MmapMut::map_anon(len) {
            Ok(map) => {
                // Only a hint: without huge pages the table works the same.
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::HugePage);
                Table { bytes: Bytes::Map(map) }
            }
            Err(_) => Table {
                bytes: Bytes::Heap(vec![0; len]),
            },
        }
    }

    /// A table of `len` `u64`s, all 0, to be filled with [`Table::set_u64`].
    pub(crate) fn zeroed_u64(len: usize) -> Table {
        Table::zeroed(8 * len)
    }

    /// A table of the `u32`s of `values`.
    pub(crate) fn from_u32(values: &[u32]) -> Table {
        let mut table = Table::zeroed(4 * values.len());
        for (bytes, value) in table.bytes_mut().chunks_exact_mut(4).zip(values) {
            bytes.copy_from_slice(&value.to_ne_bytes());
        }
        table
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match &mut self.bytes {
            Bytes::Map(map) => map,
            Bytes::Heap(vec) => vec,
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Map(map) => map,
            Bytes::Heap(vec) => vec,
        }
    }

    /// Bytes held.
    pub(crate) fn len_bytes(&self) -> usize {
        self.bytes().len()
    }

    /// Sets entry `i` of a table of `u64`s.
    #[inline]
    pub(crate) fn set_u64(&mut self, i: usize, value: u64) {
        self.bytes_mut()[8 * i..8 * i + 8].copy_from_slice(&value.to_ne_bytes());
    }

    /// Entry `i` of a table of `u32`s.
    #[inline]
    pub(crate) fn u32_at(&self, i: usize) -> u32 {
        let bytes: [u8; 4] = self.bytes()[4 * i..4 * i + 4].try_into().unwrap_or([0; 4]);
        u32::from_ne_bytes(bytes)
    }

    /// Entries `range` of a table of `u64`s.
    #[inline]
    pub(crate) fn u64s(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = u64> + '_ {
        self.bytes()[8 * range.start..8 * range.end]
            .chunks_exact(8)
            .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
    }
}

impl Clone for Table {
    fn clone(&self) -> Table {
        let mut table = Table::zeroed(self.len_bytes());
        table.bytes_mut().copy_from_slice(self.bytes());
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_give_back_their_entries() {
        let values: Vec<u64> = (0..1000).map(|i| i * 0x0123_4567_89AB + 7).collect();
        let mut table = Table::zeroed_u64(values.len());
        for (i, &v) in values.iter().enumerate().rev() {
            table.set_u64(i, v);
        }
        assert_eq!(table.u64s(0..1000).collect::<Vec<_>>(), values);
        assert_eq!(table.u64s(10..13).collect::<Vec<_>>(), values[10..13]);
        assert_eq!(table.clone().u64s(999..1000).next(), Some(values[999]));
        let small: Vec<u32> = (0..77).map(|i| i * 3 + 1).collect();
        let table = Table::from_u32(&small);
        assert_eq!((0..77).map(|i| table.u32_at(i)).collect::<Vec<_>>(), small);
        assert_eq!(table.len_bytes(), 4 * 77);
        assert_eq!(Table::zeroed_u64(0).u64s(0..0).count(), 0);
    }
}
