"""Tables of the source codecs our layer decodes, read off CPython's own codecs.

Runs inside the oracle's CPython (pyodide under Node), never on the host Python:

    node tools/oracle_python.mjs 3.14 tools/gen_source_codecs.py write   # regenerate codecs.bin
    node tools/oracle_python.mjs 3.14 tools/gen_source_codecs.py check   # compare, exit 1 on a difference
    node tools/oracle_python.mjs 3.1X tools/gen_source_codecs.py overrides   # codecs-31X.bin: the
        tables where CPython 3.1X decodes differently from 3.14 (palmos 0x9B before 3.14)

(The names a cookie can use differ per target: tools/gen_codec_registry.sh.)

Every codec is explored exhaustively: each byte, then each byte after every prefix that CPython
reports as an incomplete multibyte sequence (so every 1- and 2-byte sequence of the double-byte
codecs, and the 3-byte sequences of EUC's 0x8F plane); gb18030's 4-byte sequences are read for the
whole lead/trail grid (126 * 10 * 126 * 10). What CPython answers for exactly those bytes (a
character, a string, or an error's reason and length) is what the table holds; see
src/compile/decoding/codec.rs for the format and for how the decoder walks it.
"""
import codecs
import encodings
import encodings.aliases
import os
import pkgutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = os.path.join(ROOT, "src/compile/decoding/codecs.bin")

# Double-byte (CJK) codecs without shift state; hz and iso2022_* are stateful.
MULTIBYTE = [
    "big5", "big5hkscs", "cp932", "cp949", "cp950", "euc_jis_2004", "euc_jisx0213", "euc_jp",
    "euc_kr", "gb18030", "gb2312", "gbk", "johab", "shift_jis", "shift_jis_2004", "shift_jisx0213",
]
# Codecs whose decoder is not a byte table (state, escapes, or a different unit) but which the
# tokenizer accepts: the engine reports them as its limitation, naming the file and codec.
NOT_TABULATED = {
    "hz", "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3",
    "iso2022_jp_ext", "iso2022_kr", "utf_7", "utf_16", "utf_16_be", "utf_16_le", "utf_32",
    "utf_32_be", "utf_32_le", "unicode_escape", "raw_unicode_escape", "idna", "punycode",
    "utf_8_sig", "utf_8",
    "undefined",  # always fails: src/compile/decoding/mod.rs gives its error
}
INCOMPLETE = "incomplete multibyte sequence"
NODE, ERROR, STRING = 0x8000_0000, 0x4000_0000, 0x2000_0000


def source_modules():
    """Modules of the encodings package the tokenizer decodes a source with (a text codec)."""
    out = []
    for info in pkgutil.iter_modules(encodings.__path__):
        name = info.name
        if name == "aliases":
            continue
        try:
            codec = codecs.lookup(name)
        except LookupError:
            continue  # Windows-only (mbcs, oem) or not a codec module
        if not getattr(codec, "_is_text_encoding", True):
            continue
        out.append(name)
    return sorted(out)


def binary_modules():
    """Codec modules of the encodings package that are not text encodings: a cookie naming one
    makes the tokenizer fail with "'NAME' is not a text encoding"."""
    out = []
    for info in pkgutil.iter_modules(encodings.__path__):
        try:
            codec = codecs.lookup(info.name)
        except LookupError:
            continue
        if not getattr(codec, "_is_text_encoding", True):
            out.append(info.name)
    return sorted(out)


def attempt(data, name):
    try:
        return ("ok", data.decode(name))
    except UnicodeDecodeError as error:
        return ("err", error.start, error.end, error.reason, error.encoding)


