//! Test helpers for code that talks to OZmap through this client: a client
//! pointed at a [`wiremock`] server, and matchers for the `filter` query OZmap
//! list endpoints take. Behind the `mock` feature (a dev-dependency's).

use crate::OzmapClient;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;
use wiremock::{Match, MockServer, Request};

pub const TOKEN: &str = "tok-123.abc";

pub fn client_for(server: &MockServer, timeout_ms: u64) -> OzmapClient {
    OzmapClient::new(
        Url::parse(&server.uri()).unwrap(),
        SecretString::from(TOKEN),
        Duration::from_millis(timeout_ms),
    )
    .unwrap()
}

/// The `filter` query parameter, parsed back as JSON.
pub fn filter_of(req: &Request) -> Option<Value> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == "filter")
        .and_then(|(_, v)| serde_json::from_str(&v).ok())
}

/// Matches a `filter` that is exactly one `near` on `coords`.
pub struct NearFilter {
    pub lat: f64,
    pub lng: f64,
    pub radius: u32,
}

impl Match for NearFilter {
    fn matches(&self, req: &Request) -> bool {
        let Some(f) = filter_of(req) else {
            return false;
        };
        let num = |v: &Value| match v {
            Value::String(s) => s.parse::<f64>().ok(),
            other => other.as_f64(),
        };
        let Some([cond]) = f.as_array().map(Vec::as_slice) else {
            return false;
        };
        cond["property"] == "coords"
            && cond["operator"] == "near"
            && num(&cond["value"]["lat"]) == Some(self.lat)
            && num(&cond["value"]["lng"]) == Some(self.lng)
            && cond["value"]["radius"] == json!(self.radius)
    }
}

/// Matches a `filter` that is exactly `[{property, "=", value}]`.
pub struct EqFilter(pub &'static str, pub String);

impl Match for EqFilter {
    fn matches(&self, req: &Request) -> bool {
        filter_of(req) == Some(json!([{"property": self.0, "operator": "=", "value": self.1}]))
    }
}
