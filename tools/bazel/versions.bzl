"""The one place that pins the prebuilt pycompile-worker binaries of this module version.

`tools/release.sh` builds the archive for the platform it runs on and prints the entry to paste
into `BINARIES`; `.github/workflows/release.yml` does the same on the other platforms. An entry:

    "linux_x86_64": {
        "sha256": "<64 hex digits: sha256 of the .tar.gz>",
        "urls": ["https://<release host>/v0.1.0/pycompile-worker-0.1.0-linux_x86_64.tar.gz"],
    },

The archive holds `pycompile-worker` (`pycompile-worker.exe` on Windows) at its top level.

A platform without an entry still gets its repository and toolchains: its precompiler is a stub
that fails every PyCompile action with a message naming the platform and how to build from
source or pin your own archive (the `pycompile.binary` tag of `extensions.bzl`).
"""

# Keep in step with Cargo.toml's [package] version and MODULE.bazel's module(version).
PYCOMPILE_WORKER_VERSION = "0.1.0"

# Exec platforms a binary is built for: name -> constraints of the exec platform. The names
# are part of the repository names (`pycompile_worker_<name>`) and of the archive names.
PLATFORMS = {
    "linux_aarch64": ["@platforms//os:linux", "@platforms//cpu:aarch64"],
    "linux_x86_64": ["@platforms//os:linux", "@platforms//cpu:x86_64"],
    "macos_aarch64": ["@platforms//os:macos", "@platforms//cpu:aarch64"],
    "macos_x86_64": ["@platforms//os:macos", "@platforms//cpu:x86_64"],
    "windows_x86_64": ["@platforms//os:windows", "@platforms//cpu:x86_64"],
}

# The released archives of PYCOMPILE_WORKER_VERSION, by platform name.
# No release has been published yet, so there is no entry: every platform gets the stub until
# the release workflow has run and its entries are pasted here.
BINARIES = {
}
