//! `fivegram spell`: correct spelling in context, suggest words, evaluate, or build a spelling model.
//!
//! ```text
//! fivegram spell [--model DIR] [TEXT…] [--json]        correct TEXT (or stdin lines): one line out per line in
//! fivegram spell --suggest 5 WORD…                      isolated suggestions per word
//! fivegram spell --check TEXT…                          the spans that look wrong
//! fivegram spell --eval FILE…                           top-1/top-5 on Norvig or Mitton misspelling lists
//! fivegram spell --eval-context FILE                    real-word errors injected into held-out text
//! fivegram spell --build DIR --corpus FILE…             lexicon + error model + manifest (LM estimated first)
//! ```
//! Without `--model`, the default English model (`$FIVEGRAM_SPELL_MODEL`, else
//! `~/.local/share/fivegram/models/spell-en`). Stdin is read as bytes: invalid UTF-8 is passed through untouched
//! in plain output and replaced by U+FFFD in JSON; a word glued to an invalid sequence (Latin-1 `caf\xe9`) is a
//! piece of a word and left as it is. The input is one document: the names it repeats inside its sentences are
//! left alone (read in blocks of 10,000 lines, one line at a time from a terminal; `--no-names` corrects each line
//! on its own).

use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use fivegram_corpora::tokenize::Lang;
use fivegram_lm::query::in_thread_pool;
use fivegram_spell::build::{BuildConfig, build_model};
use fivegram_spell::eval::{self, evaluate_isolated, read_items};
use fivegram_spell::lexicon::read_word_list;
use fivegram_spell::model::{Ranking, default_model_dir};
use fivegram_spell::speller::DocumentNames;
use fivegram_spell::{Correction, Speller};
use serde_json::json;

use crate::{ui, usage};

/// Flags of `fivegram spell`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  fivegram spell \"scrumbled uggs Bundict\"\n  \
                        fivegram spell --json < text.txt\n  \
                        fivegram spell --suggest 5 recieve definately\n  \
                        fivegram spell --eval ../shared/corpora/spelling/spell-testset2.txt\n  \
                        scripts/build-spell-model.sh   # builds the default model")]
