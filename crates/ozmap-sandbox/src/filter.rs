//! OZmap's list conventions: `filter=` a URL-encoded JSON array of
//! `{property, operator, value}`, `limit` (default 25) and 1-based `page`, answered
//! with the envelope `{total, count, start, limit, rows, hasNextPage}`. The filter
//! may also come as a JSON body on the GET (`{"filter": [...]}`), which is what the
//! official SDK sends; filters from both places all apply.
//!
//! Filters are applied to the JSON rows exactly as the API renders them, so one
//! engine serves boxes, splitters, properties and prospects. Supported operators:
//! `=`, `!=`, `in`, `notin`, `exists`, `like` (case-insensitive substring) and
//! `near` on `coords` (`{lat, lng, radius}`, numbers or numeric strings, radius in
//! metres; nearest first). Anything else is refused with a 400, so a client that
//! depends on an operator the sandbox does not model finds out at once.

use super::network::valid_lat_lng;
use ozmap_client::distance_m;
use serde::Deserialize;
use serde_json::{Value, json};

/// Page size when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: usize = 25;
/// Largest accepted `limit`.
pub(crate) const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
struct RawFilter {
    property: String,
    operator: String,
    #[serde(default)]
    value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    Eq(String, Value),
    Ne(String, Value),
    In(String, Vec<Value>),
    NotIn(String, Vec<Value>),
    Exists(String, bool),
    Like(String, String),
    Near {
        lat: f64,
        lng: f64,
        radius_m: Option<f64>,
    },
}

/// A list request: filters and the page asked for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ListQuery {
    pub filters: Vec<Filter>,
    pub limit: usize,
    pub page: usize,
}

/// Reads `filter`, `limit` and `page` from a raw query string; other parameters
/// (`select`, `populate`, `sort`) are accepted and ignored.
pub(crate) fn parse_list_query(query: &str) -> Result<ListQuery, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| "the query string is not valid".to_string())?;
    let mut q = ListQuery {
        filters: Vec::new(),
        limit: DEFAULT_LIMIT,
        page: 1,
    };
    for (key, value) in pairs {
        match key.as_str() {
            "filter" => q.filters.extend(parse_filters(&value)?),
            "limit" => {
                q.limit = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| format!("limit must be a number between 1 and {MAX_LIMIT}"))?;
            }
            "page" => {
                q.page = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| "page must be a number from 1".to_string())?;
            }
            _ => {}
        }
    }
    Ok(q)
}

/// [`parse_list_query`], plus the filters of a JSON body on the GET (the SDK's
/// `{"filter": [...]}`; `limit` and `page` there too, when the query has none).
/// An empty body adds nothing.
pub(crate) fn parse_list_request(query: &str, body: &[u8]) -> Result<ListQuery, String> {
    let mut q = parse_list_query(query)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(q);
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body of a list request is not valid JSON ({e})"))?;
    let Value::Object(obj) = value else {
        return Err("the body of a list request must be an object like {\"filter\": [...]}".into());
    };
    if let Some(f) = obj.get("filter").filter(|f| !f.is_null()) {
        q.filters.extend(filters_of(f.clone())?);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let in_query = |k: &str| pairs.iter().any(|(key, _)| key == k);
    for (key, default) in [("limit", DEFAULT_LIMIT), ("page", 1)] {
        if in_query(key) {
            continue;
        }
        let Some(v) = obj.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let n = number(Some(v))
            .filter(|n| n.fract() == 0.0 && *n >= 1.0)
            .map(|n| n as usize)
            .ok_or_else(|| format!("{key} in the body must be a whole number from 1"))?;
        match key {
            "limit" if n <= MAX_LIMIT => q.limit = n,
            "limit" => return Err(format!("limit must be a number between 1 and {MAX_LIMIT}")),
            _ => q.page = n.max(default),
        }
    }
    Ok(q)
}

/// Parses one `filter` parameter: a JSON array of filters, or a single filter object.
pub(crate) fn parse_filters(raw: &str) -> Result<Vec<Filter>, String> {
    let value: Value =
        serde_json::from_str(raw).map_err(|e| format!("filter is not valid JSON ({e})"))?;
    filters_of(value)
}

/// A JSON array of filters, or a single filter object.
fn filters_of(value: Value) -> Result<Vec<Filter>, String> {
    let items = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => return Err("filter must be a JSON array of {property, operator, value}".into()),
    };
    items
        .into_iter()
        .map(|item| {
            let raw: RawFilter = serde_json::from_value(item)
                .map_err(|e| format!("each filter needs property, operator and value ({e})"))?;
            to_filter(raw)
        })
        .collect()
}

