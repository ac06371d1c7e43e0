//! The streaming readers on small fixtures written here (CRLF, missing final newline, empty files, invalid UTF-8,
//! gzip, malformed lines) and, when `FIVEGRAM_MIRROR` points at the shared corpora, on the real files.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use fivegram_corpora::Error;
use fivegram_corpora::read::{
    Decoding, Misspelling, MisspellingFormat, MisspellingReader, PTB_UNK, ParallelReader, PtbReader, SentencePair,
    SentenceReader, TextReader,
};
use fivegram_corpora::tokenize::Lang;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn write_gz(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    let mut enc = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap();
    path
}

fn pairs(reader: ParallelReader) -> Vec<(u64, String, String)> {
    reader
        .map(|p| {
            let SentencePair { line, src, tgt } = p.unwrap();
            (line, src, tgt)
        })
        .collect()
}

fn triple(line: u64, src: &str, tgt: &str) -> (u64, String, String) {
    (line, src.to_string(), tgt.to_string())
}

/// The shared corpus folder, or `None` (with a note) when the test should skip.
fn mirror(test: &str) -> Option<PathBuf> {
    match std::env::var_os("FIVEGRAM_MIRROR") {
        Some(dir) if Path::new(&dir).is_dir() => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("note: {test} skipped: FIVEGRAM_MIRROR is not set to the shared corpus folder (.ci/run sets it)");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Text

#[test]
fn text_reader_handles_crlf_no_final_newline_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.txt", b"one\r\ntwo\n\nthree");
    let lines: Vec<_> = TextReader::open(&path, Decoding::Strict)
        .unwrap()
        .map(|l| l.unwrap())
        .map(|l| (l.number, l.text))
        .collect();
    assert_eq!(
        lines,
        [
            (1, "one".to_string()),
            (2, "two".to_string()),
            (3, String::new()),
            (4, "three".to_string())
        ]
    );
    let empty = write(dir.path(), "empty.txt", b"");
    assert_eq!(TextReader::open(&empty, Decoding::Strict).unwrap().count(), 0);
    let empty_gz = write_gz(dir.path(), "empty.txt.gz", b"");
    assert_eq!(TextReader::open(&empty_gz, Decoding::Strict).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Parallel corpora

#[test]
fn parallel_files_yield_aligned_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let en = write(dir.path(), "train.en", b"A dog.\r\nTwo cats.\n\nEnd");
    let de = write_gz(
        dir.path(),
        "train.de.gz",
        "Ein Hund.\nZwei Katzen.\n\nEnde\n".as_bytes(),
    );
    let got = pairs(ParallelReader::open(&en, &de, Decoding::Strict).unwrap());
    assert_eq!(
        got,
        [
            triple(1, "A dog.", "Ein Hund."),
            triple(2, "Two cats.", "Zwei Katzen."),
            triple(3, "", ""),
            triple(4, "End", "Ende"),
        ]
    );
}

#[test]
fn parallel_length_mismatch_names_both_files_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let short = write(dir.path(), "short.en", b"a\nb\n");
    let long = write(dir.path(), "long.de", b"a\nb\nc\nd\n");
    for (src, tgt) in [(&short, &long), (&long, &short)] {
        let mut reader = ParallelReader::open(src, tgt, Decoding::Strict).unwrap();
        assert!(reader.next().unwrap().is_ok());
        assert!(reader.next().unwrap().is_ok());
        let err = reader.next().unwrap().unwrap_err();
        match &err {
            Error::ParallelMismatch { shorter, longer, line } => {
                assert_eq!(shorter, &short);
                assert_eq!(longer, &long);
                assert_eq!(*line, 3);
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("short.en") && message.contains("long.de") && message.contains("line 3"),
            "{message}"
        );
        assert!(reader.next().is_none(), "the reader stops after a mismatch");
    }
}

#[test]
fn parallel_invalid_utf8_keeps_the_sides_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let en = write(dir.path(), "x.en", b"one\nbad \xc3\x28\nthree\n");
    let de = write(dir.path(), "x.de", b"eins\nzwei\ndrei\n");
    let mut reader = ParallelReader::open(&en, &de, Decoding::Strict).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().tgt, "eins");
    let err = reader.next().unwrap().unwrap_err().to_string();
    assert!(err.contains("x.en:2") && err.contains("invalid UTF-8"), "{err}");
    let third = reader.next().unwrap().unwrap();
    assert_eq!(
        (third.line, third.src.as_str(), third.tgt.as_str()),
        (3, "three", "drei")
    );
    assert!(reader.next().is_none());

    let lossy = pairs(ParallelReader::open(&en, &de, Decoding::Lossy).unwrap());
    assert_eq!(lossy[1], triple(2, "bad \u{fffd}(", "zwei"));
}

