//! Why a call could not be run to its end: [`CallError`].

use std::time::Duration;

/// Why a call could not be run to its end. Each says which URL or verb failed;
/// none carries what the caller said or typed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("request to {url} failed: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} did not answer within {after:?}")]
    Timeout { url: String, after: Duration },
    #[error("{url} answered HTTP {status}")]
    HttpStatus { url: String, status: u16 },
    #[error("{url} answered Content-Type {content_type:?}, not text/xml or application/xml")]
    WrongContentType { url: String, content_type: String },
    #[error("{url} answered a document over {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url} answered malformed XML: {reason}")]
    MalformedXml { url: String, reason: String },
    #[error("{url} answered <{root}>, not a TwiML <Response>")]
    NotTwiml { url: String, root: String },
    #[error("{url}: <{verb}> is TwiML but this executor does not run it")]
    UnsupportedVerb { url: String, verb: String },
    #[error("{url}: <{verb}> is not a TwiML verb")]
    UnknownVerb { url: String, verb: String },
    #[error("{url}: invalid <{verb}>: {reason}")]
    InvalidVerb {
        url: String,
        verb: String,
        reason: String,
    },
    #[error("more than {limit} requests in one call (a redirect loop?)")]
    TooManyRequests { limit: usize },
    #[error(
        "{url} answered a repeated request differently (a platform retry would move the call twice)"
    )]
    Inconsistent { url: String },
}