fn to_filter(raw: RawFilter) -> Result<Filter, String> {
    let property = match raw.property.as_str() {
        "_id" => "id".to_string(),
        p => p.to_string(),
    };
    let list = |v: Value| match v {
        Value::Array(items) => Ok(items),
        _ => Err(format!(
            "operator {} on {property} needs an array value",
            raw.operator
        )),
    };
    Ok(match raw.operator.as_str() {
        "=" => Filter::Eq(property, raw.value),
        "!=" => Filter::Ne(property, raw.value),
        "in" => Filter::In(property.clone(), list(raw.value)?),
        "notin" => Filter::NotIn(property.clone(), list(raw.value)?),
        "exists" => Filter::Exists(property, truthy(&raw.value)),
        "like" => Filter::Like(property, scalar_string(&raw.value).unwrap_or_default()),
        "near" => {
            if property != "coords" {
                return Err(format!("near is supported on coords only, not {property}"));
            }
            let lat = number(raw.value.get("lat"));
            let lng = number(raw.value.get("lng"));
            let (Some(lat), Some(lng)) = (lat, lng) else {
                return Err("near needs value {lat, lng, radius} with numeric lat and lng".into());
            };
            if !valid_lat_lng(lat, lng) {
                return Err("near: lat/lng out of range".into());
            }
            let radius_m = match raw.value.get("radius") {
                None | Some(Value::Null) => None,
                Some(r) => Some(
                    number(Some(r))
                        .filter(|r| *r >= 0.0)
                        .ok_or("near: radius must be a number of metres")?,
                ),
            };
            Filter::Near { lat, lng, radius_m }
        }
        other => {
            return Err(format!(
                "operator {other:?} is not supported by the sandbox (=, !=, in, notin, exists, like, near)"
            ));
        }
    })
}

/// A number given as a JSON number or a numeric string.
pub(crate) fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s != "false" && s != "0",
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Null => false,
        _ => true,
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Equality as a query string would mean it: `"false"` matches `false`, `"3"`
/// matches `3`; an array field matches when one element does.
fn loose_eq(field: &Value, wanted: &Value) -> bool {
    if let Value::Array(items) = field
        && !wanted.is_array()
    {
        return items.iter().any(|i| loose_eq(i, wanted));
    }
    if field == wanted {
        return true;
    }
    if let (Some(a), Some(b)) = (field.as_f64(), number(Some(wanted))) {
        return a == b;
    }
    matches!((scalar_string(field), scalar_string(wanted)), (Some(a), Some(b)) if a == b)
}

/// The value at a dotted path (`client.code`).
fn lookup<'a>(row: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(row, |v, key| v.get(key))
}

/// `[lng, lat]` of a row, from `coords` or the flat `lat`/`lng`.
fn row_point(row: &Value) -> Option<(f64, f64)> {
    if let Some(Value::Array(c)) = row.get("coords")
        && let (Some(lng), Some(lat)) = (number(c.first()), number(c.get(1)))
    {
        return Some((lat, lng));
    }
    Some((number(row.get("lat"))?, number(row.get("lng"))?))
}

fn matches(row: &Value, filter: &Filter) -> bool {
    let null = Value::Null;
    match filter {
        Filter::Eq(p, v) => loose_eq(lookup(row, p).unwrap_or(&null), v),
        Filter::Ne(p, v) => !loose_eq(lookup(row, p).unwrap_or(&null), v),
        Filter::In(p, vs) => {
            let f = lookup(row, p).unwrap_or(&null);
            vs.iter().any(|v| loose_eq(f, v))
        }
        Filter::NotIn(p, vs) => {
            let f = lookup(row, p).unwrap_or(&null);
            !vs.iter().any(|v| loose_eq(f, v))
        }
        Filter::Exists(p, want) => {
            let present = !matches!(lookup(row, p), None | Some(Value::Null));
            present == *want
        }
        Filter::Like(p, needle) => lookup(row, p)
            .and_then(scalar_string)
            .is_some_and(|s| s.to_lowercase().contains(&needle.to_lowercase())),
        Filter::Near { lat, lng, radius_m } => match row_point(row) {
            Some((rl, rg)) => radius_m.is_none_or(|r| distance_m(*lat, *lng, rl, rg) <= r),
            None => false,
        },
    }
}

