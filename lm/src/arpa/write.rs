//! A streaming ARPA writer that formats exactly like KenLM's `lmplz`.
//!
//! Layout: the `\data\` header with one `ngram k=count` line per order and a blank line, then per order a
//! `\k-grams:` line, one `log10prob<TAB>w1 … wk[<TAB>log10backoff]` line per n-gram (no backoff column at the
//! highest order) and a blank line, then `\end\`. Numbers are the shortest decimal that reads back to the same
//! `f32` (KenLM uses double-conversion's `ToShortestSingle`), in exponent form below 1e-6 in magnitude.
//!
//! [`ArpaWriter::create`] writes to a temporary file beside the destination and renames it over the destination
//! in [`ArpaWriter::finish`]; a writer dropped before that leaves nothing behind. The writer checks that each
//! order gets the number of entries the header announced.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::{Error, Result};

/// Writes one ARPA file. See the [module documentation](self).
#[derive(Debug)]
pub struct ArpaWriter<W: Write> {
    out: W,
    path: PathBuf,
    counts: Vec<u64>,
    /// The order being written (0 before the first).
    order: usize,
    written: u64,
    line: String,
}

/// Formats `value` as KenLM does: the shortest round-trip decimal of the `f32`, exponent form when the decimal
/// exponent is below −6 (or at least 21). When two shortest decimals are equally close to the value, the one with
/// an even last digit wins (double-conversion's rule; Rust's formatter would round the tie up).
pub fn format_f32(value: f32, out: &mut String) {
    if value == 0.0 || !value.is_finite() || (fixed_range(value) && !may_tie(value)) {
        // Rust's shortest round-trip digits in fixed notation are exactly what KenLM prints.
        let _ = write!(out, "{value}");
        return;
    }
    format_f32_exact(value, out);
}

/// [`format_f32`] without the fast path: always checks for ties.
fn format_f32_exact(value: f32, out: &mut String) {
    if value == 0.0 || !value.is_finite() {
        let _ = write!(out, "{value}");
        return;
    }
    // The shortest digits and the decimal exponent (value = d.ddd × 10^exp).
    let sci = format!("{:e}", value.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    // Ties: the exact value has exactly one more significant digit, a 5. Then the other candidate (one unit
    // lower or higher in the last digit) also reads back to the value; when neither does, there is no tie and
    // the costly exact expansion is skipped.
    let d = digits.len();
    if !neighbour_round_trips(&digits, exp, value.abs()) {
        write_digits(value, &digits, exp, out);
        return;
    }
    let exact = format!("{:.*e}", d + 120, f64::from(value.abs()));
    let (exact_mantissa, exact_exp) = exact.split_once('e').unwrap_or((&exact, "0"));
    let exact_exp: i32 = exact_exp.parse().unwrap_or(0);
    let exact_digits: Vec<u8> = exact_mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let significant = exact_digits.len() - exact_digits.iter().rev().take_while(|&&b| b == b'0').count();
    let mut exp = exp;
    if significant == d + 1 && exact_digits[d] == b'5' {
        // Candidates: the exact digits truncated to d (lower) and that plus one unit in the last place (upper).
        let lower = &exact_digits[..d];
        if (lower[d - 1] - b'0').is_multiple_of(2) {
            digits = lower.to_vec();
            exp = exact_exp;
        } else {
            let mut upper = lower.to_vec();
            let mut i = d;
            let mut carry = true;
            while carry && i > 0 {
                i -= 1;
                if upper[i] == b'9' {
                    upper[i] = b'0';
                } else {
                    upper[i] += 1;
                    carry = false;
                }
            }
            exp = exact_exp;
            if carry {
                upper.insert(0, b'1');
                upper.pop();
                exp += 1;
            }
            while upper.len() > 1 && upper.last() == Some(&b'0') {
                upper.pop();
            }
            digits = upper;
        }
    }
    write_digits(value, &digits, exp, out);
}

/// Comfortably inside the range KenLM prints in fixed notation (decimal exponent −6 to 20).
fn fixed_range(value: f32) -> bool {
    (1e-5..1e20).contains(&value.abs())
}

/// Whether the exact value can be halfway between two shortest candidates: that needs an exact decimal
/// expansion of at most ten significant digits. An f32 with F fractional bits has exactly F decimal places, at
/// least F − 5 of them significant above 1e-5, so F ≤ 15 is needed (−1.53515625 = −393/256 has F = 8).
fn may_tie(value: f32) -> bool {
    let bits = value.to_bits();
    let biased = ((bits >> 23) & 0xff) as i32;
    let mantissa = if biased == 0 {
        (bits & 0x7f_ffff) << 1
    } else {
        (bits & 0x7f_ffff) | 0x80_0000
    };
    let exponent = if biased == 0 { -150 } else { biased - 150 };
    let fractional_bits = -(exponent + mantissa.trailing_zeros() as i32);
    fractional_bits <= 17
}

/// Whether the decimal one unit below or above `digits × 10^exp` in the last digit parses to `value`.
fn neighbour_round_trips(digits: &[u8], exp: i32, value: f32) -> bool {
    let last = digits[digits.len() - 1];
    [last.checked_sub(1), (last < b'9').then_some(last + 1)]
        .into_iter()
        .flatten()
        .filter(|&l| l >= b'0')
        .any(|l| {
            let mut s: Vec<u8> = digits.to_vec();
            let n = s.len();
            s[n - 1] = l;
            let mut text = String::with_capacity(n + 8);
            text.push_str(std::str::from_utf8(&s[..1]).unwrap_or("0"));
            text.push('.');
            text.push_str(std::str::from_utf8(&s[1..]).unwrap_or(""));
            let _ = write!(text, "e{exp}");
            text.parse::<f32>() == Ok(value)
        })
}

/// Writes `digits × 10^exp` (d.ddd form) with the sign of `value`, fixed or exponent notation as KenLM does.
fn write_digits(value: f32, digits: &[u8], exp: i32, out: &mut String) {
    if value < 0.0 {
        out.push('-');
    }
    let digits = std::str::from_utf8(digits).unwrap_or("0");
    if (-6..21).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{exp}");
    }
}

