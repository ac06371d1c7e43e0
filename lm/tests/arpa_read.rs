//! The ARPA reader on small fixtures: well-formed files, KenLM's and SRILM's quirks, and every kind of damage.

use std::io::Write;
use std::path::{Path, PathBuf};

use fivegram_lm::Error;
use fivegram_lm::arpa::read::{ArpaReader, Entry, read_all};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Writes `text` to a temporary file and reads it whole.
fn read_text(text: &[u8]) -> (tempfile::TempPath, fivegram_lm::Result<fivegram_lm::arpa::read::Arpa>) {
    let mut file = tempfile::Builder::new().suffix(".arpa").tempfile().unwrap();
    file.write_all(text).unwrap();
    let path = file.into_temp_path();
    let result = read_all(&path);
    (path, result)
}

/// Reads `text`, expects a format error, and returns its line and message after checking the path.
fn format_error(text: &str) -> (u64, String) {
    let (path, result) = read_text(text.as_bytes());
    match result {
        Err(Error::Format {
            path: error_path,
            line,
            message,
        }) => {
            assert_eq!(error_path, path.to_path_buf());
            (line, message)
        }
        other => panic!("expected a format error for {text:?}, got {other:?}"),
    }
}

const TOY2: &str = "\\data\\\nngram 1=3\nngram 2=2\n\n\\1-grams:\n-1.0\t<s>\t-0.5\n-0.5\t</s>\n-0.7\ta\t-0.1\n\n\\2-grams:\n-0.2\t<s> a\n-0.3\ta </s>\n\n\\end\\\n";

#[test]
fn reads_the_toy_trigram_fixture() {
    let arpa = read_all(fixture("toy3.arpa")).unwrap();
    assert_eq!(arpa.counts, vec![6, 6, 3]);
    assert_eq!(arpa.order(), 3);
    assert_eq!(arpa.orders.iter().map(Vec::len).collect::<Vec<_>>(), vec![6, 6, 3]);
    let s = &arpa.orders[0][1];
    assert_eq!(
        (s.order, s.words.as_slice(), s.prob, s.backoff),
        (1, &["<s>".to_string()][..], -99.0, Some(-0.5))
    );
    assert_eq!(arpa.orders[0][0].backoff, None);
    let bigram = &arpa.orders[1][4];
    assert_eq!(bigram.words, vec!["a", "c"]);
    assert_eq!(bigram.backoff, Some(0.0));
    let trigram = &arpa.orders[2][2];
    assert_eq!(trigram.words, vec!["a", "b", "</s>"]);
    assert_eq!((trigram.prob, trigram.backoff), (-0.15, None));
}

