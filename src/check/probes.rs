//! The probes of `ozmap-ivr check`, one per service; each returns its line.

use super::{Line, timed};
use crate::config::Config;
use crate::geocode::{GeoError, Locator};
use crate::reserve::Feasibility;
use crate::sms::ProviderSettings;
use ivr_core::domain::{ClientCode, Place};
use ozmap_client::OzmapError;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

/// A client code no ISP gives (the directory must answer "unknown").
const NOBODY: &str = "999999999999999999";

pub(super) async fn database(cfg: &Config) -> Line {
    let name = "database";
    let url = &cfg.database.url;
    let kind = match url.starts_with("sqlite:") {
        true => "SQLite",
        false => "PostgreSQL",
    };
    match crate::store::schema_versions(url).await {
        Ok(None) => Line::ok(
            name,
            format!(
                "{kind}: no database file yet; `serve` creates and migrates it (IVR_DATABASE_URL)"
            ),
        ),
        Ok(Some((current, latest))) if current == latest => Line::ok(
            name,
            format!("{kind}: reachable, schema current (version {current})"),
        ),
        Ok(Some((current, latest))) if current < latest => Line::fail(
            name,
            format!(
                "{kind}: reachable, {} migration(s) pending (version {current} of {latest}): \
                 `serve` applies them at start",
                latest - current
            ),
        ),
        Ok(Some((current, latest))) => Line::fail(
            name,
            format!(
                "{kind}: schema version {current} is newer than this binary's {latest}: \
                 run the newer ozmap-ivr, or restore a backup"
            ),
        ),
        Err(e) => Line::fail(
            name,
            format!(
                "{kind}: cannot be read ({}): check IVR_DATABASE_URL",
                redact_url(&e.to_string(), url)
            ),
        ),
    }
}

/// Where to ask for boxes: `--near`, else the gazetteer's first address.
pub(super) fn point(cfg: &Config, near: Option<&str>) -> Result<(f64, f64, String), String> {
    if let Some(raw) = near {
        let parsed = raw.split_once(',').and_then(|(a, b)| {
            Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
        });
        return match parsed {
            Some((lat, lng))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) =>
            {
                Ok((lat, lng, format!("--near {lat},{lng}")))
            }
            _ => Err("--near: expected LAT,LNG in degrees, e.g. -27.5782,-48.5282".into()),
        };
    }
    let place = Locator::known_address(&cfg.geocoder)
        .map_err(|e| format!("no point to ask about: {e}; pass --near LAT,LNG"))?;
    Ok((place.lat, place.lng, "the gazetteer's first address".into()))
}

pub(super) async fn ozmap(cfg: &Config, near: Option<&str>, sandbox: bool) -> Line {
    let name = "ozmap";
    let which = match (sandbox, cfg.ozmap.api.as_ref()) {
        (true, _) => "built-in sandbox".to_string(),
        (false, Some((url, _))) => url.host_str().unwrap_or("?").to_string(),
        (false, None) => "?".to_string(),
    };
    let (lat, lng, from) = match point(cfg, near) {
        Ok(p) => p,
        Err(e) => return Line::fail(name, format!("{which}: {e}")),
    };
    let client = match cfg.ozmap.client() {
        Ok(c) => c,
        Err(e) => return Line::fail(name, format!("{which}: {e}: check OZMAP_URL")),
    };
    let radius = cfg.reserve.radius_m;
    let boxes = match client.boxes_near(lat, lng, radius, 5).await {
        Ok(b) => b,
        Err(e) => return Line::fail(name, format!("{which}: {}", ozmap_error(&e))),
    };
    if boxes.is_empty() {
        return Line::fail(
            name,
            format!(
                "{which}: token accepted, but no box within {radius} m of {from}: check the \
                 point (--near) or OZMAP_RADIUS_M"
            ),
        );
    }
    let mut detail = format!(
        "{which}: token accepted, {} box(es) within {radius} m of {from}",
        boxes.len()
    );
    if cfg.reserve.strategy == Feasibility::Viability {
        match client.viability(lat, lng, radius).await {
            Ok(v) => detail.push_str(&format!("; ftth-viability answered (viable: {})", v.viable)),
            Err(e) => {
                return Line::fail(
                    name,
                    format!(
                        "{which}: boxes answered, ftth-viability did not: {} (OZMAP_FEASIBILITY=viability; \
                         `boxes` does without it)",
                        ozmap_error(&e)
                    ),
                );
            }
        }
    }
    Line::ok(name, detail)
}

