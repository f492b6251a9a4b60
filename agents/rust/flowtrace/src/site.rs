//! What a `#[flowtrace::trace]` function calls at run time: its call site (decided once whether
//! the filter traces it), argument and return rendering chosen at compile time by autoref
//! specialization (integers, strings, other `Debug` values, and nothing for the rest, so that a
//! non-`Debug` argument still compiles), and the recording of errors and panics.

use std::any::Any;
use std::fmt::{self, Debug, Display, Write as _};
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::{self, Config};
use crate::redact::{is_secret_key, MASK};
use crate::render::{self, format_text};

struct Runtime {
    config: Config,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Off after a start that could not install its subscriber: no span is made then.
static STOPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn set_runtime(config: Config) {
    let _ = RUNTIME.set(Runtime { config });
}

pub(crate) fn clear_runtime() {
    STOPPED.store(true, Ordering::Relaxed);
}

const UNKNOWN: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

/// One traced function, a `static` in its expansion.
pub struct Site {
    /// `shop::cart::Cart::add`: `code.function.name`, and what the filter sees.
    pub function: &'static str,
    /// `shop::cart::Cart` or `shop::orders`: `code.namespace`.
    pub namespace: &'static str,
    /// The file as the compiler names it (relative to the workspace root for the workspace's own
    /// crates): what the filter's source-file prefixes and its default match.
    pub file: &'static str,
    /// `code.file.path`: the file's absolute path when the compiler knew it, else `file`.
    pub path: &'static str,
    pub line: u32,
    /// `Cart.add` / `orders.place`.
    pub name: &'static str,
    state: AtomicU8,
}

impl Site {
    pub const fn new(
        function: &'static str,
        namespace: &'static str,
        file: &'static str,
        line: u32,
        name: &'static str,
    ) -> Self {
        Site { function, namespace, file, path: file, line, name, state: AtomicU8::new(UNKNOWN) }
    }

    /// The absolute path for `code.file.path` (the filter keeps matching `file`).
    pub const fn with_path(mut self, path: &'static str) -> Self {
        self.path = path;
        self
    }

    /// Whether this function gets a span: the agent is on and the filter takes it (decided on the
    /// first call after `init`).
    #[inline]
    pub fn enabled(&self) -> bool {
        match self.state.load(Ordering::Relaxed) {
            ON => true,
            OFF => false,
            _ => self.decide(),
        }
    }

    #[cold]
    fn decide(&self) -> bool {
        let Some(rt) = RUNTIME.get() else { return false };
        let on = !STOPPED.load(Ordering::Relaxed) && config::traces(&rt.config, self.function, self.file);
        self.state.store(if on { ON } else { OFF }, Ordering::Relaxed);
        on
    }

    #[inline]
    pub fn capture_args(&self) -> bool {
        RUNTIME.get().is_some_and(|r| r.config.capture_args)
    }

    #[inline]
    pub fn capture_return(&self) -> bool {
        RUNTIME.get().is_some_and(|r| r.config.capture_return)
    }

    fn max_bytes(&self) -> usize {
        RUNTIME.get().map_or(crate::config::DEFAULT_MAX_VALUE_BYTES, |r| r.config.max_value_bytes)
    }

    /// `flowtrace.args.<i>`: masked whole under a secret-named parameter, else as rendered.
    pub fn record_arg(&self, span: &Span, index: usize, name: &str, render: &dyn Fn(usize, &str) -> Option<String>) {
        let value =
            if is_secret_key(name) { Some(MASK.to_string()) } else { guarded_render(render, self.max_bytes(), name) };
        if let Some(v) = value {
            span.set_attribute(format!("flowtrace.args.{index}"), v);
        }
    }

    /// `flowtrace.return` and, for an `Err`, the exception event and ERROR status.
    pub fn record_return(&self, span: &Span, render: &dyn Fn(usize, &str) -> Option<String>, error: Option<ErrorInfo>) {
        if self.capture_return() {
            if let Some(v) = guarded_render(render, self.max_bytes(), "") {
                span.set_attribute("flowtrace.return", v);
            }
        }
        if let Some(e) = error {
            record_exception(span, &e.type_name, &e.message, &e.causes, self.max_bytes());
        }
    }
}

/// A value's rendering, or nothing when its `Debug` impl panics: the application's own code must not
/// see a panic that recording it caused.
fn guarded_render(render: &dyn Fn(usize, &str) -> Option<String>, max: usize, key: &str) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| render(max, key))).unwrap_or(None)
}

/// An error as recorded: its type, its message (not yet masked) and its sources' messages.
pub struct ErrorInfo {
    pub type_name: String,
    pub message: String,
    pub causes: Vec<String>,
}

const MAX_CAUSES: usize = 4;

