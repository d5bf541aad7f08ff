"""The `pycompile` module extension: one repository per exec platform with its prebuilt binary.

MODULE.bazel of this module calls it, so consumers need nothing but

    bazel_dep(name = "pycompile_worker", version = "0.1.0")
    register_toolchains("@pycompile_worker//tools/bazel/toolchains:all")

The root module may replace the pinned archive of a platform (for instance one it built itself
with tools/release.sh, or a platform versions.bzl has no entry for):

    pycompile = use_extension("@pycompile_worker//tools/bazel:extensions.bzl", "pycompile")
    pycompile.binary(
        platform = "linux_aarch64",
        urls = ["https://example.com/pycompile-worker-0.1.0-linux_aarch64.tar.gz"],
        sha256 = "...",
    )

Tags of non-root modules are ignored: a library must not swap the binary under its users.
"""

load(":repositories.bzl", "pycompile_worker_binary")
load(":versions.bzl", "BINARIES", "PLATFORMS")

def _pycompile_impl(mctx):
    overrides = {}
    for mod in mctx.modules:
        if not mod.is_root:
            continue
        for tag in mod.tags.binary:
            if tag.platform in overrides:
                fail("pycompile.binary: platform {} is given twice".format(tag.platform))
            overrides[tag.platform] = {"sha256": tag.sha256, "urls": tag.urls}

    for platform in PLATFORMS:
        entry = overrides.get(platform, BINARIES.get(platform, {}))
        pycompile_worker_binary(
            name = "pycompile_worker_" + platform,
            platform = platform,
            urls = entry.get("urls", []),
            sha256 = entry.get("sha256", ""),
        )

    # The repositories depend only on versions.bzl and the root module's tags, so Bazel need
    # not record them in MODULE.bazel.lock (`reproducible` is in Bazel 7.4.1: rules_rust 0.73.0
    # uses it unconditionally, crate_universe/extensions.bzl:990).
    return mctx.extension_metadata(reproducible = True)

pycompile = module_extension(
    implementation = _pycompile_impl,
    doc = "Creates @pycompile_worker_<platform> for every platform of versions.bzl.",
    tag_classes = {
        "binary": tag_class(
            doc = "Root module only: use this archive for one exec platform.",
            attrs = {
                "platform": attr.string(mandatory = True, values = sorted(PLATFORMS.keys())),
                "sha256": attr.string(mandatory = True),
                "urls": attr.string_list(mandatory = True),
            },
        ),
    },
)
