"""A stand-in for rules_python's precompile step, runnable on Bazel 4.2.3.

rules_python only precompiles on Bazel 7+, so this rule re-creates its PyCompile action as
closely as Bazel 4.2.3 allows: one action per source, mnemonic PyCompile, the request in a
multiline "@" param file that is always used, the same flags in the same order, the same env,
and execution requirements taken from the precompiler's testing.ExecutionInfo.

Reading the requirements: rules_python does `testing.ExecutionInfo in precompiler`; Bazel 4.2.3
cannot query that key (it is a plain function there), so this rule falls back to the
PycompileToolInfo provider that pycompile_tool returns alongside it.
"""

load("//tool:defs.bzl", "PycompileToolInfo")

_PYC_TAG = "cpython-314"

def _pyc_path(src):
    # keep-source layout: <pkg>/__pycache__/<stem>.<pyc_tag>.pyc
    stem = src.basename[:-len(".py")]
    return "__pycache__/{}.{}.pyc".format(stem, _PYC_TAG)

def _py_precompile_impl(ctx):
    tool = ctx.attr.precompiler
    execution_requirements = {}
    if type(testing.ExecutionInfo) == "Provider" and testing.ExecutionInfo in tool:
        execution_requirements.update(tool[testing.ExecutionInfo].requirements)
    elif PycompileToolInfo in tool:
        execution_requirements.update(tool[PycompileToolInfo].execution_requirements)

    pycs = []
    for src in ctx.files.srcs:
        if src.owner.package != ctx.label.package:
            fail("{} is not in package {}".format(src.short_path, ctx.label.package))
        pyc = ctx.actions.declare_file(_pyc_path(src))
        args = ctx.actions.args()
        args.use_param_file("@%s", use_always = True)
        args.set_param_file_format("multiline")
        args.add("--invalidation_mode", ctx.attr.invalidation_mode)
        args.add("--src", src)
        args.add("--src_name", src.short_path)
        args.add("--pyc", pyc)
        args.add("--optimize", str(ctx.attr.optimize))
        args.add("--python_version", ctx.attr.python_version)
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

py_precompile = rule(
    implementation = _py_precompile_impl,
    doc = "Compiles each source of `srcs` to `__pycache__/<stem>.cpython-314.pyc` with PyCompile actions.",
    attrs = {
        "invalidation_mode": attr.string(
            default = "checked_hash",
            values = ["checked_hash", "unchecked_hash"],
        ),
        "optimize": attr.int(default = 0),
        "precompiler": attr.label(
            default = "//tool:pycompile-worker",
            executable = True,
            cfg = "exec",
        ),
        "python_version": attr.string(default = "3.14"),
        "srcs": attr.label_list(allow_files = [".py"]),
    },
)