/// `exception.message` (masked, cut) and `exception.stacktrace` (`<type>: <message>`, then up to
/// 4 `Caused by: <message>` lines: Rust errors carry no frames).
pub fn exception_text(type_name: &str, message: &str, causes: &[String], max_bytes: usize) -> (String, String) {
    let message = format_text(message, max_bytes);
    let mut stack = format!("{type_name}: {message}");
    for c in causes.iter().take(MAX_CAUSES) {
        stack.push_str("\nCaused by: ");
        stack.push_str(&format_text(c, max_bytes));
    }
    (message, stack)
}

fn record_exception(span: &Span, type_name: &str, message: &str, causes: &[String], max_bytes: usize) {
    let (message, stack) = exception_text(type_name, message, causes, max_bytes);
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", type_name.to_string()),
            KeyValue::new("exception.message", message.clone()),
            KeyValue::new("exception.stacktrace", stack),
        ],
    );
    span.set_status(Status::error(message));
}

/// The message of a panic's payload (`panic!("…")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

fn record_panic(span: &Span, site: &Site, payload: &(dyn Any + Send)) {
    record_exception(span, "panic", &panic_message(payload), &[], site.max_bytes());
}

/// Runs a sync body inside its span; a panic is recorded, then resumed unchanged.
#[inline]
pub fn call<R>(site: &'static Site, span: &Span, body: impl FnOnce() -> R) -> R {
    let _entered = span.enter();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(payload) => {
            record_panic(span, site, &*payload);
            resume_unwind(payload)
        }
    }
}

/// An `async fn`'s body, polled inside its span (so the span covers every `.await`); a panic
/// while polling is recorded, then resumed unchanged.
pub struct Traced<F> {
    site: &'static Site,
    span: Span,
    inner: F,
}

impl<F: Future> Traced<F> {
    pub fn new(site: &'static Site, span: Span, inner: F) -> Self {
        Traced { site, span, inner }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is never moved out of the pinned struct; the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = this.span.enter();
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(p) => p,
            Err(payload) => {
                record_panic(&this.span, this.site, &*payload);
                resume_unwind(payload)
            }
        }
    }
}

/// The last segment of a module path (`shop::orders` → `orders`), at compile time.
pub const fn last_segment(path: &str) -> &str {
    let bytes = path.as_bytes();
    let mut i = bytes.len();
    while i > 0 && bytes[i - 1] != b':' {
        i -= 1;
    }
    let (_, tail) = bytes.split_at(i);
    match std::str::from_utf8(tail) {
        Ok(s) => s,
        Err(_) => path,
    }
}

/// `module.function` as bytes, at compile time (`N` is the joined length).
pub const fn join_name<const N: usize>(module: &str, function: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let (m, f) = (module.as_bytes(), function.as_bytes());
    let mut i = 0;
    while i < m.len() {
        out[i] = m[i];
        i += 1;
    }
    out[i] = b'.';
    let mut j = 0;
    while j < f.len() {
        out[i + 1 + j] = f[j];
        j += 1;
    }
    out
}

/// Holds a reference to a value whose rendering is picked by the most specific impl below.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// Integer types: written as digits, masked only under a card-named key.
pub trait IntLike {
    fn digits(&self) -> String;
}
macro_rules! int_like {
    ($($t:ty),*) => {$(impl IntLike for $t { fn digits(&self) -> String { self.to_string() } })*};
}
int_like!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
impl<T: IntLike + ?Sized> IntLike for &T {
    fn digits(&self) -> String {
        (**self).digits()
    }
}
impl<T: IntLike + ?Sized> IntLike for &mut T {
    fn digits(&self) -> String {
        (**self).digits()
    }
}

pub trait RenderInt {
    fn ft_render(&self, max: usize, key: &str) -> Option<String>;
}
impl<T: IntLike + ?Sized> RenderInt for &&&Wrap<'_, T> {
    fn ft_render(&self, max: usize, key: &str) -> Option<String> {
        Some(render::render_int(&self.0.digits(), max, key))
    }
}

pub trait RenderStr {
    fn ft_render(&self, max: usize, key: &str) -> Option<String>;
}
impl<T: AsRef<str> + ?Sized> RenderStr for &&Wrap<'_, T> {
    fn ft_render(&self, max: usize, key: &str) -> Option<String> {
        Some(render::render_str(self.0.as_ref(), max, key))
    }
}

pub trait RenderDebug {
    fn ft_render(&self, max: usize, key: &str) -> Option<String>;
}
impl<T: Debug + ?Sized> RenderDebug for &Wrap<'_, T> {
    fn ft_render(&self, max: usize, key: &str) -> Option<String> {
        Some(render::render_debug(&self.0, max, key))
    }
}

/// Not `Debug`: not captured (and the program still compiles).
pub trait RenderNone {
    fn ft_render(&self, max: usize, key: &str) -> Option<String>;
}
impl<T: ?Sized> RenderNone for Wrap<'_, T> {
    fn ft_render(&self, _max: usize, _key: &str) -> Option<String> {
        None
    }
}