pub struct Args {
    /// Text to correct (each argument is one line); stdin lines when none.
    #[arg(value_name = "TEXT")]
    pub text: Vec<String>,
    /// The model directory (default: $FIVEGRAM_SPELL_MODEL, else ~/.local/share/fivegram/models/spell-LANG).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Language of the default model and of `--build`.
    #[arg(long, default_value = "en")]
    pub lang: Lang,
    /// Your own words (names, jargon), one per line, `#` comments: never changed nor reported, suggested as
    /// themselves. Repeatable.
    #[arg(long = "words", value_name = "FILE", conflicts_with = "build")]
    pub words: Vec<PathBuf>,
    /// One JSON object per line: the corrected text and the changed spans with offsets, scores, alternatives.
    #[arg(long)]
    pub json: bool,
    /// Print up to K suggestions for each word (no context) instead of correcting.
    #[arg(long, value_name = "K", conflicts_with_all = ["check", "eval", "eval_context", "build"])]
    pub suggest: Option<usize>,
    /// Print the spans that look wrong (changed ones and unknown words) instead of the corrected text.
    #[arg(long, conflicts_with_all = ["eval", "eval_context", "build"])]
    pub check: bool,
    /// Correct each line (or TEXT) on its own. By default the input is one document whose names are learnt: a
    /// capitalised word the lexicon does not know, seen inside sentences twice, is left alone (`Jory` is not
    /// made `Jerry`). Lines are read in blocks of up to 10,000 (one at a time from a terminal), each block's
    /// names learnt before it is corrected, with those of the blocks before.
    #[arg(long, conflicts_with_all = ["eval", "eval_context", "build"])]
    pub no_names: bool,
    /// With --eval-context: correct the evaluation's sentences as one document, whose names (capitalised unknown
    /// words used twice inside its sentences) are left alone, as `fivegram spell` does with its input.
    #[arg(long, requires = "eval_context")]
    pub document: bool,
    /// Evaluate isolated-word correction on misspelling lists (Norvig's or Mitton's format).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["eval_context", "build"])]
    pub eval: Vec<PathBuf>,
    /// With --eval: fail (exit 1) when a list's top-1 accuracy is below this percentage.
    #[arg(long, value_name = "PERCENT")]
    pub min_top1: Option<f64>,
    /// With --eval: list the misspellings whose first suggestion is wrong; with --eval-context: list the false
    /// alarms and how each confusion fared.
    #[arg(long)]
    pub misses: bool,
    /// Evaluate real-word correction: inject confusions into sentences of this held-out text and correct them.
    #[arg(long, value_name = "FILE", conflicts_with = "build")]
    pub eval_context: Option<PathBuf>,
    /// With --eval-context: inject misspellings from this list (Norvig's or Mitton's format) instead of real-word
    /// confusions, and compare the fixes in context with the isolated first suggestions.
    #[arg(long, value_name = "LIST", requires = "eval_context")]
    pub misspellings: Option<PathBuf>,
    /// With --eval-context: inject the real-word errors the error model proposes (each word's likeliest
    /// mistyping into another word, each word at most once) instead of the classic confusions.
    #[arg(long, requires = "eval_context", conflicts_with = "misspellings")]
    pub model_confusions: bool,
    /// With --eval-context: inject case errors instead (a capitalised word inside a sentence, `London`, `TV`,
    /// written in lowercase; each word at most once); fixed means its case restored.
    #[arg(long, requires = "eval_context", conflicts_with_all = ["misspellings", "model_confusions"])]
    pub case_errors: bool,
    /// With --eval-context: inject English contractions typed without their apostrophe instead (`don't` →
    /// `dont`, `They're` → `Theyre`); fixed means the contraction written back.
    #[arg(long, requires = "eval_context", conflicts_with_all = ["misspellings", "model_confusions", "case_errors"])]
    pub contractions: bool,
    /// With --eval-context: inject English homophones instead (`great` → `grate`, `buy` → `by`, from a list of
    /// 94 pairs, each word written as each of its homophones at most 5 times); fixed means the word written back.
    #[arg(long, requires = "eval_context", conflicts_with_all = ["misspellings", "model_confusions", "case_errors", "contractions"])]
    pub homophones: bool,
    /// With --eval-context: inject `of` written for the `have` of a modal verb instead (`should have known` →
    /// `should of known`); fixed means `have` written back.
    #[arg(long, requires = "eval_context", conflicts_with_all = ["misspellings", "model_confusions", "case_errors", "contractions", "homophones"])]
    pub modal_of: bool,
    /// With --eval-context: how many sentences to use.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub sentences: usize,
    /// Build a model into DIR (which must hold the language model, see scripts/build-spell-model.sh).
    #[arg(long, value_name = "DIR", requires = "corpus")]
    pub build: Option<PathBuf>,
    /// With --build: edited text (books, encyclopedia, news) to count words from.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub corpus: Vec<PathBuf>,
    /// With --build: text written by the public (reviews), where misspellings are mined; counted too.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub user_corpus: Vec<PathBuf>,
    /// With --build: the least count of a lexicon word.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub min_count: u64,
    /// With --build: words seen at least this many times per million words of the edited text (--corpus) stay
    /// in the lexicon even when a far more frequent neighbour would make them look like its misspelling.
    #[arg(long, default_value_t = fivegram_spell::build::KEEP_ATTESTED, value_name = "PER_MILLION")]
    pub keep_attested: f64,
    /// With --build: write no variants (words left out of the lexicon that stay words in context because the
    /// edited text holds their inflectional family, the words sharing their Snowball stem, that often).
    #[arg(long)]
    pub no_stem_families: bool,
    /// With --build: the language model's file name inside DIR.
    #[arg(long, default_value = "lm.arpa", value_name = "NAME")]
    pub lm: String,
    /// With --build: what the model was trained on (recorded in the manifest).
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub trained_on: String,
    /// Override a ranking setting, e.g. `--set prior_weight=1.2` (repeatable; with --build, stored in the model).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Runs `fivegram spell`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.threads == Some(0) {
        usage!("--threads must be at least 1");
    }
    if args.suggest == Some(0) {
        usage!("--suggest needs at least 1 suggestion");
    }
    if !args.corpus.is_empty() && args.build.is_none() {
        usage!("--corpus is only used with --build DIR");
    }
    let threads = args.threads;
    in_thread_pool(threads, move || dispatch(&args))?
}

