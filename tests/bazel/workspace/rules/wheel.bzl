"""Unpacks a wheel into a directory (TreeArtifact), as a wheel installer would lay it out."""

def _wheel_tree_impl(ctx):
    tree = ctx.actions.declare_directory(ctx.label.name)
    extras = []
    copies = []
    for target, dest in ctx.attr.extra.items():
        src = target.files.to_list()
        if len(src) != 1:
            fail("{}: extra {} must be one file".format(ctx.label, target.label))
        extras.append(src[0])
        copies.append("cp {} {}/{}".format(src[0].path, tree.path, dest))
    ctx.actions.run_shell(
        command = "python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' {} {}{}".format(
            ctx.file.wheel.path,
            tree.path,
            "".join(["\n" + copy for copy in copies]),
        ),
        inputs = [ctx.file.wheel] + extras,
        outputs = [tree],
        mnemonic = "UnpackWheel",
        progress_message = "Unpacking {}".format(ctx.file.wheel.basename),
    )
    return [DefaultInfo(files = depset([tree]))]

wheel_tree = rule(
    implementation = _wheel_tree_impl,
    doc = "The contents of `wheel` as a directory, plus `extra` files (label: path in the tree).",
    attrs = {
        "extra": attr.label_keyed_string_dict(allow_files = True),
        "wheel": attr.label(allow_single_file = [".whl"], mandatory = True),
    },
)
