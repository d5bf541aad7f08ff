"""`py_tree_precompile`: the pycs of a whole directory (a TreeArtifact) in one action.

rules_python's PyCompile covers the `srcs` of py_* targets, one action per file. The installed
contents of a wheel arrive as one directory instead (a TreeArtifact made by an unpacking action),
whose files are not known at analysis time. This rule compiles such a tree in one action,
`PyCompileTree`, run by the same pycompile-worker binary as PyCompile (as a persistent worker
when the strategy allows) with a "tree request" (src/tree_action.rs):

    load("@pycompile_worker//tools/bazel:tree.bzl", "py_tree_precompile")

    py_tree_precompile(
        name = "requests_pycs",
        tree = ":requests_unpacked",       # a rule output made with declare_directory
        prefix = "site-packages",          # co_filename = site-packages/<path in the tree>
        optimize = [0, 1],
        allow_compile_errors = True,       # failures go to requests_pycs.compile_errors.txt
    )

The output is a directory named after the target holding `<dir>/__pycache__/<name>.cpython-3XY
[.opt-N].pyc` for every `<dir>/<name>.py` of the tree (CPython's compileall layout, relative to
the tree), byte-identical to `pycompile-worker compileall -d <prefix>` for the same files.

Only APIs of Bazel 4.2 and later are used in the action rule, so the e2e workspace
(tests/bazel, Bazel 4.2.3) builds it; there the precompiler and the version are passed
explicitly (no rules_python on 4.2.3).
"""

load(":defs.bzl", "PycompileToolInfo")
load(":python_versions.bzl", "SERVED_PYTHON_VERSIONS", "served_version_setting")

# rules_python's exec-tools toolchain type: the one whose `exec_tools.precompiler` its
# PyCompile actions run (rules_python 92c736e python/private/precompile.bzl:109-112, type at
# python/private/toolchain_types.bzl:22). With our toolchains registered it resolves, for 3.12-3.15
# and each exec platform, to our pycompile_tool (tools/bazel/toolchains.bzl).
_EXEC_TOOLS_TOOLCHAIN_TYPE = "@rules_python//python:exec_tools_toolchain_type"

PyTreePycsInfo = provider(
    doc = "What a py_tree_precompile produced.",
    fields = {
        "compile_errors": "File or None: the list of files that did not compile (allow_compile_errors)",
        "pycs": "File: the output directory of pycs",
        "python_version": "string: the target version, e.g. 3.14",
    },
)

_INVALIDATION_MODES = ["checked_hash", "unchecked_hash", "timestamp"]

def _tree_precompile_impl(ctx, precompiler):
    trees = ctx.files.tree
    if len(trees) != 1 or not trees[0].is_directory:
        fail("{}: `tree` must be exactly one directory (a TreeArtifact made with declare_directory), got {}".format(
            ctx.label,
            [f.short_path for f in trees],
        ))
    tree = trees[0]
    version = ctx.attr.python_version
    if version not in SERVED_PYTHON_VERSIONS:
        fail(("{}: the target Python version ({}) is not one pycompile-worker compiles for " +
              "without an interpreter: py_tree_precompile serves {}").format(
            ctx.label,
            "'{}'".format(version) if version else "rules_python's python_version_major_minor",
            ", ".join(SERVED_PYTHON_VERSIONS),
        ))
    if PycompileToolInfo not in precompiler:
        fail(("{}: the precompiler {} is not a pycompile_tool: only pycompile-worker serves tree " +
              "requests (for Python {}, register @pycompile_worker//tools/bazel/toolchains:all " +
              "or pass `precompiler`)").format(ctx.label, precompiler.label, version))
    for level in ctx.attr.optimize:
        if level not in (0, 1, 2):
            fail("{}: optimize levels are 0, 1 and 2, got {}".format(ctx.label, level))

    pycs = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()

    # Everything in the param file: Bazel makes the rest of a worker action's command line the
    # worker's startup arguments.
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    args.add("tree")
    args.add("--src_dir", tree.path)
    args.add("--out_dir", pycs.path)
    args.add("--prefix", ctx.attr.prefix)
    for level in ctx.attr.optimize or [0]:
        args.add("--optimize", str(level))
    args.add("--invalidation_mode", ctx.attr.invalidation_mode.upper())
    args.add("--python_version", version)
    outputs = [pycs]
    errors = None
    if ctx.attr.allow_compile_errors:
        errors = ctx.actions.declare_file(ctx.label.name + ".compile_errors.txt")
        args.add("--error_log", errors.path)
        outputs.append(errors)

    ctx.actions.run(
        executable = precompiler[DefaultInfo].files_to_run,
        arguments = [args],
        inputs = [tree],
        outputs = outputs,
        mnemonic = "PyCompileTree",
        progress_message = "Python precompiling the tree {} into {}".format(tree.short_path, pycs.short_path),
        execution_requirements = precompiler[PycompileToolInfo].execution_requirements,
    )
    return [
        DefaultInfo(files = depset([pycs])),
        OutputGroupInfo(compile_errors = depset([errors] if errors else [])),
        PyTreePycsInfo(pycs = pycs, compile_errors = errors, python_version = version),
    ]

