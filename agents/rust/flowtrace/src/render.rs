//! An argument or return value as a short string for a span attribute: strings JSON-quoted,
//! integers as digits, anything else by its `Debug` form; secrets masked; never more than
//! `max_bytes` UTF-8 bytes. A `Debug` value is formatted only as far as the budget (plus the
//! masking margin) reaches, so a huge value costs no more than a small one.

use std::fmt::{self, Debug, Write};

use crate::cards::is_card_integer;
use crate::redact::{is_secret_key, mask_secrets_in_text, MASK};

pub const ELLIPSIS: &str = "…";
/// Characters past the budget that masking still sees, so that a secret cut by the cap is recognised.
pub const MASK_WINDOW_MARGIN: usize = 48;

/// The longest prefix of `s` that fits in `limit` UTF-8 bytes without splitting a character.
pub fn cut_to_bytes(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut end = limit;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The first `n` characters of `s` (all of it when shorter), and whether it was longer.
fn first_chars(s: &str, n: usize) -> (&str, bool) {
    match s.char_indices().nth(n) {
        Some((i, _)) => (&s[..i], true),
        None => (s, false),
    }
}

/// `out` capped at `max_bytes`, ending in `…` when cut (or when `truncated` says it already was).
fn finish(out: &str, max_bytes: usize, truncated: bool) -> String {
    if !truncated && out.len() <= max_bytes {
        return out.to_string();
    }
    let mut s = cut_to_bytes(out, max_bytes.saturating_sub(ELLIPSIS.len())).to_string();
    s.push_str(ELLIPSIS);
    s
}

/// JSON string quoting as the other agents write it (non-ASCII kept as is).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The part of `masked` that comes from the first `shown` characters of `head`: nothing of the
/// margin masking saw is shown, even when a mask shortened the text.
fn without_margin<'a>(head: &str, masked: &'a str, shown: usize) -> &'a str {
    let (visible, longer) = first_chars(head, shown);
    if !longer {
        return masked;
    }
    let margin = &head[visible.len()..];
    if let Some(stripped) = masked.strip_suffix(margin) {
        return stripped;
    }
    let keep = masked.len().saturating_sub(margin.len()).min(masked.rfind(MASK).unwrap_or(0));
    cut_to_bytes(masked, keep)
}

/// Text masked under `key` and capped; `quoted` for a string value, not for free text.
fn text(s: &str, max_bytes: usize, key: &str, quoted: bool) -> String {
    // Characters kept before the final cut in bytes: a character is at least one byte.
    let limit = max_bytes;
    let (head, cut) = first_chars(s, limit + MASK_WINDOW_MARGIN);
    let masked = mask_secrets_in_text(head, key);
    if !cut {
        let out = if quoted { quote(&masked) } else { masked.into_owned() };
        let (kept, longer) = first_chars(&out, limit);
        return finish(kept, max_bytes, longer);
    }
    let visible = without_margin(head, &masked, limit);
    let mut out = if quoted { quote(visible) } else { visible.to_string() };
    if quoted {
        out.pop(); // a cut string has no closing quote
    }
    let (kept, _) = first_chars(&out, limit);
    finish(kept, max_bytes, true)
}

/// A string argument or return value: JSON-quoted, masked, capped.
pub fn render_str(s: &str, max_bytes: usize, key: &str) -> String {
    text(s, max_bytes, key, true)
}

/// Free text (an error's or a panic's message): masked and cut like a string value, not quoted.
pub fn format_text(s: &str, max_bytes: usize) -> String {
    text(s, max_bytes, "", false)
}

/// An integer's decimal digits: a number, never a card, unless its key names a card.
pub fn render_int(digits: &str, max_bytes: usize, key: &str) -> String {
    if is_card_integer(digits, key) {
        return MASK.to_string();
    }
    finish(digits, max_bytes, false)
}

/// Collects at most `limit` characters, then makes the formatter stop.
struct Bounded {
    buf: String,
    chars: usize,
    limit: usize,
    full: bool,
}

impl Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit - self.chars;
        let (part, longer) = first_chars(s, room);
        self.buf.push_str(part);
        self.chars += part.chars().count();
        if longer {
            self.full = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// The end (exclusive) of the `Debug` value starting at `i`: a quoted string, a bracketed group
/// (`Name { … }`, `Some(…)`, `[…]`, with nesting), or a bare token up to `,` or a closing bracket.
fn debug_value_end(b: &[u8], mut i: usize) -> usize {
    if b.get(i) == Some(&b'"') {
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        return b.len();
    }
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' if depth == 0 => return i,
            b'}' | b')' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b',' if depth == 0 => return i,
            b'"' => i = debug_value_end(b, i) - 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// A struct's or a map's secret-named fields masked whole in a `Debug` form: `password: "…"`,
/// `"api_key": "…"`, `card_number: 4111…`, `token: Secret { … }` (the other agents mask
/// secret-named keys of objects and maps the same way).
pub fn mask_debug_fields(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        // A field name: an identifier (or a quoted key) directly followed by `: `.
        let quoted = b[i] == b'"';
        let start = if quoted { i + 1 } else { i };
        let word_start = start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
        let mut j = start;
        while j < b.len()
            && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || (quoted && matches!(b[j], b'-' | b'.' | b' ')))
        {
            j += 1;
        }
        let name_end = j;
        if quoted {
            if b.get(j) != Some(&b'"') {
                i += 1;
                continue;
            }
            j += 1;
        }
        if name_end > start
            && word_start
            && b.get(j) == Some(&b':')
            && b.get(j + 1) == Some(&b' ')
            && b.get(j + 2) != Some(&b':')
        {
            let value_start = j + 2;
            let value_end = debug_value_end(b, value_start);
            if value_end > value_start && is_secret_key(&text[start..name_end]) {
                out.push_str(&text[copied..value_start]);
                out.push_str(if b[value_start] == b'"' { "\"[REDACTED]\"" } else { MASK });
                copied = value_end;
                i = value_end;
                continue;
            }
            i = value_start;
            continue;
        }
        i = if name_end > i { name_end } else { i + 1 };
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Any other `Debug` value: its `{:?}` form, secret-named fields masked, masked as text under
/// `key`, capped.
pub fn render_debug(v: &dyn Debug, max_bytes: usize, key: &str) -> String {
    let mut w = Bounded { buf: String::new(), chars: 0, limit: max_bytes + MASK_WINDOW_MARGIN, full: false };
    // An Err here is either our own stop or a Debug impl failing: both leave what was written.
    let _ = write!(w, "{v:?}");
    if w.full {
        // One more character than the window, so that `text` knows it was cut.
        w.buf.push(' ');
    }
    let fields_masked = mask_debug_fields(&w.buf);
    text(&fields_masked, max_bytes, key, false)
}
