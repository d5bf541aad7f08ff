"""Which target Python versions pycompile-worker serves, as config settings.

The embedded compilers (serc) produce CPython 3.12-3.15 bytecode without an interpreter. For any
other version the binary would need a CPython of that version on the exec machine, which
rules_python's PyCompile action does not provide (its env is fixed to three variables, no PATH:
rules_python 2.3.2 python/private/precompile.bzl:199-203). So our toolchains only match the
served versions and every other version falls through to rules_python's own precompiler.

The settings are `config_setting`s on rules_python's
`//python/config_settings:python_version_major_minor`, exactly what rules_python's own
`is_python_3.X` settings are (rules_python 2.3.2 python/private/config_settings.bzl:124-128, and
already in 1.0.0). We define our own instead of referring to `is_python_3.X` because rules_python
only creates those for the minors it knows (config_settings.bzl:119), and a root module that
narrows them with `python.override(available_python_versions = ...)` (python/private/python.bzl:
689-693, 941-944) would otherwise leave our toolchains pointing at missing targets.
"""

# The versions the embedded compilers serve (README: "Fidelity").
SERVED_PYTHON_VERSIONS = ["3.12", "3.13", "3.14", "3.15"]

def served_version_setting(version):
    """Name of the config setting that `served_python_version_settings` creates for `version`."""
    return "python_" + version

def served_python_version_settings(name, version_flag, visibility = None):
    """Creates one config_setting `python_3.X` per served version, matching `version_flag`.

    Args:
      name: unused; the settings are named `python_<version>` (see served_version_setting).
      version_flag: label of the build setting that holds the target's "major.minor" Python
        version (rules_python's `python_version_major_minor`, or a stand-in in tests).
      visibility: visibility of the settings.
    """
    _ = name  # @unused
    for version in SERVED_PYTHON_VERSIONS:
        native.config_setting(
            name = served_version_setting(version),
            flag_values = {version_flag: version},
            visibility = visibility,
        )
