//! Batched beam search bookkeeping, independent of the network: which rows continue, from which parent row,
//! with which token, and which sentences are finished.
//!
//! Rows are grouped by sentence, active sentences in input order; a sentence starts with one row (every beam
//! would be the same) and has up to `beam` rows afterwards. After each step the caller reorders its caches
//! with [`Step::parents`] (the old row of every new row) and feeds [`Step::tokens`].
//!
//! The rule follows fairseq's: of the `2 × beam` best extensions of a sentence, an end-of-sentence extension
//! among the first `beam` finishes a hypothesis (scored `log p / length^α`, the length counting `</s>`); the
//! best `beam` others continue. A sentence stops when `beam` hypotheses have finished (early stop: all beams
//! ended) or it reaches its step limit, where its live hypotheses finish as they are. Beam 1 is greedy search:
//! the arg-max token at each step, the lowest id on ties.

/// One finished translation, as target ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Target ids, without `<s>` and `</s>`.
    pub ids: Vec<u32>,
    /// Sum of the token log-probabilities (natural log, summed in `f64`), `</s>` included when the hypothesis
    /// ended with it.
    pub log_prob: f64,
    /// `log_prob / length^α`, the length counting `</s>` (also for a hypothesis cut at the step limit): the
    /// ranking score.
    pub score: f64,
    /// Whether the hypothesis ended with `</s>` (false when it was cut at the step limit).
    pub ended: bool,
}

#[derive(Debug, Clone)]
struct Live {
    ids: Vec<u32>,
    log_prob: f64,
}

#[derive(Debug)]
struct Sentence {
    live: Vec<Live>,
    finished: Vec<Hypothesis>,
    max_steps: usize,
    done: bool,
}

/// What the next decoder step needs.
#[derive(Debug, Default)]
pub(crate) struct Step {
    /// For every new row, the row of the previous step it extends.
    pub(crate) parents: Vec<usize>,
    /// For every new row, the token to feed.
    pub(crate) tokens: Vec<u32>,
    /// For every new row, the index of its sentence in the batch.
    pub(crate) sentence_of_row: Vec<usize>,
}

/// The beam-search state of a batch of sentences.
#[derive(Debug)]
pub(crate) struct Beams {
    beam: usize,
    eos: u32,
    alpha: f64,
    sentences: Vec<Sentence>,
    /// Row → sentence of the current step.
    rows: Vec<usize>,
    steps: usize,
}

impl Beams {
    /// Starts a search over `max_steps.len()` sentences, each allowed that many steps (tokens, `</s>` included).
    pub(crate) fn new(beam: usize, eos: u32, alpha: f64, max_steps: &[usize]) -> Beams {
        Beams {
            beam: beam.max(1),
            eos,
            alpha,
            sentences: max_steps
                .iter()
                .map(|&max_steps| Sentence {
                    live: vec![Live {
                        ids: Vec::new(),
                        log_prob: 0.0,
                    }],
                    finished: Vec::new(),
                    max_steps,
                    done: max_steps == 0,
                })
                .collect(),
            rows: (0..max_steps.len()).filter(|&s| max_steps[s] > 0).collect(),
            steps: 0,
        }
    }

    /// Row → sentence for the current step.
    pub(crate) fn sentence_of_row(&self) -> &[usize] {
        &self.rows
    }

    /// Whether every sentence is finished.
    pub(crate) fn is_done(&self) -> bool {
        self.rows.is_empty()
    }

    /// `log_prob / length^α`.
    fn normalize(alpha: f64, log_prob: f64, length: usize) -> f64 {
        if alpha == 0.0 {
            log_prob
        } else {
            log_prob / (length.max(1) as f64).powf(alpha)
        }
    }

