//! Loading the ONNX Runtime library and running graphs: the only module that touches `ort`.
//!
//! The library is loaded at run time (`ort`'s `load-dynamic`), once per process, from the first of:
//! 1. the path given to [`init`],
//! 2. the environment variable `ORT_DYLIB_PATH`,
//! 3. [`default_library_path`]: `$XDG_DATA_HOME/fivegram/onnxruntime/libonnxruntime.so.1.31.1` (with
//!    `~/.local/share` when `XDG_DATA_HOME` is unset), where `scripts/install-onnxruntime.sh` puts it.
//!
//! Every model constructor calls [`init`] with no path, so callers only need it to choose a library explicitly.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionOutputs};
use ort::value::TensorRef;

use crate::{Error, Result};

/// The file name of the runtime library this crate is built against (ONNX Runtime 1.31.1, API 31).
pub const LIBRARY_NAME: &str = "libonnxruntime.so.1.31.1";

static ENVIRONMENT: OnceLock<(Environment, PathBuf)> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Where `scripts/install-onnxruntime.sh` installs the runtime library by default.
pub fn default_library_path() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from(".local/share"));
    data.join("fivegram/onnxruntime").join(LIBRARY_NAME)
}

/// The library path [`init`] would use without an explicit path: `ORT_DYLIB_PATH`, else the default.
pub fn library_path() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(default_library_path)
}

/// Loads the ONNX Runtime library (from `path`, else `ORT_DYLIB_PATH`, else the default location) unless a
/// library is already loaded, and returns the path of the loaded library.
///
/// Loading happens once per process: after a success, later calls return the first library's path whatever
/// `path` they pass. A failure is not remembered, so a later call may try another path.
///
/// # Errors
/// [`Error::RuntimeNotFound`] when the file does not exist, [`Error::Runtime`] when it cannot be loaded (not a
/// library, or an ONNX Runtime older than 1.31); both messages say how to install the right one.
pub fn init(path: Option<&Path>) -> Result<PathBuf> {
    environment(path).map(|(_, p)| p.clone())
}

pub(crate) fn environment(path: Option<&Path>) -> Result<&'static (Environment, PathBuf)> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let path = path.map(Path::to_path_buf).unwrap_or_else(library_path);
    if !path.is_file() {
        return Err(Error::RuntimeNotFound { path });
    }
    let runtime_error = |cause: String| Error::Runtime {
        path: path.clone(),
        cause,
    };
    let builder = ort::init_from(&path).map_err(|e| runtime_error(format!("{e:?}")))?;
    let environment = builder
        .with_name("fivegram")
        .with_telemetry(false)
        .build()
        .map_err(|e| runtime_error(format!("{e:?}")))?;
    Ok(ENVIRONMENT.get_or_init(|| (environment, path)))
}

/// How ONNX Runtime sessions are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Threads ONNX Runtime may use inside one operator of one session (intra-op), at least 1.
    pub intra_threads: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { intra_threads: 1 }
    }
}

/// One ONNX graph in a session, with the file it came from for error messages.
pub(crate) struct Graph {
    session: Session,
    path: PathBuf,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// An input of [`Graph::run`]: a name, a shape and borrowed data.
pub(crate) enum Input<'a> {
    /// int64 data.
    I64(&'static str, [usize; 2], &'a [i64]),
    /// float32 data of rank 5 (stacked per-layer caches).
    F32(&'static str, [usize; 5], &'a [f32]),
}

/// A float32 output copied out of ONNX Runtime: its shape and data.
#[derive(Debug, Default, Clone)]
pub(crate) struct Output {
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<f32>,
}

