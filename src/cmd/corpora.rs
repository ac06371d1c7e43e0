//! `fivegram corpora list | verify [NAME] | path NAME SPLIT [LANG]`: the catalog of corpora on the command line.
//!
//! Files are looked up in the mirror (`--mirror DIR`, else `FIVEGRAM_MIRROR`), then in the download cache
//! (`FIVEGRAM_CACHE`, else the platform cache directory); `path` downloads what is in neither. Unknown corpus,
//! split or language names are usage errors (exit 2) that list the names that exist.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use fivegram_corpora::Error;
use fivegram_corpora::catalog::{Catalog, CatalogFile, Corpus};
use fivegram_corpora::fetch::{Resolver, verify_file};
use serde_json::json;

use crate::ui::{self, UsageError};

/// Flags of `fivegram corpora`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// Directory holding a copy of the corpus mirror (default: $FIVEGRAM_MIRROR).
    #[arg(long, global = true, value_name = "DIR")]
    mirror: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// One line per corpus: name, kind, languages, splits, and how many of its files are on this machine.
    List {
        /// One JSON object per corpus.
        #[arg(long)]
        json: bool,
    },
    /// Check the size and sha256 of every file of every corpus (or of NAME) against the catalog; exit 1 if any
    /// file is missing or differs.
    Verify {
        /// Verify only this corpus.
        name: Option<String>,
        /// One JSON object per file.
        #[arg(long)]
        json: bool,
    },
    /// Print the path of each file of a split (of one language, with LANG), downloading files that are not
    /// on this machine.
    Path {
        /// Corpus name (see `fivegram corpora list`).
        name: String,
        /// Split name (train, val, test, …).
        split: String,
        /// Language code, for a multilingual corpus.
        lang: Option<String>,
    },
}

/// Runs `fivegram corpora`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let catalog = Catalog::shipped().context("the catalog compiled into fivegram is broken")?;
    let resolver = Resolver::from_env(args.mirror.clone());
    if let Some(mirror) = resolver.mirror()
        && !mirror.is_dir()
    {
        let from = if args.mirror.is_some() {
            "--mirror"
        } else {
            "FIVEGRAM_MIRROR"
        };
        crate::usage!("{from} {}: not a directory", mirror.display());
    }
    let mut out = BufWriter::new(io::stdout().lock());
    match args.action {
        Action::List { json } => list(&catalog, &resolver, json, &mut out)?,
        Action::Verify { name, json } => verify(&catalog, &resolver, name.as_deref(), json, &mut out)?,
        Action::Path { name, split, lang } => {
            let files = catalog
                .split_files(&name, &split, lang.as_deref())
                .map_err(unknown_is_usage)?;
            path(&files, &resolver, &mut out)?
        }
    }
    out.flush()?;
    Ok(())
}

/// A name missing from the catalog is a usage error (exit 2); anything else is a runtime error.
fn unknown_is_usage(err: Error) -> anyhow::Error {
    match err {
        Error::NotInCatalog { .. } => anyhow::Error::new(UsageError(err.to_string())),
        other => other.into(),
    }
}

fn list(catalog: &Catalog, resolver: &Resolver, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let width = catalog.names().iter().map(|n| n.len()).max().unwrap_or(0);
    for corpus in catalog.corpora() {
        let total = corpus.all_files().count();
        let local = corpus.all_files().filter(|f| resolver.locate(f).is_some()).count();
        let downloadable = corpus.all_files().filter(|f| resolver.url(f).is_some()).count();
        if json {
            let splits: Vec<_> = corpus
                .splits()
                .into_iter()
                .map(|s| {
                    let files = corpus.split_files(s, None).unwrap_or_default();
                    json!({
                        "name": s,
                        "files": files.len(),
                        "bytes": files.iter().map(|f| f.size).sum::<u64>(),
                    })
                })
                .collect();
            ui::json_line(
                out,
                &json!({
                    "name": corpus.name,
                    "kind": corpus.kind.as_str(),
                    "languages": corpus.languages,
                    "splits": splits,
                    "files": total,
                    "bytes": corpus.total_size(),
                    "local_files": local,
                    "downloadable_files": downloadable,
                    "licence": corpus.licence,
                    "description": corpus.description,
                }),
            )?;
        } else {
            // Files not here that a download could fetch (mirror-only ones cannot).
            let fetchable = corpus
                .all_files()
                .filter(|f| resolver.locate(f).is_none() && resolver.url(f).is_some())
                .count();
            let availability = match (local == total, fetchable) {
                (true, _) => "local".to_string(),
                (false, 0) => format!("{local}/{total} local"),
                (false, n) => format!("{local}/{total} local, {n} more downloadable"),
            };
            writeln!(
                out,
                "{:width$}  {:13}  {:11}  {:32}  {:>8}  {availability}",
                corpus.name,
                corpus.kind.as_str(),
                corpus.languages.join(","),
                corpus.splits().join(","),
                human_bytes(corpus.total_size()),
            )?;
        }
    }
    Ok(())
}