/// Collects at most 16 KiB of a message (the cap and the masking margin are applied later), so
/// that a huge error message is not formatted whole.
struct Cap(String);

impl fmt::Write for Cap {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = (16 * 1024usize).saturating_sub(self.0.len());
        if s.len() > room {
            self.0.push_str(render::cut_to_bytes(s, room));
            return Err(fmt::Error);
        }
        self.0.push_str(s);
        Ok(())
    }
}

fn bounded(f: impl FnOnce(&mut Cap) -> fmt::Result) -> String {
    let mut cap = Cap(String::new());
    // A `Display` / `Debug` impl that panics leaves what it wrote: the program never sees its panic.
    let _ = catch_unwind(AssertUnwindSafe(|| f(&mut cap)));
    cap.0
}

fn short_type_name<E: ?Sized>() -> String {
    std::any::type_name::<E>().to_string()
}

/// `Result::Err` of a `std::error::Error`: message and its chain of sources.
pub trait OutcomeError {
    fn ft_error(&self) -> Option<ErrorInfo>;
}
impl<T, E: std::error::Error> OutcomeError for &&&Wrap<'_, Result<T, E>> {
    fn ft_error(&self) -> Option<ErrorInfo> {
        let Err(e) = self.0 else { return None };
        let mut causes = Vec::new();
        let mut source = e.source();
        while let Some(s) = source {
            if causes.len() == MAX_CAUSES {
                break;
            }
            causes.push(bounded(|w| write!(w, "{s}")));
            source = s.source();
        }
        Some(ErrorInfo { type_name: short_type_name::<E>(), message: bounded(|w| write!(w, "{e}")), causes })
    }
}

/// `Result::Err` of any `Display` type (`anyhow::Error`, `String`…).
pub trait OutcomeDisplay {
    fn ft_error(&self) -> Option<ErrorInfo>;
}
impl<T, E: Display> OutcomeDisplay for &&Wrap<'_, Result<T, E>> {
    fn ft_error(&self) -> Option<ErrorInfo> {
        let Err(e) = self.0 else { return None };
        Some(ErrorInfo {
            type_name: short_type_name::<E>(),
            message: bounded(|w| write!(w, "{e}")),
            causes: Vec::new(),
        })
    }
}

/// `Result::Err` of a `Debug` type.
pub trait OutcomeDebug {
    fn ft_error(&self) -> Option<ErrorInfo>;
}
impl<T, E: Debug> OutcomeDebug for &Wrap<'_, Result<T, E>> {
    fn ft_error(&self) -> Option<ErrorInfo> {
        let Err(e) = self.0 else { return None };
        Some(ErrorInfo {
            type_name: short_type_name::<E>(),
            message: bounded(|w| write!(w, "{e:?}")),
            causes: Vec::new(),
        })
    }
}

/// Anything else (including an `Err` that is neither `Display` nor `Debug`, named by its type).
pub trait OutcomeNone {
    fn ft_error(&self) -> Option<ErrorInfo>;
}
impl<T: ?Sized> OutcomeNone for Wrap<'_, T> {
    fn ft_error(&self) -> Option<ErrorInfo> {
        None
    }
}

#[cfg(test)]
mod review_tests {
    use super::*;

    /// A `Debug` / `Display` impl that panics (an `unwrap` inside, a poisoned lock…).
    struct Boom;
    impl Debug for Boom {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("debug boom")
        }
    }
    impl Display for Boom {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("display boom")
        }
    }

    static SITE: Site = Site::new("shop::f", "shop", "src/shop.rs", 1, "shop.f");

    #[test]
    fn review_panicking_debug_argument_does_not_reach_the_program() {
        let v = Boom;
        let r = catch_unwind(AssertUnwindSafe(|| {
            #[allow(unused_imports)]
            use super::{RenderDebug as _, RenderInt as _, RenderNone as _, RenderStr as _};
            SITE.record_arg(&Span::none(), 0, "v", &|max: usize, key: &str| (&&&&Wrap(&v)).ft_render(max, key));
        }));
        assert!(r.is_ok(), "a panicking Debug impl of an argument panicked the traced call");
    }

    #[test]
    fn review_panicking_display_error_does_not_reach_the_program() {
        let res: Result<u8, Boom> = Err(Boom);
        let r = catch_unwind(AssertUnwindSafe(|| {
            #[allow(unused_imports)]
            use super::{OutcomeDebug as _, OutcomeDisplay as _, OutcomeError as _, OutcomeNone as _};
            (&&&&Wrap(&res)).ft_error().map(|e| e.type_name)
        }));
        assert!(r.is_ok(), "a panicking Display impl of a returned Err panicked the traced call");
    }
}
