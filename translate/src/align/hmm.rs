//! The HMM alignment model: the aligned position of each `f` word depends on the position of the previous one
//! through a jump distribution s(d) (jumps beyond ±[`MAX_JUMP`] share one bucket), and the empty word is reached
//! with a fixed probability `p_null` from a state that remembers the last real position (Och and Ney 2003).

use rayon::prelude::*;

use super::{AlignConfig, Directional, Table, parallel_counts};

/// Jumps are bucketed into `-MAX_JUMP ..= MAX_JUMP`.
const MAX_JUMP: i64 = 10;
const BUCKETS: usize = (2 * MAX_JUMP + 1) as usize;

fn bucket(jump: i64) -> usize {
    (jump.clamp(-MAX_JUMP, MAX_JUMP) + MAX_JUMP) as usize
}

/// The per-sentence quantities both EM and Viterbi need.
struct Lattice {
    i_len: usize,
    j_len: usize,
    /// trans[m * I + i]: probability of moving from memory position m (0 = start, else 1-based) to real i.
    trans: Vec<f64>,
    /// emit_real[j * I + i] = t(f_j | e_i).
    emit_real: Vec<f64>,
    /// emit_null[j] = t(f_j | NULL).
    emit_null: Vec<f64>,
}

impl Lattice {
    fn new(table: &Table, ids: &[u32], i_len: usize, j_len: usize, jumps: &[f64; BUCKETS], p_null: f64) -> Lattice {
        let mut trans = vec![0.0; (i_len + 1) * i_len];
        for m in 0..=i_len {
            let row = &mut trans[m * i_len..(m + 1) * i_len];
            for (i, t) in row.iter_mut().enumerate() {
                *t = jumps[bucket(i as i64 + 1 - m as i64)];
            }
            let z: f64 = row.iter().sum();
            for t in row.iter_mut() {
                *t *= (1.0 - p_null) / z;
            }
        }
        let mut emit_real = vec![0.0; j_len * i_len];
        for j in 0..j_len {
            for i in 0..i_len {
                emit_real[j * i_len + i] = table.prob[ids[(i + 1) * j_len + j] as usize];
            }
        }
        let emit_null = (0..j_len).map(|j| table.prob[ids[j] as usize]).collect();
        Lattice {
            i_len,
            j_len,
            trans,
            emit_real,
            emit_null,
        }
    }

    /// Forward-backward; adds expected translation counts to `counts[..table]` and jump counts to the
    /// `BUCKETS` values after them.
    fn expect(&self, ids: &[u32], p_null: f64, counts: &mut [f64], table_size: usize) {
        let (il, jl) = (self.i_len, self.j_len);
        let mut alpha_real = vec![0.0; jl * il];
        let mut alpha_null = vec![0.0; jl * (il + 1)];
        let mut scale = vec![0.0; jl];
        let memory = |ar: &[f64], an: &[f64], j: usize, m: usize| {
            an[j * (il + 1) + m] + if m > 0 { ar[j * il + m - 1] } else { 0.0 }
        };
        for j in 0..jl {
            if j == 0 {
                alpha_real[..il].copy_from_slice(&self.trans[..il]);
                alpha_null[0] = p_null;
            } else {
                for m in 0..=il {
                    let a = memory(&alpha_real, &alpha_null, j - 1, m);
                    if a == 0.0 {
                        continue;
                    }
                    let row = &self.trans[m * il..(m + 1) * il];
                    let out = &mut alpha_real[j * il..(j + 1) * il];
                    for (o, t) in out.iter_mut().zip(row) {
                        *o += a * t;
                    }
                    alpha_null[j * (il + 1) + m] = a * p_null;
                }
            }
            let mut sum = 0.0;
            for i in 0..il {
                alpha_real[j * il + i] *= self.emit_real[j * il + i];
                sum += alpha_real[j * il + i];
            }
            for m in 0..=il {
                alpha_null[j * (il + 1) + m] *= self.emit_null[j];
                sum += alpha_null[j * (il + 1) + m];
            }
            let sum = if sum > 0.0 { sum } else { 1e-300 };
            scale[j] = sum;
            for x in &mut alpha_real[j * il..(j + 1) * il] {
                *x /= sum;
            }
            for x in &mut alpha_null[j * (il + 1)..(j + 1) * (il + 1)] {
                *x /= sum;
            }
        }
        // Backward over memories: beta of real state i at j is b[j][i + 1], of null state m is b[j][m].
        let mut b = vec![1.0; jl * (il + 1)];
        for j in (0..jl.saturating_sub(1)).rev() {
            for m in 0..=il {
                let row = &self.trans[m * il..(m + 1) * il];
                let mut s = 0.0;
                for i in 0..il {
                    s += row[i] * self.emit_real[(j + 1) * il + i] * b[(j + 1) * (il + 1) + i + 1];
                }
                s += p_null * self.emit_null[j + 1] * b[(j + 1) * (il + 1) + m];
                b[j * (il + 1) + m] = s / scale[j + 1];
            }
        }
        let jump_counts = table_size;
        for j in 0..jl {
            // Emissions.
            let mut total = 0.0;
            for i in 0..il {
                total += alpha_real[j * il + i] * b[j * (il + 1) + i + 1];
            }
            let mut null_total = 0.0;
            for m in 0..=il {
                null_total += alpha_null[j * (il + 1) + m] * b[j * (il + 1) + m];
            }
            let norm = total + null_total;
            if norm <= 0.0 || !norm.is_finite() {
                continue;
            }
            for i in 0..il {
                let g = alpha_real[j * il + i] * b[j * (il + 1) + i + 1] / norm;
                counts[ids[(i + 1) * jl + j] as usize] += g;
            }
            counts[ids[j] as usize] += null_total / norm;
            // Jumps into real states.
            if j == 0 {
                for i in 0..il {
                    let g = alpha_real[i] * b[i + 1] / norm;
                    counts[jump_counts + bucket(i as i64 + 1)] += g;
                }
            } else {
                let mut xi = vec![0.0; (il + 1) * il];
                let mut xi_total = 0.0;
                for m in 0..=il {
                    let a = memory(&alpha_real, &alpha_null, j - 1, m);
                    if a == 0.0 {
                        continue;
                    }
                    for i in 0..il {
                        let x = a * self.trans[m * il + i] * self.emit_real[j * il + i] * b[j * (il + 1) + i + 1];
                        xi[m * il + i] = x;
                        xi_total += x;
                    }
                    xi_total += a * p_null * self.emit_null[j] * b[j * (il + 1) + m];
                }
                if xi_total > 0.0 && xi_total.is_finite() {
                    for m in 0..=il {
                        for i in 0..il {
                            let x = xi[m * il + i];
                            if x > 0.0 {
                                counts[jump_counts + bucket(i as i64 + 1 - m as i64)] += x / xi_total;
                            }
                        }
                    }
                }
            }
        }
    }

