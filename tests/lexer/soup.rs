//! Token soup: short random sources glued from the pieces the tokenizer treats specially
//! (string prefixes and quotes, braces, format specs, backslashes, `\N{`, tabs, form feeds,
//! carriage returns, non-ASCII and invisible characters, indentation). Valid or not, CPython's
//! tokenizer and ours must agree on every one; drawn from the mutation suite's seeded PRNG.

use super::generator::Rng;

const PIECES: &[&str] = &[
    "f'", "t\"", "'''", "\"", "'", "{", "}", "(", ")", "[", "]", ":", "!", "=", "\n", " ", "\t",
    "\x0c", "\\", "#", "x", "1", "0", "_", ".", "e", "j", "0x", "0o", "0b", "€", "\u{200b}", "rb",
    "u", "N", "\\N{", "\r", "\r\n", "if x:\n", "    ", "async", "r", "b", "f\"\"\"", "t'", "rf'",
    "{x}", "{x:", "{x!r}", "é", "\n  ", "\n\t",
];

/// `count` sources from `seed`.
pub fn sources(seed: u64, count: usize) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0x005e_ed0f_500b);
    (0..count)
        .map(|_| {
            let pieces = 1 + rng.below(40);
            (0..pieces).map(|_| *rng.pick(PIECES)).collect()
        })
        .collect()
}