/// What verification found for one file.
enum Outcome {
    Ok,
    Mismatch(String),
    Missing,
    Unreadable(String),
}

fn verify(
    catalog: &Catalog,
    resolver: &Resolver,
    name: Option<&str>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let files: Vec<(&Corpus, &CatalogFile)> = match name {
        Some(name) => {
            let corpus = catalog.corpus(name).map_err(unknown_is_usage)?;
            corpus.all_files().map(|f| (corpus, f)).collect()
        }
        None => {
            // A file shared by two corpora (a folder's README) is checked once.
            let mut seen = std::collections::HashSet::new();
            catalog
                .corpora()
                .iter()
                .flat_map(|c| c.all_files().map(move |f| (c, f)))
                .filter(|(_, f)| seen.insert(f.path.as_str()))
                .collect()
        }
    };
    let located: Vec<_> = files.iter().map(|(_, f)| resolver.locate(f)).collect();
    let bytes: u64 = files
        .iter()
        .zip(&located)
        .filter(|(_, l)| l.is_some())
        .map(|((_, f), _)| f.size)
        .sum();
    let width = files.iter().map(|(_, f)| f.path.len()).max().unwrap_or(0);
    let bar = ui::progress(Some(bytes), "verifying");
    let started = Instant::now();
    let (mut ok, mut bad, mut missing) = (0usize, 0usize, 0usize);
    let mut done = 0u64;
    for ((corpus, file), location) in files.iter().zip(&located) {
        let outcome = match location {
            None => Outcome::Missing,
            Some(found) => {
                let result = verify_file(&found.path, file, &mut |n| bar.inc(n));
                done += file.size;
                bar.set_position(done);
                match result {
                    Ok(()) => Outcome::Ok,
                    Err(Error::Checksum { found, .. }) => {
                        Outcome::Mismatch(format!("sha256 {found}, expected {}", file.sha256))
                    }
                    Err(Error::Size { found, expected, .. }) => {
                        Outcome::Mismatch(format!("{found} bytes, expected {expected}"))
                    }
                    Err(other) => Outcome::Unreadable(other.to_string()),
                }
            }
        };
        let shown = location.as_ref().map(|l| l.path.display().to_string());
        let (status, detail) = match &outcome {
            Outcome::Ok => ("ok", None),
            Outcome::Mismatch(why) => ("MISMATCH", Some(why.clone())),
            Outcome::Missing => ("missing", None),
            Outcome::Unreadable(why) => ("ERROR", Some(why.clone())),
        };
        match outcome {
            Outcome::Ok => ok += 1,
            Outcome::Missing => missing += 1,
            Outcome::Mismatch(_) | Outcome::Unreadable(_) => bad += 1,
        }
        bar.suspend(|| -> io::Result<()> {
            if json {
                ui::json_line(
                    out,
                    &json!({
                        "corpus": corpus.name,
                        "file": file.path,
                        "status": status.to_lowercase(),
                        "path": shown,
                        "size": file.size,
                        "sha256": file.sha256,
                        "detail": detail,
                    }),
                )
            } else {
                match (&shown, &detail) {
                    (Some(at), Some(why)) => {
                        writeln!(out, "{status:8}  {:width$}  {at}: {why}", file.path)
                    }
                    (Some(at), None) => writeln!(out, "{status:8}  {:width$}  {at}", file.path),
                    (None, _) => writeln!(out, "{status:8}  {}", file.path),
                }
            }
        })?;
    }
    bar.finish_and_clear();
    out.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} files: {ok} ok, {bad} mismatched or unreadable, {missing} missing; {} hashed in {seconds:.1} s",
        files.len(),
        human_bytes(bytes),
    );
    if bad + missing > 0 {
        let hint = if missing > 0 && resolver.mirror().is_none() {
            " (no mirror: pass --mirror DIR or set FIVEGRAM_MIRROR; `fivegram corpora path` downloads what it can)"
        } else {
            ""
        };
        anyhow::bail!("{} of {} files failed verification{hint}", bad + missing, files.len());
    }
    Ok(())
}

fn path(files: &[&CatalogFile], resolver: &Resolver, out: &mut impl Write) -> anyhow::Result<()> {
    let to_fetch: u64 = files
        .iter()
        .filter(|f| resolver.locate(f).is_none())
        .map(|f| f.size)
        .sum();
    let bar = ui::progress(Some(to_fetch), "downloading");
    let mut paths = Vec::with_capacity(files.len());
    for file in files {
        let found = resolver.resolve_with_progress(file, &mut |n| bar.inc(n))?;
        paths.push(found.path);
    }
    bar.finish_and_clear();
    for path in paths {
        writeln!(out, "{}", path.display())?;
    }
    Ok(())
}

/// `1.2 MB`-style sizes (powers of 1000).
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