class Table:
    def __init__(self, name):
        self.name = name
        self.error_name = None
        self.reasons = []
        self.strings = []
        self.nodes = []
        self.four = None

    def reason(self, text):
        if text not in self.reasons:
            self.reasons.append(text)
        return self.reasons.index(text)

    def string(self, text):
        if text not in self.strings:
            self.strings.append(text)
        return self.strings.index(text)

    def explore(self, prefix):
        assert len(prefix) < 3, (self.name, prefix)  # 3-byte forms only (EUC's 0x8F plane)
        index = len(self.nodes)
        entries = [0] * 256
        self.nodes.append(entries)
        for byte in range(256):
            data = prefix + bytes([byte])
            result = attempt(data, self.name)
            if result[0] == "ok":
                text = result[1]
                entries[byte] = ord(text) if len(text) == 1 else STRING | self.string(text)
                continue
            _, start, end, reason, error_name = result
            assert start == 0, (self.name, data, result)
            self.error_name = self.error_name or error_name
            assert error_name == self.error_name, (self.name, data, result)
            if reason == INCOMPLETE and end == len(data):
                if self.name == "gb18030" and len(data) == 2:
                    entries[byte] = NODE | 0xFFFF  # the four-byte form, see four_byte()
                elif self.name == "euc_kr" and data == b"\xa4\xd4":
                    entries[byte] = NODE | 0xFFFE  # the 8-byte make-up form, see make_up()
                else:
                    entries[byte] = NODE | self.explore(data)
            else:
                assert end - start < 256, (self.name, data, result)
                entries[byte] = ERROR | (self.reason(reason) << 8) | (end - start)
        return index

    def four_byte(self):
        """gb18030's 4-byte sequences, b1 0x81-0xFE, b2 0x30-0x39, b3 0x81-0xFE, b4 0x30-0x39, in
        that order; any other third or fourth byte is an error of length 1 (checked below)."""
        values = []
        for b1 in range(0x81, 0xFF):
            for b2 in range(0x30, 0x3A):
                for b3 in range(0x81, 0xFF):
                    for b4 in range(0x30, 0x3A):
                        result = attempt(bytes([b1, b2, b3, b4]), self.name)
                        if result[0] == "ok":
                            text = result[1]
                            values.append(ord(text) if len(text) == 1 else STRING | self.string(text))
                        else:
                            assert result[1:3] == (0, 1), result
                            values.append(ERROR | (self.reason(result[3]) << 8) | 1)
        illegal = ERROR | (self.reason("illegal multibyte sequence") << 8) | 1
        for b1 in (0x81, 0xFE):
            for b2 in (0x30, 0x39):
                for b3 in range(256):
                    for b4 in range(256):
                        if 0x81 <= b3 <= 0xFE and 0x30 <= b4 <= 0x39:
                            continue
                        result = attempt(bytes([b1, b2, b3, b4]), self.name)
                        assert result[0] == "err" and result[1:4] == (0, 1, "illegal multibyte sequence"), result
                assert attempt(bytes([b1, b2, b3]), self.name)[3] == INCOMPLETE
        self.four = values
        return illegal

    def make_up(self):
        """euc_kr's KS X 1001:1998 Annex 3 hangul, A4 D4 A4 x A4 y A4 z: x 0xA1-0xBE, y
        0xBF-0xD3, z 0xD4 or 0xA1-0xBE, in that order; CPython wants all 8 bytes first, and
        any other shape is an error of length 1 (checked below)."""
        values = []
        for x in range(0xA1, 0xBF):
            for y in range(0xBF, 0xD4):
                for z in [0xD4] + list(range(0xA1, 0xBF)):
                    result = attempt(bytes([0xA4, 0xD4, 0xA4, x, 0xA4, y, 0xA4, z]), self.name)
                    if result[0] == "ok":
                        assert len(result[1]) == 1, result
                        values.append(ord(result[1]))
                    else:
                        assert result[1:3] == (0, 1), result
                        values.append(ERROR | (self.reason(result[3]) << 8) | 1)
        head = b"\xa4\xd4\xa4\xa1\xa4\xbf\xa4"
        for length in range(2, 8):
            assert attempt(head[:length], self.name)[1:4] == (0, length, INCOMPLETE)
        for position in (2, 3, 4, 5, 6, 7):
            for byte in range(256):
                data = bytearray(head + b"\xd4")
                data[position] = byte
                shape = (data[2] == data[4] == data[6] == 0xA4 and 0xA1 <= data[3] <= 0xBE
                         and 0xBF <= data[5] <= 0xD3 and (data[7] == 0xD4 or 0xA1 <= data[7] <= 0xBE))
                if not shape:
                    assert attempt(bytes(data), self.name)[1:4] == (0, 1, "illegal multibyte sequence")
        self.four = values


