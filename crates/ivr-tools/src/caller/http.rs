//! The HTTP side of a call: each webhook request as the platform sends it (its
//! parameters, signed with `X-Twilio-Signature` when a token is set), the
//! platform's checks on the answer, and the status callback.

use std::time::Instant;

use reqwest::header::CONTENT_TYPE;
use secrecy::ExposeSecret;
use url::Url;

use super::document::Method;
use super::executor::Call;
use super::{CallError, CallEvent, Platform};

/// The largest TwiML answer read (a guard, not a platform rule).
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

impl Call<'_> {
    /// The parameters on every request of this call.
    fn base_params(&self, call_status: &str) -> Vec<(String, String)> {
        let o = &self.inner.opts;
        let mut params = vec![
            param("CallSid", &self.call_sid),
            param("AccountSid", &self.inner.account_sid),
            param("From", &o.from),
            param("To", &o.to),
            param("Caller", &o.from),
            param("Called", &o.to),
            param("CallStatus", call_status),
            param("Direction", "inbound"),
            param("ApiVersion", "2010-04-01"),
        ];
        params.retain(|(k, _)| !o.extra_params.iter().any(|(ek, _)| ek == k));
        params.extend(o.extra_params.iter().cloned());
        params
    }

    /// Sends one request (signed when a token is set) and reads the answer.
    /// Returns the status, the Content-Type and the body.
    pub(super) async fn request(
        &mut self,
        method: Method,
        url: &Url,
        call_status: &str,
        extra: Vec<(String, String)>,
    ) -> Result<(u16, String, Vec<u8>), CallError> {
        self.requests += 1;
        let mut params = self.base_params(call_status);
        let jambonz_body = super::jambonz::body(&params, &extra);
        params.extend(extra);
        let client = &self.inner.client;
        let (request_url, form) = match method {
            Method::Get => {
                let mut u = url.clone();
                u.query_pairs_mut().extend_pairs(&params);
                (u, Vec::new())
            }
            Method::Post => (url.clone(), params),
        };
        let mut rb = match (&self.inner.opts.platform, method) {
            (Platform::Jambonz { secret }, _) => {
                let body = jambonz_body;
                let mut rb = client
                    .post(request_url.clone())
                    .header(CONTENT_TYPE, "application/json");
                if let Some(secret) = secret {
                    // A second later than the last at least: a person takes
                    // that long to answer, and the service accepts a signature
                    // at one URL only (two identical answers signed in the
                    // same second would be one signature).
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs())
                        .max(self.last_signed + 1);
                    self.last_signed = now;
                    rb = rb.header(
                        "Jambonz-Signature",
                        webhook_signature::jambonz_signature(secret.expose_secret(), now, &body),
                    );
                }
                rb.body(body)
            }
            (Platform::Twiml, Method::Get) => client.get(request_url.clone()),
            (Platform::Twiml, Method::Post) => client.post(request_url.clone()).form(&form),
        };
        if let (Platform::Twiml, Some(token)) =
            (&self.inner.opts.platform, &self.inner.opts.auth_token)
        {
            let signature = webhook_signature::twilio_signature(
                token.expose_secret(),
                request_url.as_str(),
                &form,
            );
            rb = rb.header("X-Twilio-Signature", signature);
        }
        let repeat = if self.inner.opts.repeat_requests {
            rb.try_clone()
        } else {
            None
        };
        let started = Instant::now();
        let outcome = async {
            let resp = rb.send().await?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            Ok::<_, reqwest::Error>((status, content_type, resp))
        }
        .await;
        let (status, content_type, mut resp) = outcome.map_err(|e| self.transport(url, e))?;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(url, e))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(CallError::TooLarge {
                    url: url.to_string(),
                    limit: MAX_DOCUMENT_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        let latency = started.elapsed();
        if let Some(again) = repeat {
            let resp = again.send().await.map_err(|e| self.transport(url, e))?;
            let status_again = resp.status().as_u16();
            let body_again = resp.bytes().await.map_err(|e| self.transport(url, e))?;
            if status_again != status || body_again.as_ref() != body.as_slice() {
                return Err(CallError::Inconsistent {
                    url: url.to_string(),
                });
            }
        }
        tracing::debug!(
            method = method.as_str(),
            path = url.path(),
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "twiml request"
        );
        self.emit(CallEvent::Request {
            method: method.as_str().to_string(),
            url: url.to_string(),
            status,
            latency,
        });
        Ok((status, content_type, body))
    }

    fn transport(&self, url: &Url, e: reqwest::Error) -> CallError {
        if e.is_timeout() {
            CallError::Timeout {
                url: url.to_string(),
                after: self.inner.opts.request_timeout,
            }
        } else {
            // Without the URL: for GET it carries the call parameters.
            CallError::Transport {
                url: url.to_string(),
                source: e.without_url(),
            }
        }
    }

    /// POSTs `CallStatus=completed` and the duration; any 2xx is fine, the body
    /// is ignored (as the platform does).
    pub(super) async fn status_callback(&mut self, cb: &Url) -> Result<(), CallError> {
        let extra = vec![
            param(
                "CallDuration",
                &self.started.elapsed().as_secs().to_string(),
            ),
            param("CallbackSource", "call-progress-events"),
            param("SequenceNumber", "0"),
        ];
        let (status, _, _) = self.request(Method::Post, cb, "completed", extra).await?;
        if !(200..300).contains(&status) {
            return Err(CallError::HttpStatus {
                url: cb.to_string(),
                status,
            });
        }
        self.emit(CallEvent::StatusCallback);
        Ok(())
    }
}

pub(super) fn param(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// The platform's checks on a webhook answer: 200, an XML type (JSON for
/// jambonz), UTF-8.
pub(super) fn check_answer(
    url: &Url,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    jambonz: bool,
) -> Result<String, CallError> {
    if status != 200 {
        return Err(CallError::HttpStatus {
            url: url.to_string(),
            status,
        });
    }
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let fits = if jambonz {
        mime == "application/json"
    } else {
        mime == "text/xml" || mime == "application/xml"
    };
    if !fits {
        return Err(CallError::WrongContentType {
            url: url.to_string(),
            content_type: content_type.to_string(),
        });
    }
    String::from_utf8(body).map_err(|e| CallError::MalformedXml {
        url: url.to_string(),
        reason: format!("not UTF-8: {e}"),
    })
}