#[test]
fn tatoeba_tsv_with_and_without_attribution() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = write(
        dir.path(),
        "deu.txt",
        "Hi.\tHallo!\nRun!\tLauf!\tCC-BY 2.0 (France) Attribution: tatoeba.org #906328 (CK)\r\nI won!\tIch hab gewonnen!"
            .as_bytes(),
    );
    assert_eq!(
        pairs(ParallelReader::open_tsv(&tsv, Decoding::Strict).unwrap()),
        [
            triple(1, "Hi.", "Hallo!"),
            triple(2, "Run!", "Lauf!"),
            triple(3, "I won!", "Ich hab gewonnen!"),
        ]
    );
    // Reversed columns: German → English.
    let reversed = pairs(
        ParallelReader::open_tsv(&tsv, Decoding::Strict)
            .unwrap()
            .with_columns(1, 0),
    );
    assert_eq!(reversed[0], triple(1, "Hallo!", "Hi."));
}

#[test]
fn tsv_line_without_a_tab_is_a_format_error_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = write(dir.path(), "bad.tsv", b"a\tb\nno tab here\nc\td\n");
    let mut reader = ParallelReader::open_tsv(&tsv, Decoding::Strict).unwrap();
    assert!(reader.next().unwrap().is_ok());
    let err = reader.next().unwrap().unwrap_err();
    assert!(matches!(err, Error::Format { line: 2, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("bad.tsv:2") && message.contains("no tab"), "{message}");
    assert_eq!(reader.next().unwrap().unwrap().src, "c");
    assert!(reader.next().is_none());

    // Too few columns for the ones asked for.
    let mut reader = ParallelReader::open_tsv(&tsv, Decoding::Strict)
        .unwrap()
        .with_columns(0, 2);
    let message = reader.next().unwrap().unwrap_err().to_string();
    assert!(
        message.contains("bad.tsv:1") && message.contains("column 3"),
        "{message}"
    );

    let empty = write(dir.path(), "empty.tsv", b"");
    assert_eq!(ParallelReader::open_tsv(&empty, Decoding::Strict).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Misspellings

fn misspellings(reader: MisspellingReader) -> Vec<(u64, String, String)> {
    reader
        .map(|m| {
            let Misspelling {
                line,
                target,
                misspelling,
            } = m.unwrap();
            (line, target, misspelling)
        })
        .collect()
}

#[test]
fn norvig_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "norvig.txt",
        b"contented: contenpted contende\r\n\nbeginning: begining\nbeginning: begining",
    );
    assert_eq!(
        misspellings(MisspellingReader::open(&path, MisspellingFormat::Norvig).unwrap()),
        [
            triple(1, "contented", "contenpted"),
            triple(1, "contented", "contende"),
            triple(3, "beginning", "begining"),
            triple(4, "beginning", "begining"),
        ]
    );
    assert_eq!(
        MisspellingReader::open_detect(&path).unwrap().format(),
        MisspellingFormat::Norvig
    );
}

#[test]
fn norvig_malformed_lines_are_format_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (bytes, want) in [
        (&b"ok: okk\nno colon here\n"[..], "no colon"),
        (b"ok: okk\n: orphan\n", "target"),
        (b"ok: okk\ntwo words: x\n", "target"),
        (b"ok: okk\nlonely:\n", "no misspellings"),
        (b"ok: okk\na: b: c\n", "more than one colon"),
    ] {
        let path = write(dir.path(), "bad.txt", bytes);
        let mut reader = MisspellingReader::open(&path, MisspellingFormat::Norvig).unwrap();
        assert!(reader.next().unwrap().is_ok());
        let err = reader.next().unwrap().unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Format { line: 2, .. }), "{message}");
        assert!(message.contains("bad.txt:2") && message.contains(want), "{message}");
        assert!(reader.next().is_none());
    }
}

#[test]
fn mitton_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "aspell.dat",
        b"$Nevada\nnevade\n$ability\nabilitey\nabilaty\r\n\n$won't\nwan't",
    );
    assert_eq!(
        misspellings(MisspellingReader::open(&path, MisspellingFormat::Mitton).unwrap()),
        [
            triple(2, "Nevada", "nevade"),
            triple(4, "ability", "abilitey"),
            triple(5, "ability", "abilaty"),
            triple(8, "won't", "wan't"),
        ]
    );
    assert_eq!(
        MisspellingReader::open_detect(&path).unwrap().format(),
        MisspellingFormat::Mitton
    );
}