/// Filters, orders (by the first `near`, nearest first; otherwise as given) and
/// pages the rows into the list envelope.
pub(crate) fn list_envelope(rows: Vec<Value>, q: &ListQuery) -> Value {
    let mut kept: Vec<Value> = rows
        .into_iter()
        .filter(|r| q.filters.iter().all(|f| matches(r, f)))
        .collect();
    let near = q.filters.iter().find_map(|f| match f {
        Filter::Near { lat, lng, .. } => Some((*lat, *lng)),
        _ => None,
    });
    if let Some((lat, lng)) = near {
        let distance = |r: &Value| {
            row_point(r)
                .map(|(rl, rg)| distance_m(lat, lng, rl, rg))
                .unwrap_or(f64::INFINITY)
        };
        kept.sort_by(|a, b| distance(a).total_cmp(&distance(b)));
    }
    let total = kept.len();
    let start = q.limit.saturating_mul(q.page - 1);
    let page: Vec<Value> = kept.into_iter().skip(start).take(q.limit).collect();
    let count = page.len();
    json!({
        "total": total,
        "count": count,
        "start": start,
        "limit": q.limit,
        "rows": page,
        "hasNextPage": start.saturating_add(count) < total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters_limit_and_page() {
        let q = parse_list_query(
            "filter=%5B%7B%22property%22%3A%22draft%22%2C%22operator%22%3A%22%3D%22%2C%22value%22%3Afalse%7D%5D&limit=5&page=2&select=name",
        )
        .unwrap();
        assert_eq!(
            q.filters,
            vec![Filter::Eq("draft".into(), Value::Bool(false))]
        );
        assert_eq!((q.limit, q.page), (5, 2));
        assert_eq!(parse_list_query("").unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn refuses_bad_filters_and_pages() {
        assert!(parse_list_query("limit=0").is_err());
        assert!(parse_list_query("limit=abc").is_err());
        assert!(parse_list_query("page=0").is_err());
        assert!(parse_filters("not json").is_err());
        assert!(
            parse_filters("[{\"property\":\"x\",\"operator\":\"within\",\"value\":1}]").is_err()
        );
        assert!(
            parse_filters("[{\"property\":\"name\",\"operator\":\"near\",\"value\":{}}]").is_err()
        );
        assert!(parse_filters("[{\"property\":\"coords\",\"operator\":\"near\",\"value\":{\"lat\":\"x\",\"lng\":1}}]").is_err());
        assert!(
            parse_filters("[{\"property\":\"id\",\"operator\":\"in\",\"value\":\"a\"}]").is_err()
        );
    }

    #[test]
    fn loose_equality_reads_query_values_kindly() {
        assert!(loose_eq(&json!(false), &json!("false")));
        assert!(loose_eq(&json!(3), &json!("3")));
        assert!(loose_eq(&json!(["a", "b"]), &json!("b")));
        assert!(!loose_eq(&json!(true), &json!("false")));
        assert!(!loose_eq(&Value::Null, &json!("x")));
    }

    #[test]
    fn near_orders_and_cuts_by_radius() {
        let rows = vec![
            json!({"id": "far", "coords": [-48.53, -27.58]}),
            json!({"id": "near", "lat": -27.5783, "lng": -48.5275}),
            json!({"id": "nowhere"}),
        ];
        let q = ListQuery {
            filters: parse_filters(
                r#"[{"property":"coords","operator":"near","value":{"lat":"-27.5782","lng":"-48.5274"}}]"#,
            )
            .unwrap(),
            limit: 25,
            page: 1,
        };
        let env = list_envelope(rows.clone(), &q);
        let ids: Vec<&str> = env["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["near", "far"]);
        let q = ListQuery {
            filters: vec![Filter::Near {
                lat: -27.5782,
                lng: -48.5274,
                radius_m: Some(50.0),
            }],
            limit: 25,
            page: 1,
        };
        assert_eq!(list_envelope(rows, &q)["total"], 1);
    }
}