def varint(value, out):
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return


def text(value, out):
    data = value.encode("utf-8", "surrogatepass")
    varint(len(data), out)
    out.extend(data)


def runs(values, out):
    """Runs of code points that count up by one, or of one repeated non-character value; a code
    point is written as the zigzag difference from the one the previous run would continue with."""
    expected = 0
    i = 0
    while i < len(values):
        value = values[i]
        j = i + 1
        if value < 0x110000:
            while j < len(values) and values[j] == value + (j - i):
                j += 1
            delta = value - expected
            varint(j - i, out)
            zigzag = delta << 1 if delta >= 0 else ((-delta) << 1) - 1
            varint(zigzag << 1, out)
            expected = value + (j - i)
        else:
            while j < len(values) and values[j] == value:
                j += 1
            varint(j - i, out)
            varint((value << 1) | 1, out)
        i = j
    varint(0, out)


def tabulate(modules, keep=lambda name, chunk: True):
    """The blob of the tables of `modules` for which `keep(name, serialised table)` holds."""
    chunks = []
    tables = [m for m in modules if m not in NOT_TABULATED]
    for name in tables:
        out = bytearray()
        table = Table(name)
        table.explore(b"")
        if name == "gb18030":
            table.four_byte()
        if name == "euc_kr":
            table.make_up()
        if name not in MULTIBYTE:
            assert len(table.nodes) == 1, name
        text(name, out)
        text(table.error_name or "", out)
        varint(len(table.reasons), out)
        for reason in table.reasons:
            text(reason, out)
        varint(len(table.strings), out)
        for string in table.strings:
            text(string, out)
        varint(len(table.nodes), out)
        runs([v for node in table.nodes for v in node], out)
        varint(1 if table.four else 0, out)
        if table.four:
            runs(table.four, out)
        if keep(name, bytes(out)):
            chunks.append(bytes(out))
        print(f"{name}: {len(table.nodes)} nodes, {len(out)} bytes", file=sys.stderr, flush=True)
    blob = bytearray(b"PYCODECS")
    varint(len(chunks), blob)
    return bytes(blob) + b"".join(chunks), tables


def read_chunks(blob):
    """{module: serialised table} of a blob written by `tabulate`."""
    at = [8]

    def number():
        value, shift = 0, 0
        while True:
            byte = blob[at[0]]
            at[0] += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def skip_text():
        length = number()
        at[0] += length
        return blob[at[0] - length:at[0]].decode()

    def skip_runs():
        while number():
            number()

    chunks = {}
    for _ in range(number()):
        start = at[0]
        name = skip_text()
        skip_text()
        for _ in range(number()):
            skip_text()
        for _ in range(number()):
            skip_text()
        number()
        skip_runs()
        if number():
            skip_runs()
        chunks[name] = blob[start:at[0]]
    return chunks


def main(mode):
    if mode == "overrides":
        # Tables of this target's CPython that differ from the 3.14 ones in codecs.bin.
        with open(TABLES, "rb") as f:
            base = read_chunks(f.read())
        blob, _ = tabulate(source_modules(), lambda name, chunk: base.get(name) != chunk)
        version = "".join(map(str, sys.version_info[:2]))
        path = TABLES.replace("codecs.bin", f"codecs-{version}.bin")
        with open(path, "wb") as f:
            f.write(blob)
        print(f"wrote {path} ({len(blob)} bytes)")
        return 0
    blob, tables = tabulate(source_modules())
    if mode == "write":
        with open(TABLES, "wb") as f:
            f.write(blob)
        print(f"wrote {len(tables)} codec tables ({len(blob)} bytes)")
        return 0
    with open(TABLES, "rb") as f:
        same = f.read() == blob
    print(f"tables {'match' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(ARGS[0] if ARGS else "check"))  # noqa: F821 (ARGS comes from oracle_python.mjs)
