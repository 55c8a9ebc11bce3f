//! The OZmap API v2 client.
//!
//! Design choices:
//! - One small struct that owns a `reqwest::Client` with a connect timeout and a
//!   total timeout, the base URL and the API key. The key is a [`SecretString`],
//!   exposed only when the `Authorization` header is built (raw key, no `Bearer`,
//!   as OZmap documents), and that header value is marked sensitive.
//! - The client never retries. Reads are cheap to redo, but
//!   `POST /properties` is not idempotent, so the decision to try again belongs to
//!   the caller (the service looks the client code up before every POST).
//! - Redirects are not followed: OZmap's API does not redirect, and following one
//!   could send the key elsewhere.
//! - Errors are typed by what the caller should do ([`OzmapError::is_transient`]).
//!   No error or log line carries the client's personal data: URLs are stripped
//!   from transport errors (a path can hold the client code), server messages are
//!   redacted of what we sent and truncated, and decode errors only say where.
//! - Answers are read tolerantly (see [`model`]): much of the wire format is only
//!   inferred.

mod geo;
#[cfg(any(test, feature = "mock"))]
pub mod mock;
pub mod model;

pub use geo::{EARTH_RADIUS_M, distance_m};

pub use model::{
    BoxInfo, Connection, NewClient, NewProperty, NewProspect, Property, Ref, Splitter,
    SplitterPort, Viability, ViableBox,
};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt;
use std::time::{Duration, Instant};
use tracing::{debug, warn};
use url::Url;

/// Longest server message kept in [`OzmapError::Rejected`].
const MAX_MESSAGE_CHARS: usize = 200;
/// Longest connect timeout, whatever the total timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Splitters read per box (OZmap's default page is 25).
const SPLITTERS_LIMIT: u32 = 100;

/// Why an OZmap call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OzmapError {
    /// 401/403: the API key is wrong or lacks the API module. A configuration
    /// fault: report it, do not retry in a loop.
    #[error("OZmap refused the API key (HTTP {0}): check OZMAP_TOKEN")]
    Unauthorized(u16),
    /// 404.
    #[error("OZmap has no such resource (HTTP 404)")]
    NotFound,
    /// Any other 4xx. `message` is the body's `message` (else `error`), with what
    /// we sent redacted, truncated.
    #[error("OZmap rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// 429.
    #[error("OZmap rate limit reached (HTTP 429)")]
    RateLimited,
    /// 5xx.
    #[error("OZmap server error (HTTP {0})")]
    Server(u16),
    /// No answer within the timeout (or HTTP 408).
    #[error("OZmap did not answer in time")]
    Timeout,
    /// Connection failure (DNS, TCP, TLS, reset).
    #[error("could not reach OZmap: {0}")]
    Transport(String),
    /// A success answer that could not be read.
    #[error("OZmap answer not understood: {0}")]
    Decode(String),
    /// The client cannot be built from this configuration (bad base URL or key).
    #[error("OZmap client configuration: {0}")]
    InvalidConfig(String),
}

impl OzmapError {
    /// Worth trying again later: 5xx, timeouts, connection failures and 429.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            OzmapError::Server(_)
                | OzmapError::Timeout
                | OzmapError::Transport(_)
                | OzmapError::RateLimited
        )
    }
}

/// A client of one OZmap tenant. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct OzmapClient {
    http: reqwest::Client,
    /// `<base>/api/v2`, without a trailing slash.
    api: String,
    token: SecretString,
}

impl fmt::Debug for OzmapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OzmapClient")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes one path segment: everything but RFC 3986 unreserved
/// characters (so `123|123` becomes `123%7C123`).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replaces every occurrence of the given values (what we sent) by `[redacted]`,
/// drops control characters and truncates.
fn scrub(text: &str, redact: &[&str]) -> String {
    // Bound the work; only the first MAX_MESSAGE_CHARS are kept anyway.
    let mut s: String = text
        .chars()
        .take(MAX_MESSAGE_CHARS * 10)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for r in redact {
        let r = r.trim();
        if !r.is_empty() {
            s = s.replace(r, "[redacted]");
        }
    }
    let s = mask_numbers(&s.split_whitespace().collect::<Vec<_>>().join(" "));
    if s.chars().count() > MAX_MESSAGE_CHARS {
        let mut t: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
        t.push('…');
        t
    } else {
        s
    }
}

