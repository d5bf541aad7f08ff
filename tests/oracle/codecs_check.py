"""Python half of tests/encodings.rs: CPython's decoding of the same byte sequences, digested the
same way, for comparing our codec tables without shipping every result across.

Run by the test as `node tools/oracle_python.mjs 3.14 tests/oracle/codecs_check.py IN.json OUT.json`.
IN: {"codecs": [...], "random": {codec: [hex, ...]}, "digests": {codec: {group: hex}}}.
OUT: {"checked": N, "mismatches": [{"codec", "group", "lines": [CPython's lines]}]}.
A line is "ok:" + the text or "err:" + str(UnicodeDecodeError); groups are listed in
tests/encodings.rs (`groups`).
"""
import json
import sys
import warnings
import zlib

# The escape codecs warn about unknown escapes; the warning does not change the result.
warnings.simplefilter("ignore")



def line(data, name):
    """What the tokenizer makes of `data` in codec `name`: it decodes, then re-encodes the text
    as UTF-8 (which fails on the lone surrogates the escape codecs and UTF-7 can produce)."""
    try:
        text = data.decode(name)
        text.encode("utf-8")
        return "ok:" + text
    except UnicodeError as error:
        return "err:" + str(error)
    except (RuntimeError, OverflowError) as error:  # iso2022_jp_2's G2; punycode's positions
        return f"err:{type(error).__name__}: {error}"


def groups(name, random_inputs):
    """(group, [byte strings]) in the order tests/encodings.rs walks them."""
    yield "1", [bytes([b]) for b in range(256)]
    multibyte = any("incomplete multibyte" in line(bytes([b]), name) for b in range(256))
    if multibyte:
        for lead in range(256):
            yield f"2/{lead}", [bytes([lead, t]) for t in range(256)]
        if "incomplete multibyte" in line(b"\x8f\xa1", name):
            for second in range(256):
                yield f"3/{second}", [bytes([0x8F, second, t]) for t in range(256)]
        if name == "gb18030":
            for b1 in range(0x81, 0xFF):
                for b2 in range(0x30, 0x3A):
                    yield f"4/{b1}/{b2}", [
                        bytes([b1, b2, b3, b4]) for b3 in range(0x81, 0xFF) for b4 in range(0x30, 0x3A)
                    ]
        if name == "euc_kr":
            yield "8", [
                bytes([0xA4, 0xD4, 0xA4, x, 0xA4, y, 0xA4, z])
                for x in range(0xA1, 0xBF)
                for y in range(0xBF, 0xD4)
                for z in [0xD4] + list(range(0xA1, 0xBF))
            ]
    yield "random", [bytes.fromhex(h) for h in random_inputs]


def digest(lines):
    """CRC-32 (zlib's) of the lines, each followed by a newline, in UTF-8."""
    return f"{zlib.crc32(''.join(text + chr(10) for text in lines).encode('utf-8', 'surrogatepass')):08x}"


def main(inp, out):
    with open(inp) as f:
        request = json.load(f)
    mismatches, checked = [], 0
    for name in request["codecs"]:
        ours = request["digests"].get(name, {})
        seen = set()
        for group, inputs in groups(name, request["random"].get(name, [])):
            lines = [line(data, name) for data in inputs]
            checked += len(lines)
            seen.add(group)
            if ours.get(group) != digest(lines):
                mismatches.append({"codec": name, "group": group, "lines": lines})
        for group in set(ours) - seen:
            mismatches.append({"codec": name, "group": group, "lines": []})
    with open(out, "w") as f:
        json.dump({"checked": checked, "mismatches": mismatches}, f)
    return 0


sys.exit(main(*ARGS))  # noqa: F821 (ARGS comes from tools/oracle_python.mjs)
