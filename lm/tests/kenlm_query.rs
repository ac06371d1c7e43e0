//! The ARPA-backed model against KenLM's own scores: KenLM's ARPA files loaded into [`ArpaModel`], the
//! evaluation texts scored, every sentence total compared with KenLM's `query -v sentence` output and the
//! perplexities with `query -v summary` (the rows of shared/reference/kenlm/README.md; the PTB order-5 model,
//! not stored, is estimated first). Totals must agree within 1e-4 and in fact print identically (same `f32`
//! sums, same digits); perplexities, OOV and token counts must match the README's figures to the last of the six
//! decimals it gives.
//!
//! Needs `FIVEGRAM_MIRROR` (the corpora root) and the reference directory (`FIVEGRAM_REFERENCE`, by default
//! `../shared/reference/kenlm` next to the workspace); without them each test prints a note and passes. The
//! harness is shared with `store_reference.rs` (`common/mod.rs`).

mod common;

use common::{M30K_O3, M30K_O5, M30K_O5_PRUNED, PTB_O3, PTB_O5, Row};
use fivegram_lm::model::ArpaModel;

fn check(row: &Row) {
    let Some((reference, mirror)) = common::dirs(row.model) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let model = ArpaModel::open(common::row_arpa(row, &reference, &mirror, scratch.path())).unwrap();
    for case in row.cases {
        let sentences = common::read_words(&mirror.join(case.text), case.rename_unk);
        let (scores, summary) = common::score(&model, &sentences);
        let what = format!("{} on {}", row.model, case.text);
        common::check_case(&what, &reference, case, &scores, &summary, true);
    }
}

#[test]
fn m30k_o5() {
    check(&M30K_O5);
}

#[test]
fn m30k_o5_pruned() {
    check(&M30K_O5_PRUNED);
}

#[test]
fn m30k_o3() {
    check(&M30K_O3);
}

#[test]
fn ptb_o3() {
    check(&PTB_O3);
}

/// Estimating PTB's order-5 model takes a while in debug builds:
/// `cargo test --release -p fivegram-lm --test kenlm_query -- --ignored`.
#[test]
#[ignore = "estimates a model first; slow in debug builds; run with --release -- --ignored"]
fn ptb_o5() {
    check(&PTB_O5);
}
