//! The request method as the HTTP semantic conventions record it, for server and client spans.

/// The methods the HTTP semantic conventions know; any other is `_OTHER` (the method a client sent
/// is theirs to choose, and must not name spans or series), the original in
/// `http.request.method_original`.
const KNOWN_METHODS: [&str; 10] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"];

/// `(http.request.method, http.request.method_original)` for a request's method.
pub(crate) fn semconv_method(method: &str) -> (&str, Option<&str>) {
    if KNOWN_METHODS.contains(&method) {
        (method, None)
    } else {
        ("_OTHER", Some(crate::render::cut_to_bytes(method, 64)))
    }
}

#[cfg(test)]
mod tests {
    use super::semconv_method;

    #[test]
    fn a_method_the_conventions_do_not_know_is_other_with_the_original_capped() {
        assert_eq!(semconv_method("GET"), ("GET", None));
        assert_eq!(semconv_method("PATCH"), ("PATCH", None));
        assert_eq!(semconv_method("get"), ("_OTHER", Some("get")));
        let long = "X".repeat(5000);
        let (method, original) = semconv_method(&long);
        assert_eq!(method, "_OTHER");
        assert_eq!(original.map(str::len), Some(64));
    }
}
