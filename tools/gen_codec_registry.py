"""Per target, what the codec registry knows: the `encodings` modules and aliases a cookie can
name (they differ: 3.15 adds dozens of aliases and maps `korean` to cp949), and the strings a
fresh CPython interns when it imports a codec module to decode a source. Two halves:

    node tools/oracle_python.mjs 3.1X tools/gen_codec_registry.py derive OUT.json   (in the oracle)
    python3 tools/gen_codec_registry.py merge 3.12=A.json 3.13=B.json ...           (on the host)

`tools/gen_codec_registry.sh` runs both for every target and writes
src/compile/decoding/names_list.rs and interns_list.rs. The interned strings are derived from
the module's own code objects:
every name, variable and cell name, every code object's name and qualified name (3.13+ interns
qualified names even with dots; 3.12 only identifier-like ones), identifier-like string
constants held by functions and classes (module-level ones die with the module's code), and for
the CJK codecs the `__map_*` capsules of the C module, `__create_codec` and the method, member
and attribute names of `_multibytecodec`'s types. `derive --check SERC_FILE` compares it with
the lists serc ships for its own codecs (serc-0.1.10/src/target/*_source_codecs.rs): equal, but
for 'strict', which CPython interns statically anyway.
"""
import importlib
import json
import re
import sys
import types

IDENTIFIER = re.compile(r"[A-Za-z0-9_]+\Z")


def function_constants(code):
    found = set()
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found.update(c for c in const.co_consts if isinstance(c, str))
            found |= function_constants(const)
    return found


def derive(module):
    spec = importlib.util.find_spec(f"encodings.{module}")
    code = spec.loader.get_code(f"encodings.{module}")
    out = set()

    def walk(co, top):
        out.update(co.co_names + co.co_varnames + co.co_cellvars + co.co_freevars)
        if not top:
            out.add(co.co_name)
            if sys.version_info >= (3, 13) or IDENTIFIER.match(co.co_qualname):
                out.add(co.co_qualname)

        def constants(values):
            for value in values:
                if isinstance(value, types.CodeType):
                    walk(value, False)
                elif isinstance(value, str) and IDENTIFIER.match(value):
                    out.add(value)
                elif isinstance(value, (tuple, frozenset)):
                    constants(value)

        constants(co.co_consts)

    walk(code, True)
    module_only = {c for c in code.co_consts if isinstance(c, str)} - function_constants(code)
    out -= module_only
    loaded = importlib.import_module(f"encodings.{module}")
    if hasattr(loaded, "codec") and hasattr(loaded, "mbc"):
        import _multibytecodec

        for name in code.co_names:
            if name.startswith("_codecs_"):
                out.update(n for n in vars(importlib.import_module(name)) if n.startswith("__map_"))
        out.add("__create_codec")
        native = [type(loaded.codec)] + [
            getattr(_multibytecodec, n) for n in dir(_multibytecodec) if n.startswith("Multibyte")
        ]
        for kind in native:
            for name, value in vars(kind).items():
                if not name.startswith("__") and type(value).__name__ in (
                    "method_descriptor", "member_descriptor", "getset_descriptor"
                ):
                    out.add(name)
    return sorted(out)


