//! Fast formatting of ARPA entry lines, byte for byte what [`crate::arpa::write::format_entry`] writes.
//!
//! Formatting the numbers dominates writing an ARPA file. Two facts make it cheaper:
//! - Values repeat: a model has few distinct backoffs (every context with the same discount classes and
//!   denominator shares one; 63 k distinct among 20 M on a Gutenberg prefix) and many repeated probabilities. A
//!   direct-mapped cache per thread ([`FloatCache`]), keyed by the `f32` bits, keeps the formatted text of recent
//!   values, so most numbers cost one lookup and one fixed-size copy instead of a shortest round-trip conversion.
//! - Words are copied from one contiguous arena ([`WordArena`]) in fixed 16-byte blocks into a byte buffer
//!   that always has room for them, instead of one `memcpy` call per word.
//!
//! Misses go through [`crate::arpa::write::format_f32`], so the bytes are the same as the ARPA writer's.

use std::cell::RefCell;

use crate::vocab::Vocab;

/// Longest text of a formatted `f32` kept in the cache (a few have up to 17 characters: `-0.00000123456789`;
/// those are formatted every time).
const FLOAT_TEXT: usize = 16;

/// Room the longest formatted `f32` needs.
const FLOAT_ROOM: usize = 24;

/// Slots of the per-thread cache (a power of two).
const CACHE_SLOTS: usize = 1 << 15;

#[derive(Clone, Copy)]
struct CacheSlot {
    text: [u8; FLOAT_TEXT],
    bits: u32,
    len: u8,
}

/// A direct-mapped cache of formatted `f32` values.
pub(crate) struct FloatCache {
    slots: Vec<CacheSlot>,
    scratch: String,
}

impl FloatCache {
    fn new() -> Self {
        // Slot 0 must not claim to hold the bits 0 before it does: NaN bits that `format_f32` never sees as keys
        // of a valid slot would also work, but a length of 0 marks a slot as empty.
        FloatCache {
            slots: vec![
                CacheSlot {
                    bits: 0,
                    len: 0,
                    text: [0; FLOAT_TEXT],
                };
                CACHE_SLOTS
            ],
            scratch: String::with_capacity(64),
        }
    }

    /// Appends the text of `value` (as [`crate::arpa::write::format_f32`] writes it) at `out[*pos..]`, which must
    /// have at least [`FLOAT_ROOM`] bytes of room.
    #[inline]
    fn put(&mut self, value: f32, out: &mut [u8], pos: &mut usize) {
        let bits = value.to_bits();
        let slot = (bits.wrapping_mul(0x9e37_79b9) >> (32 - CACHE_SLOTS.trailing_zeros())) as usize;
        let entry = &mut self.slots[slot];
        if entry.bits != bits || entry.len == 0 {
            self.scratch.clear();
            crate::arpa::write::format_f32(value, &mut self.scratch);
            let text = self.scratch.as_bytes();
            if text.len() > FLOAT_TEXT {
                out[*pos..*pos + text.len()].copy_from_slice(text);
                *pos += text.len();
                return;
            }
            entry.bits = bits;
            entry.len = text.len() as u8;
            entry.text[..text.len()].copy_from_slice(text);
        }
        out[*pos..*pos + FLOAT_TEXT].copy_from_slice(&entry.text);
        *pos += usize::from(entry.len);
    }
}

thread_local! {
    static CACHE: RefCell<Option<Box<FloatCache>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's float cache.
pub(crate) fn with_cache<R>(f: impl FnOnce(&mut FloatCache) -> R) -> R {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let cache = c.get_or_insert_with(|| Box::new(FloatCache::new()));
        f(cache)
    })
}

/// Block size of word copies.
const BLOCK: usize = 16;

/// Every word of a vocabulary in one byte array, each padded so that a copy of whole 16-byte blocks never reads
/// past the array.
pub(crate) struct WordArena {
    bytes: Vec<u8>,
    /// Start of word `id` and its length (32 bits each: half the cache misses of `usize`).
    spans: Vec<(u32, u32)>,
}