impl Graph {
    /// Creates a session over `bytes` (the file's content, already checked against `model.json`), checking that
    /// the graph has exactly the named inputs and at least the named outputs.
    pub(crate) fn new(
        path: &Path,
        bytes: &[u8],
        config: SessionConfig,
        inputs: &[&str],
        outputs: &[&str],
    ) -> Result<Graph> {
        let (env, _) = environment(None)?;
        let err = |e: String| Error::graph(path, format!("cannot create an ONNX Runtime session: {e}"));
        let mut builder = Session::builder(env).map_err(|e| err(format!("{e:?}")))?;
        builder = builder
            .with_intra_threads(config.intra_threads.max(1))
            .map_err(|e| err(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| err(e.to_string()))?
            .with_intra_op_spinning(false)
            .map_err(|e| err(e.to_string()))?
            .with_inter_op_spinning(false)
            .map_err(|e| err(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| err(e.to_string()))?;
        let session = builder.commit_from_memory(bytes).map_err(|e| err(format!("{e:?}")))?;
        let have_in: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        let have_out: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        let missing_in: Vec<&&str> = inputs.iter().filter(|n| !have_in.contains(n)).collect();
        let missing_out: Vec<&&str> = outputs.iter().filter(|n| !have_out.contains(n)).collect();
        let extra_in: Vec<&&str> = have_in.iter().filter(|n| !inputs.contains(n)).collect();
        if !missing_in.is_empty() || !missing_out.is_empty() || !extra_in.is_empty() {
            return Err(Error::graph(
                path,
                format!(
                    "not a graph of the model contract: inputs {have_in:?}, outputs {have_out:?} (expected inputs \
                     {inputs:?}, outputs including {outputs:?})"
                ),
            ));
        }
        Ok(Graph {
            session,
            path: path.to_path_buf(),
        })
    }

    /// The file this graph was loaded from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the graph and hands the named float32 outputs (shape and data, borrowed from ONNX Runtime) to `f`.
    pub(crate) fn run<R>(
        &mut self,
        inputs: &[Input<'_>],
        outputs: &[&str],
        f: impl FnOnce(&[(&[i64], &[f32])]) -> Result<R>,
    ) -> Result<R> {
        let path = self.path.clone();
        let err = |e: ort::Error| Error::graph(&path, format!("ONNX Runtime failed: {e}"));
        let mut values: Vec<(&str, ort::session::SessionInputValue<'_>)> = Vec::with_capacity(inputs.len());
        for input in inputs {
            match *input {
                Input::I64(name, shape, data) => {
                    let t = TensorRef::from_array_view((shape, data)).map_err(err)?;
                    values.push((name, t.into()));
                }
                Input::F32(name, shape, data) => {
                    let t = TensorRef::from_array_view((shape, data)).map_err(err)?;
                    values.push((name, t.into()));
                }
            }
        }
        let out: SessionOutputs<'_> = self.session.run(values).map_err(err)?;
        let mut views: Vec<(&[i64], &[f32])> = Vec::with_capacity(outputs.len());
        for name in outputs {
            let value = out
                .get(name)
                .ok_or_else(|| Error::graph(&path, format!("the graph has no output {name}")))?;
            let (shape, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| Error::graph(&path, format!("output {name} is not a float32 tensor: {e}")))?;
            views.push((shape, data));
        }
        f(&views)
    }
}

/// Copies an output view into an owned [`Output`], checking its rank.
pub(crate) fn to_output(path: &Path, name: &str, view: (&[i64], &[f32]), rank: usize) -> Result<Output> {
    let shape = dims(path, name, view.0, rank)?;
    Ok(Output {
        shape,
        data: view.1.to_vec(),
    })
}

/// An output's shape as `usize`s, checking its rank.
pub(crate) fn dims(path: &Path, name: &str, shape: &[i64], rank: usize) -> Result<Vec<usize>> {
    if shape.len() != rank || shape.iter().any(|&d| d < 0) {
        return Err(Error::graph(
            path,
            format!("output {name} has shape {shape:?}, expected rank {rank}"),
        ));
    }
    Ok(shape.iter().map(|&d| d as usize).collect())
}