_COMMON_ATTRS = {
    "allow_compile_errors": attr.bool(
        doc = "Per-file compile errors are non-fatal: the action succeeds, the failed files are " +
              "listed in `<name>.compile_errors.txt` (output group `compile_errors`) and " +
              "printed. Without it one file that does not compile fails the build.",
    ),
    "invalidation_mode": attr.string(
        doc = "How the importer checks the pycs: checked_hash, unchecked_hash or timestamp " +
              "(the inputs' mtimes: not reproducible).",
        default = "checked_hash",
        values = _INVALIDATION_MODES,
    ),
    "optimize": attr.int_list(
        doc = "Optimization levels (0, 1, 2): one pyc per level and file, `.opt-N` for N > 0.",
        default = [0],
    ),
    "prefix": attr.string(
        doc = "Prepended to each file's path in the tree to make the co_filename tracebacks " +
              "show, as compileall's `-d` (e.g. the installed site-packages path). Empty: the " +
              "path relative to the tree.",
    ),
    "python_version": attr.string(
        doc = "Target Python major.minor (the macro selects it from rules_python's config).",
        mandatory = True,
    ),
    "tree": attr.label(
        doc = "The directory to compile: a target whose only file is a TreeArtifact.",
        allow_files = True,
        mandatory = True,
    ),
}

def _with_tool_impl(ctx):
    return _tree_precompile_impl(ctx, ctx.attr.precompiler)

py_tree_precompile_with_tool = rule(
    implementation = _with_tool_impl,
    doc = "py_tree_precompile with an explicit precompiler (no toolchain resolution; Bazel 4.2+).",
    attrs = dict(_COMMON_ATTRS, precompiler = attr.label(
        doc = "A pycompile_tool, e.g. @pycompile_worker//tools/bazel:precompiler_linux_x86_64.",
        mandatory = True,
        executable = True,
        cfg = "exec",
    )),
)

def _from_toolchain_impl(ctx):
    # Only read, not run (needs rules_python, Bazel 7+): the toolchain's `exec_tools` is a
    # PyExecToolsInfo whose `precompiler` is the toolchain's exec-configured precompiler Target
    # (rules_python 92c736e python/private/py_exec_tools_toolchain.bzl:39-42 and :93-96, read
    # the same way by python/private/precompile.bzl:43-44 and :109-112).
    toolchain = ctx.toolchains[_EXEC_TOOLS_TOOLCHAIN_TYPE]
    if toolchain == None or toolchain.exec_tools.precompiler == None:
        fail("{}: no rules_python exec-tools toolchain with a precompiler resolved".format(ctx.label))
    return _tree_precompile_impl(ctx, toolchain.exec_tools.precompiler)

_py_tree_precompile_from_toolchain = rule(
    implementation = _from_toolchain_impl,
    attrs = _COMMON_ATTRS,
    toolchains = [_EXEC_TOOLS_TOOLCHAIN_TYPE],
)

def served_python_version(settings_package = "//tools/bazel"):
    """A select() of the target's Python major.minor over the served-version config settings.

    The same settings our toolchains match (python_versions.bzl), so the version is rules_python's
    `python_version_major_minor`; any other version selects "" (the rule then fails and says why).

    Args:
      settings_package: the package holding the `python_3.X` settings (made by
        served_python_version_settings); by default this module's, over rules_python's flag.

    Returns:
      a select() for the `python_version` attribute.
    """
    if settings_package == "//tools/bazel":
        prefix = str(Label("//tools/bazel:" + served_version_setting("")))
    else:
        prefix = settings_package + ":" + served_version_setting("")
    return select(dict(
        [(prefix + version, version) for version in SERVED_PYTHON_VERSIONS] +
        [("//conditions:default", "")],
    ))

def py_tree_precompile(name, tree, precompiler = None, python_version = None, **kwargs):
    """Compiles every `.py` of the directory `tree` into a directory of pycs, in one action.

    Args:
      name: target name; also the name of the output directory.
      tree: a target whose single file is a directory (TreeArtifact).
      precompiler: a pycompile_tool. Default: the precompiler of rules_python's resolved
        exec-tools toolchain, i.e. ours for 3.12-3.15 once
        @pycompile_worker//tools/bazel/toolchains:all is registered (Bazel 7+).
      python_version: target "major.minor". Default: rules_python's configured version, through
        the same config settings our toolchains match (served_python_version()).
      **kwargs: optimize, invalidation_mode, prefix, allow_compile_errors, visibility, tags, ...
    """
    if python_version == None:
        python_version = served_python_version()
    if precompiler == None:
        _py_tree_precompile_from_toolchain(name = name, tree = tree, python_version = python_version, **kwargs)
    else:
        py_tree_precompile_with_tool(
            name = name,
            tree = tree,
            precompiler = precompiler,
            python_version = python_version,
            **kwargs
        )