fn ozmap_error(e: &OzmapError) -> String {
    match e {
        OzmapError::Unauthorized(status) => {
            format!(
                "wrong token: OZmap refused OZMAP_TOKEN (HTTP {status}); check the API key and its API module"
            )
        }
        OzmapError::Timeout => {
            "OZmap did not answer in time: check OZMAP_URL, or raise OZMAP_TIMEOUT_MS".into()
        }
        OzmapError::Transport(_) => format!("unreachable: {e}; check OZMAP_URL and the network"),
        other => format!("{other}: check OZMAP_URL"),
    }
}

/// The geocoder and the CEP service, each within `timeout`.
pub(super) async fn geocoding(cfg: &Config, timeout: Duration) -> (Line, Line) {
    let locator = match cfg.geocoder.locator() {
        Ok(l) => l,
        Err(e) => {
            let why = format!("cannot be built: {e}");
            return (Line::fail("geocoder", why.clone()), Line::fail("cep", why));
        }
    };
    let place = match Locator::known_address(&cfg.geocoder) {
        Ok(p) => p,
        Err(e) => {
            let why = format!("no known address to ask about: {e} (GAZETTEER_FILE)");
            return (Line::fail("geocoder", why.clone()), Line::fail("cep", why));
        }
    };
    let (local_geo, local_cep) = locator.local();
    let geocoder = timed("geocoder", timeout, async {
        probe_geocoder(&locator, &place, local_geo).await
    })
    .await;
    let cep = timed("cep", timeout, async {
        probe_cep(&locator, &place, local_cep).await
    })
    .await;
    (geocoder, cep)
}

/// The ISP's own address (a gazetteer row), not a caller's: safe to name.
fn address(p: &Place) -> String {
    let number = p.number.as_ref().and_then(|n| n.given()).unwrap_or("s/n");
    format!("{}, {number}, {}", p.street, p.city)
}

async fn probe_geocoder(locator: &Locator, place: &Place, local: bool) -> Line {
    let name = "geocoder";
    let which = match local {
        true => "gazetteer",
        false => "GEOCODER_URL",
    };
    match locator.probe_geocoder(place).await {
        Ok(Some(found)) => {
            let metres = ozmap_client::distance_m(place.lat, place.lng, found.lat, found.lng);
            Line::ok(
                name,
                format!(
                    "{which}: found {} ({metres:.0} m from the gazetteer's point)",
                    address(place)
                ),
            )
        }
        Ok(None) => Line::fail(
            name,
            format!(
                "{which}: answered, but did not find {}: check GEOCODER, GEOCODER_URL and IVR_SERVICE_AREA",
                address(place)
            ),
        ),
        Err(e) => Line::fail(
            name,
            format!(
                "{which}: {}",
                geo_error(&e, "GEOCODER_URL (or GOOGLE_MAPS_KEY)")
            ),
        ),
    }
}

async fn probe_cep(locator: &Locator, place: &Place, local: bool) -> Line {
    let name = "cep";
    let which = match local {
        true => "gazetteer",
        false => "CEP_URL",
    };
    let Some(cep) = &place.cep else {
        return Line::skip(
            name,
            "the gazetteer's first address has no CEP to ask about",
        );
    };
    match locator.probe_cep(cep).await {
        Ok(Some(_)) => Line::ok(name, format!("{which}: CEP {} known", cep.formatted())),
        Ok(None) => Line::fail(
            name,
            format!(
                "{which}: answered, but does not know CEP {}: check CEP_URL",
                cep.formatted()
            ),
        ),
        Err(e) => Line::fail(name, format!("{which}: {}", geo_error(&e, "CEP_URL"))),
    }
}