    /// Takes the log-probabilities of the current rows (`rows × vocab`, row-major) and advances every active
    /// sentence by one token.
    pub(crate) fn advance(&mut self, log_probs: &[f32], vocab: usize) -> Step {
        let k = self.beam;
        let width = 2 * k;
        let mut step = Step::default();
        let mut start = 0;
        self.steps += 1;
        let rows = std::mem::take(&mut self.rows);
        while start < rows.len() {
            let s = rows[start];
            let n = rows[start..].iter().take_while(|&&r| r == s).count();
            // The best `width` extensions over the sentence's rows: (log_prob, row within sentence, token).
            let mut cands: Vec<(f64, usize, u32)> = Vec::with_capacity(width * n);
            for r in 0..n {
                let base = self.sentences[s].live[r].log_prob;
                let row = &log_probs[(start + r) * vocab..(start + r + 1) * vocab];
                top_k(row, width, |token, lp| cands.push((base + f64::from(lp), r, token)));
            }
            cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            cands.truncate(width);
            let mut next: Vec<(usize, u32, f64)> = Vec::with_capacity(k);
            let mut finished = Vec::new();
            let already = self.sentences[s].finished.len();
            for (rank, &(lp, r, token)) in cands.iter().enumerate() {
                if !lp.is_finite() {
                    break;
                }
                if token == self.eos {
                    if rank < k {
                        let ids = self.sentences[s].live[r].ids.clone();
                        let score = Self::normalize(self.alpha, lp, ids.len() + 1);
                        finished.push(Hypothesis {
                            ids,
                            log_prob: lp,
                            score,
                            ended: true,
                        });
                    }
                    if already + finished.len() >= k {
                        break;
                    }
                } else if next.len() < k {
                    next.push((start + r, token, lp));
                }
            }
            let sentence_steps = self.steps;
            let mut live: Vec<Live> = next
                .iter()
                .map(|&(row, token, lp)| {
                    let mut ids = self.sentences[s].live[row - start].ids.clone();
                    ids.push(token);
                    Live { ids, log_prob: lp }
                })
                .collect();
            let sentence = &mut self.sentences[s];
            sentence.finished.extend(finished);
            if sentence.finished.len() >= k || live.is_empty() {
                sentence.done = true;
            } else if sentence_steps >= sentence.max_steps {
                for l in live.drain(..) {
                    // Scored as if `</s>` followed, as the reference decoder does.
                    let score = Self::normalize(self.alpha, l.log_prob, l.ids.len() + 1);
                    sentence.finished.push(Hypothesis {
                        ids: l.ids,
                        log_prob: l.log_prob,
                        score,
                        ended: false,
                    });
                }
                sentence.done = true;
            }
            if sentence.done {
                sentence.live.clear();
            } else {
                for &(row, token, _) in &next {
                    step.parents.push(row);
                    step.tokens.push(token);
                    step.sentence_of_row.push(s);
                }
                sentence.live = live;
            }
            start += n;
        }
        self.rows = step.sentence_of_row.clone();
        step
    }

    /// The finished hypotheses of every sentence, best first, at most `nbest` each.
    pub(crate) fn finish(self, nbest: usize) -> Vec<Vec<Hypothesis>> {
        self.sentences
            .into_iter()
            .map(|mut s| {
                s.finished.sort_by(|a, b| b.score.total_cmp(&a.score));
                s.finished.truncate(nbest.max(1));
                if s.finished.is_empty() {
                    s.finished.push(Hypothesis {
                        ids: Vec::new(),
                        log_prob: 0.0,
                        score: 0.0,
                        ended: false,
                    });
                }
                s.finished
            })
            .collect()
    }
}