/// Masks number runs that look like personal data (phones, CEPs, CPFs): a run
/// of digits and `+ ( ) - . /` or spaces that holds at least 8 digits and does
/// not touch a letter (so hex ids such as `5da62201493d9c00066655b8` survive).
fn mask_numbers(s: &str) -> String {
    const MIN_DIGITS: usize = 8;
    let chars: Vec<char> = s.chars().collect();
    let is_part = |c: char| c.is_ascii_digit() || "+()-./ ".contains(c);
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_run = chars[i].is_ascii_digit() || (chars[i] == '+' || chars[i] == '(');
        let after_letter = i > 0 && chars[i - 1].is_alphanumeric();
        if !starts_run || after_letter {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && is_part(chars[j]) {
            j += 1;
        }
        // Give back trailing separators; the run ends on its last digit.
        let mut end = j;
        while end > i && !chars[end - 1].is_ascii_digit() && chars[end - 1] != ')' {
            end -= 1;
        }
        let touches_letter = end < chars.len() && chars[end].is_alphanumeric();
        let digits = chars[i..end].iter().filter(|c| c.is_ascii_digit()).count();
        if digits >= MIN_DIGITS && !touches_letter {
            out.push_str("[number]");
            i = end;
        } else {
            // Not personal: copy the run's first character and go on.
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The message of an error body: `message`, then `error` (a string, or an object
/// with a `message`), then a short plain-text body.
fn error_message(body: &[u8], redact: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    let found = match serde_json::from_str::<Value>(&text) {
        Ok(v) => {
            let pick = |k: &str| match v.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(Value::Object(o)) => {
                    o.get("message").and_then(Value::as_str).map(str::to_string)
                }
                _ => None,
            };
            pick("message").or_else(|| pick("error"))
        }
        Err(_) if !text.trim_start().starts_with('<') => Some(text.to_string()),
        Err(_) => None,
    };
    match found.map(|m| scrub(&m, redact)).filter(|m| !m.is_empty()) {
        Some(m) => m,
        None => "(no message)".to_string(),
    }
}

fn status_error(status: u16, body: &[u8], redact: &[&str]) -> OzmapError {
    match status {
        401 | 403 => OzmapError::Unauthorized(status),
        404 => OzmapError::NotFound,
        408 => OzmapError::Timeout,
        429 => OzmapError::RateLimited,
        500..=599 => OzmapError::Server(status),
        _ => OzmapError::Rejected {
            status,
            message: error_message(body, redact),
        },
    }
}

fn transport_error(e: reqwest::Error) -> OzmapError {
    if e.is_timeout() {
        return OzmapError::Timeout;
    }
    // The URL can hold the client code: drop it, keep the causes.
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    OzmapError::Transport(scrub(&msg, &[]))
}

/// Decodes a success body; the error says where it failed, never what was there.
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, OzmapError> {
    serde_json::from_slice(body).map_err(|e| {
        OzmapError::Decode(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// Entities that are useless without an id.
trait Identified {
    fn id(&self) -> &str;
}
impl Identified for Property {
    fn id(&self) -> &str {
        &self.id
    }
}
impl Identified for BoxInfo {
    fn id(&self) -> &str {
        &self.id
    }
}
impl Identified for Splitter {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The rows of a list answer: the documented `{rows: [...]}` envelope, a `data`
/// array, or a bare array. Rows that cannot be read or have no id are dropped
/// (and counted in a warning).
fn rows<T: DeserializeOwned + Identified>(
    op: &'static str,
    v: Value,
) -> Result<Vec<T>, OzmapError> {
    let items = match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match (o.remove("rows"), o.remove("data")) {
            (Some(Value::Array(a)), _) | (_, Some(Value::Array(a))) => a,
            _ => {
                return Err(OzmapError::Decode(
                    "expected a list (`rows` array or an array)".into(),
                ));
            }
        },
        _ => return Err(OzmapError::Decode("expected a list".into())),
    };
    let total = items.len();
    let out: Vec<T> = items
        .into_iter()
        .filter_map(|item| serde_json::from_value::<T>(item).ok())
        .filter(|t| !t.id().is_empty())
        .collect();
    if out.len() < total {
        warn!(
            op,
            dropped = total - out.len(),
            total,
            "OZmap list rows without a readable id were ignored"
        );
    }
    Ok(out)
}

impl OzmapClient {
    /// `base` is the tenant's root (e.g. `https://tenant.ozmap.com.br:9994`); a
    /// base that already ends in `/api/v2` is accepted too. `timeout` bounds each
    /// request as a whole; connecting is bounded by the smaller of it and 3 s.
    pub fn new(base: Url, token: SecretString, timeout: Duration) -> Result<Self, OzmapError> {
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(OzmapError::InvalidConfig(
                "the base URL must be an http or https URL".into(),
            ));
        }
        if timeout.is_zero() {
            return Err(OzmapError::InvalidConfig(
                "the timeout must be greater than 0".into(),
            ));
        }
        let key = token.expose_secret();
        if key.trim().is_empty() || HeaderValue::from_str(key).is_err() {
            return Err(OzmapError::InvalidConfig(
                "the API key is empty or not a valid header value".into(),
            ));
        }
        let mut root = base;
        root.set_query(None);
        root.set_fragment(None);
        let mut api = root.as_str().trim_end_matches('/').to_string();
        if let Some(stripped) = api.strip_suffix("/api/v2") {
            api = stripped.to_string();
        }
        api.push_str("/api/v2");

        let http = reqwest::Client::builder()
            .user_agent(concat!("ozmap-ivr/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OzmapError::InvalidConfig(format!("HTTP client: {}", e.without_url())))?;
        Ok(Self { http, api, token })
    }

    fn url(&self, route: &str) -> Result<Url, OzmapError> {
        Url::parse(&format!("{}/{}", self.api, route))
            .map_err(|_| OzmapError::InvalidConfig("cannot build the request URL".into()))
    }

    /// Sends one request (never retried) and returns the body of a 2xx answer.
    /// `redact`: values we sent that must not come back in an error message.
    async fn execute(
        &self,
        op: &'static str,
        rb: reqwest::RequestBuilder,
        redact: &[&str],
    ) -> Result<Vec<u8>, OzmapError> {
        let mut auth = HeaderValue::from_str(self.token.expose_secret())
            .map_err(|_| OzmapError::InvalidConfig("the API key is not a valid header".into()))?;
        auth.set_sensitive(true);
        let started = Instant::now();
        let result = async {
            let resp = rb
                .header(AUTHORIZATION, auth)
                .header(ACCEPT, "application/json")
                .send()
                .await
                .map_err(transport_error)?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map_err(transport_error)?.to_vec();
            Ok::<_, OzmapError>((status, body))
        }
        .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok((status, body)) => {
                debug!(op, status, elapsed_ms, bytes = body.len(), "OZmap answered");
                if (200..300).contains(&status) {
                    Ok(body)
                } else {
                    Err(status_error(status, &body, redact))
                }
            }
            Err(e) => {
                debug!(op, elapsed_ms, error = %e, "OZmap request failed");
                Err(e)
            }
        }
    }

    /// `GET /properties/client/{code}`: the properties whose client has this code.
    /// `[]`, an empty body and 404 all mean none.
    pub async fn properties_by_client(&self, code: &str) -> Result<Vec<Property>, OzmapError> {
        let op = "properties_by_client";
        let encoded = encode_segment(code);
        let url = self.url(&format!("properties/client/{encoded}"))?;
        let body = match self
            .execute(op, self.http.get(url), &[code, &encoded])
            .await
        {
            Ok(b) => b,
            Err(OzmapError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let v: Value = decode(&body)?;
        // This answer decides whether a POST is safe, so "none" must really mean
        // none: listed properties that cannot be read are an error, not an absence.
        let listed = match &v {
            Value::Null => return Ok(Vec::new()),
            Value::Array(a) => a.len(),
            Value::Object(o) => match o.get("rows").or_else(|| o.get("data")) {
                Some(Value::Array(a)) => a.len(),
                // Documented as an array; a single object is read as one property.
                _ => 1,
            },
            _ => 1,
        };
        let props = match v {
            Value::Object(o) if !o.contains_key("rows") && !o.contains_key("data") => {
                rows(op, Value::Array(vec![Value::Object(o)]))?
            }
            other => rows(op, other)?,
        };
        if listed > 0 && props.is_empty() {
            return Err(OzmapError::Decode(format!(
                "{listed} properties listed for the client, none with a readable id"
            )));
        }
        Ok(props)
    }

    /// `GET /boxes?filter=[near]&limit=N`: boxes within `radius_m` metres, in the
    /// server's order (nearest first for a Mongo `near`).
    pub async fn boxes_near(
        &self,
        lat: f64,
        lng: f64,
        radius_m: u32,
        limit: u32,
    ) -> Result<Vec<BoxInfo>, OzmapError> {
        let op = "boxes_near";
        // Shaped like the wiki's example: lat/lng as strings, radius in metres.
        let filter = json!([{
            "property": "coords",
            "operator": "near",
            "value": {"lat": lat.to_string(), "lng": lng.to_string(), "radius": radius_m}
        }]);
        let rb = self
            .http
            .get(self.url("boxes")?)
            .query(&[("filter", filter.to_string()), ("limit", limit.to_string())]);
        let body = self.execute(op, rb, &[]).await?;
        rows(op, decode(&body)?)
    }

    /// `GET /boxes/{id}`.
    pub async fn get_box(&self, id: &str) -> Result<BoxInfo, OzmapError> {
        let url = self.url(&format!("boxes/{}", encode_segment(id)))?;
        let body = self.execute("get_box", self.http.get(url), &[]).await?;
        let mut b: BoxInfo = decode(&body)?;
        if b.id.is_empty() {
            b.id = id.to_string();
        }
        Ok(b)
    }

    /// `GET /splitters?filter=[parent = box]`: the splitters inside a box.
    /// Rows that name another parent (a filter the server ignored) are dropped.
    pub async fn splitters_of(&self, box_id: &str) -> Result<Vec<Splitter>, OzmapError> {
        let op = "splitters_of";
        let filter = json!([{"property": "parent", "operator": "=", "value": box_id}]);
        let rb = self.http.get(self.url("splitters")?).query(&[
            ("filter", filter.to_string()),
            ("limit", SPLITTERS_LIMIT.to_string()),
        ]);
        let body = self.execute(op, rb, &[]).await?;
        let all: Vec<Splitter> = rows(op, decode(&body)?)?;
        let total = all.len();
        let mine: Vec<Splitter> = all
            .into_iter()
            .filter(|s| s.parent.as_ref().is_none_or(|p| p.id() == box_id))
            .collect();
        if mine.len() < total {
            warn!(
                op,
                box_id,
                dropped = total - mine.len(),
                "OZmap returned splitters of other boxes; ignored them"
            );
        }
        Ok(mine)
    }

    /// `GET /ftth-viability/radius?lat&lng&radius`. Only `viable` is documented;
    /// the box lists are read tolerantly and whatever was not understood is
    /// logged (field names only).
    pub async fn viability(
        &self,
        lat: f64,
        lng: f64,
        radius_m: u32,
    ) -> Result<Viability, OzmapError> {
        let op = "viability";
        let rb = self.http.get(self.url("ftth-viability/radius")?).query(&[
            ("lat", lat.to_string()),
            ("lng", lng.to_string()),
            ("radius", radius_m.to_string()),
        ]);
        let body = self.execute(op, rb, &[]).await?;
        let v: Value = decode(&body)?;
        let (viability, notes) = Viability::from_json(&v);
        if !notes.is_empty() {
            warn!(
                op,
                notes = %notes.join("; "),
                "OZmap viability answer not fully understood"
            );
        }
        debug!(
            op,
            viable = viability.viable,
            boxes = viability.boxes.len(),
            "viability read"
        );
        Ok(viability)
    }

    /// `POST /properties`: the reservation. Never retried here: on a transient
    /// error it may or may not have landed, so look the client code up first.
    pub async fn create_property(&self, body: &NewProperty) -> Result<Property, OzmapError> {
        let encoded = encode_segment(&body.client.code);
        let redact = [
            body.client.code.as_str(),
            encoded.as_str(),
            body.client.name.as_str(),
            body.address.as_str(),
        ];
        let rb = self.http.post(self.url("properties")?).json(body);
        let answer = self.execute("create_property", rb, &redact).await?;
        decode(&answer)
    }

    /// `POST /prospects`: records a lead. Returns OZmap's answer as it came
    /// (`null` for an empty body).
    pub async fn create_prospect(&self, body: &NewProspect) -> Result<Value, OzmapError> {
        let phone = body.phone.clone().unwrap_or_default();
        let redact = [
            body.code.as_str(),
            body.name.as_str(),
            body.address.as_str(),
            phone.as_str(),
        ];
        let rb = self.http.post(self.url("prospects")?).json(body);
        let answer = self.execute("create_prospect", rb, &redact).await?;
        if answer.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        decode(&answer)
    }

    /// `DELETE /properties/{id}`: cancels a reservation (the port is freed).
    pub async fn delete_property(&self, id: &str) -> Result<(), OzmapError> {
        let url = self.url(&format!("properties/{}", encode_segment(id)))?;
        self.execute("delete_property", self.http.delete(url), &[])
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::mock::{EqFilter, NearFilter, TOKEN, client_for};
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{body_json, header, header_regex, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[test]
    fn new_checks_its_configuration() {
        let u = |s: &str| Url::parse(s).unwrap();
        let t = || SecretString::from(TOKEN);
        let d = Duration::from_secs(1);
        assert!(matches!(
            OzmapClient::new(u("ftp://x"), t(), d),
            Err(OzmapError::InvalidConfig(_))
        ));
        assert!(matches!(
            OzmapClient::new(u("https://x"), SecretString::from("  "), d),
            Err(OzmapError::InvalidConfig(_))
        ));
        assert!(matches!(
            OzmapClient::new(u("https://x"), SecretString::from("a\nb"), d),
            Err(OzmapError::InvalidConfig(_))
        ));
        assert!(matches!(
            OzmapClient::new(u("https://x"), t(), Duration::ZERO),
            Err(OzmapError::InvalidConfig(_))
        ));
        let c = OzmapClient::new(u("https://t.ozmap.com.br:9994/"), t(), d).unwrap();
        assert_eq!(c.api, "https://t.ozmap.com.br:9994/api/v2");
        let c = OzmapClient::new(u("https://t.ozmap.com.br:9994/api/v2/"), t(), d).unwrap();
        assert_eq!(c.api, "https://t.ozmap.com.br:9994/api/v2");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(TOKEN), "{dbg}");
    }

    #[test]
    fn long_numbers_are_masked_but_ids_survive() {
        assert_eq!(
            mask_numbers("tel +55 (48) 99999-0000, CEP 88025-500."),
            "tel [number], CEP [number]."
        );
        assert_eq!(
            mask_numbers("box 5da62201493d9c00066655b8 port 12 of 16"),
            "box 5da62201493d9c00066655b8 port 12 of 16"
        );
        assert_eq!(mask_numbers("id 12345678abc"), "id 12345678abc");
        assert_eq!(mask_numbers("123.456.789-09"), "[number]");
        assert_eq!(mask_numbers(""), "");
    }

    #[test]
    fn path_segments_are_fully_encoded() {
        assert_eq!(encode_segment("123|123"), "123%7C123");
        assert_eq!(encode_segment("5da6-2_2.0~"), "5da6-2_2.0~");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }

    #[tokio::test]
    async fn properties_by_client_encodes_the_code_and_sends_the_raw_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/properties/client/123%7C123"))
            .and(header("authorization", TOKEN))
            .and(header("accept", "application/json"))
            .and(header_regex("user-agent", r"^ozmap-ivr/\d+\.\d+"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "id": "p1", "box": "b1",
                "client": {"id": "c1", "code": "123|123", "name": "Gabriel"},
                "connections": [{"id": "s1", "kind": "Splitter", "port": 3}]
            }])))
            .expect(1)
            .mount(&server)
            .await;
        let props = client_for(&server, 1000)
            .properties_by_client("123|123")
            .await
            .unwrap();
        assert_eq!(props.len(), 1);
        assert_eq!(props[0].id, "p1");
        assert_eq!(props[0].client.as_ref().map(Ref::id), Some("c1"));
        assert_eq!(props[0].reserved_port(), Some(3));
        server.verify().await;
    }

    #[tokio::test]
    async fn properties_by_client_empty_list_and_404_mean_none() {
        let server = MockServer::start().await;
        Mock::given(path("/api/v2/properties/client/1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&server)
            .await;
        Mock::given(path("/api/v2/properties/client/2"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "x"})))
            .mount(&server)
            .await;
        Mock::given(path("/api/v2/properties/client/3"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(path("/api/v2/properties/client/4"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"box": "b1"}])))
            .mount(&server)
            .await;
        Mock::given(path("/api/v2/properties/client/5"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"message": "?"})))
            .mount(&server)
            .await;
        let c = client_for(&server, 1000);
        for k in ["1", "2", "3"] {
            assert!(c.properties_by_client(k).await.unwrap().is_empty(), "{k}");
        }
        // Something is listed but unreadable: never read that as "none".
        for k in ["4", "5"] {
            let e = c.properties_by_client(k).await.unwrap_err();
            assert!(matches!(e, OzmapError::Decode(_)), "{k}: {e:?}");
        }
    }

    #[tokio::test]
    async fn boxes_near_sends_the_near_filter_and_reads_the_envelope() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/boxes"))
            .and(NearFilter {
                lat: -27.5,
                lng: -48.25,
                radius: 150,
            })
            .and(query_param("limit", "7"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total": 3, "count": 3, "start": 0, "limit": 7,
                "rows": [
                    {"id": "b1", "name": "CTO-1", "draft": false},
                    {"_id": "b2", "name": "CTO-2", "draft": true},
                    {"name": "no id"}
                ]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let boxes = client_for(&server, 1000)
            .boxes_near(-27.5, -48.25, 150, 7)
            .await
            .unwrap();
        let ids: Vec<_> = boxes.iter().map(|b| (b.id.as_str(), b.draft)).collect();
        assert_eq!(ids, [("b1", false), ("b2", true)]);
        server.verify().await;
    }

    #[tokio::test]
    async fn splitters_of_filters_by_parent_and_drops_strangers() {
        let server = MockServer::start().await;
        Mock::given(path("/api/v2/splitters"))
            .and(EqFilter("parent", "b1".into()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": [
                {"id": "s1", "parent": "b1", "isDrop": true,
                 "connectables": {"output": [null]}, "ports": [{"blocked": false}]},
                {"id": "s2", "parent": {"id": "b9"}, "isDrop": true},
                {"id": "s3", "isDrop": false}
            ]})))
            .expect(1)
            .mount(&server)
            .await;
        let sp = client_for(&server, 1000).splitters_of("b1").await.unwrap();
        let ids: Vec<_> = sp.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s1", "s3"]);
        assert!(sp[0].can_serve());
        server.verify().await;
    }

    #[tokio::test]
    async fn statuses_map_to_typed_errors() {
        let server = MockServer::start().await;
        let cases: &[(u16, &str)] = &[
            (401, "{}"),
            (403, "{}"),
            (404, "{}"),
            (408, "{}"),
            (422, r#"{"message":"Caixa cheia"}"#),
            (400, r#"{"error":{"message":"inválido"}}"#),
            (409, "<html>conflict</html>"),
            (429, "{}"),
            (500, "{}"),
            (503, "{}"),
        ];
        for (status, body) in cases {
            Mock::given(path(format!("/api/v2/boxes/s{status}")))
                .respond_with(ResponseTemplate::new(*status).set_body_string(*body))
                .mount(&server)
                .await;
        }
        Mock::given(path("/api/v2/boxes/garbage"))
            .respond_with(ResponseTemplate::new(200).set_body_string("Gabriel not json"))
            .mount(&server)
            .await;
        let c = client_for(&server, 1000);
        let err = |id: &'static str| {
            let c = c.clone();
            async move { c.get_box(id).await.unwrap_err() }
        };
        assert_eq!(err("s401").await, OzmapError::Unauthorized(401));
        assert_eq!(err("s403").await, OzmapError::Unauthorized(403));
        assert_eq!(err("s404").await, OzmapError::NotFound);
        assert_eq!(err("s408").await, OzmapError::Timeout);
        assert_eq!(
            err("s422").await,
            OzmapError::Rejected {
                status: 422,
                message: "Caixa cheia".into()
            }
        );
        assert_eq!(
            err("s400").await,
            OzmapError::Rejected {
                status: 400,
                message: "inválido".into()
            }
        );
        assert_eq!(
            err("s409").await,
            OzmapError::Rejected {
                status: 409,
                message: "(no message)".into()
            }
        );
        assert_eq!(err("s429").await, OzmapError::RateLimited);
        assert_eq!(err("s500").await, OzmapError::Server(500));
        assert_eq!(err("s503").await, OzmapError::Server(503));
        let decode = err("garbage").await;
        assert!(matches!(decode, OzmapError::Decode(_)), "{decode:?}");
        assert!(!decode.to_string().contains("Gabriel"), "{decode}");

        for (e, transient) in [
            (OzmapError::Unauthorized(401), false),
            (OzmapError::NotFound, false),
            (
                OzmapError::Rejected {
                    status: 400,
                    message: String::new(),
                },
                false,
            ),
            (OzmapError::Decode(String::new()), false),
            (OzmapError::RateLimited, true),
            (OzmapError::Server(502), true),
            (OzmapError::Timeout, true),
            (OzmapError::Transport(String::new()), true),
        ] {
            assert_eq!(e.is_transient(), transient, "{e:?}");
        }
    }

    #[tokio::test]
    async fn a_rejection_message_is_redacted_and_truncated() {
        let server = MockServer::start().await;
        let long = format!(
            "Cliente 123|123 (Gabriel Marioto) em R. Delminda Silveira, 900 já existe {}",
            "x".repeat(400)
        );
        Mock::given(method("POST"))
            .and(path("/api/v2/properties"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"message": long})))
            .mount(&server)
            .await;
        let body = NewProperty {
            address: "R. Delminda Silveira, 900".into(),
            lat: 0.0,
            lng: 0.0,
            observation: "o".into(),
            box_id: "b1".into(),
            auto_connect: true,
            force: false,
            client: NewClient {
                certified: false,
                implanted: false,
                status: 0,
                observation: "o".into(),
                code: "123|123".into(),
                name: "Gabriel Marioto".into(),
            },
        };
        let e = client_for(&server, 1000)
            .create_property(&body)
            .await
            .unwrap_err();
        let OzmapError::Rejected { status, message } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*status, 400);
        for secret in ["123|123", "Gabriel", "Delminda"] {
            assert!(!message.contains(secret), "{message}");
        }
        assert!(message.starts_with("Cliente [redacted] ([redacted]) em [redacted] já existe"));
        assert!(message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[tokio::test]
    async fn a_slow_answer_is_a_timeout() {
        let server = MockServer::start().await;
        Mock::given(path("/api/v2/boxes/b1"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": "b1"}))
                    .set_delay(Duration::from_millis(600)),
            )
            .mount(&server)
            .await;
        let started = Instant::now();
        let e = client_for(&server, 200).get_box("b1").await.unwrap_err();
        assert_eq!(e, OzmapError::Timeout);
        assert!(started.elapsed() < Duration::from_millis(550));
    }

    #[tokio::test]
    async fn a_refused_connection_is_transport_and_hides_the_url() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = OzmapClient::new(
            Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
            SecretString::from(TOKEN),
            Duration::from_millis(500),
        )
        .unwrap();
        let e = c.properties_by_client("123|123").await.unwrap_err();
        assert!(matches!(e, OzmapError::Transport(_)), "{e:?}");
        assert!(e.is_transient());
        let msg = e.to_string();
        assert!(!msg.contains("123") && !msg.contains("properties"), "{msg}");
    }

    #[tokio::test]
    async fn viability_sends_the_point_and_reads_tolerantly() {
        let server = MockServer::start().await;
        Mock::given(path("/api/v2/ftth-viability/radius"))
            .and(query_param("lat", "-27.5"))
            .and(query_param("lng", "-48.25"))
            .and(query_param("radius", "200"))
            .and(header("authorization", TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "viable": true, "ctos": [{"_id": "b1", "distance": 12}], "radius": 200
            })))
            .expect(1)
            .mount(&server)
            .await;
        let v = client_for(&server, 1000)
            .viability(-27.5, -48.25, 200)
            .await
            .unwrap();
        assert!(v.viable);
        assert_eq!(v.boxes.len(), 1);
        assert_eq!(v.boxes[0].id, "b1");
        server.verify().await;
    }

    #[tokio::test]
    async fn prospect_and_delete() {
        let server = MockServer::start().await;
        let prospect = NewProspect {
            name: "N".into(),
            code: "1|2".into(),
            phone: None,
            address: "A".into(),
            coords: [-48.0, -27.0],
            viable: false,
            observation: "o".into(),
        };
        Mock::given(method("POST"))
            .and(path("/api/v2/prospects"))
            .and(header("content-type", "application/json"))
            .and(body_json(
                json!({"name": "N", "code": "1|2", "address": "A",
                "coords": [-48.0, -27.0], "viable": false, "observation": "o"}),
            ))
            .respond_with(ResponseTemplate::new(201))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/api/v2/properties/p1"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let c = client_for(&server, 1000);
        assert_eq!(c.create_prospect(&prospect).await.unwrap(), Value::Null);
        c.delete_property("p1").await.unwrap();
        assert_eq!(c.delete_property("p2").await, Err(OzmapError::NotFound));
        server.verify().await;
    }
}
