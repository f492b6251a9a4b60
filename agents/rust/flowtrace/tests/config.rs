//! Settings: the same names, defaults and invalid-setting behaviour as the other agents.

use flowtrace::config::{load, startup_line, traces, Loaded, Protocol};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let owned: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k: &str| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

fn on(pairs: &[(&str, &str)]) -> flowtrace::config::Config {
    match load(&env(pairs)) {
        Loaded::On(c) => c,
        other => panic!("expected a config, got {other:?}"),
    }
}

#[test]
fn defaults() {
    let c = on(&[("OTEL_SERVICE_NAME", "orders")]);
    assert_eq!(c.protocol, Protocol::Grpc);
    assert_eq!(c.endpoint, "http://localhost:4317");
    assert!(!c.capture_args && !c.capture_return);
    assert_eq!(c.max_value_bytes, 512);
    assert_eq!(
        startup_line(&c),
        "agent on for orders: tracing the workspace's own modules; OTLP grpc to http://localhost:4317"
    );
    let h = on(&[("OTEL_SERVICE_NAME", "orders"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
    assert_eq!(h.endpoint, "http://localhost:4318/v1/traces");
    let t = on(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
    assert_eq!(t.endpoint, "http://c:4318/v1/traces");
    let s =
        on(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:9/x"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
    assert_eq!(s.endpoint, "http://c:9/x");
    assert!(matches!(load(&env(&[("OTEL_SDK_DISABLED", "true")])), Loaded::Disabled));
}

#[test]
fn every_bad_setting_is_named() {
    let Loaded::Invalid(problems) = load(&env(&[
        ("FLOWTRACE_CAPTURE_ARGS", "maybe"),
        ("FLOWTRACE_MAX_VALUE_BYTES", "8"),
        ("FLOWTRACE_INCLUDE", "/(unclosed/"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("FLOWTRACE_TYPO", "x"),
    ])) else {
        panic!("expected problems")
    };
    let all = problems.join("; ");
    assert_eq!(problems.len(), 4, "{all}");
    for name in
        ["FLOWTRACE_CAPTURE_ARGS", "FLOWTRACE_MAX_VALUE_BYTES", "FLOWTRACE_INCLUDE", "OTEL_EXPORTER_OTLP_PROTOCOL"]
    {
        assert!(all.contains(name), "{name} in {all}");
    }
    // init_from says it in one line and leaves the application running untraced.
    let guard = flowtrace::init_from(&env(&[("FLOWTRACE_MAX_VALUE_BYTES", "lots")]));
    assert!(!guard.is_on());
}

#[test]
fn filters() {
    let c = on(&[
        ("FLOWTRACE_INCLUDE", "shop, /^billing::.*::charge$/i, crates/core/"),
        ("FLOWTRACE_EXCLUDE", "shop::admin"),
        ("FLOWTRACE_CAPTURE_ARGS", "yes"),
        ("FLOWTRACE_MAX_VALUE_BYTES", "64"),
    ]);
    assert!(traces(&c, "shop::cart::Cart::add", "src/cart.rs"));
    assert!(traces(&c, "shop", "src/main.rs"));
    assert!(!traces(&c, "shopping::x", "src/x.rs"), "prefixes stop at a :: boundary");
    assert!(!traces(&c, "shop::admin::reset", "src/admin.rs"));
    assert!(traces(&c, "Billing::card::CHARGE", "/abs/x.rs"));
    assert!(traces(&c, "core::thing", "crates/core/src/lib.rs"));
    assert!(!traces(&c, "other::thing", "src/other.rs"));
    assert_eq!(
        startup_line(&c),
        format!(
            "agent on for {}: tracing modules matching shop, /^billing::.*::charge$/i, crates/core/ except shop::admin, capturing arguments (64 bytes max); OTLP grpc to http://localhost:4317",
            c.service_name
        )
    );
    // No include list: the workspace's own code (relative source paths), never a registry crate.
    let d = on(&[]);
    assert!(traces(&d, "shop::a", "src/a.rs"));
    assert!(!traces(&d, "serde::x", "/root/.cargo/registry/src/index/serde-1/src/x.rs"));
    assert!(!traces(&d, "flowtrace::x", "flowtrace/src/x.rs"));
}
