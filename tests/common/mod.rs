//! What the CLI tests share: running the `fivegram` binary that cargo built for them.
// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// A `fivegram` command with `args`, its input and outputs piped; add environment before [`run`]ning it.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fivegram"));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `command` with `stdin` as its input and waits for its exit and outputs.
pub fn run(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command.spawn().expect("fivegram runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    // A child that fails before reading its input (bad arguments, a bad model) closes the pipe: a broken pipe here
    // is not the test's failure.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("fivegram finishes")
}

/// Runs `fivegram args` with `stdin` as its input.
pub fn fivegram(args: &[&str], stdin: &[u8]) -> Output {
    run(command(args), stdin)
}

/// Output bytes as text (invalid UTF-8 replaced).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that a run exited with `code` and said `needle` on its standard error.
pub fn assert_fails(output: &Output, code: i32, needle: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}
