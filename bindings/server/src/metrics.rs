//! Prometheus metrics of the service (`GET /metrics`): requests by route and status, latency
//! histograms by route, and the index's records, generation, size and last commit.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

type Histograms = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.1 ms to about 3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// The service's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Histograms,
    pub index_records: Gauge,
    pub index_generation: Gauge,
    pub index_bytes: Gauge,
    pub last_commit: Gauge<f64, AtomicU64>,
    pub records_upserted: Counter,
    pub records_deleted: Counter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("khop");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        let latency: Histograms = Family::new_with_constructor(latency_histogram);
        registry.register("http_request_seconds", "Time to answer a request, by route", latency.clone());
        let index_records = Gauge::default();
        registry.register("index_records", "Records the index holds", index_records.clone());
        let index_generation = Gauge::default();
        registry.register("index_generation", "The index's last commit", index_generation.clone());
        let index_bytes = Gauge::default();
        registry.register("index_bytes", "Size of the index folder's files", index_bytes.clone());
        let last_commit = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "index_last_commit_unix_seconds",
            "When this service last committed an update (0: none yet)",
            last_commit.clone(),
        );
        let records_upserted = Counter::default();
        registry.register(
            "records_upserted",
            "Records upserted through this service",
            records_upserted.clone(),
        );
        let records_deleted = Counter::default();
        registry.register("records_deleted", "Records deleted through this service", records_deleted.clone());
        Metrics {
            registry,
            requests,
            latency,
            index_records,
            index_generation,
            index_bytes,
            last_commit,
            records_upserted,
            records_deleted,
        }
    }

    /// The metrics in Prometheus's text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Sets the index gauges.
    pub fn index(&self, index: &khop::index::NationalIndex) {
        let commit = index.commit();
        self.index_records.set(i64::try_from(commit.records).unwrap_or(i64::MAX));
        self.index_generation.set(i64::try_from(commit.generation).unwrap_or(i64::MAX));
        self.index_bytes.set(i64::try_from(index.size_on_disk()).unwrap_or(i64::MAX));
    }
}
