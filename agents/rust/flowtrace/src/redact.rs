//! Secrets are masked in the agent, before anything leaves the process: by the name they are
//! bound to (a parameter or a key) and by what they look like. The patterns are the Node.js and
//! Python agents'; all pass `agents/conformance/masking/secrets.json`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::cards::mask_cards;

pub const MASK: &str = "[REDACTED]";

/// Compared against the key lower-cased with separators removed, so that `cardNumber`,
/// `card_number` and `CARD-NUMBER` are the same word.
static SECRET_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"passw(or)?d|passphrase|^pwd$|secret|token|authori[sz]ation|^auth$|apikey|accesskey|privatekey|credential|cookie",
        r"|sessionid|cardnumber|creditcard|^cardno$|^card$|^pan$|cvv|cvc|^ssn$|^pin$|signature"
    ))
    .expect("secret key pattern")
});

pub fn is_secret_key(key: &str) -> bool {
    let squeezed: String = key
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.') && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEY.is_match(&squeezed)
}

static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(Bearer|Basic|Digest)[ \t\n\r\x0B\x0C]+[A-Za-z0-9._~+/=-]{8,}").expect("bearer")
});
/// Only where a base64url run starts: the character before is checked in code (no look-behind).
static JWT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*").expect("jwt"));
static AWS_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)").expect("aws"));
static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|\z)").expect("private key")
});
/// `password=hunter2`, `"token": "abc"`, `api_key: abc` inside free text or query strings; the
/// name's tail is bounded so that no input makes the match costly.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)((?:passw(?:or)?d|secret|token|api[-_]?key|access[-_]?key|authorization|session[-_]?id)[A-Za-z0-9_-]{0,64})"#,
        r#"(["']?[ \t\n\r\x0B\x0C]*[=:][ \t\n\r\x0B\x0C]*["']?)((?:Bearer|Basic|Digest)[ \t\n\r\x0B\x0C]+)?([^ \t\n\r\x0B\x0C"'&,;}]+)"#
    ))
    .expect("key value")
});
/// Cheap screen: most strings have none of these features and skip all the patterns.
static MAYBE_SECRET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)[0-9]{4}|bearer|basic|digest|eyJ|AKIA|ASIA|PRIVATE KEY|[=:]").expect("screen"));

fn mask_jwts(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0usize;
    let mut at = 0usize;
    while let Some(m) = JWT.find_at(text, at) {
        let glued = m.start() > 0 && {
            let b = bytes[m.start() - 1];
            b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
        };
        if glued {
            at = m.start() + 1;
            continue;
        }
        out.push_str(&text[copied..m.start()]);
        out.push_str(MASK);
        copied = m.end();
        at = m.end().max(m.start() + 1);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The parts of free text that look like credentials or card numbers, masked. `key` is the name
/// the text is bound to (`""` when none): no card is looked for under a key that names an ID.
pub fn mask_secrets_in_text<'a>(text: &'a str, key: &str) -> Cow<'a, str> {
    if !MAYBE_SECRET.is_match(text) {
        return Cow::Borrowed(text);
    }
    let out = PRIVATE_KEY.replace_all(text, MASK);
    let out = mask_jwts(&out).into_owned();
    let out = AWS_KEY.replace_all(&out, MASK);
    let out = KEY_VALUE.replace_all(&out, |c: &Captures<'_>| format!("{}{}{}", &c[1], &c[2], MASK));
    let out = BEARER
        .replace_all(&out, |c: &Captures<'_>| {
            let whole = &c[0];
            if whole.ends_with(MASK) {
                whole.to_string()
            } else {
                format!("{} {}", &c[1], MASK)
            }
        })
        .into_owned();
    match mask_cards(&out, key, MASK) {
        Some(masked) => Cow::Owned(masked),
        None if out == text => Cow::Borrowed(text),
        None => Cow::Owned(out),
    }
}