/// Appends one ARPA entry line (with its newline) to `out`: `prob<TAB>words[<TAB>backoff]`.
pub fn format_entry(prob: f32, words: &[&str], backoff: Option<f32>, out: &mut String) {
    format_f32(prob, out);
    out.push('\t');
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    if let Some(b) = backoff {
        out.push('\t');
        format_f32(b, out);
    }
    out.push('\n');
}

impl ArpaWriter<BufWriter<NamedTempFile>> {
    /// Starts writing `path` through a temporary file in the same directory; `counts` are the n-gram counts per
    /// order for the header.
    pub fn create(path: &Path, counts: &[u64]) -> Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".fivegram-arpa-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        ArpaWriter::new(BufWriter::with_capacity(1 << 20, temp), path, counts)
    }

    /// Ends the file and renames it to its destination.
    pub fn finish(self) -> Result<()> {
        let path = self.path.clone();
        let out = self.end()?;
        let temp = out.into_inner().map_err(|e| Error::io(&path, e.into_error()))?;
        temp.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
        // Temporary files are created private (0600); the model is an ordinary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(|e| Error::io(&path, e))?;
        }
        temp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(())
    }
}

impl ArpaWriter<BufWriter<File>> {
    /// Writes straight to a new file at `path`, without the temporary-file step.
    pub fn create_direct(path: &Path, counts: &[u64]) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        ArpaWriter::new(BufWriter::with_capacity(1 << 20, file), path, counts)
    }
}

impl<W: Write> ArpaWriter<W> {
    /// Writes the header to `out`; `path` names the output in error messages.
    pub fn new(mut out: W, path: &Path, counts: &[u64]) -> Result<Self> {
        let mut header = String::from("\\data\\\n");
        for (k, c) in counts.iter().enumerate() {
            let _ = writeln!(header, "ngram {}={c}", k + 1);
        }
        header.push('\n');
        out.write_all(header.as_bytes()).map_err(|e| Error::io(path, e))?;
        Ok(ArpaWriter {
            out,
            path: path.to_path_buf(),
            counts: counts.to_vec(),
            order: 0,
            written: 0,
            line: String::with_capacity(256),
        })
    }

    fn check_complete(&self) -> Result<()> {
        if self.order > 0 && self.written != self.counts[self.order - 1] {
            return Err(Error::InvalidOption(format!(
                "{}: the header announces {} {}-grams but {} were written",
                self.path.display(),
                self.counts[self.order - 1],
                self.order,
                self.written
            )));
        }
        Ok(())
    }

    /// Starts the section of `order` (1-based; orders must come in sequence).
    pub fn begin_order(&mut self, order: usize) -> Result<()> {
        self.check_complete()?;
        if order != self.order + 1 || order > self.counts.len() {
            return Err(Error::InvalidOption(format!(
                "ARPA sections must come in order 1..={}; got {order} after {}",
                self.counts.len(),
                self.order
            )));
        }
        if self.order > 0 {
            self.out.write_all(b"\n").map_err(|e| Error::io(&self.path, e))?;
        }
        self.order = order;
        self.written = 0;
        writeln!(self.out, "\\{order}-grams:").map_err(|e| Error::io(&self.path, e))
    }

