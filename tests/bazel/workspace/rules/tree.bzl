"""py_tree_precompile as the e2e uses it: our precompiler and the e2e's version flag.

The module's macro (tools/bazel/tree.bzl) takes both from rules_python by default (the exec-tools
toolchain and python_version_major_minor), which Bazel 4.2.3 cannot load; here they are given
the way rules/py_precompile.bzl gives them: the prebuilt binary of this exec platform, and the
version selected over //rules:python_3.X (the module's served_python_version_settings on
//rules:python_version).
"""

load("@pycompile_worker//tools/bazel:tree.bzl", "py_tree_precompile", "served_python_version")

def e2e_tree_precompile(name, tree, **kwargs):
    py_tree_precompile(
        name = name,
        tree = tree,
        precompiler = "@pycompile_worker//tools/bazel:precompiler_linux_x86_64",
        python_version = served_python_version("//rules"),
        **kwargs
    )