def main(args):
    if args[0] == "derive":
        sys.path.insert(0, "tools")
        import gen_source_codecs as tables

        # Every text codec this layer decodes, by table or by algorithm (not the UTF-8 ones serc
        # decodes itself, nor `undefined`, which fails before anything is compiled).
        modules = [m for m in tables.source_modules() if m not in ("utf_8", "utf_8_sig", "undefined")]
        result = {m: derive(m) for m in modules}
        if len(args) > 2 and args[1] == "--check":
            text = open(args[2]).read()
            for const, body in re.findall(r"pub\(super\) const (\w+): &\[&str\] = &\[(.*?)\];", text, re.S):
                serc = set(re.findall(r'"([^"]*)"', body))
                mine = set(result[const.lower()]) - {"strict"}
                if mine != serc:
                    print(f"{const}: serc only {sorted(serc - mine)}, ours only {sorted(mine - serc)}")
                    return 1
            print("matches serc's lists")
            return 0
        import encodings.aliases

        sources = tables.source_modules()
        aliases = {a: m for a, m in encodings.aliases.aliases.items() if m in sources}
        not_text = tables.binary_modules()
        binary_aliases = {a: m for a, m in encodings.aliases.aliases.items() if m in not_text}
        with open(args[1], "w") as f:
            json.dump({"interns": result, "modules": sources, "aliases": aliases,
                       "binary_modules": not_text, "binary_aliases": binary_aliases}, f)
        return 0
    # merge: one Rust file, distinct lists shared between targets.
    lists, by_version, registries = [], {}, {}
    for arg in args[1:]:
        version, path = arg.split("=")
        with open(path) as f:
            loaded = json.load(f)
        derived = loaded["interns"]
        registries[version] = loaded
        entries = []
        for module in sorted(derived):
            strings = derived[module]
            if strings not in lists:
                lists.append(strings)
            entries.append((module, lists.index(strings)))
        by_version[version] = entries
    lines = [
        "// @generated by tools/gen_codec_registry.sh from the oracle's CPython 3.12-3.15; do not edit.",
        "",
        "/// Distinct lists of interned strings.",
        "pub const LISTS: &[&[&str]] = &[",
    ]
    for strings in lists:
        lines.append("    &[")
        lines += [f"        {json.dumps(s)}," for s in strings]
        lines.append("    ],")
    lines += ["];", ""]
    for version, entries in by_version.items():
        lines.append(f"/// CPython {version}: (module, index into `LISTS`), sorted by module.")
        lines.append(f"pub const PY{version.replace('.', '')}: &[(&str, usize)] = &[")
        lines += [f'    ("{m}", {i}),' for m, i in entries]
        lines += ["];", ""]
    with open("src/compile/decoding/interns_list.rs", "w") as f:
        f.write("\n".join(lines))
    lines = [
        "// @generated by tools/gen_codec_registry.sh from the oracle's CPython 3.12-3.15; do not edit.",
        "",
    ]
    for version, registry in registries.items():
        suffix = version.replace(".", "")
        lines.append(f"/// CPython {version}: modules of `encodings` that decode source text, sorted.")
        lines.append(f"pub const MODULES_{suffix}: &[&str] = &[")
        lines += [f'    "{m}",' for m in sorted(registry["modules"])]
        lines += ["];", ""]
        lines.append(f"/// CPython {version}: `encodings.aliases.aliases` for those modules, sorted.")
        lines.append(f"pub const ALIASES_{suffix}: &[(&str, &str)] = &[")
        lines += [f'    ("{a}", "{m}"),' for a, m in sorted(registry["aliases"].items())]
        lines += ["];", ""]
        lines.append(f"/// CPython {version}: codec modules of `encodings` that are not text encodings")
        lines.append("/// (bytes-to-bytes or str-to-str), which a cookie may name but not decode with, sorted.")
        lines.append(f"pub const BINARY_MODULES_{suffix}: &[&str] = &[")
        lines += [f'    "{m}",' for m in sorted(registry["binary_modules"])]
        lines += ["];", ""]
        lines.append(f"/// CPython {version}: the aliases of those modules, sorted.")
        lines.append(f"pub const BINARY_ALIASES_{suffix}: &[(&str, &str)] = &[")
        lines += [f'    ("{a}", "{m}"),' for a, m in sorted(registry["binary_aliases"].items())]
        lines += ["];", ""]
    with open("src/compile/decoding/names_list.rs", "w") as f:
        f.write("\n".join(lines))
    return 0


sys.exit(main(ARGS if "ARGS" in globals() else sys.argv[1:]))  # noqa: F821
