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
    written += algorithmic()
    print(f"wrote {written} fixtures for {len(names)} table codecs and the algorithmic ones")


# The codecs src/compile/decoding/algorithmic decodes, with the characters their programs draw
# from (kept where the codec round-trips them), and a sequence each one rejects.
ALGORITHMIC = {
    "utf_7": ("\u00c0-\u024f\u0391-\u03c9\u4e00-\u4fff", b"+AOk\x80"),
    "unicode_escape": ("\u00a1-\u00ff\u0100-\u017f\u4e00-\u4fff", b"\\x4"),
    "raw_unicode_escape": ("\u00a1-\u00ff\u0100-\u017f\u4e00-\u4fff", b"\\u12"),
    "hz": ("\u4e00-\u9fa5\u3001-\u3011", b"~{\x7f\x7f~}"),
    "iso2022_kr": ("\uac00-\ud7a3\u4e00-\u9fa5", b"\x1b$)C\x0e\x7f\x7f\x0f"),
    "iso2022_jp": ("\u3041-\u30f6\u4e00-\u9fa5", b"\x1b$B\x7f\x7f\x1b(B"),
    "iso2022_jp_1": ("\u3041-\u30f6\u4e00-\u9fa5", b"\x1b$(D\x21\x21\x1b(B"),
    "iso2022_jp_2": ("\u3041-\u30f6\uac00-\ud7a3\u00c0-\u00ff\u0391-\u03c9", b"\x1b.A\x1bN\x80"),
    "iso2022_jp_2004": ("\u3041-\u30f6\u4e00-\u9fa5", b"\x1b$(Q\x7f\x7f\x1b(B"),
    "iso2022_jp_3": ("\u3041-\u30f6\u4e00-\u9fa5", b"\x1b$(O\x7f\x7f\x1b(B"),
    "iso2022_jp_ext": ("\u3041-\u30f6\uff61-\uff9f\u4e00-\u9fa5", b"\x1b(I\x7f\x1b(B"),
}


def algorithmic():
    """A program per algorithmic codec, encoded by CPython's own encoder; its CRLF twin; one
    with a rejected sequence; the UTF-16/32 cookies over ASCII text (which CPython decodes as
    that codec anyway); and cookies naming codecs that are not text encodings."""
    written = 0
    for name, (ranges, bad) in ALGORITHMIC.items():
        rng = random.Random(zlib.crc32(name.encode()))
        pool = []
        for first, last in zip(ranges[0::3], ranges[2::3]):
            pool += [chr(c) for c in range(ord(first), ord(last) + 1)]
        chars = [c for c in rng.sample(pool, min(len(pool), 400)) if roundtrips(c, name)]
        text = [(c.encode(name), c) for c in chars if printable(c)]
        idents = [(c.encode(name), c) for c in chars if c.isidentifier()]
        body = program_text(rng, text, idents)
        source = b"# -*- coding: " + name.encode() + b" -*-\n" + body.encode(name)
        for suffix, data in [("", source), ("_crlf", source.replace(b"\n", b"\r\n"))]:
            with open(f"{OUT}/{name}{suffix}.py", "wb") as f:
                f.write(data)
            written += 1
        with open(f"{OUT}/{name}_undecodable.py", "wb") as f:
            f.write(b"# coding: " + name.encode() + b"\r\nx = 1\r\ns = '" + bad + b"'\n")
        written += 1
    for name in ["utf_16", "utf-16-be", "utf_32", "utf-32-le", "U16", "utf_16_le"]:
        with open(f"{OUT}/wide_{name.replace('-', '_')}.py", "wb") as f:
            f.write(b"# coding: " + name.encode() + b"\nx = 1\n")
        written += 1
    # idna decodes ASCII text without an ACE label as itself; punycode fails on any program.
    for name, data in [
        ("idna", b"# coding: idna\nimport os.path\nx = 'a.b.c'  # ...\nprint(os.path.join(x, '.'))\n"),
        ("idna_crlf", b"# coding: idna\r\nx = 'a..b.'\r\n"),
        ("idna_undecodable", b"# coding: idna\nx = 'caf\xe9.com'\n"),
        ("idna_ace_incomplete", b"# coding: idna\nx = 'a.xn--zz99.a'\n"),
        ("IDNA_ace_upper", b"# coding: IDNA\nx = 'a.XN--zz99'\n"),
        ("punycode", b"# coding: punycode\nx = 1\n"),
        ("punycode_ascii", b"# coding: punycode\nx = 'caf\xe9'-1\n"),
    ]:
        with open(f"{OUT}/{name}.py", "wb") as f:
            f.write(data)
        written += 1
    # A single shift into a G2 no decoder serves: CPython raises RuntimeError, not SyntaxError.
    with open(f"{OUT}/iso2022_jp_2_internal.py", "wb") as f:
        f.write(b"# coding: iso2022_jp_2\nx = 1\n\x1b.J\x1bNx\n")
    written += 1
    for name in ["rot13", "hex", "Base64", "quoted-printable", "zlib_codec"]:
        with open(f"{OUT}/binary_{name.replace('-', '_').lower()}.py", "wb") as f:
            f.write(b"# coding: " + name.encode() + b"\nx = 1\n")
        written += 1
    return written


def roundtrips(ch, name):
    try:
        return ch.encode(name).decode(name) == ch
    except UnicodeError:
        return False


def program_text(rng, text, idents):
    """The program of `program` as text (the algorithmic codecs encode whole strings)."""
    pick = lambda pool, n: "".join(rng.choice(pool)[1] for _ in range(n))  # noqa: E731
    ident = (pick(idents, 1) + pick(idents, 2)) if idents else "name_ascii"
    return "\n".join([
        "# " + pick(text, 12),
        "s = '" + pick(text, 8) + "'; " + ident + " = len(s)  # " + pick(text, 4),
        "def f(" + ident + "=s, t='" + pick(text, 3) + "'):",
        "    \"\"\"" + pick(text, 6) + "\"\"\"",
        "    return f'" + pick(text, 2) + "{" + ident + "!r}" + pick(text, 2) + "' + t",
        "class C:  # " + pick(text, 3),
        "    " + ident + " = {'" + pick(text, 2) + "': (1, '" + pick(text, 5) + "')}",
        "print(f(), C." + ident + ", " + ident + ")",
        "",
    ])


main()
