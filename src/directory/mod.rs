//! The client directory: the ISP's system (its ERP) asked whether a client code
//! exists, under which name, and at which installation address.
//!
//! Two kinds ([`DirectorySettings`], `CLIENT_DIRECTORY`):
//! - `http`: a small JSON contract an ISP can put in front of any ERP
//!   (`docs/client-directory.md`), and what the built-in sandbox serves;
//! - `ixc`: IXC Soft's webservice, parsed tolerantly (`ixc.rs` says what is
//!   documented and what is inferred).
//!
//! A look-up answers known (with a [`KnownClient`]), unknown, or a
//! [`DirectoryError`]; the call treats an error as "no directory" and goes on.
//! Known clients are kept in memory for `CLIENT_DIRECTORY_CACHE_S` ([`cache`]);
//! unknown codes are not kept. Nothing here logs a code, a name or an address.

mod cache;
mod contract;
mod ixc;
#[cfg(test)]
mod tests;

pub(crate) use cache::Lookups;

use ivr_core::domain::{ClientCode, KnownClient};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

/// What the configuration says about the directory.
#[derive(Clone, Debug)]
pub(crate) enum DirectorySettings {
    /// No directory: every code is accepted, name and address are asked.
    Off,
    /// The built-in sandbox's directory, once the sandbox's URL is known.
    Sandbox { timeout: Duration, cache: Duration },
    Http {
        url: Url,
        token: Option<SecretString>,
        timeout: Duration,
        cache: Duration,
    },
    Ixc {
        url: Url,
        /// `user:token`, sent as HTTP Basic.
        token: SecretString,
        timeout: Duration,
        cache: Duration,
    },
}

impl DirectorySettings {
    /// Points a `Sandbox` directory at the sandbox started for this process.
    pub(crate) fn use_sandbox(&mut self, url: &Url, token: &SecretString) {
        if let DirectorySettings::Sandbox { timeout, cache } = self {
            let mut base = url.clone();
            base.set_path("/directory");
            *self = DirectorySettings::Http {
                url: base,
                token: Some(token.clone()),
                timeout: *timeout,
                cache: *cache,
            };
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        !matches!(self, DirectorySettings::Off)
    }

    /// The client for these settings; `None` when there is no directory.
    pub(crate) fn directory(&self) -> anyhow::Result<Option<Directory>> {
        let client = |timeout: Duration| {
            reqwest::Client::builder()
                .user_agent(concat!("ozmap-ivr/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(timeout.min(Duration::from_secs(2)))
                .timeout(timeout)
                .build()
        };
        Ok(match self {
            DirectorySettings::Off => None,
            // Not pointed at a sandbox: nothing to ask.
            DirectorySettings::Sandbox { .. } => None,
            DirectorySettings::Http {
                url,
                token,
                timeout,
                cache,
            } => Some(Directory {
                backend: Backend::Http(contract::HttpDirectory::new(
                    client(*timeout)?,
                    url.clone(),
                    token.clone(),
                )),
                cache: *cache,
            }),
            DirectorySettings::Ixc {
                url,
                token,
                timeout,
                cache,
            } => Some(Directory {
                backend: Backend::Ixc(ixc::IxcDirectory::new(
                    client(*timeout)?,
                    url.clone(),
                    token.clone(),
                )),
                cache: *cache,
            }),
        })
    }
}

/// A configured directory.
#[derive(Clone, Debug)]
pub(crate) struct Directory {
    backend: Backend,
    /// How long a known client is kept in memory.
    pub(crate) cache: Duration,
}

#[derive(Clone, Debug)]
enum Backend {
    Http(contract::HttpDirectory),
    Ixc(ixc::IxcDirectory),
}

impl Directory {
    /// `Ok(None)`: the directory has no such client.
    pub(crate) async fn look_up(
        &self,
        code: &ClientCode,
    ) -> Result<Option<KnownClient>, DirectoryError> {
        match &self.backend {
            Backend::Http(d) => d.look_up(code).await,
            Backend::Ixc(d) => d.look_up(code).await,
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Http(_) => "http",
            Backend::Ixc(_) => "ixc",
        }
    }
}

/// Why a directory gave no answer. Never holds a code, a name or an address.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DirectoryError {
    #[error("the directory refused the token (HTTP {0})")]
    Refused(u16),
    #[error("the directory answered HTTP {0}")]
    Status(u16),
    #[error("the directory did not answer in time")]
    Timeout,
    #[error("the directory could not be reached")]
    Unreachable,
    #[error("the directory's answer could not be read: {0}")]
    Malformed(&'static str),
}

impl DirectoryError {
    /// The label of the `ozmap_ivr_directory_lookups_total` counter.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            DirectoryError::Refused(_) => "refused",
            DirectoryError::Status(_) => "error",
            DirectoryError::Timeout => "timeout",
            DirectoryError::Unreachable => "unreachable",
            DirectoryError::Malformed(_) => "malformed",
        }
    }

    fn from_reqwest(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            DirectoryError::Timeout
        } else if e.is_decode() {
            DirectoryError::Malformed("not JSON")
        } else {
            DirectoryError::Unreachable
        }
    }
}

