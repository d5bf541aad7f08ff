//! Strings a fresh CPython interns when it imports a codec module to decode a source.
//!
//! serc models this for the codecs it decodes itself (`InitialInternState`): a string already
//! interned can change how marshal shares an equal constant of the compiled module. For the
//! codecs decoded here the lists are derived from each target's own `encodings` modules by
//! `tools/gen_codec_interns.sh`, whose derivation reproduces serc's lists for serc's codecs.

#[path = "interns_list.rs"]
mod list;

/// The strings importing `encodings.<module>` interns in CPython `version` (none for a module
/// without a table).
pub fn interned_strings(version: serc::PythonVersion, module: &str) -> &'static [&'static str] {
    let table = match version {
        serc::PythonVersion::Py312 => list::PY312,
        serc::PythonVersion::Py313 => list::PY313,
        serc::PythonVersion::Py314 => list::PY314,
        serc::PythonVersion::Py315 => list::PY315,
    };
    table
        .binary_search_by(|(name, _)| (*name).cmp(module))
        .map_or(&[], |index| list::LISTS[table[index].1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_codec_has_its_list_for_every_target() {
        for version in [
            serc::PythonVersion::Py312,
            serc::PythonVersion::Py313,
            serc::PythonVersion::Py314,
            serc::PythonVersion::Py315,
        ] {
            for module in super::super::codec::modules() {
                let strings = interned_strings(version, module);
                assert!(strings.contains(&"getregentry"), "{module} {version:?}");
            }
        }
        // Qualified names with dots are interned from 3.13 on.
        let cp1250 = |version| interned_strings(version, "cp1250");
        assert!(cp1250(serc::PythonVersion::Py314).contains(&"Codec.decode"));
        assert!(!cp1250(serc::PythonVersion::Py312).contains(&"Codec.decode"));
        assert!(cp1250(serc::PythonVersion::Py312).contains(&"cp1250"));
    }
}