fn dispatch(args: &Args) -> anyhow::Result<()> {
    let mut ranking_overrides = Vec::new();
    for setting in &args.set {
        let Some((key, value)) = setting.split_once('=') else {
            usage!("--set takes KEY=VALUE, found {setting:?}");
        };
        ranking_overrides.push((key.trim().to_string(), value.trim().to_string()));
    }
    if let Some(dir) = &args.build {
        let ranking = apply_overrides(Ranking::default(), &ranking_overrides)?;
        return build(args, dir, ranking);
    }
    let dir = match &args.model {
        Some(dir) => dir.clone(),
        None => match default_model_dir(args.lang) {
            Some(dir) => dir,
            None => anyhow::bail!("no data directory is known for this user; pass --model DIR"),
        },
    };
    let start = Instant::now();
    let mut speller = Speller::open(&dir)?;
    for file in &args.words {
        speller = speller.with_user_words(read_word_list(file)?);
    }
    if !ranking_overrides.is_empty() {
        let ranking = apply_overrides(*speller.ranking(), &ranking_overrides)?;
        speller.set_ranking(ranking);
    }
    let load = start.elapsed().as_secs_f64();
    if !args.eval.is_empty() {
        return run_eval(args, &speller, load);
    }
    if let Some(text) = &args.eval_context {
        return run_eval_context(args, &speller, text);
    }
    run_text(args, &speller)
}

fn apply_overrides(ranking: Ranking, overrides: &[(String, String)]) -> anyhow::Result<Ranking> {
    if overrides.is_empty() {
        return Ok(ranking);
    }
    let mut value = serde_json::to_value(ranking)?;
    let Some(object) = value.as_object_mut() else {
        anyhow::bail!("ranking settings are not an object");
    };
    for (key, raw) in overrides {
        if !object.contains_key(key) {
            let known: Vec<&str> = object.keys().map(String::as_str).collect();
            usage!("--set: unknown setting {key:?}; known: {}", known.join(", "));
        }
        let parsed: serde_json::Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(_) => usage!("--set {key}: {raw:?} is not a number"),
        };
        object.insert(key.clone(), parsed);
    }
    match serde_json::from_value(value) {
        Ok(ranking) => Ok(ranking),
        Err(e) => usage!("--set: {e}"),
    }
}

fn build(args: &Args, dir: &Path, ranking: Ranking) -> anyhow::Result<()> {
    let mut config = BuildConfig::new(args.lang, args.corpus.clone());
    config.user_corpus = args.user_corpus.clone();
    config.min_count = args.min_count;
    config.keep_attested = args.keep_attested;
    config.stem_families = !args.no_stem_families;
    config.lm = args.lm.clone();
    config.ranking = ranking;
    config.trained_on = args.trained_on.clone();
    let start = Instant::now();
    let report = build_model(dir, &config)?;
    eprintln!(
        "fivegram: built {} in {:.1}s: {} tokens, {} distinct words, lexicon {} words (count ≥ {}), \
         {} likely misspellings left out ({} of them kept as variants, words in running text, for their stem's \
         family), {} kept as seen ≥ {} times in the edited text, {} written capitalised; error model: {} mined \
         pairs → {} rules",
        dir.display(),
        start.elapsed().as_secs_f64(),
        report.tokens,
        report.distinct,
        report.lexicon,
        config.min_count,
        report.misspellings,
        report.variants,
        report.attested,
        report.attested_count,
        report.capitalised,
        report.train.pairs,
        report.train.rules
    );
    Ok(())
}

