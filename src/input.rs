//! Reading the files a request names (sources and param files) without trusting them.
//!
//! A path may name a FIFO, a device or a socket: opening a FIFO for reading blocks until a
//! writer appears, and `/dev/zero` never ends. So a file is opened non-blocking, checked with
//! `fstat` on the open descriptor (no race with a rename), refused unless it is a regular
//! file, and read only up to a cap.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// The largest source file compiled. Its compile needs about 32 times as much memory (see the
/// worker's memory budget); CPython itself takes over 100 times.
pub const MAX_SOURCE_BYTES: u64 = 256 << 20;

/// The largest param file read. Bazel's biggest realistic one (100 000 files) is ~10 MB.
pub const MAX_PARAM_FILE_BYTES: u64 = 256 << 20;

/// Opens `path` for reading if it is a regular file of at most `cap` bytes, without blocking.
pub fn open_regular(path: &Path, cap: u64) -> io::Result<(File, Metadata)> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO opens at once instead of waiting for a writer; regular files ignore it.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device)",
        ));
    }
    if metadata.len() > cap {
        return Err(too_big(cap));
    }
    Ok((file, metadata))
}

/// Reads an opened file to its end, refusing to take more than `cap` bytes (a file can grow
/// while it is read).
pub fn read_capped(file: File, cap: u64, size_hint: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(size_hint.min(cap)).unwrap_or(0));
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(cap));
    }
    Ok(bytes)
}

/// Reads a regular file of at most `cap` bytes.
pub fn read_regular(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let (file, metadata) = open_regular(path, cap)?;
    read_capped(file, cap, metadata.len())
}

fn too_big(cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than the {} MiB limit", cap >> 20),
    )
}
