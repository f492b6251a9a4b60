//! FlowTrace agent for Rust: `#[flowtrace::trace]` on an `impl` block, a function or an inline
//! module makes every function inside an INTERNAL OpenTelemetry span (`Type.method` /
//! `module.function`) with `code.*` attributes, errors and panics recorded, arguments and return
//! values captured when enabled (capped and masked in-process) and the request's correlation ID.
//! Spans are `tracing` spans exported by `tracing-opentelemetry` through the official
//! `opentelemetry-otlp` exporter; `flowtrace::init()` sets it all up from the environment.
//!
//! ```ignore
//! #[tokio::main]
//! async fn main() {
//!     let _flowtrace = flowtrace::init(); // flushes on drop
//!     // …
//! }
//! ```

pub mod cards;
pub mod config;
pub mod correlation;
#[cfg(any(feature = "axum", feature = "reqwest"))]
mod headers;
mod http_method;
mod http_scrub;
pub mod logs;
mod pipeline;
pub mod redact;
pub mod render;
#[cfg(any(feature = "axum", feature = "actix"))]
mod server;
mod site;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "reqwest")]
pub mod reqwest;

pub use flowtrace_macros::{skip, trace};
pub use pipeline::{init, init_from, init_layer, init_layer_from, Guard};

/// What the `#[flowtrace::trace]` expansion calls; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::pipeline::sdk_tracer;
    pub use crate::site::*;
    pub use tracing;
}
