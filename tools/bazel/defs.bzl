"""Starlark helpers that turn a native pycompile-worker binary into a rules_python precompiler.

rules_python's `py_exec_tools_toolchain.precompiler` accepts any executable target. A plain
executable only runs as a Bazel persistent worker when the target also returns
`testing.ExecutionInfo` with the worker execution requirements: rules_python copies that
provider's `requirements` into every `PyCompile` action. `pycompile_tool` adds exactly that.

The rule only uses APIs that exist in Bazel 4.2 and later, so the e2e test workspace
(tests/bazel/workspace, run with Debian's bazel-bootstrap 4.2.3) exercises this very file.
"""

# Execution requirements of the PyCompile actions. Bazel reads them from the action, and
# rules_python puts them there from the precompiler's `testing.ExecutionInfo`.
#  - supports-workers / supports-multiplex-workers: run as a (multiplex) persistent worker
#    when the worker strategy is chosen; Bazel falls back to one-shot `<exe> @paramfile`
#    for standalone, sandboxed and remote execution.
#  - requires-worker-protocol=json: the binary speaks the JSON worker protocol only.
#  - supports-multiplex-sandboxing: the binary honours WorkRequest.sandboxDir.
#  - supports-worker-cancellation: the binary answers cancel requests.
PYCOMPILE_WORKER_EXECUTION_REQUIREMENTS = {
    "requires-worker-protocol": "json",
    "supports-multiplex-sandboxing": "1",
    "supports-multiplex-workers": "1",
    "supports-worker-cancellation": "1",
    "supports-workers": "1",
}

PycompileToolInfo = provider(
    doc = """The execution requirements of a pycompile_tool, readable on every Bazel version.

`testing.ExecutionInfo` is what rules_python reads, but before Bazel 5 it cannot be used as a
provider key (`x in testing.ExecutionInfo` fails), so rules that must also run on older Bazel
(such as the e2e test workspace) read this provider instead.
""",
    fields = {
        "execution_requirements": "dict of string to string, as in testing.ExecutionInfo",
    },
)

def _pycompile_tool_impl(ctx):
    binary = ctx.executable.binary

    # Keep a Windows ".exe" suffix so that the symlinked tool stays runnable there.
    name = ctx.label.name
    if binary.extension == "exe" and not name.endswith(".exe"):
        name += ".exe"
    executable = ctx.actions.declare_file(name)
    ctx.actions.symlink(
        output = executable,
        target_file = binary,
        is_executable = True,
    )

    runfiles = ctx.runfiles(files = [executable])
    runfiles = runfiles.merge(ctx.attr.binary[DefaultInfo].default_runfiles)
    return [
        DefaultInfo(
            executable = executable,
            files = depset([executable]),
            runfiles = runfiles,
        ),
        testing.ExecutionInfo(ctx.attr.execution_requirements),
        PycompileToolInfo(execution_requirements = ctx.attr.execution_requirements),
    ]

pycompile_tool = rule(
    implementation = _pycompile_tool_impl,
    doc = """Wraps a pycompile-worker binary so that PyCompile actions may run it as a worker.

Use the target as `precompiler` of a `py_exec_tools_toolchain`:

    pycompile_tool(name = "precompiler", binary = ":pycompile-worker")

The result is the same executable (a symlink to `binary`) plus a `testing.ExecutionInfo`
provider (and a `PycompileToolInfo`) carrying `execution_requirements`.
""",
    executable = True,
    attrs = {
        "binary": attr.label(
            doc = "The pycompile-worker executable (a rust_binary or a prebuilt file).",
            mandatory = True,
            executable = True,
            allow_files = True,
            # The precompiler attribute of py_exec_tools_toolchain is already exec-configured,
            # so "target" here means "the platform the PyCompile action runs on".
            cfg = "target",
        ),
        "execution_requirements": attr.string_dict(
            doc = "Execution requirements returned through testing.ExecutionInfo.",
            default = PYCOMPILE_WORKER_EXECUTION_REQUIREMENTS,
        ),
    },
)
