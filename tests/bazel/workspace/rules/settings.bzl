"""Stand-ins of the e2e workspace: the Python version flag and a script as an executable."""

PythonVersionInfo = provider(
    doc = "The major.minor target Python version.",
    fields = {"version": "string, e.g. 3.14"},
)

def _python_version_flag_impl(ctx):
    return [PythonVersionInfo(version = ctx.build_setting_value)]

python_version_flag = rule(
    implementation = _python_version_flag_impl,
    build_setting = config.string(flag = True),
)

def _stand_in_executable_impl(ctx):
    executable = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = executable, target_file = ctx.file.src, is_executable = True)
    return [DefaultInfo(executable = executable, files = depset([executable]))]

stand_in_executable = rule(
    implementation = _stand_in_executable_impl,
    doc = "An executable named after the target: a symlink to the script `src`.",
    executable = True,
    attrs = {"src": attr.label(allow_single_file = True, mandatory = True)},
)