    /// Writes one n-gram of the current order; `backoff` is written when given (KenLM writes it for every n-gram
    /// below the highest order, 0 included).
    pub fn entry(&mut self, prob: f32, words: &[&str], backoff: Option<f32>) -> Result<()> {
        if words.len() != self.order {
            return Err(Error::InvalidOption(format!(
                "a {}-gram written in the {}-grams section",
                words.len(),
                self.order
            )));
        }
        let line = &mut self.line;
        line.clear();
        format_entry(prob, words, backoff, line);
        self.out
            .write_all(line.as_bytes())
            .map_err(|e| Error::io(&self.path, e))?;
        self.written += 1;
        Ok(())
    }

    /// Writes `lines` entries of the current order formatted by [`format_entry`] (for callers that format in
    /// parallel).
    pub fn preformatted(&mut self, text: &str, lines: u64) -> Result<()> {
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| Error::io(&self.path, e))?;
        self.written += lines;
        Ok(())
    }

    /// Writes `\end\`, flushes, and returns the underlying writer.
    pub fn end(mut self) -> Result<W> {
        self.check_complete()?;
        if self.order != self.counts.len() {
            return Err(Error::InvalidOption(format!(
                "ARPA file ended after order {} of {}",
                self.order,
                self.counts.len()
            )));
        }
        self.out
            .write_all(b"\n\\end\\\n")
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(v: f32) -> String {
        let mut s = String::new();
        format_f32(v, &mut s);
        s
    }

    #[test]
    fn floats_like_kenlm() {
        assert_eq!(fmt(-4.9818997), "-4.9818997");
        assert_eq!(fmt(-0.111055985), "-0.111055985");
        assert_eq!(fmt(0.0), "0");
        assert_eq!(fmt(-1.592407), "-1.592407");
        assert_eq!(fmt(-99.0), "-99");
        assert_eq!(fmt(0.000001), "0.000001");
        assert_eq!(fmt(-1.5e-7), "-1.5e-7");
        assert_eq!(fmt(1e-7), "1e-7");
        // -1.53515625 is exactly halfway between two 8-digit decimals: the even one wins.
        assert_eq!(fmt(-(1.0 + 137.0 / 256.0)), "-1.5351562");
        assert_eq!(fmt(100.0), "100");
        assert_eq!(fmt(-12.5), "-12.5");
        assert_eq!(fmt(0.5), "0.5");
        assert_eq!(fmt(-0.0), "-0");
        // Every printed value reads back to the same f32.
        for bits in (0..u32::MAX).step_by(9_973_331) {
            let v = f32::from_bits(bits);
            if v.is_finite() {
                assert_eq!(fmt(v).parse::<f32>().unwrap(), v, "{v:e}");
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_the_exact_one() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..200_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Log-probability-like values, and values with few fractional bits.
            let v = if i % 2 == 0 {
                -((state >> 40) as f32 / (1u64 << 24) as f32) * 8.0
            } else {
                -((state >> 48) as f32) / 256.0
            };
            let (mut a, mut b) = (String::new(), String::new());
            format_f32(v, &mut a);
            format_f32_exact(v, &mut b);
            assert_eq!(a, b, "{v:e}");
        }
    }

    #[test]
    fn writes_the_layout_and_checks_counts() {
        let mut w = ArpaWriter::new(Vec::new(), Path::new("mem"), &[2, 1]).unwrap();
        w.begin_order(1).unwrap();
        w.entry(-1.0, &["a"], Some(-0.5)).unwrap();
        w.entry(-0.5, &["b"], Some(0.0)).unwrap();
        w.begin_order(2).unwrap();
        w.entry(-0.25, &["a", "b"], None).unwrap();
        let text = String::from_utf8(w.end().unwrap()).unwrap();
        assert_eq!(
            text,
            "\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1\ta\t-0.5\n-0.5\tb\t0\n\n\\2-grams:\n-0.25\ta b\n\n\\end\\\n"
        );
        let mut w = ArpaWriter::new(Vec::new(), Path::new("mem"), &[2]).unwrap();
        w.begin_order(1).unwrap();
        w.entry(-1.0, &["a"], None).unwrap();
        assert!(w.end().is_err());
    }

    #[test]
    fn atomic_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.arpa");
        let mut w = ArpaWriter::create(&path, &[1]).unwrap();
        w.begin_order(1).unwrap();
        w.entry(0.0, &["<s>"], None).unwrap();
        assert!(!path.exists());
        w.finish().unwrap();
        assert!(path.exists());
        // A writer dropped before finish leaves nothing.
        let other = dir.path().join("n.arpa");
        drop(ArpaWriter::create(&other, &[1]).unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
