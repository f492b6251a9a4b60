//! The agent's settings, read from the environment: the same `FLOWTRACE_*` names, defaults and
//! meanings as the other agents (`agents/conformance/README.md`) and the standard `OTEL_*` ones.
//! Every bad value is collected (named with its variable), so that start-up can say them all in
//! one line and run the application untraced.

use regex::Regex;

pub const DEFAULT_MAX_VALUE_BYTES: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// One entry of `FLOWTRACE_INCLUDE` / `FLOWTRACE_EXCLUDE`.
#[derive(Debug, Clone)]
pub enum FilterEntry {
    /// `shop`, `shop::orders`, `shop::cart::Cart`: a prefix of the function's path, at a `::` boundary.
    Path(String),
    /// `src/`, `crates/core/`: a prefix of the source file as the compiler names it.
    File(String),
    /// `/regex/flags` (flags among `imsx`), searched in the function's path (`shop::cart::Cart::add`).
    Regex(Regex),
}

impl FilterEntry {
    pub fn matches(&self, function: &str, file: &str) -> bool {
        match self {
            FilterEntry::Path(p) => {
                function.starts_with(p.as_str()) && (function.len() == p.len() || function[p.len()..].starts_with("::"))
            }
            FilterEntry::File(p) => file.starts_with(p.as_str()),
            FilterEntry::Regex(r) => r.is_match(function),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub service_name: String,
    pub protocol: Protocol,
    /// Where spans go: the traces URL for HTTP, the endpoint for gRPC.
    pub endpoint: String,
    pub include: Vec<FilterEntry>,
    pub exclude: Vec<FilterEntry>,
    pub include_text: String,
    pub exclude_text: String,
    pub capture_args: bool,
    pub capture_return: bool,
    pub max_value_bytes: usize,
    /// `FLOWTRACE_LOG_CORRELATION`.
    pub log_mode: crate::logs::LogMode,
    /// `OTEL_LOGS_EXPORTER=otlp` (the default): `tracing` events exported as OTLP log records.
    pub logs_export: bool,
    /// Where log records go: the logs URL for HTTP, the endpoint for gRPC.
    pub logs_endpoint: String,
    /// Refused values of settings whose default then applies (each said in one line at start).
    pub warnings: Vec<String>,
}

/// What reading the environment gave.
#[derive(Debug)]
pub enum Loaded {
    On(Config),
    /// `OTEL_SDK_DISABLED=true`: off, silently.
    Disabled,
    /// One or more bad settings, each named.
    Invalid(Vec<String>),
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn parse_bool(name: &str, raw: Option<String>, problems: &mut Vec<String>) -> bool {
    let Some(raw) = non_empty(raw) else { return false };
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => true,
        "false" | "0" | "no" | "off" => false,
        _ => {
            problems.push(format!("{name} must be true or false (got \"{raw}\")"));
            false
        }
    }
}

/// Comma-separated entries: `/regex/flags`, file prefixes (with a `/`), or path prefixes.
pub fn parse_filter(raw: &str, setting: &str, problems: &mut Vec<String>) -> Vec<FilterEntry> {
    let mut out = Vec::new();
    for item in raw.split(',') {
        let text = item.trim();
        if text.is_empty() {
            continue;
        }
        let regex_form = text.len() > 2 && text.starts_with('/') && {
            let last = text.rfind('/').unwrap_or(0);
            last > 1 && text[last + 1..].chars().all(|c| "imsx".contains(c))
        };
        if regex_form {
            let last = text.rfind('/').unwrap_or(0);
            let flags = &text[last + 1..];
            let body = &text[1..last];
            let pattern = if flags.is_empty() { body.to_string() } else { format!("(?{flags}){body}") };
            match Regex::new(&pattern) {
                Ok(r) => out.push(FilterEntry::Regex(r)),
                Err(e) => problems.push(format!(
                    "{setting}: invalid regular expression {text} ({})",
                    e.to_string().lines().last().unwrap_or("").trim()
                )),
            }
        } else if text.contains('/') {
            out.push(FilterEntry::File(text.trim_start_matches("./").to_string()))
        } else if text.split("::").all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_alphanumeric() || c == '_')) {
            out.push(FilterEntry::Path(text.to_string()))
        } else {
            problems.push(format!(
                "{setting}: \"{text}\" is neither a module path (shop::orders), a file prefix (src/) nor a /regex/"
            ));
        }
    }
    out
}

/// `service.name` of `OTEL_RESOURCE_ATTRIBUTES` (`key=value,…`, values percent-encoded): the resource
/// the SDK builds has it, but the agent's own service name would override it.
fn resource_service_name(raw: &str) -> Option<String> {
    let value = raw.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == "service.name").then(|| v.trim())
    })?;
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned()).filter(|s| !s.is_empty())
}

fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown_service".to_string())
}

fn check_endpoint(name: &str, raw: &str, problems: &mut Vec<String>) -> String {
    let ok = (raw.starts_with("http://") || raw.starts_with("https://")) && raw.len() > "https://".len() - 1;
    if !ok {
        problems.push(format!("{name} must be an http:// or https:// URL (got \"{raw}\")"));
    }
    raw.to_string()
}

