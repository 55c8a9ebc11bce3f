//! The pieces every scheme uses: the MAC compare, headers, the URL variants, hex.

use super::{HmacSha1, HmacSha256};
use hmac::{KeyInit, Mac};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alg {
    Sha1,
    Sha256,
}

/// HMAC over the concatenated `parts`, compared with `tag` in constant time.
pub(crate) fn mac_matches(alg: Alg, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
        let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
            return false;
        };
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(tag).is_ok()
    }
    match alg {
        Alg::Sha1 => run::<HmacSha1>(key, parts, tag),
        Alg::Sha256 => run::<HmacSha256>(key, parts, tag),
    }
}

/// First header with this name (case-insensitive), trimmed; `None` if empty.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The URLs a signature may have been made over: the URL as given, then with its
/// port removed, or with the scheme's default port added (`:443` for https, `:80`
/// for http); and when it carries `user:password@`, the same again without them
/// (Twilio's security notes: the credentials, and for https the port, are left out
/// of the URL it signs). Built by hand: a URL parser would normalise the string and
/// change the bytes that were signed.
pub(crate) fn url_variants(url: &str) -> Vec<String> {
    let mut out = port_variants(url);
    if let Some(bare) = without_userinfo(url) {
        for v in port_variants(&bare) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// `scheme://`, the authority, and the rest (path, query, fragment).
fn split_authority(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    Some((scheme, authority, tail))
}

/// The URL without its `user:password@`, when it has one.
fn without_userinfo(url: &str) -> Option<String> {
    let (scheme, authority, tail) = split_authority(url)?;
    let at = authority.rfind('@')?;
    Some(format!("{scheme}://{}{tail}", &authority[at + 1..]))
}

/// The URL as given, then with its port removed or the default port added.
fn port_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let Some((scheme, authority, tail)) = split_authority(url) else {
        return out;
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(close) => {
                let (h, after) = hostport.split_at(close + 1);
                (h, after.strip_prefix(':'))
            }
            None => (hostport, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
            _ => (hostport, None),
        }
    };
    if host.is_empty() {
        return out;
    }
    let variant = match port {
        Some(_) => Some(format!("{scheme}://{userinfo}{host}{tail}")),
        None => match scheme.to_ascii_lowercase().as_str() {
            "https" => Some(format!("{scheme}://{userinfo}{host}:443{tail}")),
            "http" => Some(format!("{scheme}://{userinfo}{host}:80{tail}")),
            _ => None,
        },
    };
    if let Some(v) = variant
        && v != url
    {
        out.push(v);
    }
    out
}

pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}
