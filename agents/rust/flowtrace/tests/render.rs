//! Rendering of Rust values the shared cases do not cover: `Debug` forms with secret-named
//! fields and keys, integers under card-named keys, the cap on a huge `Debug` value.

use std::collections::BTreeMap;

use flowtrace::render::{render_debug, render_int, render_str};

#[allow(dead_code)]
#[derive(Debug)]
struct Login {
    user: String,
    password: String,
    card_number: u64,
    session: Session,
    pin: Option<u16>,
    attempts: u32,
}

#[allow(dead_code)]
#[derive(Debug)]
struct Session {
    token: Inner,
    author: &'static str,
}

#[allow(dead_code)]
#[derive(Debug)]
struct Inner {
    raw: &'static str,
}

#[test]
fn secret_named_fields_and_keys_are_masked_whole() {
    let v = Login {
        user: "ann".into(),
        password: "hunter2, \"quoted\"".into(),
        card_number: 4111111111111111,
        session: Session { token: Inner { raw: "abc123" }, author: "bob" },
        pin: Some(1234),
        attempts: 3,
    };
    assert_eq!(
        render_debug(&v, 512, "login"),
        r#"Login { user: "ann", password: "[REDACTED]", card_number: [REDACTED], session: Session { token: [REDACTED], author: "bob" }, pin: [REDACTED], attempts: 3 }"#
    );
    let mut m = BTreeMap::new();
    m.insert("api_key", "k-1");
    m.insert("orderId", "4111111111111111");
    m.insert("note", "card 4111 1111 1111 1111");
    assert_eq!(
        render_debug(&m, 512, ""),
        r#"{"api_key": "[REDACTED]", "note": "card [REDACTED]", "orderId": "4111111111111111"}"#
    );
}

#[test]
fn integers_strings_and_caps() {
    assert_eq!(render_int("4111111111111111", 512, "amount"), "4111111111111111");
    assert_eq!(render_int("4111111111111111", 512, "cc"), "[REDACTED]");
    assert_eq!(render_str("naïve", 512, ""), "\"naïve\"");
    let big: Vec<u32> = (0..1_000_000).collect();
    let out = render_debug(&big, 32, "");
    assert!(out.len() <= 32 && out.ends_with('…'), "{out}");
    assert!(out.starts_with("[0, 1, 2"));
}
