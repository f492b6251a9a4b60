//! Payment card numbers, told from numeric IDs by the issuers' ranges and lengths, the Luhn check
//! digit and what the key says. The same rules as the collector and the Node.js, Java and Python
//! agents; all pass `agents/conformance/masking/cards.json`.

const L13_19: &[usize] = &[13, 14, 15, 16, 17, 18, 19];
const L14_19: &[usize] = &[14, 15, 16, 17, 18, 19];
const L16_19: &[usize] = &[16, 17, 18, 19];

/// IIN ranges published by the networks (ISO/IEC 7812), longest prefixes first so that where
/// ranges overlap the most specific one names the issuer. Left out on purpose: UATP (prefix 1,
/// where timestamps live), GPN's broad blocks and 12-digit Maestro.
const RANGES: &[(&str, &str, &str, &[usize])] = &[
    ("discover", "622126", "622925", L16_19),
    ("verve", "506099", "506198", &[16, 18, 19]),
    ("verve", "507865", "507964", &[16, 18, 19]),
    ("verve", "650002", "650027", &[16, 18, 19]),
    ("mastercard", "2221", "2720", &[16]),
    ("discover", "6011", "6011", L16_19),
    ("diners", "3095", "3095", L14_19),
    ("jcb", "3528", "3589", L16_19),
    ("unionpay", "8100", "8171", L16_19),
    ("maestro", "5018", "5018", L13_19),
    ("maestro", "5020", "5020", L13_19),
    ("maestro", "5038", "5038", L13_19),
    ("maestro", "5893", "5893", L13_19),
    ("maestro", "6304", "6304", L13_19),
    ("maestro", "6759", "6759", L13_19),
    ("maestro", "6761", "6763", L13_19),
    ("mir", "2200", "2204", L16_19),
    ("borica", "2205", "2205", &[16]),
    ("elo", "5041", "5041", &[16]),
    ("elo", "5066", "5067", &[16]),
    ("elo", "6277", "6277", &[16]),
    ("elo", "6362", "6363", &[16]),
    ("dankort", "5019", "5019", &[16]),
    ("troy", "9792", "9792", &[16]),
    ("uzcard", "8600", "8600", &[16]),
    ("uzcard", "5614", "5614", &[16]),
    ("humo", "9860", "9860", &[16]),
    ("discover", "644", "649", L16_19),
    ("diners", "300", "305", L14_19),
    ("rupay", "508", "508", &[16]),
    ("elo", "509", "509", &[16]),
    ("interpayment", "636", "636", L16_19),
    ("instapayment", "637", "639", &[16]),
    ("mastercard", "51", "55", &[16]),
    ("amex", "34", "34", &[15]),
    ("amex", "37", "37", &[15]),
    ("discover", "65", "65", L16_19),
    ("diners", "36", "36", L14_19),
    ("diners", "38", "39", L14_19),
    ("unionpay", "62", "62", L16_19),
    ("rupay", "60", "60", &[16]),
    ("rupay", "81", "82", &[16]),
    ("visa", "4", "4", &[13, 16, 19]),
];

pub const MIN_DIGITS: usize = 13;
pub const MAX_DIGITS: usize = 19;

/// The network whose range and length `digits` (ASCII digits only) fit, or None.
pub fn card_issuer(digits: &str) -> Option<&'static str> {
    let n = digits.len();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&n) {
        return None;
    }
    for (issuer, lo, hi, lengths) in RANGES {
        if !lengths.contains(&n) {
            continue;
        }
        let prefix = &digits[..lo.len()];
        // Same width on both sides: comparing the digit strings compares the numbers.
        if *lo <= prefix && prefix <= *hi {
            return Some(issuer);
        }
    }
    None
}