impl WordArena {
    /// The arena of `vocab`; fails when its words take 4 GiB or more.
    pub(crate) fn new(vocab: &Vocab) -> crate::Result<Self> {
        let mut bytes = Vec::new();
        let mut spans = Vec::with_capacity(vocab.len());
        for id in 0..vocab.len() {
            let w = vocab.word(id as u32).as_bytes();
            let start = u32::try_from(bytes.len())
                .ok()
                .filter(|s| s.checked_add(w.len() as u32 + BLOCK as u32).is_some())
                .ok_or_else(|| crate::Error::InvalidOption("the vocabulary's words take 4 GiB or more".to_string()))?;
            spans.push((start, w.len() as u32));
            bytes.extend_from_slice(w);
        }
        bytes.resize(bytes.len() + BLOCK, 0);
        Ok(WordArena { bytes, spans })
    }
}

/// Formats lines into a byte buffer. See the [module documentation](self).
pub(crate) struct LineBuffer {
    buf: Vec<u8>,
    pos: usize,
    /// Lines formatted.
    pub(crate) lines: u64,
}

impl LineBuffer {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        LineBuffer {
            buf: vec![0; bytes.max(256)],
            pos: 0,
            lines: 0,
        }
    }

    /// Forgets the lines formatted so far (keeps the memory).
    pub(crate) fn clear(&mut self) {
        self.pos = 0;
        self.lines = 0;
    }

    /// Appends `prob<TAB>w1 w2 … wk[<TAB>backoff]\n` where the words are `ids` from oldest to newest.
    #[inline]
    pub(crate) fn line(
        &mut self,
        cache: &mut FloatCache,
        arena: &WordArena,
        prob: f32,
        ids: impl Iterator<Item = u32> + Clone,
        backoff: Option<f32>,
    ) {
        // Room: two numbers, separators, and the words rounded up to whole blocks.
        let words: usize = ids
            .clone()
            .map(|id| arena.spans[id as usize].1 as usize + 1 + BLOCK)
            .sum();
        let need = 2 * FLOAT_ROOM + 4 + words;
        if self.buf.len() < self.pos + need {
            let len = (self.buf.len() * 2).max(self.pos + need);
            self.buf.resize(len, 0);
        }
        let out = &mut self.buf[..];
        let mut pos = self.pos;
        cache.put(prob, out, &mut pos);
        out[pos] = b'\t';
        pos += 1;
        for (i, id) in ids.enumerate() {
            if i > 0 {
                out[pos] = b' ';
                pos += 1;
            }
            let (start, len) = arena.spans[id as usize];
            let (start, len) = (start as usize, len as usize);
            let mut done = 0;
            while done < len {
                out[pos + done..pos + done + BLOCK].copy_from_slice(&arena.bytes[start + done..start + done + BLOCK]);
                done += BLOCK;
            }
            pos += len;
        }
        if let Some(b) = backoff {
            out[pos] = b'\t';
            pos += 1;
            cache.put(b, out, &mut pos);
        }
        out[pos] = b'\n';
        pos += 1;
        self.pos = pos;
        self.lines += 1;
    }

    /// The text formatted so far.
    pub(crate) fn text(&self) -> &[u8] {
        &self.buf[..self.pos]
    }
}

/// What [`TextWriter`] sends its thread.
enum TextMessage {
    Begin(usize),
    Text(LineBuffer),
}

type ArpaFileWriter = super::ArpaFileWriter;

/// Writes formatted lines to an ARPA file on a thread of its own, so that formatting the next lines overlaps
/// writing these. Buffers circulate: at most `buffers` exist, the caller takes one with [`TextWriter::buffer`].
pub(crate) struct TextWriter {
    tx: Option<std::sync::mpsc::SyncSender<TextMessage>>,
    back: std::sync::mpsc::Receiver<LineBuffer>,
    thread: Option<std::thread::JoinHandle<crate::Result<ArpaFileWriter>>>,
    made: usize,
    most: usize,
    capacity: usize,
}

