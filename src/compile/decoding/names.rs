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

type Registry = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// The text-codec modules and aliases of CPython `version` (they differ: 3.15 adds dozens of
/// aliases).
fn registry(version: serc::PythonVersion) -> Registry {
    match version {
        serc::PythonVersion::Py312 => (list::MODULES_312, list::ALIASES_312),
        serc::PythonVersion::Py313 => (list::MODULES_313, list::ALIASES_313),
        serc::PythonVersion::Py314 => (list::MODULES_314, list::ALIASES_314),
        serc::PythonVersion::Py315 => (list::MODULES_315, list::ALIASES_315),
    }
}

/// The codec modules of CPython `version` that are not text encodings (`rot_13`,
/// `base64_codec`, ...), and their aliases.
fn binary_registry(version: serc::PythonVersion) -> Registry {
    match version {
        serc::PythonVersion::Py312 => (list::BINARY_MODULES_312, list::BINARY_ALIASES_312),
        serc::PythonVersion::Py313 => (list::BINARY_MODULES_313, list::BINARY_ALIASES_313),
        serc::PythonVersion::Py314 => (list::BINARY_MODULES_314, list::BINARY_ALIASES_314),
        serc::PythonVersion::Py315 => (list::BINARY_MODULES_315, list::BINARY_ALIASES_315),
    }
}

/// The module of CPython `version`'s `encodings` package that decodes a source whose cookie
/// names `name`, or `None` when CPython reports the encoding unknown.
pub fn module_for(name: &str, version: serc::PythonVersion) -> Option<&'static str> {
    resolve(name, registry(version))
}

/// Whether `name` is a codec of CPython `version` that is not a text encoding: the tokenizer
/// then fails with "'NAME' is not a text encoding" instead of "unknown encoding".
pub fn is_binary_codec(name: &str, version: serc::PythonVersion) -> bool {
    resolve(name, binary_registry(version)).is_some()
}

fn resolve(name: &str, (modules, aliases): Registry) -> Option<&'static str> {
    let name = normalise(name);
    let alias = |key: &str| {
        aliases
            .binary_search_by(|(alias, _)| (*alias).cmp(key))
            .ok()
            .map(|index| aliases[index].1)
    };
    alias(&name)
        .or_else(|| alias(&name.replace('.', "_")))
        .or_else(|| {
            let index = modules.binary_search(&name.as_str()).ok()?;
            (!name.contains('.')).then_some(modules[index])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERSIONS: [serc::PythonVersion; 4] = [
        serc::PythonVersion::Py312,
        serc::PythonVersion::Py313,
        serc::PythonVersion::Py314,
        serc::PythonVersion::Py315,
    ];

    #[test]
    fn the_lists_are_sorted_for_binary_search() {
        for (modules, aliases) in VERSIONS
            .into_iter()
            .flat_map(|version| [registry(version), binary_registry(version)])
        {
            assert!(modules.is_sorted());
            assert!(aliases.is_sorted_by_key(|(alias, _)| *alias));
        }
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
            assert_eq!(
                module_for(name, serc::PythonVersion::Py314),
                Some(module),
                "{name}"
            );
        }
        for name in ["bogus-enc", "CP-1250", "hex", "rot13", "mbcs", "iso8859.2"] {
            assert_eq!(module_for(name, serc::PythonVersion::Py314), None, "{name}");
        }
        // Version differences, from the oracles' encodings.aliases.
        let korean = |version| module_for("korean", version);
        assert_eq!(korean(serc::PythonVersion::Py314), Some("euc_kr"));
        assert_eq!(korean(serc::PythonVersion::Py315), Some("cp949"));
        assert_eq!(module_for("ms874", serc::PythonVersion::Py313), None);
        assert_eq!(
            module_for("ms874", serc::PythonVersion::Py314),
            Some("cp874")
        );
    }
}
