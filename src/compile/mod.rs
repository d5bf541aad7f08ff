//! One compile job: source bytes in, the bytes of a `.pyc` out.
//!
//! The worker and the one-shot mode only ever talk to this module through [`Settings`],
//! [`Job`] and [`run_job`]. The rooms, each with one reason to change:
//!
//! | module | owns |
//! | --- | --- |
//! | [`settings`] | what a request asks for (version, level, invalidation, engine choice) |
//! | [`engines`] | source to bytecode: serc, rustpython-compiler, CPython processes; which one serves |
//! | [`decoding`] | source bytes to text as CPython's tokenizer decodes them, with the codecs serc lacks |
//! | [`syntax`] | CPython's tokenizer and PEG parser, re-run on rejected files to find CPython's error |
//! | [`diagnostics`] | an engine's rejection rewritten as the text CPython's `py_compile` prints |
//! | [`corrections`] | serc's known divergences from CPython, corrected one named place each |
//! | [`limits`] | the nesting CPython refuses, and the stack that makes deep sources safe |
//! | [`pipeline`] | the order of those steps for one source |
//! | [`job`] | one `--src`/`--pyc` pair: read, compile, publish atomically |
//! | [`gate`] | cancellation as the compile side sees it |
//! | [`failure`] | the one error type all of them return |
//!
//! Shared types (`settings`, `failure`, `gate`) import none of the others, and no module
//! imports one that imports it back.

mod corrections;
pub mod decoding;
pub mod diagnostics;
pub mod engines;
mod failure;
mod gate;
mod job;
mod limits;
mod pipeline;
mod settings;
pub mod syntax;

pub use engines::Engine;
pub use engines::interpreter::{self, Interpreter};
pub use failure::CompileFailure;
pub use gate::{Gate, NeverCancelled};
pub use job::{Job, JobError, JobReport, run_job};
pub use limits::{BASE_STACK, COMPILE_STACK, on_compile_stack};
pub use pipeline::compile_pyc;
pub use settings::{CompilerChoice, InterpreterSpec, PythonVersion, Settings};