    /// The most probable alignment (Viterbi, in log space).
    #[allow(clippy::needless_range_loop)] // index arithmetic over flattened matrices reads best as loops
    fn viterbi(&self, p_null: f64) -> Directional {
        let (il, jl) = (self.i_len, self.j_len);
        let ln = |x: f64| if x > 0.0 { x.ln() } else { -1e30 };
        let ln_null = ln(p_null);
        let mut dr = vec![f64::NEG_INFINITY; jl * il];
        let mut dn = vec![f64::NEG_INFINITY; jl * (il + 1)];
        // Back pointers: the state at j - 1, encoded as i (real) or il + m (null memory m).
        let mut br = vec![0u32; jl * il];
        let mut bn = vec![0u32; jl * (il + 1)];
        for j in 0..jl {
            if j == 0 {
                for i in 0..il {
                    dr[i] = ln(self.trans[i]) + ln(self.emit_real[i]);
                }
                dn[0] = ln_null + ln(self.emit_null[0]);
                continue;
            }
            for m in 0..=il {
                let (mut best, mut from) = (dn[(j - 1) * (il + 1) + m], (il + m) as u32);
                if m > 0 && dr[(j - 1) * il + m - 1] > best {
                    best = dr[(j - 1) * il + m - 1];
                    from = (m - 1) as u32;
                }
                if best == f64::NEG_INFINITY {
                    continue;
                }
                for i in 0..il {
                    let score = best + ln(self.trans[m * il + i]);
                    if score > dr[j * il + i] {
                        dr[j * il + i] = score;
                        br[j * il + i] = from;
                    }
                }
                dn[j * (il + 1) + m] = best + ln_null;
                bn[j * (il + 1) + m] = from;
            }
            for i in 0..il {
                dr[j * il + i] += ln(self.emit_real[j * il + i]);
            }
            for m in 0..=il {
                dn[j * (il + 1) + m] += ln(self.emit_null[j]);
            }
        }
        let last = jl - 1;
        let mut state = 0usize;
        let mut best = f64::NEG_INFINITY;
        for i in 0..il {
            if dr[last * il + i] > best {
                best = dr[last * il + i];
                state = i;
            }
        }
        for m in 0..=il {
            if dn[last * (il + 1) + m] > best {
                best = dn[last * (il + 1) + m];
                state = il + m;
            }
        }
        let mut out = vec![None; jl];
        for j in (0..jl).rev() {
            if state < il {
                out[j] = Some(state as u16);
                state = br[j * il + state] as usize;
            } else {
                let m = state - il;
                state = bn[j * (il + 1) + m] as usize;
            }
        }
        out
    }
}

/// EM for the HMM starting from the table IBM Model 1 left, then the Viterbi alignments.
pub(super) fn train_and_align(
    f: &[Vec<u32>],
    e: &[Vec<u32>],
    table: &mut Table,
    items: &[usize],
    config: &AlignConfig,
) -> Vec<Directional> {
    let mut jumps = [1.0f64; BUCKETS];
    let p_null = config.p_null;
    for _ in 0..config.hmm_iterations {
        let size = table.prob.len();
        let counts = parallel_counts(items, size, BUCKETS, |&s, _, counts| {
            let ids = &table.pairs[s];
            if ids.is_empty() {
                return;
            }
            let lattice = Lattice::new(table, ids, e[s].len(), f[s].len(), &jumps, p_null);
            lattice.expect(ids, p_null, counts, size);
        });
        table.normalize(&counts[..size]);
        let jump_total: f64 = counts[size..].iter().sum();
        for (k, jump) in jumps.iter_mut().enumerate() {
            *jump = (counts[size + k] + 0.1) / (jump_total + 0.1 * BUCKETS as f64);
        }
    }
    items
        .par_iter()
        .map(|&s| {
            let ids = &table.pairs[s];
            if ids.is_empty() {
                return vec![None; f[s].len()];
            }
            Lattice::new(table, ids, e[s].len(), f[s].len(), &jumps, p_null).viterbi(p_null)
        })
        .collect()
}
