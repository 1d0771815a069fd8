//! Prometheus metrics: a [`prometheus_client`] registry that each service registers its own
//! metrics into, the counter of HTTP responses by matched route and status (counted by
//! [`crate::wrap`]), gauges computed at each scrape, and the `/metrics` route.
//!
//! Names follow OpenMetrics: a counter registered as `x_responses` is exposed as
//! `x_responses_total`, and the exposition ends with `# EOF`.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    route: String,
    status: u16,
}

/// HTTP responses by matched route (the route's pattern, such as `/v1/jobs/{id}`, never the
/// path itself) and status. Cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct ResponseCounter(Family<ResponseLabels, Counter>);

impl ResponseCounter {
    /// Counts one response.
    pub fn count(&self, route: &str, status: StatusCode) {
        self.0
            .get_or_create(&ResponseLabels {
                route: route.to_owned(),
                status: status.as_u16(),
            })
            .inc();
    }

    /// Responses counted for this route and status.
    pub fn get(&self, route: &str, status: StatusCode) -> u64 {
        self.0
            .get(&ResponseLabels {
                route: route.to_owned(),
                status: status.as_u16(),
            })
            .map_or(0, |c| c.get())
    }
}

/// Middleware of [`crate::wrap`]: counts every response of the router.
pub(crate) async fn count_responses(
    State(counter): State<ResponseCounter>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(req).await;
    counter.count(route.as_deref().unwrap_or(UNMATCHED), response.status());
    response
}

/// A service's metrics: the registry its own metrics go into, with the response counter already
/// registered.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    responses: ResponseCounter,
}

impl Metrics {
    /// A registry holding the response counter, registered as `responses_name` (exposed as
    /// `{responses_name}_total`, labels `route` and `status`).
    pub fn new(responses_name: &str) -> Self {
        let mut registry = Registry::default();
        let responses = ResponseCounter::default();
        registry.register(
            responses_name,
            "HTTP responses, by route and status",
            responses.0.clone(),
        );
        Self {
            registry,
            responses,
        }
    }

    /// The registry, to register the service's own metrics (help texts without a final full
    /// stop: the registry adds it).
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Registers gauges whose values are read at each scrape by `read` (a queue's depth, a
    /// store's size), written with [`Gauges`].
    pub fn register_gauges(
        &mut self,
        read: impl Fn(&mut Gauges<'_>) -> std::fmt::Result + Send + Sync + 'static,
    ) {
        self.registry
            .register_collector(Box::new(GaugeCollector(Box::new(read))));
    }

    /// The response counter, for [`crate::wrap`].
    pub fn responses(&self) -> &ResponseCounter {
        &self.responses
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String fails only if a metric's own encoding fails, which these do not.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        text
    }

    /// `GET /metrics`: the exposition, without authentication.
    pub fn routes<S: Clone + Send + Sync + 'static>(self: Arc<Self>) -> Router<S> {
        Router::new().route(
            "/metrics",
            get(move || {
                let metrics = self.clone();
                async move {
                    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()).into_response()
                }
            }),
        )
    }
}

type ReadGauges = Box<dyn Fn(&mut Gauges<'_>) -> std::fmt::Result + Send + Sync>;

struct GaugeCollector(ReadGauges);

impl std::fmt::Debug for GaugeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GaugeCollector")
    }
}

impl Collector for GaugeCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> std::fmt::Result {
        (self.0)(&mut Gauges { encoder })
    }
}

/// Writes gauges at scrape time (see [`Metrics::register_gauges`]).
#[derive(Debug)]
pub struct Gauges<'a> {
    encoder: DescriptorEncoder<'a>,
}

impl Gauges<'_> {
    /// One gauge (help text without a final full stop).
    pub fn gauge(&mut self, name: &str, help: &str, value: i64) -> std::fmt::Result {
        let help = format!("{help}.");
        let gauge = ConstGauge::new(value);
        let m = self
            .encoder
            .encode_descriptor(name, &help, None, MetricType::Gauge)?;
        gauge.encode(m)
    }

    /// A gauge with one label, one sample per `(label value, value)`.
    pub fn labeled<'v>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (&'v str, i64)>,
    ) -> std::fmt::Result {
        let help = format!("{help}.");
        let mut m = self
            .encoder
            .encode_descriptor(name, &help, None, MetricType::Gauge)?;
        for (v, n) in values {
            let labels = [(label, v)];
            ConstGauge::new(n).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