fn geo_error(e: &GeoError, var: &str) -> String {
    let text = e.to_string();
    if text.contains("401") || text.contains("403") {
        return format!("wrong key or token ({text}): check {var}");
    }
    match e {
        GeoError::Timeout => format!("no answer in time: check {var}"),
        _ => format!("{text}: check {var}"),
    }
}

pub(super) async fn directory(cfg: &Config, client: Option<&str>) -> Line {
    let name = "directory";
    let directory = match cfg.directory.directory() {
        Ok(Some(d)) => d,
        Ok(None) => return Line::skip(name, "no client directory (CLIENT_DIRECTORY=none)"),
        Err(e) => {
            return Line::fail(
                name,
                format!("cannot be built: {e}: check CLIENT_DIRECTORY_URL"),
            );
        }
    };
    let kind = directory.kind();
    let (code, given) = match client {
        Some(raw) => match ClientCode::parse(raw) {
            Some(c) => (c, true),
            None => return Line::fail(name, "--client: not a client code (digits and `|`)"),
        },
        None => (ClientCode::parse(NOBODY).expect("a code"), false),
    };
    match (directory.look_up(&code).await, given) {
        (Ok(Some(_)), true) => Line::ok(
            name,
            format!("{kind}: reachable, the --client code is known"),
        ),
        (Ok(None), true) => Line::fail(
            name,
            format!(
                "{kind}: reachable, but does not know the --client code: check the code, or CLIENT_DIRECTORY_URL"
            ),
        ),
        (Ok(_), false) => Line::ok(
            name,
            format!(
                "{kind}: reachable, token accepted (pass --client CODE to look up a known client)"
            ),
        ),
        (Err(e @ crate::directory::DirectoryError::Refused(_)), _) => Line::fail(
            name,
            format!("{kind}: wrong token: {e}; check CLIENT_DIRECTORY_TOKEN"),
        ),
        (Err(e), _) => Line::fail(name, format!("{kind}: {e}: check CLIENT_DIRECTORY_URL")),
    }
}

/// A read-only `GET` with the provider's credentials: what the status says.
async fn get(url: &str, auth: Auth<'_>, timeout: Duration, vars: &str) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .user_agent(concat!("ozmap-ivr/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let rb = http.get(url);
    let rb = match auth {
        Auth::Basic(user, pass) => rb.basic_auth(user, Some(pass.expose_secret())),
        Auth::Bearer(token) => rb.bearer_auth(token.expose_secret()),
    };
    match rb.send().await {
        Ok(res) => match res.status().as_u16() {
            200..=299 => Ok(()),
            s @ (401 | 403) => Err(format!("wrong credentials (HTTP {s}): check {vars}")),
            s => Err(format!("answered HTTP {s}: check {vars}")),
        },
        Err(e) if e.is_timeout() => Err(format!("no answer in time: check {vars}")),
        Err(_) => Err(format!("unreachable: check {vars} and the network")),
    }
}

enum Auth<'a> {
    Basic(&'a str, &'a SecretString),
    Bearer(&'a SecretString),
}

