//! One module per verb; each exposes `Args` (clap) and `run(args) -> anyhow::Result<()>`.

pub mod bench;
pub mod build;
pub mod corpora;
pub mod estimate;
pub mod eval;
pub mod info;
pub mod neural;
pub mod query;
pub mod spell;
pub mod tokenize;
pub mod train_translation;
pub mod translate;
pub mod verify;

use clap::Subcommand;

/// The verbs of `fivegram`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, locate and verify the corpora in the catalog.
    Corpora(corpora::Args),
    /// Tokenize or detokenize text (stdin to stdout), or measure the detokenizer's round trip on corpora.
    Tokenize(tokenize::Args),
    /// Count n-grams and estimate a modified Kneser-Ney or Stupid Backoff model, written as ARPA.
    Estimate(estimate::Args),
    /// Score text with a model: per-sentence log10 totals and perplexity, as KenLM's `query` prints them.
    Query(query::Args),
    /// Build a sharded, compressed model directory from an ARPA file or from text (estimated first).
    Build(build::Args),
    /// Check every checksum of a model directory.
    Verify(verify::Args),
    /// Show a model directory's counts and bytes per n-gram by order.
    Info(info::Args),
    /// Score translations with BLEU or chrF, identical to sacreBLEU 2.6.0's defaults.
    Eval(eval::Args),
    /// Train a phrase-based translation model from a parallel corpus, and tune its weights.
    TrainTranslation(train_translation::Args),
    /// Translate text, one line out per line in.
    Translate(translate::Args),
    /// Correct spelling in context (stdin lines or TEXT), suggest words, evaluate, or build a spelling model.
    Spell(spell::Args),
    /// Score text with a neural language model: per-sentence log10 totals and per-word perplexity.
    NeuralLm(neural::LmArgs),
    /// Compare the n-gram and neural backends: translation BLEU/chrF and speed, LM perplexity; markdown + HTML.
    Bench(bench::Args),
}

/// Runs one verb.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Corpora(args) => corpora::run(args),
        Command::Tokenize(args) => tokenize::run(args),
        Command::Estimate(args) => estimate::run(args),
        Command::Query(args) => query::run(args),
        Command::Build(args) => build::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Info(args) => info::run(args),
        Command::Eval(args) => eval::run(args),
        Command::TrainTranslation(args) => train_translation::run(args),
        Command::Translate(args) => translate::run(args),
        Command::Spell(args) => spell::run(args),
        Command::NeuralLm(args) => neural::run_lm(args),
        Command::Bench(args) => bench::run(args),
    }
}
