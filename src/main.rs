//! `pycompile-worker`: see the crate documentation in `lib.rs`.

/// serc allocates and frees many small objects per file (tokens, AST nodes, instruction
/// lists); under glibc's allocator that was ~14 % of a tree's compile time (`perf record`,
/// benches/trees.py's tree), with threads contending for arenas. mimalloc's thread-local heaps
/// serve the same pattern faster. Built without transparent huge pages (`no_thp`,
/// Cargo.toml): otherwise mimalloc asks for huge pages on its arena and every first touch
/// zeroes 2 MiB, which made a one-shot action of an empty source 1.66x slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(pycompile_worker::run(std::env::args_os().skip(1)));
}
