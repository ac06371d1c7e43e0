//! The container shared by every binary file of a store: header, sections, footer, checksums.
//!
//! ```text
//! offset 0    header (128 bytes)
//!               0  magic "FIVEGRAM"            8  format version (u32)     12 kind tag (u32, frozen values)
//!              16  header length = 128 (u32)  20  order (u32)             24 vocabulary size (u64)
//!              32  shard index (u32)          36  shard count (u32)       40 quantization bits (u32, 0 = f32)
//!              44  reserved = 0 (u32)         48  n-grams in the model (u64)  56 reserved = 0 (u64)
//!              64  sanity block (64 bytes of known values, below)
//! offset 128  sections, each starting on an 8-byte boundary, zero-padded
//! footer      section table: per section  tag (u32), flags (u32), offset (u64), length in bytes (u64)
//!             section count (u32), footer length (u32), file length (u64),
//!             body CRC-32 (u32): of every byte of the file before this field, computed while writing,
//!             meta CRC-32 (u32): of the header, the sections flagged "read at open" (flag 1) in file order,
//!             and the footer up to this field,
//!             end magic "FGSTORE\n"
//! ```
//! All integers are little-endian. Opening a file ([`Container::parse`]) checks the magics, the version, the
//! kind, the sanity block, the lengths and the meta CRC, which covers every header and footer byte and the small
//! sections a reader parses at open (directories, codebooks), so any truncation and any change to what open
//! reads is an error at open, without reading the n-gram sections. The body CRC ([`Container::verify`]) covers
//! every byte and is what `fivegram verify` checks.
//!
//! The sanity block, as in KenLM's binary format, holds values whose encoding a reader must agree with: an
//! integer byte-order pattern, IEEE-754 floats (1.5, −∞, −0.1 as f64) and a text tag. A file written by a writer
//! that encoded numbers differently fails here rather than giving wrong scores.

use std::io::{self, Write};
use std::path::Path;

use crate::{Error, Result};

/// The first 8 bytes of every store file.
pub const MAGIC: [u8; 8] = *b"FIVEGRAM";
/// The last 8 bytes of every store file.
pub const END_MAGIC: [u8; 8] = *b"FGSTORE\n";
/// The format version this build writes. Version 2 added the hashed layout's bucket overflow bit, version 3
/// its packed value words with extension filters, version 4 its narrow highest-order tables, version 5 filters
/// of the whole model's extensions in every shard (trie files are the same in all five versions).
pub const FORMAT_VERSION: u32 = 5;
/// The oldest format version this build reads.
pub const OLDEST_VERSION: u32 = 1;
/// The header's length in bytes.
pub const HEADER_LEN: usize = 128;
/// Bytes of the footer after the section table.
const TRAILER_LEN: usize = 32;
/// Bytes per section-table entry.
const ENTRY_LEN: usize = 24;
/// Section flag: the section is read at open and covered by the meta CRC.
pub const READ_AT_OPEN: u32 = 1;

/// What a file holds; the values are frozen (they are written to files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Kind {
    /// `vocab.fst`: the vocabulary and the model's global metadata.
    Vocab = 1,
    /// `shard-NNNNN.fgs`: one shard of n-grams in the trie layout.
    Shard = 2,
    /// `shard-NNNNN.fgs`: one shard of n-grams in the hashed layout.
    HashedShard = 3,
}

impl Kind {
    fn from_u32(value: u32) -> Option<Kind> {
        match value {
            1 => Some(Kind::Vocab),
            2 => Some(Kind::Shard),
            3 => Some(Kind::HashedShard),
            _ => None,
        }
    }

    /// The kind's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Vocab => "vocabulary",
            Kind::Shard => "shard",
            Kind::HashedShard => "hashed shard",
        }
    }
}

/// The model-wide fields every header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderFields {
    /// The n-gram order.
    pub order: u32,
    /// The number of words in the vocabulary.
    pub vocab_size: u64,
    /// This file's shard index (0 for the vocabulary).
    pub shard: u32,
    /// The number of shards of the model.
    pub shards: u32,
    /// Bits per quantized value; 0 for unquantized `f32`.
    pub quant_bits: u32,
    /// The number of n-grams of all orders in the model.
    pub ngrams: u64,
}

