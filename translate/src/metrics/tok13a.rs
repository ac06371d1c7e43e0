//! The "13a" tokenizer of mteval-v13a.pl as sacreBLEU implements it.

/// Tokenizes a segment as sacreBLEU's `Tokenizer13a`: drops `<skipped>`, unescapes `&quot; &amp; &lt; &gt;`,
/// splits off ASCII punctuation and symbols, splits `.` and `,` unless they stand between digits, splits `-`
/// after a digit, and joins the tokens with single spaces.
///
/// ```
/// use fivegram_translate::metrics::tokenize_13a;
/// assert_eq!(tokenize_13a("Hello, world! It costs $3.50-4.00 &amp; more."), "Hello , world ! It costs $ 3.50 - 4.00 & more .");
/// ```
pub fn tokenize_13a(line: &str) -> String {
    let mut line = line.replace("<skipped>", "").replace("-\n", "").replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let chars: Vec<char> = format!(" {line} ").chars().collect();
    // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
    let mut step = String::with_capacity(chars.len() * 2);
    for &c in &chars {
        if is_split_symbol(c) {
            step.push(' ');
            step.push(c);
            step.push(' ');
        } else {
            step.push(c);
        }
    }
    let is_digit = |c: char| c.is_ascii_digit();
    let is_period_comma = |c: char| c == '.' || c == ',';
    // ([^0-9])([\.,]) -> "\1 \2 "
    let step = substitute_pairs(
        &step,
        |a| !is_digit(a),
        is_period_comma,
        |a, b, out| {
            out.push(a);
            out.push(' ');
            out.push(b);
            out.push(' ');
        },
    );
    // ([\.,])([^0-9]) -> " \1 \2"
    let step = substitute_pairs(
        &step,
        is_period_comma,
        |b| !is_digit(b),
        |a, b, out| {
            out.push(' ');
            out.push(a);
            out.push(' ');
            out.push(b);
        },
    );
    // ([0-9])(-) -> "\1 \2 "
    let step = substitute_pairs(
        &step,
        is_digit,
        |b| b == '-',
        |a, b, out| {
            out.push(a);
            out.push(' ');
            out.push(b);
            out.push(' ');
        },
    );
    super::python_split(&step).collect::<Vec<_>>().join(" ")
}

/// The first character class of the 13a rules: `{|}~ [\]^_` space !"#$%& ()*+ :;<=>?@ /`.
fn is_split_symbol(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

/// Python's `re.sub` for a two-character pattern `(first)(second)`: matches are found left to right and never
/// overlap; the text between them is copied unchanged.
fn substitute_pairs(
    text: &str,
    first: impl Fn(char) -> bool,
    second: impl Fn(char) -> bool,
    replace: impl Fn(char, char, &mut String),
) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        if i + 1 < chars.len() && first(chars[i]) && second(chars[i + 1]) {
            replace(chars[i], chars[i + 1], &mut out);
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tokenize_13a;

    // Expected strings printed by sacrebleu 2.6.0's Tokenizer13a()(line).
    #[test]
    fn matches_sacrebleu() {
        let cases = [
            (
                "Two young, White males are outside.",
                "Two young , White males are outside .",
            ),
            ("3.14 and 1,000 and 5-6 and a-b", "3.14 and 1,000 and 5 - 6 and a-b"),
            ("end...", "end . . ."),
            (".,x", ". , x"),
            ("a.b,c", "a . b , c"),
            ("&quot;hi&quot; &amp;amp; &lt;b&gt;", "\" hi \" & amp ; < b >"),
            ("<skipped> x", "x"),
            ("„Sie“ sagt — «ja»", "„Sie“ sagt — «ja»"),
            ("", ""),
            ("   ", ""),
            ("A\u{a0}B\u{1c}C", "A B C"),
            ("x'y {z} [w] ^_` ~|", "x'y { z } [ w ] ^ _ ` ~ |"),
            ("1.2.3 .5 5. 7-", "1.2.3 . 5 5 . 7 -"),
        ];
        for (input, expected) in cases {
            assert_eq!(tokenize_13a(input), expected, "input {input:?}");
        }
    }
}
