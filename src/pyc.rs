//! The `.pyc` container: the 16-byte header and the atomic write of the finished file.
//!
//! The header layout and the source hash are part of CPython's import contract (PEP 552), so
//! they live here, apart from any compiler: every engine produces a marshalled code object and
//! this module decides what goes in front of it and how it reaches the disk.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;

use siphasher::sip::SipHasher13;

/// How the importer decides whether a `.pyc` is stale (`py_compile.PycInvalidationMode`).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum InvalidationMode {
    /// Source mtime and size in the header; what plain `python -m py_compile` writes.
    Timestamp,
    /// Source hash, verified by the importer on every load. rules_python's default.
    #[default]
    CheckedHash,
    /// Source hash, trusted without a check (rules_python under `-c opt`).
    UncheckedHash,
}

impl FromStr for InvalidationMode {
    type Err = String;

    /// Case-insensitive, as rules_python's precompiler upper-cases the value before lookup.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_uppercase().as_str() {
            "TIMESTAMP" => Ok(Self::Timestamp),
            "CHECKED_HASH" => Ok(Self::CheckedHash),
            "UNCHECKED_HASH" => Ok(Self::UncheckedHash),
            _ => Err(format!(
                "invalid invalidation mode '{value}' (expected TIMESTAMP, CHECKED_HASH or UNCHECKED_HASH)"
            )),
        }
    }
}

/// The 8 bytes after the magic and flags words: what the importer compares against the source.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Validation {
    /// Source mtime in whole seconds and size in bytes, each truncated to 32 bits.
    Timestamp { mtime: u32, size: u32 },
    /// SipHash-1-3 of the raw source bytes, keyed by the magic number.
    Hash { hash: [u8; 8], checked: bool },
}

impl Validation {
    /// Builds the validation fields for `mode` from the raw source and its metadata.
    pub fn new(mode: InvalidationMode, magic: [u8; 4], source: &[u8], mtime: u64) -> Self {
        match mode {
            InvalidationMode::Timestamp => Self::Timestamp {
                // CPython stores `int(st_mtime) & 0xFFFFFFFF` and `st_size & 0xFFFFFFFF`.
                mtime: mtime as u32,
                size: source.len() as u32,
            },
            InvalidationMode::CheckedHash => Self::Hash {
                hash: source_hash(magic, source),
                checked: true,
            },
            InvalidationMode::UncheckedHash => Self::Hash {
                hash: source_hash(magic, source),
                checked: false,
            },
        }
    }

    /// The flags word of the header (PEP 552): bit 0 hash-based, bit 1 check the source.
    pub fn flags(self) -> u32 {
        match self {
            Self::Timestamp { .. } => 0,
            Self::Hash { checked, .. } => 1 | (u32::from(checked) << 1),
        }
    }

    /// The full 16-byte header for a target with `magic`.
    pub fn header(self, magic: [u8; 4]) -> [u8; 16] {
        let mut header = [0; 16];
        header[..4].copy_from_slice(&magic);
        header[4..8].copy_from_slice(&self.flags().to_le_bytes());
        match self {
            Self::Timestamp { mtime, size } => {
                header[8..12].copy_from_slice(&mtime.to_le_bytes());
                header[12..].copy_from_slice(&size.to_le_bytes());
            }
            Self::Hash { hash, .. } => header[8..].copy_from_slice(&hash),
        }
        header
    }
}

/// `importlib.util.source_hash`: SipHash-1-3 with key (magic as little-endian u32, 0).
pub fn source_hash(magic: [u8; 4], source: &[u8]) -> [u8; 8] {
    let key = u64::from(u32::from_le_bytes(magic));
    SipHasher13::new_with_keys(key, 0)
        .hash(source)
        .to_le_bytes()
}

/// A `.pyc` written to a temporary file beside its destination and not yet visible there.
///
/// Splitting the write from the rename lets the worker do the slow part (creating dirs,
/// writing bytes) outside the per-request lock and only the rename under it, so a cancelled
/// request never publishes a file after its cancel response.
pub struct StagedPyc {
    temp: tempfile::NamedTempFile,
}

impl StagedPyc {
    /// Writes `bytes` next to `dest` with the permission bits py_compile would give the file.
    pub fn write(dest: &Path, bytes: &[u8], source_mode: Option<u32>) -> io::Result<Self> {
        refuse_special_destination(dest)?;
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".pycompile-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        temp.write_all(bytes)?;
        set_mode(temp.as_file(), source_mode)?;
        Ok(Self { temp })
    }