/// The sanity block: known values in the encoding every reader must share.
fn sanity_block() -> [u8; 64] {
    let mut block = [0u8; 64];
    block[0..8].copy_from_slice(&0x0123_4567_89AB_CDEFu64.to_le_bytes());
    block[8..12].copy_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
    block[12..16].copy_from_slice(&1.5f32.to_le_bytes());
    block[16..20].copy_from_slice(&f32::NEG_INFINITY.to_le_bytes());
    block[20..24].copy_from_slice(&(-0.0f32).to_le_bytes());
    block[24..32].copy_from_slice(&(-0.1f64).to_le_bytes());
    block[32..48].copy_from_slice(b"fivegram-store\0\0");
    block[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
    block
}

fn encode_header(kind: Kind, fields: &HeaderFields) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(kind as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    h[20..24].copy_from_slice(&fields.order.to_le_bytes());
    h[24..32].copy_from_slice(&fields.vocab_size.to_le_bytes());
    h[32..36].copy_from_slice(&fields.shard.to_le_bytes());
    h[36..40].copy_from_slice(&fields.shards.to_le_bytes());
    h[40..44].copy_from_slice(&fields.quant_bits.to_le_bytes());
    h[48..56].copy_from_slice(&fields.ngrams.to_le_bytes());
    h[64..128].copy_from_slice(&sanity_block());
    h
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// One entry of the section table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// What the section holds (frozen per kind of file).
    pub tag: u32,
    /// [`READ_AT_OPEN`] or 0.
    pub flags: u32,
    /// Byte offset from the start of the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Writes a store file: the header, then sections, then the footer, checksumming every byte on the way.
#[derive(Debug)]
pub struct ContainerWriter<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
    meta: crc32fast::Hasher,
    written: u64,
    sections: Vec<Section>,
}

impl<W: Write> ContainerWriter<W> {
    /// Starts a file of `kind` by writing its header.
    pub fn new(inner: W, kind: Kind, fields: &HeaderFields) -> io::Result<ContainerWriter<W>> {
        let mut writer = ContainerWriter {
            inner,
            crc: crc32fast::Hasher::new(),
            meta: crc32fast::Hasher::new(),
            written: 0,
            sections: Vec::new(),
        };
        let header = encode_header(kind, fields);
        writer.meta.update(&header);
        writer.put(&header)?;
        Ok(writer)
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.crc.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let rest = (8 - self.written % 8) % 8;
        self.put(&[0u8; 8][..rest as usize])
    }

    /// Pads with zeros so that the next section starts at a multiple of `align` bytes (a multiple of 8) from
    /// the start of the file: e.g. 64, so that the entries of a memory-mapped table share cache lines as their
    /// offsets say.
    pub fn align_to(&mut self, align: u64) -> io::Result<()> {
        debug_assert!(align.is_multiple_of(8) && align > 0);
        let zeros = [0u8; 64];
        let mut rest = (align - self.written % align) % align;
        while rest > 0 {
            let now = rest.min(64);
            self.put(&zeros[..now as usize])?;
            rest -= now;
        }
        Ok(())
    }

    /// Appends a section of raw bytes.
    pub fn bytes_section(&mut self, tag: u32, bytes: &[u8]) -> io::Result<()> {
        debug_assert!(self.sections.iter().all(|s| s.tag != tag), "section {tag} twice");
        self.pad()?;
        self.sections.push(Section {
            tag,
            flags: 0,
            offset: self.written,
            len: bytes.len() as u64,
        });
        self.put(bytes)
    }

    /// Appends a small section that readers parse at open: covered by the meta CRC as well.
    pub fn open_section(&mut self, tag: u32, bytes: &[u8]) -> io::Result<()> {
        self.bytes_section(tag, bytes)?;
        if let Some(s) = self.sections.last_mut() {
            s.flags = READ_AT_OPEN;
        }
        self.meta.update(bytes);
        Ok(())
    }

    /// Appends a section of little-endian 64-bit words.
    pub fn words_section(&mut self, tag: u32, words: &[u64]) -> io::Result<()> {
        self.pad()?;
        self.sections.push(Section {
            tag,
            flags: 0,
            offset: self.written,
            len: words.len() as u64 * 8,
        });
        let mut buf = Vec::with_capacity(8192);
        for chunk in words.chunks(1024) {
            buf.clear();
            for w in chunk {
                buf.extend_from_slice(&w.to_le_bytes());
            }
            self.put(&buf)?;
        }
        Ok(())
    }

    /// Writes the footer and returns the inner writer (not yet flushed or synced) and the body CRC.
    pub fn finish(mut self) -> io::Result<(W, u32)> {
        self.pad()?;
        let mut footer = Vec::with_capacity(self.sections.len() * ENTRY_LEN + TRAILER_LEN);
        for s in &self.sections {
            footer.extend_from_slice(&s.tag.to_le_bytes());
            footer.extend_from_slice(&s.flags.to_le_bytes());
            footer.extend_from_slice(&s.offset.to_le_bytes());
            footer.extend_from_slice(&s.len.to_le_bytes());
        }
        let footer_len = footer.len() + TRAILER_LEN;
        let file_len = self.written + footer_len as u64;
        footer.extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        footer.extend_from_slice(&(footer_len as u32).to_le_bytes());
        footer.extend_from_slice(&file_len.to_le_bytes());
        self.put(&footer)?;
        let body_crc = self.crc.clone().finalize();
        footer.extend_from_slice(&body_crc.to_le_bytes());
        self.meta.update(&footer);
        let meta_crc = self.meta.clone().finalize();
        let mut trailer = Vec::with_capacity(16);
        trailer.extend_from_slice(&body_crc.to_le_bytes());
        trailer.extend_from_slice(&meta_crc.to_le_bytes());
        trailer.extend_from_slice(&END_MAGIC);
        self.inner.write_all(&trailer)?;
        self.written += trailer.len() as u64;
        debug_assert_eq!(self.written, file_len);
        Ok((self.inner, body_crc))
    }
}

/// A parsed, validated container: where each section lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The kind of file.
    pub kind: Kind,
    /// The format version it was written in.
    pub version: u32,
    /// The model-wide header fields.
    pub fields: HeaderFields,
    /// The sections, in file order.
    pub sections: Vec<Section>,
    /// The body CRC recorded in the footer.
    pub body_crc: u32,
    /// Where the footer starts.
    pub footer_start: u64,
}

