//! The shared cases every FlowTrace agent passes, loaded from `agents/conformance/` at test time
//! (no copy): card and secret masking, string rendering, exception messages, correlation IDs.

use std::collections::HashMap;
use std::path::PathBuf;

use flowtrace::correlation::{accept_correlation_id, correlation_from_headers, extract, CORRELATION_KEY};
use flowtrace::redact::{is_secret_key, mask_secrets_in_text, MASK};
use flowtrace::render::{render_int, render_str};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::{Context, KeyValue};
use serde_json::Value;

fn load(rel: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance").join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// The agent's output for one value, with its mask written as the data file writes it.
fn mask(key: &str, ty: &str, value: &str, file_mask: &str) -> String {
    if ty == "string" {
        return mask_secrets_in_text(value, key).replace(MASK, file_mask);
    }
    // An integer argument as the macro renders it (digits, never a card unless its key names one).
    let out = render_int(value, 512, key);
    if out == value {
        return out;
    }
    assert_eq!(out, MASK);
    file_mask.to_string()
}

#[test]
fn cards_positives_and_negatives() {
    let d = load("masking/cards.json");
    let m = s(&d["mask"]);
    let mut n = 0;
    for c in d["positives"].as_array().unwrap() {
        assert_eq!(mask(s(&c["key"]), s(&c["type"]), s(&c["value"]), m), s(&c["expected"]), "positive {c}");
        n += 1;
    }
    for c in d["negatives"].as_array().unwrap() {
        assert_eq!(mask(s(&c["key"]), s(&c["type"]), s(&c["value"]), m), s(&c["value"]), "negative {c}");
        n += 1;
    }
    assert!(n > 50, "{n} cases");
}

fn mulberry32(seed: u32) -> impl FnMut() -> f64 {
    let mut a = seed;
    move || {
        a = a.wrapping_add(0x6D2B79F5);
        let mut t = a;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        f64::from(t ^ (t >> 14)) / 4294967296.0
    }
}

fn random_ids(shape: &Value, count: usize) -> Vec<String> {
    let mut next = mulberry32(shape["seed"].as_u64().unwrap() as u32);
    (0..count)
        .map(|_| match s(&shape["generator"]) {
            "uint64" => {
                let hi = (next() * 4294967296.0) as u64;
                let lo = (next() * 4294967296.0) as u64;
                (hi * 4294967296 + lo).to_string()
            }
            g => {
                let n = if g == "digits19" { 19 } else { 16 };
                let mut out = (1 + (next() * 9.0) as u32).to_string();
                for _ in 1..n {
                    out.push_str(&((next() * 10.0) as u32).to_string());
                }
                out
            }
        })
        .collect()
}

#[test]
fn cards_random_id_false_positive_rates() {
    let d = load("masking/cards.json");
    let count = d["count_per_random_shape"].as_u64().unwrap() as usize;
    for shape in d["random"].as_array().unwrap() {
        let first: Vec<String> = shape["first"].as_array().unwrap().iter().map(|v| s(v).to_string()).collect();
        assert_eq!(random_ids(shape, 3), first, "{}", shape["shape"]);
        let mut masked = 0;
        for id in random_ids(shape, count) {
            let value = match shape.get("template") {
                Some(t) => s(t).replace("{ID}", &id),
                None => id,
            };
            if mask(s(&shape["key"]), s(&shape["type"]), &value, "{MASK}") != value {
                masked += 1;
            }
        }
        let rate = masked as f64 / count as f64;
        assert!(rate <= shape["max_rate"].as_f64().unwrap(), "{}: {rate}", shape["shape"]);
    }
}

#[test]
fn secret_keys_and_text() {
    let d = load("masking/secrets.json");
    for k in d["secret_keys"].as_array().unwrap() {
        assert!(is_secret_key(s(k)), "secret key {k}");
    }
    for k in d["plain_keys"].as_array().unwrap() {
        assert!(!is_secret_key(s(k)), "plain key {k}");
    }
    for c in d["text"].as_array().unwrap() {
        let got = mask_secrets_in_text(s(&c["value"]), s(&c["key"])).replace(MASK, s(&d["mask"]));
        assert_eq!(got, s(&c["expected"]), "text {c}");
    }
}

#[test]
fn string_rendering() {
    let d = load("rendering/strings.json");
    for c in d["strings"].as_array().unwrap() {
        let got =
            render_str(s(&c["value"]), c["max_bytes"].as_u64().unwrap() as usize, "").replace(MASK, s(&d["mask"]));
        assert_eq!(got, s(&c["expected"]), "string {c}");
        assert!(got.len() <= c["max_bytes"].as_u64().unwrap() as usize + 16);
    }
}

#[test]
fn exception_messages() {
    let d = load("rendering/exceptions.json");
    for c in d["messages"].as_array().unwrap() {
        let (message, stack) = flowtrace::__private::exception_text(
            "shop::PayError",
            s(&c["message"]),
            &[],
            c["max_bytes"].as_u64().unwrap() as usize,
        );
        assert_eq!(message.replace(MASK, s(&d["mask"])), s(&c["expected"]), "message {c}");
        let first = stack.lines().next().unwrap().replace(MASK, s(&d["mask"]));
        assert_eq!(first, format!("shop::PayError: {}", s(&c["expected"])));
    }
}

fn extracted(headers: &[(&str, &str)]) -> String {
    let carrier: HashMap<String, String> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let (cx, id) = extract(&carrier);
    assert_eq!(cx.baggage().get(CORRELATION_KEY).map(|v| v.as_str().to_string()), Some(id.clone()));
    id
}

fn is_uuid4(v: &str) -> bool {
    uuid::Uuid::parse_str(v).is_ok_and(|u| u.get_version_num() == 4 && u.to_string() == v)
}

#[test]
fn correlation_ids() {
    let d = load("correlation/ids.json");
    for id in d["accepted"].as_array().unwrap() {
        assert_eq!(extracted(&[("x-request-id", s(id))]), s(id));
        assert_eq!(extracted(&[("x-correlation-id", s(id))]), s(id));
        assert_eq!(accept_correlation_id(s(id)), Some(s(id)));
    }
    for c in d["trimmed"].as_array().unwrap() {
        assert_eq!(extracted(&[("x-request-id", s(&c["value"]))]), s(&c["id"]));
    }
    for id in d["refused"].as_array().unwrap() {
        for header in ["x-request-id", "x-correlation-id"] {
            let got = extracted(&[(header, s(id))]);
            assert!(got != s(id) && is_uuid4(&got), "{header}: {id} gave {got}");
        }
        // Nor from baggage.
        let cx = Context::new().with_baggage([KeyValue::new(CORRELATION_KEY, s(id).to_string())]);
        let got = correlation_from_headers(&HashMap::<String, String>::new(), &cx);
        assert!(got != s(id) && is_uuid4(&got));
    }
    // x-request-id first, then x-correlation-id, then baggage.
    assert_eq!(extracted(&[("x-request-id", "a1"), ("x-correlation-id", "b2")]), "a1");
    assert_eq!(extracted(&[("x-request-id", "bad id"), ("x-correlation-id", "b2")]), "b2");
    assert_eq!(extracted(&[("baggage", "flowtrace.correlation_id=c3")]), "c3");
}
