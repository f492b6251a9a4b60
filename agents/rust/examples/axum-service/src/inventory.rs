//! The service's own code: every method and function here is a span.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Serialize, Default)]
pub struct StockReport {
    pub sku: String,
    pub available: u32,
    pub price_cents: u64,
    pub correlation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downstream_status: Option<u16>,
}

pub struct Inventory {
    levels: HashMap<String, u32>,
}

#[derive(Debug)]
pub struct UnknownSku(pub String);

impl std::fmt::Display for UnknownSku {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown sku {}", self.0)
    }
}

impl std::error::Error for UnknownSku {}

#[flowtrace::trace]
impl Inventory {
    pub fn sample() -> Self {
        let levels = [("A-1", 12), ("B-2", 0), ("C-3", 5)].iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Inventory { levels }
    }

    /// `api_key` is a secret-named parameter: captured as `[REDACTED]`.
    pub async fn report(&self, sku: &str, api_key: &str) -> StockReport {
        let _ = api_key;
        let available = self.level(sku).unwrap_or(0);
        let price_cents = pricing::quote(sku, available).await;
        StockReport { sku: sku.to_string(), available, price_cents, ..StockReport::default() }
    }

    pub fn level(&self, sku: &str) -> Result<u32, UnknownSku> {
        self.levels.get(sku).copied().ok_or_else(|| UnknownSku(sku.to_string()))
    }
}

#[flowtrace::trace]
pub mod pricing {
    use super::Duration;

    /// Awaits a (simulated) price lookup: the span covers the wait.
    pub async fn quote(sku: &str, available: u32) -> u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        base_price(sku) + u64::from(available == 0) * 100
    }

    pub fn base_price(sku: &str) -> u64 {
        sku.bytes().map(u64::from).sum::<u64>() * 10
    }
}