fn join(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

pub(super) async fn sms(cfg: &Config) -> Line {
    let name = "sms";
    let timeout = cfg.sms.timeout;
    let (provider, sent) = match &cfg.sms.provider {
        ProviderSettings::Off => return Line::skip(name, "no SMS (SMS_PROVIDER=none)"),
        ProviderSettings::Log => {
            return Line::ok(name, "SMS_PROVIDER=log: written to the log, nothing sent");
        }
        ProviderSettings::Twilio {
            api,
            account_sid,
            auth_token,
            ..
        } => (
            "twilio",
            get(
                &join(api, &format!("/2010-04-01/Accounts/{account_sid}.json")),
                Auth::Basic(account_sid, auth_token),
                timeout,
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
            )
            .await,
        ),
        ProviderSettings::SignalWire {
            space,
            project_id,
            api_token,
            ..
        } => (
            "signalwire",
            get(
                &join(
                    space,
                    &format!("/api/laml/2010-04-01/Accounts/{project_id}.json"),
                ),
                Auth::Basic(project_id, api_token),
                timeout,
                "SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN",
            )
            .await,
        ),
        ProviderSettings::Telnyx { api, api_key, .. } => (
            "telnyx",
            get(
                &join(api, "/v2/balance"),
                Auth::Bearer(api_key),
                timeout,
                "TELNYX_API_KEY",
            )
            .await,
        ),
    };
    match sent {
        Ok(()) => Line::ok(
            name,
            format!("{provider}: credentials accepted (account read, nothing sent)"),
        ),
        Err(e) => Line::fail(name, format!("{provider}: {e}")),
    }
}

pub(super) async fn whatsapp(cfg: &Config) -> Line {
    let name = "whatsapp";
    let Some(w) = &cfg.whatsapp else {
        return Line::skip(name, "channel off (no WHATSAPP_APP_SECRET)");
    };
    let url = join(
        &w.api_url,
        &format!("/{}/{}", w.api_version, w.phone_number_id),
    );
    match get(
        &url,
        Auth::Bearer(&w.token),
        w.timeout,
        "WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID",
    )
    .await
    {
        Ok(()) => Line::ok(name, "Graph API: token accepted, the business number read"),
        Err(e) => Line::fail(name, format!("Graph API: {e}")),
    }
}

pub(super) fn signing(cfg: &Config, sandbox: bool) -> Line {
    let name = "signing";
    let keys = &cfg.signing.keys;
    let mut set = Vec::new();
    if keys.twilio_auth_token.is_some() {
        set.push("TWILIO_AUTH_TOKEN");
    }
    if !keys.twilio_shared_keys.is_empty() {
        set.push("TWILIO_WEBHOOK_KEYS");
    }
    if keys.signalwire_signing_key.is_some() {
        set.push("SIGNALWIRE_SIGNING_KEY");
    }
    if keys.telnyx_public_key.is_some() {
        set.push("TELNYX_PUBLIC_KEY");
    }
    match (set.is_empty(), sandbox) {
        (false, _) => Line::ok(name, format!("webhooks checked with {}", set.join(", "))),
        (true, true) => Line::ok(
            name,
            "no signing secret: unsigned webhooks accepted with the built-in sandbox only",
        ),
        (true, false) => Line::fail(
            name,
            "no webhook signing secret (IVR_ALLOW_UNSIGNED lets anyone forge a call): set \
             TWILIO_AUTH_TOKEN, TWILIO_WEBHOOK_KEYS, SIGNALWIRE_SIGNING_KEY or TELNYX_PUBLIC_KEY",
        ),
    }
}

pub(super) fn public_url(cfg: &Config, sandbox: bool) -> Line {
    let name = "public-url";
    // `public_url` holds no credentials (they are kept apart).
    let Ok(url) = Url::parse(&cfg.http.public_url) else {
        return Line::fail(name, "IVR_PUBLIC_URL does not parse");
    };
    let host = url.host_str().unwrap_or("?");
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
    match (url.scheme(), sandbox && loopback) {
        ("https", _) => Line::ok(name, format!("https://{host}")),
        (_, true) => Line::ok(
            name,
            format!("http://{host}: loopback with the sandbox (a phone platform needs https)"),
        ),
        _ => Line::fail(
            name,
            format!(
                "{}://{host}: the platform must reach the service on https: set IVR_PUBLIC_URL \
                 to the https address in front of it",
                url.scheme()
            ),
        ),
    }
}

/// An error's text with the database URL (which may hold a password) removed.
fn redact_url(text: &str, url: &str) -> String {
    text.replace(url, "IVR_DATABASE_URL")
}