fn run_eval(args: &Args, speller: &Speller, load: f64) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = Vec::new();
    for path in &args.eval {
        let (format, items) = read_items(path)?;
        let report = evaluate_isolated(speller, &items);
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        if args.json {
            ui::json_line(
                &mut out,
                &json!({
                    "file": name,
                    "format": format!("{format:?}").to_lowercase(),
                    "items": report.items,
                    "top1": report.top1_percent(),
                    "top5": report.top5_percent(),
                    "words_per_second": report.words_per_second(),
                    "load_seconds": load,
                }),
            )?;
        } else {
            writeln!(
                out,
                "{name}: top-1 {:.1}% ({}/{}), top-5 {:.1}% ({}/{}), {:.0} words per CPU-second (1 thread), model loaded in {:.1}s",
                report.top1_percent(),
                report.top1,
                report.items,
                report.top5_percent(),
                report.top5,
                report.items,
                report.words_per_second(),
                load
            )?;
        }
        if args.misses {
            for (miss, targets, got) in &report.misses {
                writeln!(out, "  {miss} → {got:?} (want {})", targets.join("|"))?;
            }
        }
        if let Some(bar) = args.min_top1
            && report.top1_percent() < bar
        {
            failed.push(format!("{name}: top-1 {:.1}% is below {bar}%", report.top1_percent()));
        }
    }
    out.flush()?;
    if !failed.is_empty() {
        anyhow::bail!("{}", failed.join("; "));
    }
    Ok(())
}

fn run_eval_context(args: &Args, speller: &Speller, path: &Path) -> anyhow::Result<()> {
    for (asked, flag, what) in [
        (args.contractions, "--contractions", "contractions"),
        (args.homophones, "--homophones", "homophones"),
        (args.modal_of, "--modal-of", "modal verbs"),
    ] {
        if asked && speller.lang() != Lang::En {
            anyhow::bail!(
                "{flag} injects English {what}; this model is for {} (use an English model)",
                speller.lang()
            );
        }
    }
    // The injected sentences, and what a sentence must hold to get an error (for the message when none does).
    let (injected, wanted) = match &args.misspellings {
        Some(list) => {
            let (_, items) = read_items(list)?;
            let injected = eval::misspelled_sentences(path, speller.lang(), args.sentences, &items)?;
            (injected, format!("a word that {} misspells", list.display()))
        }
        None if args.contractions => (
            eval::contraction_sentences(path, args.sentences)?,
            "an English contraction (host and clitic)".to_string(),
        ),
        None if args.modal_of => (
            eval::modal_of_sentences(path, args.sentences)?,
            "a modal verb followed by `have`".to_string(),
        ),
        None if args.homophones => (
            eval::homophone_sentences(path, args.sentences)?,
            format!("a word of the {} pairs of homophones", eval::HOMOPHONES.len()),
        ),
        None if args.case_errors => (
            eval::case_error_sentences(speller, path, args.sentences)?,
            "a capitalised lexicon word after a word or a comma".to_string(),
        ),
        None if args.model_confusions => (
            eval::model_confusion_sentences(speller, path, args.sentences)?,
            "a lexicon word with a real-word mistyping".to_string(),
        ),
        None => {
            let confusions = eval::confusions(speller.lang());
            let examples: Vec<String> = confusions.iter().take(2).map(|(a, b)| format!("{a}/{b}")).collect();
            (
                eval::context_sentences(path, speller.lang(), args.sentences)?,
                format!(
                    "a word of the {} confusions ({}: {}, …)",
                    confusions.len(),
                    speller.lang(),
                    examples.join(", ")
                ),
            )
        }
    };
    if injected.is_empty() {
        anyhow::bail!("{}: no sentence of 5 to 60 words holds {wanted}", path.display());
    }
    let isolated = args
        .misspellings
        .as_ref()
        .map(|list| (list, eval::isolated_fixes(speller, &injected)));
    let report = eval::evaluate_context_as(speller, &injected, args.document);
    let errors = report.sentences.max(1) as f64;
    let words = report.correct_words.max(1) as f64;
    let percent = |n: usize| 100.0 * n as f64 / errors;
    if args.json {
        let mut value = json!({
            "file": path.display().to_string(),
            "sentences": report.sentences,
            "fixed": report.fixed,
            "fixed_percent": percent(report.fixed),
            "miscorrected": report.miscorrected,
            "correct_words": report.correct_words,
            "false_alarms": report.false_alarms,
            "false_alarm_percent": 100.0 * report.false_alarms as f64 / words,
            "words_per_second": report.words_per_second,
            "by_confusion": report.by_confusion,
        });
        if let Some((list, isolated)) = isolated {
            value["misspellings"] = json!(list.display().to_string());
            value["isolated_fixed"] = json!(isolated);
            value["isolated_fixed_percent"] = json!(percent(isolated));
        }
        let stdout = io::stdout();
        ui::json_line(&mut stdout.lock(), &value)?;
        return Ok(());
    }
    let what = match isolated {
        Some((list, isolated)) => format!(
            "one misspelling from {}: fixed in context {} ({:.1}%), by the isolated first suggestion {} ({:.1}%);",
            list.display(),
            report.fixed,
            percent(report.fixed),
            isolated,
            percent(isolated)
        ),
        None if args.contractions => format!(
            "one contraction typed without its apostrophe: fixed {} ({:.1}%),",
            report.fixed,
            percent(report.fixed)
        ),
        None if args.modal_of => format!(
            "`of` written for the `have` of a modal verb: fixed {} ({:.1}%),",
            report.fixed,
            percent(report.fixed)
        ),
        None if args.homophones => format!(
            "one homophone ({} pairs): fixed {} ({:.1}%),",
            eval::HOMOPHONES.len(),
            report.fixed,
            percent(report.fixed)
        ),
        None if args.case_errors => format!(
            "one capitalised word written in lowercase: recased {} ({:.1}%),",
            report.fixed,
            percent(report.fixed)
        ),
        None if args.model_confusions => format!(
            "one real-word error proposed by the error model: fixed {} ({:.1}%),",
            report.fixed,
            percent(report.fixed)
        ),
        None => format!(
            "one real-word error ({} classic confusions): fixed {} ({:.1}%),",
            eval::confusions(speller.lang()).len(),
            report.fixed,
            percent(report.fixed)
        ),
    };
    println!(
        "{}: {} sentences with {what} changed to another wrong word {}, false alarms {} of {} correct words \
         ({:.2}%), {:.0} words per CPU-second (1 thread)",
        path.display(),
        report.sentences,
        report.miscorrected,
        report.false_alarms,
        report.correct_words,
        100.0 * report.false_alarms as f64 / words,
        report.words_per_second
    );
    if args.misses {
        print_context_misses(&report);
    }
    Ok(())
}

