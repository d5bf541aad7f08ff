//! Which declared source encodings CPython can decode, so that a file serc cannot decode is
//! not reported as "unknown encoding" when CPython would compile it.
//!
//! serc decodes UTF-8, Latin-1, ISO-8859-15, KOI8-R, CP1251, CP1252, EUC-JP and Big5. A PEP 263
//! cookie naming any other codec CPython has (cp1250, shift_jis, gbk, …) is an engine
//! limitation, not an error in the file: we say so and point at the interpreter engine.

#[path = "encodings_list.rs"]
mod list;

/// `encodings.normalize_encoding` after the codec registry's lower-casing: runs of characters
/// other than letters, digits and `.` become one `_`, without leading or trailing `_`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if pending && !out.is_empty() {
                out.push('_');
            }
            pending = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending = true;
        }
    }
    out
}

/// Whether CPython 3.14 decodes a source whose cookie names `name`.
pub fn cpython_decodes(name: &str) -> bool {
    let name = normalise(name);
    [name.clone(), name.replace('.', "_")]
        .iter()
        .any(|candidate| {
            list::CPYTHON_SOURCE_ENCODINGS
                .binary_search(&candidate.as_str())
                .is_ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_for_binary_search() {
        assert!(list::CPYTHON_SOURCE_ENCODINGS.is_sorted());
    }

    #[test]
    /// Checked against `codecs.lookup` of CPython 3.11 (same codec registry rules): CP-1250 is
    /// unknown there too.
    fn knows_cpython_codecs_and_their_aliases() {
        for name in [
            "cp1250",
            "CP1250",
            "windows-1250",
            "Shift-JIS",
            "sjis",
            "gbk",
            "iso-8859-2",
        ] {
            assert!(cpython_decodes(name), "{name}");
        }
        for name in ["bogus-enc", "CP-1250", "hex", "rot13", "utf-16", "mbcs"] {
            assert!(!cpython_decodes(name), "{name}");
        }
    }
}