    /// Atomically moves the file into place.
    pub fn publish(self, dest: &Path) -> io::Result<()> {
        self.temp.persist(dest).map_err(|error| error.error)?;
        Ok(())
    }
}

/// py_compile refuses to replace a symlink or a non-regular file (it raises FileExistsError),
/// because renaming over a symlink would silently redirect where the cache lives.
fn refuse_special_destination(dest: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.file_type().is_symlink() || !meta.is_file() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "destination is a symlink or not a regular file; refusing to replace it",
        )),
        _ => Ok(()),
    }
}

/// The mode py_compile creates a pyc with (before the umask): the source's mode plus
/// owner-write, without execute bits (importlib opens it with `mode & 0o666`); 0o666 when the
/// source's mode is unknown.
pub fn creation_mode(source_mode: Option<u32>) -> u32 {
    source_mode.map_or(0o666, |mode| (mode | 0o200) & 0o666)
}

/// Gives the staged file [`creation_mode`] with the umask applied.
#[cfg(unix)]
fn set_mode(file: &fs::File, source_mode: Option<u32>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let masked = creation_mode(source_mode) & !umask();
    file.set_permissions(fs::Permissions::from_mode(masked))
}

#[cfg(not(unix))]
fn set_mode(_file: &fs::File, _source_mode: Option<u32>) -> io::Result<()> {
    Ok(())
}

/// The process umask, read once. Reading it needs a set-and-restore, which races with other
/// threads creating files, so `main` calls this before any worker thread exists.
#[cfg(unix)]
pub fn umask() -> u32 {
    use rustix::fs::Mode;
    use std::sync::OnceLock;
    static UMASK: OnceLock<u32> = OnceLock::new();
    *UMASK.get_or_init(|| {
        let old = rustix::process::umask(Mode::from_raw_mode(0o022));
        rustix::process::umask(old);
        old.as_raw_mode()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC_314: [u8; 4] = [0x2b, 0x0e, 0x0d, 0x0a];

    /// Vectors from `importlib.util.source_hash` on CPython 3.14.2 (shared/docs/pyc-format.md §3).
    #[test]
    fn source_hash_matches_cpython_314() {
        let hex = |bytes: [u8; 8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(source_hash(MAGIC_314, b"")), "61f5b7cb653a6aa4");
        assert_eq!(hex(source_hash(MAGIC_314, b"x = 1\n")), "1db2b6325ca282a7");
        assert_eq!(
            hex(source_hash(MAGIC_314, b"print('hello')\n")),
            "7dbc044b7a27745f"
        );
    }

    #[test]
    fn flags_follow_pep_552() {
        let src = b"x";
        let flags = |mode| Validation::new(mode, MAGIC_314, src, 0).flags();
        assert_eq!(flags(InvalidationMode::Timestamp), 0);
        assert_eq!(flags(InvalidationMode::CheckedHash), 3);
        assert_eq!(flags(InvalidationMode::UncheckedHash), 1);
    }

    #[test]
    fn timestamp_header_truncates_to_32_bits() {
        let v = Validation::new(
            InvalidationMode::Timestamp,
            MAGIC_314,
            b"abc",
            0x1_2345_6789,
        );
        let header = v.header(MAGIC_314);
        assert_eq!(&header[..4], &MAGIC_314);
        assert_eq!(&header[8..12], &0x2345_6789u32.to_le_bytes());
        assert_eq!(&header[12..], &3u32.to_le_bytes());
    }

    #[test]
    fn invalidation_mode_is_case_insensitive() {
        assert_eq!("checked_hash".parse(), Ok(InvalidationMode::CheckedHash));
        assert_eq!(
            "Unchecked_Hash".parse(),
            Ok(InvalidationMode::UncheckedHash)
        );
        assert_eq!("TIMESTAMP".parse(), Ok(InvalidationMode::Timestamp));
        assert!("sometimes".parse::<InvalidationMode>().is_err());
    }

    #[test]
    fn staged_write_creates_parents_and_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a/b/__pycache__/m.cpython-314.pyc");
        StagedPyc::write(&dest, b"data", Some(0o444))
            .unwrap()
            .publish(&dest)
            .unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"data");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644 & !umask());
            let link = dir.path().join("link.pyc");
            std::os::unix::fs::symlink(&dest, &link).unwrap();
            assert!(StagedPyc::write(&link, b"x", None).is_err());
        }
        // Nothing but the published file is left in the directory.
        let names: Vec<_> = fs::read_dir(dest.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