/// A 200's body, at most `max` bytes; `Ok(None)` for a 404 when `not_found`
/// means "no such client"; every other status an error.
async fn body(
    sent: Result<reqwest::Response, reqwest::Error>,
    not_found: bool,
    max: usize,
) -> Result<Option<Vec<u8>>, DirectoryError> {
    let res = sent.map_err(|e| DirectoryError::from_reqwest(&e))?;
    match res.status().as_u16() {
        200 => {}
        404 if not_found => return Ok(None),
        s @ (401 | 403) => return Err(DirectoryError::Refused(s)),
        s => return Err(DirectoryError::Status(s)),
    }
    let body = res
        .bytes()
        .await
        .map_err(|e| DirectoryError::from_reqwest(&e))?;
    if body.len() > max {
        return Err(DirectoryError::Malformed("answer too large"));
    }
    Ok(Some(body.to_vec()))
}

/// Coordinates a directory may give as numbers or strings ("-27,57" too); 0,0
/// and out-of-range values are no coordinates.
fn coordinates(
    lat: Option<&serde_json::Value>,
    lng: Option<&serde_json::Value>,
) -> Option<(f64, f64)> {
    let num = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    };
    let (lat, lng) = (num(lat?)?, num(lng?)?);
    let valid = lat.is_finite()
        && lng.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lng)
        && !(lat == 0.0 && lng == 0.0);
    valid.then_some((lat, lng))
}

/// A text field a directory may send as a string or a number, bounded and
/// clean ([`ivr_core::text::clean`]); blank is none.
fn text(v: Option<&serde_json::Value>) -> Option<String> {
    let s = match v? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    ivr_core::text::clean_non_empty(&s, ivr_core::text::MAX_FIELD_CHARS)
}

/// The address fields every directory has, before they are checked.
#[derive(Default)]
struct Fields {
    street: Option<String>,
    number: Option<String>,
    complement: Option<String>,
    neighbourhood: Option<String>,
    city: Option<String>,
    state: Option<String>,
    cep: Option<String>,
    coordinates: Option<(f64, f64)>,
}

/// A name and an address into what the flow takes. A client without a usable
/// address (no street or no city) is known, with the address to be asked.
fn known(name: String, f: Fields) -> KnownClient {
    // "S/N" in the ISP's record is its own word that there is none; an
    // empty number is not known (and is not read back).
    let number = f
        .number
        .as_deref()
        .and_then(ivr_core::domain::HouseNumber::parse);
    let installation = match (f.street, f.city) {
        (Some(street), Some(city)) => Some(ivr_core::domain::Place {
            street,
            number,
            complement: f.complement,
            neighbourhood: f.neighbourhood,
            city,
            state: f
                .state
                .map(|s| s.to_uppercase())
                .filter(|s| s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic())),
            cep: f.cep.as_deref().and_then(ivr_core::domain::Cep::parse),
            lat: f.coordinates.map_or(0.0, |c| c.0),
            lng: f.coordinates.map_or(0.0, |c| c.1),
        }),
        _ => None,
    };
    KnownClient {
        name,
        located: installation.is_some() && f.coordinates.is_some(),
        installation,
    }
}
