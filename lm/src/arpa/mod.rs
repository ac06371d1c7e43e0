//! The ARPA back-off language-model format: a streaming reader and writer.

pub mod read;
pub mod write;
