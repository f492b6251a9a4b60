//! `flowtrace::init_layer()`: FlowTrace's layer added to a subscriber the application builds
//! itself, next to its own layer (a log layer, here one that counts spans).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

struct CountSpans(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for CountSpans {
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[flowtrace::trace]
mod work {
    pub fn outer() -> u32 {
        inner() + 1
    }

    fn inner() -> u32 {
        tracing::warn!("inner ran");
        1
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flowtrace_layer_in_the_applications_subscriber() {
    let receiver = support::Receiver::start().await;
    let (layer, guard) = flowtrace::init_layer_from(&support::env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
    ]));
    assert!(layer.is_some() && guard.is_on());
    let seen = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer).with(CountSpans(seen.clone())))
        .unwrap();

    assert_eq!(work::outer(), 2);
    assert_eq!(seen.load(Ordering::Relaxed), 2, "the application's own layer sees the method spans");
    guard.flush();
    let spans = receiver.wait_for("two spans", |s| s.len() >= 2).await;
    let outer = spans.iter().find(|s| s.name == "work.outer").expect("work.outer");
    let inner = spans.iter().find(|s| s.name == "work.inner").expect("work.inner");
    assert_eq!(inner.parent, outer.span_id);
    // A WARN event inside a traced function is a span event.
    assert!(inner.events.iter().any(|(name, _)| name == "inner ran"), "{:?}", inner.events);
}