#[test]
fn streams_entries_in_file_order() {
    let mut reader = ArpaReader::open(fixture("toy3.arpa")).unwrap();
    assert_eq!(reader.counts(), &[6, 6, 3]);
    let mut orders = Vec::new();
    let mut entry = Entry::default();
    while reader.read_entry(&mut entry).unwrap() {
        assert_eq!(entry.words.len(), entry.order);
        orders.push(entry.order);
    }
    assert_eq!(orders, vec![1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3]);
    // The iterator interface gives the same entries.
    let all: Vec<Entry> = ArpaReader::open(fixture("toy3.arpa"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 15);
    assert_eq!(all[14].words, vec!["a", "b", "</s>"]);
}

#[test]
fn accepts_srilm_quirks() {
    // Leading blank lines, CRLF, spaces as separators, `ngram  1 = 4`, -99 and -inf probabilities.
    let arpa = read_all(fixture("srilm-style.arpa")).unwrap();
    assert_eq!(arpa.counts, vec![4, 2]);
    assert_eq!(arpa.orders[0][0].prob, -99.0);
    assert_eq!(arpa.orders[0][0].backoff, Some(-0.3));
    assert_eq!(arpa.orders[0][3].prob, f32::NEG_INFINITY);
    assert_eq!(arpa.orders[1][1].words, vec!["x", "</s>"]);
}

#[test]
fn reads_gzip_by_magic() {
    let plain = std::fs::read(fixture("toy3.arpa")).unwrap();
    let mut file = tempfile::Builder::new().suffix(".arpa").tempfile().unwrap(); // no .gz on purpose
    let mut encoder = flate2::write::GzEncoder::new(&mut file, flate2::Compression::default());
    encoder.write_all(&plain).unwrap();
    encoder.finish().unwrap();
    let from_gzip = read_all(file.path()).unwrap();
    assert_eq!(from_gzip, read_all(fixture("toy3.arpa")).unwrap());
}

#[test]
fn section_header_without_blank_line_and_trailing_blank_lines() {
    let text = "\\data\\\nngram 1=1\n\\1-grams:\n-1\ta\n\\end\\\n\n\n";
    let (_path, result) = read_text(text.as_bytes());
    assert_eq!(result.unwrap().orders[0][0].words, vec!["a"]);
}

#[test]
fn empty_section_is_fine_when_announced() {
    let text = "\\data\\\nngram 1=1\nngram 2=0\n\n\\1-grams:\n-1\ta\n\n\\2-grams:\n\n\\end\\\n";
    let (_path, result) = read_text(text.as_bytes());
    assert_eq!(result.unwrap().orders[1].len(), 0);
}

#[test]
fn missing_data_header() {
    let (line, message) = format_error("ngram 1=1\n\n\\1-grams:\n-1\ta\n\n\\end\\\n");
    assert_eq!(line, 1);
    assert!(message.contains("\\data\\"), "{message}");
    let (line, _) = format_error("");
    assert_eq!(line, 0);
}

#[test]
fn bad_count_lines() {
    let (line, message) = format_error("\\data\\\nngram 1=x\n\n\\1-grams:\n-1\ta\n\n\\end\\\n");
    assert_eq!(line, 2);
    assert!(message.contains("ngram N=COUNT"), "{message}");
    let (line, message) = format_error("\\data\\\nngram 1=1\nngram 3=1\n\n\\1-grams:\n-1\ta\n\n\\end\\\n");
    assert_eq!(line, 3);
    assert!(message.contains("order 3"), "{message}");
    let (line, _) = format_error("\\data\\\n\n\\1-grams:\n-1\ta\n\n\\end\\\n");
    assert_eq!(line, 3);
}

#[test]
fn fewer_entries_than_announced() {
    let (line, message) = format_error(&TOY2.replace("ngram 2=2", "ngram 2=3"));
    assert_eq!(line, 13, "{message}");
    assert!(
        message.contains("ends after 2 entries but the header announced 3"),
        "{message}"
    );
}

#[test]
fn more_entries_than_announced() {
    let (line, message) = format_error(&TOY2.replace("ngram 1=3", "ngram 1=2"));
    assert_eq!(line, 8);
    assert!(message.contains("more entries than the 2"), "{message}");
}

#[test]
fn sections_out_of_order() {
    let text = "\\data\\\nngram 1=1\nngram 2=1\n\n\\2-grams:\n-1\ta a\n\n\\1-grams:\n-1\ta\n\n\\end\\\n";
    let (line, message) = format_error(text);
    assert_eq!(line, 5);
    assert!(message.contains("\\1-grams:"), "{message}");
    let text = "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1\ta\n\n\\3-grams:\n-1\ta a\n\n\\end\\\n";
    let (line, message) = format_error(text);
    assert_eq!(line, 8);
    assert!(message.contains("\\2-grams:"), "{message}");
}

#[test]
fn non_numeric_probability_and_backoff() {
    let (line, message) = format_error(&TOY2.replace("-0.5\t</s>", "minus\t</s>"));
    assert_eq!(line, 7);
    assert!(message.contains("log10 probability"), "{message}");
    let (line, message) = format_error(&TOY2.replace("a\t-0.1", "a\tx"));
    assert_eq!(line, 8);
    assert!(message.contains("backoff"), "{message}");
    let (line, _) = format_error(&TOY2.replace("-0.5\t</s>", "nan\t</s>"));
    assert_eq!(line, 7);
    let (line, message) = format_error(&TOY2.replace("-0.5\t</s>", "0.5\t</s>"));
    assert_eq!(line, 7);
    assert!(message.contains("positive"), "{message}");
    let (line, _) = format_error(&TOY2.replace("a\t-0.1", "a\t-inf"));
    assert_eq!(line, 8);
}

#[test]
fn wrong_number_of_words() {
    let (line, message) = format_error(&TOY2.replace("-0.2\t<s> a", "-0.2\t<s>"));
    assert_eq!(line, 11);
    assert!(message.contains("only 1 word"), "{message}");
    let (line, message) = format_error(&TOY2.replace("-0.3\ta </s>", "-0.3\ta </s> b"));
    assert_eq!(line, 12);
    assert!(message.contains("no backoff"), "{message}");
    let (line, message) = format_error(&TOY2.replace("-0.5\t</s>", "-0.5\t</s> a b"));
    assert_eq!(line, 7);
    assert!(message.contains("too many fields"), "{message}");
    let (line, _) = format_error(&TOY2.replace("-0.5\t</s>", "-0.5"));
    assert_eq!(line, 7);
}

#[test]
fn missing_end_marker() {
    let (line, message) = format_error(&TOY2.replace("\\end\\\n", ""));
    assert_eq!(line, 13);
    assert!(message.contains("\\end\\"), "{message}");
    let (line, message) = format_error(&TOY2.replace("\\end\\", "\\3-grams:"));
    assert_eq!(line, 14);
    assert!(message.contains("\\end\\"), "{message}");
}

#[test]
fn text_after_end() {
    let (line, message) = format_error(&format!("{TOY2}\n-1\tb\n"));
    assert_eq!(line, 16);
    assert!(message.contains("after \\end\\"), "{message}");
}

#[test]
fn every_truncation_is_an_error() {
    // Cut the file after every byte: none of the prefixes is a valid ARPA file.
    for cut in 0..TOY2.len() - 1 {
        let (_path, result) = read_text(&TOY2.as_bytes()[..cut]);
        assert!(result.is_err(), "a file cut at byte {cut} was accepted");
    }
    let (_path, result) = read_text(TOY2.as_bytes());
    result.unwrap();
}

#[test]
fn truncated_gzip_is_an_error() {
    let mut compressed = Vec::new();
    let mut encoder = flate2::write::GzEncoder::new(&mut compressed, flate2::Compression::default());
    encoder.write_all(TOY2.as_bytes()).unwrap();
    encoder.finish().unwrap();
    let (_path, result) = read_text(&compressed[..compressed.len() - 12]);
    assert!(result.is_err());
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let mut bytes = TOY2.as_bytes().to_vec();
    let at = TOY2.find("<s> a").unwrap() + 4;
    bytes[at] = 0xff;
    let (path, result) = read_text(&bytes);
    let err = result.unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&format!("{}:11", path.display())), "{message}");
    assert!(message.contains("UTF-8"), "{message}");
}

#[test]
fn error_messages_name_file_and_line() {
    let (path, result) = read_text(TOY2.replace("-0.5\t</s>", "x\t</s>").as_bytes());
    let message = result.unwrap_err().to_string();
    assert!(message.starts_with(&format!("{}:7: ", path.display())), "{message}");
}

#[test]
fn missing_file() {
    let err = read_all("/nonexistent/model.arpa").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/model.arpa"), "{err}");
}

#[test]
fn iterator_stops_after_an_error() {
    let text = TOY2.replace("-0.3\ta </s>", "bad\ta </s>");
    let reader = ArpaReader::from_reader("mem.arpa", Box::new(std::io::Cursor::new(text.into_bytes()))).unwrap();
    let results: Vec<_> = reader.collect();
    assert_eq!(results.len(), 5);
    assert!(results[4].is_err());
}
