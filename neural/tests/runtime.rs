//! Loading the ONNX Runtime library: clear errors for a missing or wrong file. One test in its own binary,
//! because a process loads the library at most once.

use fivegram_neural::{Error, runtime};

#[test]
fn missing_and_wrong_libraries_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("libonnxruntime.so.1.31.1");
    let err = runtime::init(Some(&missing)).unwrap_err();
    assert!(matches!(err, Error::RuntimeNotFound { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("scripts/install-onnxruntime.sh") && message.contains(&*missing.to_string_lossy()));

    // A file that is not a shared library.
    std::fs::write(&missing, b"not a library").unwrap();
    let err = runtime::init(Some(&missing)).unwrap_err();
    assert!(matches!(err, Error::Runtime { .. }), "{err}");
    assert!(err.to_string().contains("scripts/install-onnxruntime.sh"), "{err}");

    // A failure is not remembered: the real library still loads afterwards.
    match runtime::init(None) {
        Ok(path) => assert!(path.is_file()),
        Err(Error::RuntimeNotFound { path }) => {
            eprintln!(
                "skipped: run scripts/install-onnxruntime.sh (no ONNX Runtime at {})",
                path.display()
            );
        }
        Err(e) => panic!("{e}"),
    }
    assert!(runtime::default_library_path().ends_with("fivegram/onnxruntime/libonnxruntime.so.1.31.1"));
}