/// The false alarms of a context evaluation (commonest first), then how each injected error fared.
fn print_context_misses(report: &eval::ContextReport) {
    let mut counts: std::collections::BTreeMap<(&str, &str), usize> = std::collections::BTreeMap::new();
    for (original, replacement) in &report.false_alarm_changes {
        *counts.entry((original, replacement)).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((original, replacement), n) in counts {
        println!("  false alarm ×{n}: {original} → {replacement}");
    }
    for c in &report.by_confusion {
        println!(
            "  {} written for {}: fixed {} of {} ({:.0}%), changed to another word {}",
            c.error,
            c.intended,
            c.fixed,
            c.injected,
            100.0 * c.fixed as f64 / c.injected.max(1) as f64,
            c.miscorrected
        );
    }
}

/// Corrects (or checks, or suggests for) each argument or stdin line.
fn run_text(args: &Args, speller: &Speller) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut names = DocumentNames::default();
    // Names are learnt for corrections only (not with --suggest, --check or --no-names).
    let learn = !args.no_names && args.suggest.is_none() && !args.check;
    if !args.text.is_empty() {
        if learn {
            for text in &args.text {
                speller.observe_names(text, &mut names);
            }
        }
        for text in &args.text {
            emit(args, speller, text.as_bytes(), &mut out, &names)?;
        }
        out.flush()?;
        return Ok(());
    }
    let stdin = io::stdin();
    // From a terminal each line is answered at once; from a file or a pipe, blocks of lines are read first, so
    // that a name's first sightings are left alone too.
    let block = if stdin.is_terminal() || !learn {
        1
    } else {
        NAME_BLOCK_LINES
    };
    let mut input = stdin.lock();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = input.read_until(b'\n', &mut line).context("reading stdin")?;
        if n > 0 {
            let mut end = line.len();
            if line[..end].ends_with(b"\n") {
                end -= 1;
                if line[..end].ends_with(b"\r") {
                    end -= 1;
                }
            }
            line.truncate(end);
            lines.push(line);
        }
        if lines.len() >= block || (n == 0 && !lines.is_empty()) {
            if learn {
                for line in &lines {
                    speller.observe_names(&String::from_utf8_lossy(line), &mut names);
                }
            }
            for line in lines.drain(..) {
                emit(args, speller, &line, &mut out, &names)?;
            }
            if !args.json {
                // Keep interactive use responsive.
                out.flush()?;
            }
        }
        if n == 0 {
            break;
        }
    }
    out.flush()?;
    Ok(())
}