pub fn luhn_valid(digits: &str) -> bool {
    let mut total = 0u32;
    let mut double = false;
    for b in digits.bytes().rev() {
        let mut d = u32::from(b - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        total += d;
        double = !double;
    }
    total.is_multiple_of(10)
}

pub fn is_card_number(digits: &str) -> bool {
    // Luhn first: it turns away 9 numbers in 10.
    luhn_valid(digits) && card_issuer(digits).is_some()
}

const CARD_WORDS: &[&str] = &[
    "card",
    "cards",
    "pan",
    "cc",
    "ccn",
    "ccnum",
    "ccnumber",
    "cardnum",
    "cardnumber",
    "cardno",
    "credit",
    "creditcard",
    "debitcard",
];
const ID_WORDS: &[&str] = &[
    "id",
    "ids",
    "uid",
    "uuid",
    "guid",
    "ulid",
    "traceid",
    "spanid",
    "requestid",
    "orderid",
    "userid",
    "customerid",
    "accountid",
    "transactionid",
    "txid",
    "txnid",
    "messageid",
    "eventid",
    "objectid",
    "entityid",
    "itemid",
    "productid",
    "paymentid",
    "invoiceid",
];

/// `app.orderID` -> `["app", "order", "id"]`: split at non-alphanumerics and at a lower-case letter
/// or digit followed by an upper-case one.
fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase()
                && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                && !cur.is_empty()
            {
                words.push(std::mem::take(&mut cur));
            }
            cur.push(c.to_ascii_lowercase());
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev = Some(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

pub fn key_names_card(key: &str) -> bool {
    key_words(key).iter().any(|w| CARD_WORDS.contains(&w.as_str()))
}

pub fn key_names_id(key: &str) -> bool {
    key_words(key).last().is_some_and(|w| ID_WORDS.contains(&w.as_str()))
}

fn id_only(key: &str) -> bool {
    !key.is_empty() && !key_names_card(key) && key_names_id(key)
}

/// An integer is a card number only under a key that names a card.
pub fn is_card_integer(value: &str, key: &str) -> bool {
    key_names_card(key) && !value.starts_with('-') && is_card_number(value)
}

fn is_digit(text: &[u8], i: isize) -> bool {
    i >= 0 && (i as usize) < text.len() && text[i as usize].is_ascii_digit()
}

fn is_word_or_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Where a run of digit groups starts: a digit not glued to a word, a dash or a decimal point before it.
fn is_number_start(text: &[u8], i: usize) -> bool {
    if !text[i].is_ascii_digit() {
        return false;
    }
    if i > 0 && is_word_or_dash(text[i - 1]) {
        return false;
    }
    !(i >= 2 && text[i - 1] == b'.' && text[i - 2].is_ascii_digit())
}

fn groups_end(text: &[u8], start: usize) -> usize {
    let mut i = start;
    let n = text.len();
    loop {
        while i < n && text[i].is_ascii_digit() {
            i += 1;
        }
        if i >= n || (text[i] != b' ' && text[i] != b'-') || !is_digit(text, i as isize + 1) {
            return i;
        }
        i += 1;
    }
}

fn run_end(text: &[u8], start: usize, mut end: usize) -> Option<usize> {
    loop {
        let glued = match text.get(end) {
            None => false,
            Some(&b) => is_word_or_dash(b) || (b == b'.' && is_digit(text, end as isize + 1)),
        };
        if !glued {
            return Some(end);
        }
        end = text[..end].iter().rposition(|&b| b == b' ')?;
        if end <= start {
            return None;
        }
    }
}

fn cards_in(run: &str) -> Vec<(usize, usize)> {
    let bytes = run.as_bytes();
    let groups: Vec<&str> = run.split([' ', '-']).collect();
    let mut found = Vec::new();
    let mut pos = 0usize;
    let mut i = 0usize;
    while i < groups.len() {
        let first = groups[i];
        let mut end: Option<usize> = None;
        let mut next = i + 1;
        if (MIN_DIGITS..=MAX_DIGITS).contains(&first.len()) {
            if is_card_number(first) {
                end = Some(pos + first.len());
            }
        } else if first.len() == 4 {
            // Grow group by group with one kind of separator; keep the longest card number.
            let sep = bytes.get(pos + 4).copied();
            let mut digits = first.to_string();
            let mut at = pos + 4;
            let mut j = i + 1;
            while j < groups.len() && digits.len() < MAX_DIGITS {
                let g = groups[j];
                if bytes.get(at).copied() != sep || g.len() < 3 || g.len() > 6 || digits.len() + g.len() > MAX_DIGITS {
                    break;
                }
                digits.push_str(g);
                at += 1 + g.len();
                if digits.len() >= MIN_DIGITS && is_card_number(&digits) {
                    end = Some(at);
                    next = j + 1;
                }
                j += 1;
            }
        }
        if let Some(e) = end {
            found.push((pos, e));
        }
        while i < next {
            pos += groups[i].len() + 1;
            i += 1;
        }
    }
    found
}

/// The field name written just before `at`, as in `"orderId": "…"` or `order_id=…`.
fn field_name_before(text: &[u8], at: usize) -> &str {
    let ch = |k: isize| -> u8 {
        if k >= 0 && (k as usize) < text.len() {
            text[k as usize]
        } else {
            0
        }
    };
    let mut i = at as isize - 1;
    if ch(i) == b'"' || ch(i) == b'\'' {
        i -= 1;
    }
    let mut n = 0;
    while n < 4 && ch(i) == b' ' {
        i -= 1;
        n += 1;
    }
    if ch(i) != b':' && ch(i) != b'=' {
        return "";
    }
    i -= 1;
    n = 0;
    while n < 4 && ch(i) == b' ' {
        i -= 1;
        n += 1;
    }
    if ch(i) == b'"' || ch(i) == b'\'' {
        i -= 1;
    }
    let end = i + 1;
    while i >= 0 && end - i <= 64 && {
        let b = ch(i);
        b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-'
    } {
        i -= 1;
    }
    std::str::from_utf8(&text[(i + 1) as usize..end as usize]).unwrap_or("")
}

/// `text` with each card number replaced by `mask` (see agents/conformance/README.md).
pub fn mask_cards(text: &str, key: &str, mask: &str) -> Option<String> {
    if id_only(key) {
        return None;
    }
    let named = !key.is_empty() && key_names_card(key);
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied_text = 0usize;
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(offset) = (pos..bytes.len()).find(|&i| is_number_start(bytes, i)) else { break };
        let end = groups_end(bytes, offset);
        pos = end.max(offset + 1);
        let Some(stop) = run_end(bytes, offset, end) else { continue };
        // The run is ASCII digits and separators: byte offsets are char boundaries.
        let run = &text[offset..stop];
        let mut masked = String::new();
        let mut copied = 0usize;
        for (start, card_end) in cards_in(run) {
            if !named && id_only(field_name_before(bytes, offset + start)) {
                continue;
            }
            masked.push_str(&run[copied..start]);
            masked.push_str(mask);
            copied = card_end;
        }
        if copied == 0 {
            continue;
        }
        out.push_str(&text[copied_text..offset]);
        out.push_str(&masked);
        out.push_str(&run[copied..]);
        copied_text = stop;
    }
    if copied_text == 0 {
        return None;
    }
    out.push_str(&text[copied_text..]);
    Some(out)
}
