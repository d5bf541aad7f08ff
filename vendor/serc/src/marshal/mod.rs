mod graph;
mod key;
mod plan;
mod v4;
mod v5;
mod v6;
mod writer;

#[cfg(test)]
mod tests;

pub(crate) use graph::{code_graph_summary, code_occurrence_bound, validate_initial_intern_state};
pub(crate) use key::{
    ConstantHashes, bytes_hash, constant_hashes_for_code, constants_tuple_hash,
    metadata_tuple_properties,
};
#[cfg(test)]
pub(crate) use writer::encode_code;
pub(crate) use writer::{encode_code_with_options, encode_pyc_code_with_options};
