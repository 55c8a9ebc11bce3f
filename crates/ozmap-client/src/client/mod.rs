//! [`OzmapClient`]: one method per OZmap endpoint, each a single request that is
//! never retried.

use crate::error::{status_error, transport_error};
use crate::{BoxInfo, NewProperty, NewProspect, OzmapError, Property, Splitter, Viability};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt;
use std::time::{Duration, Instant};
use tracing::{debug, warn};
use url::Url;

/// Longest connect timeout, whatever the total timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Splitters read per box (OZmap's default page is 25).
const SPLITTERS_LIMIT: u32 = 100;
/// Most pages read for one list call: a bound on the requests (and the time) a
/// list may cost, whatever `hasNextPage` says.
pub(crate) const MAX_LIST_PAGES: u32 = 5;

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

/// `hasNextPage` of a list envelope (`false` when absent or not understood).
fn has_next_page(v: &Value) -> bool {
    match v.get("hasNextPage") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

impl OzmapClient {
    /// A list read page by page (`page` from 1) while the answer says
    /// `hasNextPage`, until `want` rows are seen, a page brings nothing new, or
    /// [`MAX_LIST_PAGES`] pages were read. Rows are de-duplicated by id.
    async fn list_pages<T: DeserializeOwned + Identified>(
        &self,
        op: &'static str,
        route: &str,
        query: &[(&str, String)],
        want: usize,
    ) -> Result<Vec<T>, OzmapError> {
        let mut out: Vec<T> = Vec::new();
        for page in 1..=MAX_LIST_PAGES {
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push(("page", page.to_string()));
            let rb = self.http.get(self.url(route)?).query(&q);
            let body = self.execute(op, rb, &[]).await?;
            let v: Value = decode(&body)?;
            let more = has_next_page(&v);
            let before = out.len();
            for row in rows::<T>(op, v)? {
                if !out.iter().any(|t| t.id() == row.id()) {
                    out.push(row);
                }
            }
            if !more || out.len() >= want || out.len() == before {
                break;
            }
            if page == MAX_LIST_PAGES {
                warn!(
                    op,
                    pages = page,
                    rows = out.len(),
                    "OZmap list has more pages than are read; stopped"
                );
            } else {
                debug!(
                    op,
                    page,
                    rows = out.len(),
                    "OZmap list: reading the next page"
                );
            }
        }
        Ok(out)
    }

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

    /// `GET /boxes?filter=[near]&limit=N&page=P`: at most `limit` boxes within
    /// `radius_m` metres, in the server's order (nearest first for a Mongo
    /// `near`), following `hasNextPage` (bounded by [`MAX_LIST_PAGES`]) when a
    /// page holds fewer than `limit`.
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
        let mut boxes: Vec<BoxInfo> = self
            .list_pages(
                op,
                "boxes",
                &[("filter", filter.to_string()), ("limit", limit.to_string())],
                limit.max(1) as usize,
            )
            .await?;
        boxes.truncate(limit.max(1) as usize);
        Ok(boxes)
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

    /// `GET /splitters?filter=[parent = box]&page=P`: the splitters inside a box,
    /// every page while `hasNextPage` (bounded by [`MAX_LIST_PAGES`]).
    /// Rows that name another parent (a filter the server ignored) are dropped.
    pub async fn splitters_of(&self, box_id: &str) -> Result<Vec<Splitter>, OzmapError> {
        let op = "splitters_of";
        let filter = json!([{"property": "parent", "operator": "=", "value": box_id}]);
        let all: Vec<Splitter> = self
            .list_pages(
                op,
                "splitters",
                &[
                    ("filter", filter.to_string()),
                    ("limit", SPLITTERS_LIMIT.to_string()),
                ],
                usize::MAX,
            )
            .await?;
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

    /// `GET /properties/{id}`: one property ([`OzmapError::NotFound`] when it
    /// is gone).
    pub async fn get_property(&self, id: &str) -> Result<Property, OzmapError> {
        let url = self.url(&format!("properties/{}", encode_segment(id)))?;
        let body = self
            .execute("get_property", self.http.get(url), &[])
            .await?;
        let mut p: Property = decode(&body)?;
        if p.id.is_empty() {
            p.id = id.to_string();
        }
        Ok(p)
    }

    /// `PATCH /ftth-clients/{id}` with `{"implanted": true}`: the client is
    /// activated (a reserved client is `implanted: false`). Setting it again
    /// changes nothing, so a repeat is harmless.
    pub async fn implant_client(&self, id: &str) -> Result<(), OzmapError> {
        let url = self.url(&format!("ftth-clients/{}", encode_segment(id)))?;
        let rb = self.http.patch(url).json(&json!({"implanted": true}));
        self.execute("implant_client", rb, &[]).await.map(|_| ())
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
mod tests;