/// Calls `f(token, value)` for the `k` largest values of `row` (NaN counts as −∞), lowest index first among
/// equal values; not in any particular order.
fn top_k(row: &[f32], k: usize, mut f: impl FnMut(u32, f32)) {
    // A small buffer kept sorted descending; k is at most a few dozen.
    const CHUNK: usize = 16;
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    for (c, chunk) in row.chunks(CHUNK).enumerate() {
        // Once the buffer is full, most chunks hold nothing above its minimum: a branch-free test skips them.
        if best.len() == k
            && let Some(&(m, _)) = best.last()
        {
            let mut above = false;
            for &v in chunk {
                above |= v > m;
            }
            if !above {
                continue;
            }
        }
        for (j, &v) in chunk.iter().enumerate() {
            let v = if v.is_nan() { f32::NEG_INFINITY } else { v };
            if best.len() == k && best.last().is_some_and(|&(m, _)| v <= m) {
                continue;
            }
            let pos = best.partition_point(|&(m, _)| m >= v);
            best.insert(pos, (v, (c * CHUNK + j) as u32));
            best.truncate(k);
        }
    }
    for (v, i) in best {
        f(i, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy model: the log-probabilities of the next token depend on the last token only.
    fn table(last: u32) -> Vec<f32> {
        // vocab: 0 pad, 1 bos, 2 eos, 3 a, 4 b
        let p: [f32; 5] = match last {
            1 => [0.0, 0.0, 0.1, 0.5, 0.4],
            3 => [0.0, 0.0, 0.3, 0.05, 0.65],
            4 => [0.0, 0.0, 0.9, 0.06, 0.04],
            _ => [0.0, 0.0, 1.0, 0.0, 0.0],
        };
        p.iter().map(|x| x.ln()).collect()
    }

    fn run(beam: usize, alpha: f64, max: &[usize], nbest: usize) -> Vec<Vec<Hypothesis>> {
        let mut beams = Beams::new(beam, 2, alpha, max);
        let mut last: Vec<u32> = vec![1; beams.sentence_of_row().len()];
        while !beams.is_done() {
            let lp: Vec<f32> = last.iter().flat_map(|&t| table(t)).collect();
            let step = beams.advance(&lp, 5);
            assert_eq!(step.parents.len(), step.tokens.len());
            last = step.tokens;
        }
        beams.finish(nbest)
    }

    #[test]
    fn greedy_takes_the_argmax() {
        let out = run(1, 1.0, &[10], 1);
        // bos → a (0.5) → b (0.65) → eos (0.9)
        assert_eq!(out[0][0].ids, vec![3, 4]);
        let expected = f64::from(0.5f32.ln()) + f64::from(0.65f32.ln()) + f64::from(0.9f32.ln());
        assert!((out[0][0].log_prob - expected).abs() < 1e-6);
        assert!((out[0][0].score - expected / 3.0).abs() < 1e-6);
        assert!(out[0][0].ended);
    }

    #[test]
    fn beam_finds_a_better_sequence_than_greedy() {
        // bos → b → eos: 0.4 · 0.9 = 0.36 beats bos → a → b → eos: 0.2925 without length normalisation.
        let greedy = run(1, 0.0, &[10], 1);
        assert_eq!(greedy[0][0].ids, vec![3, 4]);
        let beam = run(2, 0.0, &[10], 2);
        assert_eq!(beam[0][0].ids, vec![4]);
        assert_eq!(beam[0][1].ids, vec![3, 4]);
        assert!(beam[0][0].score > beam[0][1].score);
    }

    #[test]
    fn step_limit_cuts_live_hypotheses() {
        let out = run(1, 1.0, &[1, 10, 0], 1);
        assert_eq!(out[0][0].ids, vec![3]);
        assert!(!out[0][0].ended);
        assert_eq!(out[1][0].ids, vec![3, 4]);
        assert!(out[2][0].ids.is_empty());
    }

    #[test]
    fn rows_follow_their_parents() {
        let mut beams = Beams::new(2, 2, 0.0, &[10, 10]);
        let lp: Vec<f32> = [1u32, 1].iter().flat_map(|&t| table(t)).collect();
        let step = beams.advance(&lp, 5);
        // Each sentence expands its single row into a and b.
        assert_eq!(step.parents, vec![0, 0, 1, 1]);
        assert_eq!(step.tokens, vec![3, 4, 3, 4]);
        assert_eq!(step.sentence_of_row, vec![0, 0, 1, 1]);
        let lp: Vec<f32> = step.tokens.iter().flat_map(|&t| table(t)).collect();
        let step = beams.advance(&lp, 5);
        // Candidates per sentence: b→eos 0.36 (rank 0: finishes), a→b 0.325, a→eos 0.15 (rank 2: not among the
        // first `beam`, ignored), a→a 0.025.
        assert_eq!(step.parents, vec![0, 0, 2, 2]);
        assert_eq!(step.tokens, vec![4, 3, 4, 3]);
        assert!(!beams.is_done());
        let lp: Vec<f32> = step.tokens.iter().flat_map(|&t| table(t)).collect();
        let step = beams.advance(&lp, 5);
        // a·b→eos (0.2925) finishes the second hypothesis of each sentence: both are done.
        assert!(step.parents.is_empty(), "{step:?}");
        assert!(beams.is_done());
        let out = beams.finish(2);
        assert_eq!(out[1][0].ids, vec![4]);
        assert_eq!(out[1][1].ids, vec![3, 4]);
    }

    #[test]
    fn top_k_matches_a_full_sort_on_long_rows() {
        // A pseudo-random row with repeated values, longer than several chunks.
        let row: Vec<f32> = (0..1000u32)
            .map(|i| ((i * 7919) % 97) as f32 - if i % 13 == 0 { f32::NAN } else { 0.0 })
            .collect();
        for k in [1, 3, 8, 40] {
            let mut got = Vec::new();
            top_k(&row, k, |i, v| got.push((i, v)));
            let mut all: Vec<(u32, f32)> = row
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as u32, if v.is_nan() { f32::NEG_INFINITY } else { v }))
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(k);
            assert_eq!(got, all, "k = {k}");
        }
    }

    #[test]
    fn top_k_prefers_low_ids_on_ties() {
        let mut got = Vec::new();
        top_k(&[1.0, 3.0, 3.0, f32::NAN, 2.0], 2, |i, v| got.push((i, v)));
        assert_eq!(got, vec![(1, 3.0), (2, 3.0)]);
        got.clear();
        top_k(&[1.0, 3.0, 3.0, 2.0], 1, |i, v| got.push((i, v)));
        assert_eq!(got, vec![(1, 3.0)]);
    }
}
