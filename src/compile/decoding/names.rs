//! Which codec module a PEP 263 cookie names, resolved the way CPython's codec registry does.
//!
//! `codecs.lookup` normalises the name (`_Py_normalize_encoding`, then
//! `encodings.normalize_encoding`: lower case, each run of characters other than letters,
//! digits and `.` becomes one `_`), then the `encodings` search function tries the alias table
//! with that name and with its dots made underscores, and finally the name itself as a module,
//! which may not contain a dot. The module and alias lists are generated from the oracle's
//! CPython (`tools/gen_source_codecs.py`).

#[path = "names_list.rs"]
mod list;

/// `encodings.normalize_encoding` after the codec registry's lower-casing.
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

/// The module of CPython 3.14's `encodings` package that decodes a source whose cookie names
/// `name`, or `None` when CPython reports the encoding unknown.
pub fn module_for(name: &str) -> Option<&'static str> {
    let name = normalise(name);
    let alias = |key: &str| {
        list::ALIASES
            .binary_search_by(|(alias, _)| (*alias).cmp(key))
            .ok()
            .map(|index| list::ALIASES[index].1)
    };
    alias(&name)
        .or_else(|| alias(&name.replace('.', "_")))
        .or_else(|| {
            let index = list::MODULES.binary_search(&name.as_str()).ok()?;
            (!name.contains('.')).then_some(list::MODULES[index])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_sorted_for_binary_search() {
        assert!(list::MODULES.is_sorted());
        assert!(list::ALIASES.is_sorted_by_key(|(alias, _)| *alias));
    }

    #[test]
    /// The same names through `codecs.lookup` of CPython 3.14.2 (the oracle): CP-1250 is
    /// unknown there too, and hex is a codec but not a text encoding.
    fn knows_cpython_codecs_and_their_aliases() {
        for (name, module) in [
            ("cp1250", "cp1250"),
            ("CP1250", "cp1250"),
            ("windows-1250", "cp1250"),
            ("Shift-JIS", "shift_jis"),
            ("sjis", "shift_jis"),
            ("gbk", "gbk"),
            ("iso-8859-2", "iso8859_2"),
        ] {
            assert_eq!(module_for(name), Some(module), "{name}");
        }
        for name in ["bogus-enc", "CP-1250", "hex", "rot13", "mbcs", "iso8859.2"] {
            assert_eq!(module_for(name), None, "{name}");
        }
    }
}