#[test]
fn mitton_malformed_lines_are_format_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.dat", b"orphan\n$\n$ok\nfine\nbad one\n");
    let got: Vec<_> = MisspellingReader::open(&path, MisspellingFormat::Mitton)
        .unwrap()
        .collect();
    assert_eq!(got.len(), 4);
    let message = got[0].as_ref().unwrap_err().to_string();
    assert!(
        message.contains("m.dat:1") && message.contains("before any `$target`"),
        "{message}"
    );
    let message = got[1].as_ref().unwrap_err().to_string();
    assert!(message.contains("m.dat:2"), "{message}");
    assert_eq!(got[2].as_ref().unwrap().misspelling, "fine");
    let message = got[3].as_ref().unwrap_err().to_string();
    assert!(
        message.contains("m.dat:5") && message.contains("whitespace"),
        "{message}"
    );
}

#[test]
fn misspelling_readers_on_empty_and_invalid_files() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.txt", b"");
    assert_eq!(
        MisspellingReader::open(&empty, MisspellingFormat::Norvig)
            .unwrap()
            .count(),
        0
    );
    assert_eq!(MisspellingReader::open_detect(&empty).unwrap().count(), 0);
    let bad = write(dir.path(), "bad.txt", b"caf\xe9: cafe\n");
    let err = MisspellingReader::open(&bad, MisspellingFormat::Norvig)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.txt:1") && err.contains("UTF-8"), "{err}");
}

#[test]
fn real_misspelling_sets_have_the_published_pair_counts() {
    let Some(mirror) = mirror("real_misspelling_sets_have_the_published_pair_counts") else {
        return;
    };
    let spelling = mirror.join("spelling");
    for (file, pairs, targets) in [("spell-testset1.txt", 270, 141), ("spell-testset2.txt", 400, 363)] {
        let got: Vec<Misspelling> = MisspellingReader::open(spelling.join(file), MisspellingFormat::Norvig)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), pairs, "{file}");
        let lines: std::collections::BTreeSet<u64> = got.iter().map(|m| m.line).collect();
        assert_eq!(lines.len(), targets, "{file}");
    }
    let aspell: Vec<Misspelling> = MisspellingReader::open_detect(spelling.join("aspell.dat"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(aspell.len(), 531);
    let targets: std::collections::BTreeSet<&str> = aspell.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(targets.len(), 450);
}

// ---------------------------------------------------------------------------------------------------------------
// PTB

#[test]
fn ptb_lines_become_token_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_gz(
        dir.path(),
        "ptb.txt.gz",
        b" pierre <unk> N years old will join the board \n\n mr. <unk> is chairman\r\n  two  spaces",
    );
    let got: Vec<(u64, Vec<String>)> = PtbReader::open(&path)
        .unwrap()
        .map(|s| s.unwrap())
        .map(|s| (s.line, s.tokens))
        .collect();
    let words = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            (1, words("pierre <unk> N years old will join the board")),
            (2, vec![]),
            (3, words("mr. <unk> is chairman")),
            (4, words("two spaces")),
        ]
    );
    assert_eq!(got[0].1[1], PTB_UNK);
    let empty = write(dir.path(), "empty.txt", b"");
    assert_eq!(PtbReader::open(&empty).unwrap().count(), 0);
}

#[test]
fn real_ptb_valid_has_the_known_size() {
    let Some(mirror) = mirror("real_ptb_valid_has_the_known_size") else {
        return;
    };
    let (mut lines, mut tokens, mut unk) = (0, 0, 0);
    let mut reader = PtbReader::open(mirror.join("ptb/ptb.valid.txt.gz")).unwrap();
    let mut sentence = Vec::new();
    while reader.read_sentence(&mut sentence).unwrap() {
        lines += 1;
        tokens += sentence.len();
        unk += sentence.iter().filter(|t| *t == PTB_UNK).count();
    }
    assert_eq!((lines, tokens), (3370, 70390));
    assert!(unk > 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Sentences

#[test]
fn sentence_reader_splits_paragraphs() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "book.txt",
        b"Mr. Brown came home. He sat down!\r\n\n\"Who is it?\" asked Mrs. Brown. It was 3.5 p.m.",
    );
    let got: Vec<(u64, String)> = SentenceReader::new(TextReader::open(&path, Decoding::Strict).unwrap(), Lang::En)
        .map(|s| s.unwrap())
        .map(|s| (s.line, s.text))
        .collect();
    assert_eq!(
        got,
        [
            (1, "Mr. Brown came home.".to_string()),
            (1, "He sat down!".to_string()),
            (3, "\"Who is it?\" asked Mrs. Brown.".to_string()),
            (3, "It was 3.5 p.m.".to_string()),
        ]
    );
}