/// Lines of stdin read (and their names learnt) before they are corrected, when stdin is not a terminal.
const NAME_BLOCK_LINES: usize = 10_000;

/// Handles one line of input.
fn emit(
    args: &Args,
    speller: &Speller,
    bytes: &[u8],
    out: &mut impl Write,
    names: &DocumentNames,
) -> anyhow::Result<()> {
    // The input's names (learnt by the caller, none with --no-names).
    let correct = |text: &str| speller.correct_in(text, names);
    if let Some(k) = args.suggest {
        let text = String::from_utf8_lossy(bytes);
        for word in text.split_whitespace() {
            let suggestions = speller.suggest(word, k);
            if args.json {
                ui::json_line(out, &json!({"word": word, "suggestions": suggestions}))?;
            } else {
                let words: Vec<&str> = suggestions.iter().map(|s| s.word.as_str()).collect();
                writeln!(out, "{word}\t{}", words.join("\t"))?;
            }
        }
        return Ok(());
    }
    if args.check {
        let text = String::from_utf8_lossy(bytes);
        let spans = speller.check(&text);
        if args.json {
            ui::json_line(out, &json!({"text": text, "spans": spans}))?;
        } else {
            let parts: Vec<String> = spans
                .iter()
                .map(|s| format!("{}-{} {} → {}", s.start, s.end, s.original, s.replacement))
                .collect();
            writeln!(out, "{}", parts.join("\t"))?;
        }
        return Ok(());
    }
    if args.json {
        let text = String::from_utf8_lossy(bytes);
        let correction: Correction = correct(&text);
        ui::json_line(out, &serde_json::to_value(&correction)?)?;
        return Ok(());
    }
    // Plain output: the line is corrected whole, each invalid sequence read as U+FFFD (so the words around it
    // keep their context, and a word glued to one is left alone), and written back with the invalid bytes as
    // they came.
    let (text, chunks) = decode_marked(bytes);
    let correction = correct(&text);
    let mut from = 0;
    for span in &correction.spans {
        let (start, end) = (original_offset(&chunks, span.start), original_offset(&chunks, span.end));
        out.write_all(&bytes[from..start])?;
        out.write_all(span.replacement.as_bytes())?;
        from = end;
    }
    out.write_all(&bytes[from..])?;
    out.write_all(b"\n")?;
    Ok(())
}

/// `bytes` as text with each invalid UTF-8 sequence replaced by U+FFFD, and where each valid run starts (in the
/// text, in `bytes`).
fn decode_marked(bytes: &[u8]) -> (String, Vec<(usize, usize)>) {
    let mut text = String::with_capacity(bytes.len());
    let mut chunks = Vec::new();
    let mut at = 0;
    for chunk in bytes.utf8_chunks() {
        chunks.push((text.len(), at));
        text.push_str(chunk.valid());
        at += chunk.valid().len();
        if !chunk.invalid().is_empty() {
            text.push(char::REPLACEMENT_CHARACTER);
            at += chunk.invalid().len();
        }
    }
    (text, chunks)
}

/// The offset in the original bytes of `offset` in the text of [`decode_marked`], which lies in a valid run or at
/// its end (span bounds are word bounds, never inside a replacement character).
fn original_offset(chunks: &[(usize, usize)], offset: usize) -> usize {
    let at = chunks.partition_point(|&(start, _)| start <= offset).saturating_sub(1);
    chunks
        .get(at)
        .map_or(offset, |&(start, original)| original + (offset - start))
}
