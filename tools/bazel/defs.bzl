"""Starlark helpers that turn a native pycompile-worker binary into a rules_python precompiler.

rules_python's `py_exec_tools_toolchain.precompiler` accepts any executable target. A plain
executable only runs as a Bazel persistent worker when the target also returns
`testing.ExecutionInfo` with the worker execution requirements: rules_python copies that
provider's `requirements` into every `PyCompile` action. `pycompile_tool` adds exactly that.

The rule only uses APIs that exist in Bazel 4.2 and later, so the e2e test workspace
(tests/bazel/workspace, run with Debian's bazel-bootstrap 4.2.3) exercises this very file.
"""

# Execution requirements of the PyCompile actions. Bazel reads them from the action, and
# rules_python puts them there from the precompiler's `testing.ExecutionInfo`
# (rules_python 2.3.2 python/private/precompile.bzl:164-166).
#  - supports-workers / supports-multiplex-workers: run as a (multiplex) persistent worker
#    when the worker strategy is chosen; Bazel falls back to one-shot `<exe> @paramfile`
#    for standalone, sandboxed and remote execution.
#  - requires-worker-protocol=json: the binary speaks the JSON worker protocol only.
#  - supports-multiplex-sandboxing: the binary honours WorkRequest.sandboxDir.
#  - supports-worker-cancellation: the binary answers cancel requests.
# These are the default of the `execution_requirements` flag (//tools/bazel:execution_requirements),
# the same list as rules_python's own precompiler flag.
PYCOMPILE_WORKER_EXECUTION_REQUIREMENTS = [
    "supports-workers=1",
    "requires-worker-protocol=json",
    "supports-multiplex-sandboxing=1",
    "supports-multiplex-workers=1",
    "supports-worker-cancellation=1",
]

ExecutionRequirementsInfo = provider(
    doc = "The value of an `execution_requirements_flag`: a list of `key=value` strings.",
    fields = {"value": "list of string"},
)

def _execution_requirements_flag_impl(ctx):
    return [ExecutionRequirementsInfo(value = ctx.build_setting_value)]

execution_requirements_flag = rule(
    implementation = _execution_requirements_flag_impl,
    doc = """A list flag of `key=value` execution requirements for the PyCompile actions.

The same shape as rules_python's `--@rules_python//tools/precompiler:execution_requirements`
(a string_list_flag; rules_python 2.3.2 tools/precompiler/BUILD.bazel:34-43, read by
python/private/py_interpreter_program.bzl:39-45), which only applies to rules_python's own
precompiler. Ours is `--@pycompile_worker//tools/bazel:execution_requirements`:

    --@pycompile_worker//tools/bazel:execution_requirements=          # no requirements: no workers
    --@pycompile_worker//tools/bazel:execution_requirements=supports-workers=1,requires-worker-protocol=json

Empty entries are ignored, a value without `=` becomes a key with an empty value.
""",
    build_setting = config.string_list(flag = True),
)

def parse_execution_requirements(values):
    """Turns `["k=v", "k2", ""]` into `{"k": "v", "k2": ""}` (empty entries are skipped).

    Args:
      values: list of `key=value` strings, as given to an execution_requirements_flag.

    Returns:
      dict of string to string, as testing.ExecutionInfo takes it.
    """
    requirements = {}
    for value in values:
        value = value.strip()
        if not value:
            continue
        key, _, val = value.partition("=")
        requirements[key] = val
    return requirements

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

    # Keep a Windows ".exe" (or, for the no-binary stub, ".bat") suffix so that the symlinked
    # tool stays runnable there.
    name = ctx.label.name
    if binary.extension in ("exe", "bat") and not name.endswith("." + binary.extension):
        name += "." + binary.extension
    executable = ctx.actions.declare_file(name)
    ctx.actions.symlink(
        output = executable,
        target_file = binary,
        is_executable = True,
    )

    runfiles = ctx.runfiles(files = [executable])
    runfiles = runfiles.merge(ctx.attr.binary[DefaultInfo].default_runfiles)
    requirements = parse_execution_requirements(
        ctx.attr.execution_requirements[ExecutionRequirementsInfo].value,
    )
    return [
        DefaultInfo(
            executable = executable,
            files = depset([executable]),
            runfiles = runfiles,
        ),
        testing.ExecutionInfo(requirements),
        PycompileToolInfo(execution_requirements = requirements),
    ]

pycompile_tool = rule(
    implementation = _pycompile_tool_impl,
    doc = """Wraps a pycompile-worker binary so that PyCompile actions may run it as a worker.

Use the target as `precompiler` of a `py_exec_tools_toolchain`:

    pycompile_tool(name = "precompiler", binary = ":pycompile-worker")

The result is the same executable (a symlink to `binary`) plus a `testing.ExecutionInfo`
provider (and a `PycompileToolInfo`) carrying the execution requirements read from the
`execution_requirements` flag (default: `--@pycompile_worker//tools/bazel:execution_requirements`,
whose default is PYCOMPILE_WORKER_EXECUTION_REQUIREMENTS).
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
        "execution_requirements": attr.label(
            doc = "An execution_requirements_flag whose value is returned through testing.ExecutionInfo.",
            default = Label("//tools/bazel:execution_requirements"),
            providers = [ExecutionRequirementsInfo],
        ),
    },
)