impl TextWriter {
    /// Starts the thread; at most `buffers` line buffers of `capacity` bytes each circulate.
    pub(crate) fn new(mut writer: ArpaFileWriter, buffers: usize, capacity: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<TextMessage>(buffers);
        let (back_tx, back) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || -> crate::Result<ArpaFileWriter> {
            for message in rx {
                match message {
                    TextMessage::Begin(order) => writer.begin_order(order)?,
                    TextMessage::Text(buf) => {
                        let text = std::str::from_utf8(buf.text()).map_err(|_| {
                            crate::Error::InvalidOption("a word of the vocabulary is not UTF-8".to_string())
                        })?;
                        writer.preformatted(text, buf.lines)?;
                        let _ = back_tx.send(buf);
                    }
                }
            }
            Ok(writer)
        });
        TextWriter {
            tx: Some(tx),
            back,
            thread: Some(thread),
            made: 0,
            most: buffers.max(1),
            capacity,
        }
    }

    fn send(&mut self, message: TextMessage) -> crate::Result<()> {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(message).is_ok());
        if sent {
            return Ok(());
        }
        // The thread stopped on an error: report it.
        Err(match self.join() {
            Err(e) => e,
            Ok(_) => gone(),
        })
    }

    /// Starts the section of `order`.
    pub(crate) fn begin_order(&mut self, order: usize) -> crate::Result<()> {
        self.send(TextMessage::Begin(order))
    }

    /// An empty line buffer: a new one while fewer than the maximum exist, else one the thread is done with.
    pub(crate) fn buffer(&mut self) -> crate::Result<LineBuffer> {
        let mut buf = match self.back.try_recv() {
            Ok(b) => b,
            Err(_) if self.made < self.most => {
                self.made += 1;
                LineBuffer::with_capacity(self.capacity)
            }
            Err(_) => match self.back.recv() {
                Ok(b) => b,
                Err(_) => {
                    return Err(match self.join() {
                        Err(e) => e,
                        Ok(_) => gone(),
                    });
                }
            },
        };
        buf.clear();
        Ok(buf)
    }

    /// Queues formatted lines for writing.
    pub(crate) fn write(&mut self, buf: LineBuffer) -> crate::Result<()> {
        self.send(TextMessage::Text(buf))
    }

    fn join(&mut self) -> crate::Result<ArpaFileWriter> {
        self.tx = None;
        let thread = self.thread.take().ok_or_else(gone)?;
        thread.join().unwrap_or_else(|_| {
            Err(crate::Error::InvalidOption(
                "the ARPA writing thread panicked".to_string(),
            ))
        })
    }

    /// Waits for everything to be written, then completes the file and renames it into place.
    pub(crate) fn finish(mut self) -> crate::Result<()> {
        self.join()?.finish()
    }
}

impl Drop for TextWriter {
    /// Waits for the thread, so that an abandoned file's temporary is removed before the caller goes on.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.join();
        }
    }
}

fn gone() -> crate::Error {
    crate::Error::InvalidOption("the ARPA writing thread stopped".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arpa::write::format_entry;

    #[test]
    fn same_bytes_as_format_entry() {
        let mut vocab = Vocab::new();
        let long = "x".repeat(70);
        for w in ["a", "bb", "exactly16bytes!!", "seventeen bytes!!", long.as_str(), "ü"] {
            vocab.find_or_insert(w);
        }
        let arena = WordArena::new(&vocab).unwrap();
        let mut buf = LineBuffer::with_capacity(0);
        let mut want = String::new();
        let values = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            -0.5,
            -393.0 / 256.0,
            1e-6,
            -1.2345678e-6,
            9.9e-7,
            -3.4e38,
            1e-45,
            0.1,
            -99.99,
            -7.0e-5,
            123456.79,
        ];
        let mut n = 0;
        with_cache(|cache| {
            for round in 0..2 {
                for (i, &p) in values.iter().enumerate() {
                    let ids: Vec<u32> = (0..=(i % vocab.len()))
                        .map(|j| ((j + i + round) % vocab.len()) as u32)
                        .collect();
                    let b = (i % 3 != 0).then(|| values[(i * 7) % values.len()]);
                    buf.line(cache, &arena, p, ids.iter().copied(), b);
                    let words: Vec<&str> = ids.iter().map(|&id| vocab.word(id)).collect();
                    format_entry(p, &words, b, &mut want);
                    n += 1;
                }
            }
            // Many values through few slots: collisions replace entries and still give the right text.
            for i in 0..100_000u32 {
                let p = -(i as f32) * 1.37e-3;
                buf.line(cache, &arena, p, [1u32].into_iter(), Some(p / 3.0));
                format_entry(p, &["<s>"], Some(p / 3.0), &mut want);
                n += 1;
            }
        });
        assert_eq!(buf.lines, n);
        assert_eq!(std::str::from_utf8(buf.text()).unwrap(), want);
    }
}
