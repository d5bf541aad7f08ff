"""A stand-in for rules_python's precompile step, runnable on Bazel 4.2.3.

rules_python only precompiles on Bazel 7+, so this rule re-creates its PyCompile action as
closely as Bazel 4.2.3 allows, after rules_python 2.3.2 python/private/precompile.bzl:89-206:
one action per source, the .pyc declared with `sibling = src` as
`__pycache__/<stem>.cpython-<XY>.pyc` (so a source in a subfolder of the package gets the
subfolder's __pycache__), mnemonic PyCompile, the request in a multiline "@" param file that is
always used, the same flags in the same order (--python_version is the target's version), the
same env, and the execution requirements of the precompiler.

Differences, because Bazel 4.2.3 cannot do what rules_python does:
 - Precompiler choice. rules_python takes the precompiler from the resolved
   `@rules_python//python:exec_tools_toolchain_type` toolchain; our toolchains match through
   `target_settings` (a Bazel 7 feature here) on the served versions, 3.12-3.15, and any other
   version resolves to rules_python's own toolchain. The macro below makes the same choice with a
   `select` on the same config settings (made by the module's served_python_version_settings
   from python_versions.bzl, on the e2e's stand-in version flag //rules:python_version):
   a served version gets @pycompile_worker//tools/bazel:precompiler_linux_x86_64 (the prebuilt
   binary of the exec platform here), any other version //rules:fallback_precompiler, the
   stand-in for rules_python's own precompiler.
 - Execution requirements. rules_python does `testing.ExecutionInfo in precompiler`; Bazel 4.2.3
   cannot use that as a provider key (it is a plain function there), so this rule reads the
   PycompileToolInfo provider that pycompile_tool returns alongside it, with the same content.
 - The target's Python version comes from //rules:python_version instead of the resolved
   runtime's interpreter_version_info.
"""

load("@pycompile_worker//tools/bazel:defs.bzl", "PycompileToolInfo")
load("@pycompile_worker//tools/bazel:python_versions.bzl", "SERVED_PYTHON_VERSIONS", "served_version_setting")
load(":settings.bzl", "PythonVersionInfo")

# What toolchain resolution would pick on this exec platform (linux x86_64).
_PRECOMPILER_BY_VERSION = dict(
    [
        ("//rules:" + served_version_setting(version), "@pycompile_worker//tools/bazel:precompiler_linux_x86_64")
        for version in SERVED_PYTHON_VERSIONS
    ] + [("//conditions:default", "//rules:fallback_precompiler")],
)

def _py_precompile_impl(ctx):
    tool = ctx.attr.precompiler
    execution_requirements = {}
    if type(testing.ExecutionInfo) == "Provider" and testing.ExecutionInfo in tool:
        execution_requirements.update(tool[testing.ExecutionInfo].requirements)
    elif PycompileToolInfo in tool:
        execution_requirements.update(tool[PycompileToolInfo].execution_requirements)

    python_version = ctx.attr._python_version[PythonVersionInfo].version
    pyc_tag = "cpython-" + python_version.replace(".", "")

    pycs = []
    for src in ctx.files.srcs:
        if src.owner.package != ctx.label.package:
            fail("{} is not in package {}".format(src.short_path, ctx.label.package))
        stem = src.basename[:-(len(src.extension) + 1)]
        pyc = ctx.actions.declare_file(
            "__pycache__/{}.{}.pyc".format(stem, pyc_tag),
            sibling = src,
        )
        args = ctx.actions.args()
        args.use_param_file("@%s", use_always = True)
        args.set_param_file_format("multiline")
        args.add("--invalidation_mode", ctx.attr.invalidation_mode)
        args.add("--src", src)
        args.add("--src_name", src.short_path)
        args.add("--pyc", pyc)
        args.add("--optimize", str(ctx.attr.optimize))
        args.add("--python_version", python_version)
        ctx.actions.run(
            executable = tool[DefaultInfo].files_to_run,
            arguments = [args],
            inputs = [src],
            outputs = [pyc],
            mnemonic = "PyCompile",
            progress_message = "Python precompiling {} into {}".format(src.short_path, pyc.short_path),
            env = {
                "PYTHONHASHSEED": "0",
                "PYTHONNOUSERSITE": "1",
                "PYTHONSAFEPATH": "1",
            },
            execution_requirements = execution_requirements,
        )
        pycs.append(pyc)
    return [DefaultInfo(files = depset(pycs))]

_py_precompile = rule(
    implementation = _py_precompile_impl,
    doc = "Compiles each source of `srcs` to `<its folder>/__pycache__/<stem>.cpython-<XY>.pyc`.",
    attrs = {
        "invalidation_mode": attr.string(
            default = "checked_hash",
            values = ["checked_hash", "unchecked_hash"],
        ),
        "optimize": attr.int(default = 0),
        "precompiler": attr.label(
            mandatory = True,
            executable = True,
            cfg = "exec",
        ),
        "srcs": attr.label_list(allow_files = [".py"]),
        "_python_version": attr.label(default = "//rules:python_version"),
    },
)

def py_precompile(name, precompiler = None, **kwargs):
    """PyCompile actions for `srcs`, with the precompiler toolchain resolution would choose.

    Args:
      name: target name.
      precompiler: force a precompiler instead of the version routing.
      **kwargs: srcs, optimize, invalidation_mode, visibility, ...
    """
    _py_precompile(
        name = name,
        precompiler = precompiler or select(_PRECOMPILER_BY_VERSION),
        **kwargs
    )
