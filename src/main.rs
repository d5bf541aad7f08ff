//! `pycompile-worker`: see the crate documentation in `lib.rs`.

fn main() {
    std::process::exit(pycompile_worker::run(std::env::args_os().skip(1)));
}