/// The settings from `get` (the process environment in production, a map in tests).
pub fn load(get: &dyn Fn(&str) -> Option<String>) -> Loaded {
    if non_empty(get("OTEL_SDK_DISABLED")).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Loaded::Disabled;
    }
    let mut problems = Vec::new();
    let protocol_raw = non_empty(get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
        .or_else(|| non_empty(get("OTEL_EXPORTER_OTLP_PROTOCOL")))
        .unwrap_or_else(|| "grpc".to_string());
    let protocol = match protocol_raw.as_str() {
        "grpc" => Protocol::Grpc,
        "http/protobuf" => Protocol::HttpProtobuf,
        other => {
            problems.push(format!("OTEL_EXPORTER_OTLP_PROTOCOL must be one of grpc, http/protobuf (got \"{other}\")"));
            Protocol::Grpc
        }
    };
    let endpoint = if let Some(signal) = non_empty(get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
        check_endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &signal, &mut problems)
    } else {
        let base = non_empty(get("OTEL_EXPORTER_OTLP_ENDPOINT")).unwrap_or_else(|| {
            (if protocol == Protocol::Grpc { "http://localhost:4317" } else { "http://localhost:4318" }).to_string()
        });
        let base = check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", &base, &mut problems);
        match protocol {
            Protocol::Grpc => base,
            Protocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
        }
    };
    let logs_endpoint = if let Some(signal) = non_empty(get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")) {
        check_endpoint("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", &signal, &mut problems)
    } else {
        let base = non_empty(get("OTEL_EXPORTER_OTLP_ENDPOINT")).unwrap_or_else(|| {
            (if protocol == Protocol::Grpc { "http://localhost:4317" } else { "http://localhost:4318" }).to_string()
        });
        match protocol {
            Protocol::Grpc => base,
            Protocol::HttpProtobuf => format!("{}/v1/logs", base.trim_end_matches('/')),
        }
    };
    let mut warnings = Vec::new();
    let (log_mode, warning) = crate::logs::parse_log_mode(get("FLOWTRACE_LOG_CORRELATION").as_deref());
    warnings.extend(warning);
    let (logs_export, warning) = crate::logs::parse_logs_exporter(get("OTEL_LOGS_EXPORTER").as_deref());
    warnings.extend(warning);
    let include_text = non_empty(get("FLOWTRACE_INCLUDE")).unwrap_or_default();
    let exclude_text = non_empty(get("FLOWTRACE_EXCLUDE")).unwrap_or_default();
    let include = parse_filter(&include_text, "FLOWTRACE_INCLUDE", &mut problems);
    let exclude = parse_filter(&exclude_text, "FLOWTRACE_EXCLUDE", &mut problems);
    let capture_args = parse_bool("FLOWTRACE_CAPTURE_ARGS", get("FLOWTRACE_CAPTURE_ARGS"), &mut problems);
    let capture_return = parse_bool("FLOWTRACE_CAPTURE_RETURN", get("FLOWTRACE_CAPTURE_RETURN"), &mut problems);
    let max_value_bytes = match non_empty(get("FLOWTRACE_MAX_VALUE_BYTES")) {
        None => DEFAULT_MAX_VALUE_BYTES,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (16..=1_048_576).contains(&n) => n,
            _ => {
                problems
                    .push(format!("FLOWTRACE_MAX_VALUE_BYTES must be an integer from 16 to 1048576 (got \"{raw}\")"));
                DEFAULT_MAX_VALUE_BYTES
            }
        },
    };
    if !problems.is_empty() {
        return Loaded::Invalid(problems);
    }
    Loaded::On(Config {
        service_name: non_empty(get("OTEL_SERVICE_NAME"))
            .or_else(|| resource_service_name(&get("OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default()))
            .unwrap_or_else(default_service_name),
        protocol,
        endpoint,
        include,
        exclude,
        include_text,
        exclude_text,
        capture_args,
        capture_return,
        max_value_bytes,
        log_mode,
        logs_export,
        logs_endpoint,
        warnings,
    })
}

/// Whether the filter traces a function (`function`: its path, `file`: its source as the
/// compiler names it). No include list means the application's own code: a source file the
/// compiler names by a relative path is in the workspace being built; crates from a registry or a
/// git checkout are named by absolute paths. The agent itself is never traced.
pub fn traces(config: &Config, function: &str, file: &str) -> bool {
    if function.starts_with("flowtrace::") {
        return false;
    }
    let included = if config.include.is_empty() {
        !file.starts_with('/') && !file.contains(".cargo/registry") && !file.contains(".cargo/git")
    } else {
        config.include.iter().any(|e| e.matches(function, file))
    };
    included && !config.exclude.iter().any(|e| e.matches(function, file))
}

/// What the agent traces and where it sends it, said once at start-up (the agent contract).
pub fn startup_line(config: &Config) -> String {
    let mut what = if config.include_text.is_empty() {
        "the workspace's own modules".to_string()
    } else {
        format!("modules matching {}", config.include_text)
    };
    if !config.exclude_text.is_empty() {
        what.push_str(&format!(" except {}", config.exclude_text));
    }
    let captured: Vec<&str> = [("arguments", config.capture_args), ("return values", config.capture_return)]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect();
    let capture = if captured.is_empty() {
        String::new()
    } else {
        format!(", capturing {} ({} bytes max)", captured.join(" and "), config.max_value_bytes)
    };
    format!(
        "agent on for {}: tracing {what}{capture}; OTLP {} to {}",
        config.service_name,
        config.protocol.as_str(),
        config.endpoint
    )
}

#[cfg(test)]
mod review_tests {
    use super::*;

    /// `OTEL_RESOURCE_ATTRIBUTES=service.name=…` names the service when OTEL_SERVICE_NAME is unset (as
    /// in the Python, Node.js and Go agents), not the executable's name.
    #[test]
    fn review_service_name_from_resource_attributes() {
        let get = |k: &str| {
            (k == "OTEL_RESOURCE_ATTRIBUTES")
                .then(|| "deployment.environment=prod, service.name=orders%20api".to_string())
        };
        match load(&get) {
            Loaded::On(c) => assert_eq!(c.service_name, "orders api"),
            other => panic!("{other:?}"),
        }
    }
}