impl Container {
    /// Validates the header and footer of `bytes` (the whole file) as a file of `kind`; reads nothing else.
    pub fn parse(path: &Path, bytes: &[u8], kind: Kind) -> Result<Container> {
        let corrupt = |what: String| Error::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        let len = bytes.len();
        if len < MAGIC.len() || bytes[..8] != MAGIC {
            return Err(corrupt("not a fivegram model file: bad magic at offset 0".into()));
        }
        if len < HEADER_LEN + TRAILER_LEN {
            return Err(corrupt(format!(
                "truncated: {len} bytes, shorter than a header and footer"
            )));
        }
        let version = u32_at(bytes, 8);
        if !(OLDEST_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::Version {
                path: path.to_path_buf(),
                found: version,
                oldest: OLDEST_VERSION,
                newest: FORMAT_VERSION,
            });
        }
        if bytes[len - 8..] != END_MAGIC {
            return Err(corrupt(format!(
                "truncated or overwritten: no end magic in the last 8 bytes (file of {len} bytes)"
            )));
        }
        let trailer = len - TRAILER_LEN;
        let count = u32_at(bytes, trailer) as usize;
        let footer_len = u32_at(bytes, trailer + 4) as usize;
        let file_len = u64_at(bytes, trailer + 8);
        let body_crc = u32_at(bytes, trailer + 16);
        let meta_crc = u32_at(bytes, trailer + 20);
        if file_len != len as u64 {
            return Err(corrupt(format!(
                "truncated: the footer records {file_len} bytes, the file has {len}"
            )));
        }
        if Some(footer_len) != count.checked_mul(ENTRY_LEN).and_then(|t| t.checked_add(TRAILER_LEN))
            || footer_len > len - HEADER_LEN
        {
            return Err(corrupt(format!(
                "footer of {footer_len} bytes does not fit {count} sections in a file of {len} bytes"
            )));
        }
        let footer_start = len - footer_len;
        let mut sections = Vec::with_capacity(count);
        let mut end = HEADER_LEN as u64;
        for i in 0..count {
            let at = footer_start + i * ENTRY_LEN;
            let section = Section {
                tag: u32_at(bytes, at),
                flags: u32_at(bytes, at + 4),
                offset: u64_at(bytes, at + 8),
                len: u64_at(bytes, at + 16),
            };
            let fits = section.offset.is_multiple_of(8)
                && section.offset >= end
                && section
                    .offset
                    .checked_add(section.len)
                    .is_some_and(|e| e <= footer_start as u64);
            if !fits || section.flags & !READ_AT_OPEN != 0 {
                return Err(corrupt(format!(
                    "section {i} (tag {}) at offset {} of {} bytes lies outside the file's body",
                    section.tag, section.offset, section.len
                )));
            }
            if sections.iter().any(|s: &Section| s.tag == section.tag) {
                return Err(corrupt(format!("section tag {} listed twice", section.tag)));
            }
            end = section.offset + section.len;
            sections.push(section);
        }
        let mut meta = crc32fast::Hasher::new();
        meta.update(&bytes[..HEADER_LEN]);
        for s in sections.iter().filter(|s| s.flags & READ_AT_OPEN != 0) {
            meta.update(&bytes[s.offset as usize..(s.offset + s.len) as usize]);
        }
        meta.update(&bytes[footer_start..len - 12]);
        let computed = meta.finalize();
        if computed != meta_crc {
            return Err(Error::Checksum {
                path: path.to_path_buf(),
                what: format!("header, footer and directory CRC-32 {computed:08x}, recorded {meta_crc:08x}"),
            });
        }
        let found_kind = u32_at(bytes, 12);
        if Kind::from_u32(found_kind) != Some(kind) {
            return Err(corrupt(format!(
                "kind tag {found_kind} at offset 12, expected {} ({})",
                kind as u32,
                kind.name()
            )));
        }
        if u32_at(bytes, 16) as usize != HEADER_LEN {
            return Err(corrupt(format!(
                "header length {} at offset 16, expected {HEADER_LEN}",
                u32_at(bytes, 16)
            )));
        }
        if u32_at(bytes, 44) != 0 || u64_at(bytes, 56) != 0 {
            return Err(corrupt("reserved header fields are not zero".into()));
        }
        if bytes[64..128] != sanity_block() {
            return Err(corrupt(
                "sanity block at offset 64 differs: written with another encoding of numbers".into(),
            ));
        }
        let fields = HeaderFields {
            order: u32_at(bytes, 20),
            vocab_size: u64_at(bytes, 24),
            shard: u32_at(bytes, 32),
            shards: u32_at(bytes, 36),
            quant_bits: u32_at(bytes, 40),
            ngrams: u64_at(bytes, 48),
        };
        Ok(Container {
            kind,
            version,
            fields,
            sections,
            body_crc,
            footer_start: footer_start as u64,
        })
    }

    /// The section with `tag`, if present.
    pub fn section(&self, tag: u32) -> Option<&Section> {
        self.sections.iter().find(|s| s.tag == tag)
    }

    /// Recomputes the body CRC over every byte (reading the whole file) and compares it with the footer's.
    pub fn verify(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let crc_at = bytes.len().saturating_sub(16);
        let computed = crc32fast::hash(&bytes[..crc_at]);
        if computed != self.body_crc {
            return Err(Error::Checksum {
                path: path.to_path_buf(),
                what: format!("CRC-32 of the contents {computed:08x}, recorded {:08x}", self.body_crc),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let fields = HeaderFields {
            order: 5,
            vocab_size: 1234,
            shard: 1,
            shards: 3,
            quant_bits: 8,
            ngrams: 99,
        };
        let mut w = ContainerWriter::new(Vec::new(), Kind::Shard, &fields).unwrap();
        w.open_section(5, b"directory").unwrap();
        w.words_section(7, &[1, 2, 3]).unwrap();
        w.bytes_section(9, b"abc").unwrap();
        w.words_section(11, &[]).unwrap();
        w.finish().unwrap().0
    }

    #[test]
    fn round_trips() {
        let bytes = sample();
        let path = Path::new("x.fgs");
        let c = Container::parse(path, &bytes, Kind::Shard).unwrap();
        assert_eq!(c.fields.order, 5);
        assert_eq!(c.fields.vocab_size, 1234);
        assert_eq!(c.fields.shard, 1);
        assert_eq!(c.fields.shards, 3);
        assert_eq!(c.fields.quant_bits, 8);
        assert_eq!(c.fields.ngrams, 99);
        let s = c.section(9).unwrap();
        assert_eq!(&bytes[s.offset as usize..(s.offset + s.len) as usize], b"abc");
        assert_eq!(c.section(11).unwrap().len, 0);
        c.verify(path, &bytes).unwrap();
        assert!(matches!(
            Container::parse(path, &bytes, Kind::Vocab),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn every_truncation_and_header_footer_change_fails_at_open() {
        let bytes = sample();
        let path = Path::new("x.fgs");
        for len in 0..bytes.len() {
            assert!(
                Container::parse(path, &bytes[..len], Kind::Shard).is_err(),
                "truncated to {len}"
            );
        }
        let c = Container::parse(path, &bytes, Kind::Shard).unwrap();
        let directory = c.section(5).unwrap();
        assert_eq!(directory.flags, READ_AT_OPEN);
        let read_at_open = directory.offset as usize..(directory.offset + directory.len) as usize;
        let protected = (0..HEADER_LEN)
            .chain(read_at_open)
            .chain(c.footer_start as usize..bytes.len());
        for at in protected {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                assert!(
                    Container::parse(path, &damaged, Kind::Shard).is_err(),
                    "byte {at} ^ {flip:#x}"
                );
            }
        }
        // Every byte anywhere is covered by the body CRC.
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            let caught = match Container::parse(path, &damaged, Kind::Shard) {
                Err(_) => true,
                Ok(c) => c.verify(path, &damaged).is_err(),
            };
            assert!(caught, "byte {at}");
        }
    }

    proptest::proptest! {
        /// Any sections round-trip: each section's bytes are where the directory says, and the file verifies.
        #[test]
        fn random_sections_round_trip(
            sections in proptest::collection::vec(
                (proptest::prelude::any::<bool>(), proptest::collection::vec(proptest::prelude::any::<u64>(), 0..40)),
                0..8,
            ),
            order in 1u32..=6,
        ) {
            let fields = HeaderFields { order, vocab_size: 77, shard: 0, shards: 1, quant_bits: 0, ngrams: 5 };
            let mut w = ContainerWriter::new(Vec::new(), Kind::Shard, &fields).unwrap();
            let mut expected = Vec::new();
            for (i, (as_words, words)) in sections.iter().enumerate() {
                let tag = 3 * i as u32 + 1;
                let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                if *as_words {
                    w.words_section(tag, words).unwrap();
                } else {
                    w.bytes_section(tag, &bytes[..bytes.len() / 2]).unwrap();
                }
                expected.push((tag, if *as_words { bytes.clone() } else { bytes[..bytes.len() / 2].to_vec() }));
            }
            let bytes = w.finish().unwrap().0;
            let path = Path::new("p.fgs");
            let c = Container::parse(path, &bytes, Kind::Shard).unwrap();
            proptest::prop_assert_eq!(c.fields.order, order);
            for (tag, content) in &expected {
                let s = c.section(*tag).unwrap();
                proptest::prop_assert_eq!(&bytes[s.offset as usize..(s.offset + s.len) as usize], &content[..]);
            }
            c.verify(path, &bytes).unwrap();
        }

        /// Arbitrary bytes are refused (or, if they parse, checked) without panicking.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let path = Path::new("junk.fgs");
            if let Ok(c) = Container::parse(path, &bytes, Kind::Shard) {
                let _ = c.verify(path, &bytes);
            }
        }
    }

    #[test]
    fn newer_versions_are_refused_by_name() {
        let mut bytes = sample();
        bytes[8] = 9;
        match Container::parse(Path::new("x"), &bytes, Kind::Shard) {
            Err(Error::Version { found: 9, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
