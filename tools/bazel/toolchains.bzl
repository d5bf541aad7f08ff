"""Declares the rules_python exec-tools toolchains whose precompiler is pycompile-worker."""

load("@rules_python//python:py_exec_tools_toolchain.bzl", "py_exec_tools_toolchain")
load(":python_versions.bzl", "SERVED_PYTHON_VERSIONS", "served_version_setting")

# rules_python resolves its precompiler through this toolchain type (rules_python 2.3.2
# python/private/toolchain_types.bzl:22; used by python/private/precompile.bzl:42,108,205).
_EXEC_TOOLS_TOOLCHAIN_TYPE = "@rules_python//python:exec_tools_toolchain_type"

def pycompile_worker_toolchains(name, precompiler, exec_compatible_with = []):
    """One toolchain per served Python version (3.12-3.15), all with the same precompiler.

    Toolchain resolution takes the first registered toolchain of the type whose
    exec_compatible_with and target_settings match. rules_python registers its own exec-tools
    toolchain per Python version with target_settings on that version
    (python/private/py_toolchain_suite.bzl:135-152), after the root module's registrations.
    So for 3.12-3.15 ours wins when the root module registers it, and for any other version
    ours does not match and rules_python's own precompiler compiles, as without us.

    Args:
      name: prefix of the targets: `<name>_exec_tools` and `<name>_py<version>`.
      precompiler: the pycompile_tool target.
      exec_compatible_with: constraints of the exec platforms the precompiler runs on.
    """
    py_exec_tools_toolchain(
        name = name + "_exec_tools",
        # exec_interpreter keeps rules_python's default, as rules_python's own exec-tools
        # toolchains do (python/private/hermetic_runtime_repo_setup.bzl:272-277): rules_python
        # runs other build tools with this toolchain's exec runtime too (actions_run,
        # python/private/common.bzl:589-666, used by py_executable.bzl:1124 and the zipapp rule).
        precompiler = precompiler,
        visibility = ["//visibility:private"],
    )
    for version in SERVED_PYTHON_VERSIONS:
        native.toolchain(
            name = "{}_py{}".format(name, version),
            exec_compatible_with = exec_compatible_with,
            target_settings = [Label("//tools/bazel:" + served_version_setting(version))],
            toolchain = ":{}_exec_tools".format(name),
            toolchain_type = _EXEC_TOOLS_TOOLCHAIN_TYPE,
            visibility = ["//visibility:public"],
        )
