"""Writes tests/fixtures/encodings/: for every codec of src/compile/decoding/codecs.bin, a small
program in that codec (non-ASCII text in an identifier, string literals, an f-string and comments,
also before code on the same line), its CRLF twin, and a file with one undecodable sequence.

The characters are drawn from CPython's own decoding of the codec's 1- and 2-byte sequences with a
fixed seed per codec, so the fixtures are inputs nobody picked by hand. Runs inside the oracle:

    node tools/oracle_python.mjs 3.14 tools/gen_encoding_fixtures.py
"""
import os
import random
import sys
import unicodedata
import zlib

OUT = "tests/fixtures/encodings"
sys.path.insert(0, "tools")
import gen_source_codecs as tables  # noqa: E402


def sequences(name):
    """(bytes, text) of every valid 1- and 2-byte sequence, and every invalid one."""
    valid, invalid = [], []
    for lead in range(0x80, 0x100):
        for data in [bytes([lead])] + [bytes([lead, t]) for t in range(0x80, 0x100)]:
            result = tables.attempt(data, name)
            if result[0] == "ok" and len(result[1]) == 1:
                valid.append((data, result[1]))
            elif result[0] == "err" and result[3] != tables.INCOMPLETE:
                invalid.append(data)
            if len(data) == 1 and result[0] == "ok":
                break
    return valid, invalid


def printable(ch):
    return unicodedata.category(ch)[0] in "LNPSZ" and ch not in "'\"\\{}\u2028\u2029\x85" and ch != "\u00a0"


def program(name, rng, valid):
    ident_start = [s for s in valid if s[1].isidentifier()]
    ident_more = [s for s in valid if ("a" + s[1]).isidentifier()]
    text = [s for s in valid if printable(s[1])]
    if not text:
        return None
    pick = lambda pool, n: b"".join(rng.choice(pool)[0] for _ in range(n))  # noqa: E731
    ident = (pick(ident_start, 1) + pick(ident_more or ident_start, 2)) if ident_start else b"name_ascii"
    lines = [
        b"# -*- coding: " + name.encode() + b" -*-",
        b"# " + pick(text, 12),
        b"s = '" + pick(text, 8) + b"'; " + ident + b" = len(s)  # " + pick(text, 4),
        b"def f(" + ident + b"=s, t='" + pick(text, 3) + b"'):",
        b"    \"\"\"" + pick(text, 6) + b"\"\"\"",
        b"    return f'" + pick(text, 2) + b"{" + ident + b"!r}" + pick(text, 2) + b"' + t",
        b"class C:  # " + pick(text, 3),
        b"    " + ident + b" = {'" + pick(text, 2) + b"': (1, '" + pick(text, 5) + b"')}",
        b"print(f(), C." + ident + b", " + ident + b")",
        b"",
    ]
    return b"\n".join(lines)


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    names = [m for m in tables.source_modules() if m not in tables.NOT_TABULATED]
    written = 0
    for name in names:
        rng = random.Random(zlib.crc32(name.encode()))
        valid, invalid = sequences(name)
        source = program(name, rng, valid)
        if source is not None:
            with open(f"{OUT}/{name}.py", "wb") as f:
                f.write(source)
            with open(f"{OUT}/{name}_crlf.py", "wb") as f:
                f.write(source.replace(b"\n", b"\r\n"))
            written += 2
        if invalid:
            bad = rng.choice(invalid)
            with open(f"{OUT}/{name}_undecodable.py", "wb") as f:
                f.write(b"# coding: " + name.encode() + b"\r\nx = 1\r\ns = '" + bad + b"'\n")
            written += 1
    # Cookie spellings: how a name reaches its codec module (aliases, case, '-', '.'), and a
    # UTF-8 BOM before a cookie naming another codec.
    import encodings.aliases

    rng = random.Random(2063)
    aliases = sorted(a for a, m in encodings.aliases.aliases.items() if m in names)
    for index, alias in enumerate(rng.sample(aliases, 30)):
        for variant, spelling in enumerate([alias.upper(), alias.replace("_", "-"), alias.replace("_", ".")]):
            with open(f"{OUT}/spelling_{index:02d}_{variant}.py", "wb") as f:
                f.write(b"# -*- coding: " + spelling.encode() + b" -*-\nx = 1\n")
            written += 1
    for name in rng.sample(names, 3):
        with open(f"{OUT}/bom_{name}.py", "wb") as f:
            f.write(b"\xef\xbb\xbf# coding: " + name.encode() + b"\nx = 1\n")
        written += 1
    print(f"wrote {written} fixtures for {len(names)} codecs")


main()
