//! Where serc's known divergences from CPython are corrected, one named place each.
//!
//! Each correction detects its case cheaply, edits serc's output through the checked bytecode
//! editor in [`pyc_edit`], and keeps serc's output (with a warning) when the edit cannot be
//! proven exact.

pub mod pyc_edit;
pub mod try_exit_nop;
