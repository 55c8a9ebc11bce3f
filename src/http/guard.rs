//! What every route gets before its handler ([`guard`], a middleware around
//! the whole service):
//!
//! - the per-address limit (`IVR_RATE_REQUESTS_PER_SECOND`, the voice
//!   webhooks' limit) on every route but the voice webhooks, which the gate
//!   limits itself with a spoken refusal: `/whatsapp`, `/admin/…`, `/metrics`,
//!   `/console…`, `/healthz`. Checked before the body is read: `429` with
//!   `Retry-After: 1`;
//! - a deadline on reading the body (`IVR_BODY_TIMEOUT_MS`, counted from the
//!   request's head): a body trickled a byte at a time is cut off there with
//!   `408`, and the connection is closed. actix-web bounds the time to send
//!   the head (`client_request_timeout`), not the body; and after an answer to
//!   a chunked body left unread (a refusal before the body, a route that reads
//!   none) it would read the rest at the sender's pace: such an answer holds
//!   the body until it is written, so the connection is closed instead.
//!
//! Both refusals are logged once per source and interval, with a count.

use super::AppState;
use super::SecurityCounters;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use futures_util::Stream;
use ivr_core::webhook::paths;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tokio::time::{Instant, Sleep};

/// The middleware (`App::wrap(from_fn(guard))`).
pub(crate) async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let source = req.peer_addr().map(|a| a.ip());
    let route = route_of(req.path());
    if route != "voice"
        && let Some(ip) = source
        && !state.limits.allow_request(ip)
    {
        SecurityCounters::bump(&state.security.limited_requests);
        state.limits.refusals.refused(
            source,
            route,
            "too many requests from one source address (429)",
        );
        let res = HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, "1"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/plain; charset=utf-8")
            .body("too many requests from this address\n");
        return Ok(req.into_response(res).map_into_right_body());
    }
    let payload = req.take_payload();
    let had_body = !matches!(payload, Payload::None);
    let body = Rc::new(Watched {
        payload: RefCell::new(payload),
        expired: Cell::new(false),
        finished: Cell::new(false),
    });
    req.set_payload(Payload::Stream {
        payload: Box::pin(Deadline::new(body.clone(), state.cfg.http.body_timeout)),
    });
    let res = next.call(req).await?;
    if !body.expired.get() {
        if !had_body || body.finished.get() {
            return Ok(res.map_into_left_body());
        }
        // A body left unread: held until the answer is written.
        return Ok(res
            .map_into_boxed_body()
            .map_body(|_, answer| Held::new(answer, body))
            .map_into_boxed_body()
            .map_into_right_body());
    }
    let (req, res) = res.into_parts();
    if res.status() != StatusCode::REQUEST_TIMEOUT {
        // Unless the handler said so itself (and logged it).
        state.limits.refusals.refused(
            source,
            route,
            "body not received within IVR_BODY_TIMEOUT_MS (408)",
        );
    }
    let mut res = HttpResponse::RequestTimeout()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONNECTION, "close"))
        .content_type("text/plain; charset=utf-8")
        .message_body(Held::new(
            BoxBody::new("the request's body took too long\n"),
            body,
        ))?
        .map_into_boxed_body()
        .map_into_right_body();
    // What is left of the body is not read: the connection goes.
    res.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    Ok(ServiceResponse::new(req, res))
}

/// A request's body, and what became of it.
struct Watched {
    payload: RefCell<Payload>,
    /// Its deadline passed before it arrived in full.
    expired: Cell<bool>,
    /// Read to its end.
    finished: Cell<bool>,
}

/// An answer to a request whose body was not read to its end. It holds the
/// body's stream until it is written: actix closes the connection after an
/// answer to a body still unread, but would read a chunked body to its end,
/// at the sender's pace, once nothing holds it.
struct Held {
    answer: BoxBody,
    _body: Rc<Watched>,
}

impl Held {
    fn new(answer: BoxBody, body: Rc<Watched>) -> Self {
        Held {
            answer,
            _body: body,
        }
    }
}

impl MessageBody for Held {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().answer).poll_next(cx)
    }
}

/// The route's name in the log (never the path as sent).
fn route_of(path: &str) -> &'static str {
    let under = |p: &str| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if under(paths::START) {
        "voice"
    } else if under("/whatsapp") {
        "whatsapp"
    } else if under("/admin") {
        "admin"
    } else if under("/metrics") {
        "metrics"
    } else if under("/console") {
        "console"
    } else if under("/healthz") {
        "healthz"
    } else if under(crate::location::PATH) {
        "location"
    } else {
        "other"
    }
}

/// Whether an error a handler got from its body is the deadline's.
pub(super) fn is_deadline(e: &Error) -> bool {
    e.as_error::<PayloadError>()
        .is_some_and(is_deadline_payload)
}

fn is_deadline_payload(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(e) if e.kind() == io::ErrorKind::TimedOut)
}

/// A request's body that fails once its deadline has passed.
struct Deadline {
    body: Rc<Watched>,
    at: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl Deadline {
    fn new(body: Rc<Watched>, within: std::time::Duration) -> Self {
        let at = Instant::now() + within;
        Deadline {
            body,
            at,
            sleep: Box::pin(tokio::time::sleep_until(at)),
        }
    }

    fn expire(&mut self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.body.expired.set(true);
        Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "the request's body took too long",
        )))))
    }
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.body.expired.get() {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut *this.body.payload.borrow_mut()).poll_next(cx);
        match polled {
            Poll::Ready(Some(Ok(_))) if Instant::now() >= this.at => this.expire(),
            Poll::Ready(None) => {
                this.body.finished.set(true);
                Poll::Ready(None)
            }
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => this.expire(),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::time::Duration;

    #[test]
    fn routes_are_named_by_their_prefix() {
        assert_eq!(route_of("/voice"), "voice");
        assert_eq!(route_of("/voice/answer"), "voice");
        assert_eq!(route_of("/voicemail"), "other");
        assert_eq!(route_of("/whatsapp"), "whatsapp");
        assert_eq!(route_of("/admin/reservations/12"), "admin");
        assert_eq!(route_of("/metrics"), "metrics");
        assert_eq!(route_of("/console/login"), "console");
        assert_eq!(route_of("/l/AAAAAAAAAAAAAAAAAAAAAA"), "location");
        assert_eq!(route_of("/lx"), "other");
        assert_eq!(route_of("/"), "other");
    }

    fn trickle() -> (
        tokio::sync::mpsc::Sender<Result<Bytes, PayloadError>>,
        Payload,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        (
            tx,
            Payload::Stream {
                payload: Box::pin(stream),
            },
        )
    }

    fn watched(payload: Payload) -> Rc<Watched> {
        Rc::new(Watched {
            payload: RefCell::new(payload),
            expired: Cell::new(false),
            finished: Cell::new(false),
        })
    }

    #[tokio::test]
    async fn a_body_that_is_late_fails_at_the_deadline_whether_bytes_come_or_not() {
        // Nothing comes.
        let (_tx, payload) = trickle();
        let w = watched(payload);
        let mut body = Deadline::new(w.clone(), Duration::from_millis(300));
        let started = Instant::now();
        let err = body.next().await.unwrap().unwrap_err();
        assert!(is_deadline_payload(&err), "{err:?}");
        assert!(is_deadline(&Error::from(err)));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(2),
            "{took:?}"
        );
        assert!(w.expired.get() && !w.finished.get());
        assert!(body.next().await.is_none());
        // A byte every 100 ms: taken until the deadline, then refused.
        let (tx, payload) = trickle();
        let w = watched(payload);
        let mut body = Deadline::new(w.clone(), Duration::from_millis(550));
        tokio::spawn(async move {
            for _ in 0..50 {
                if tx.send(Ok(Bytes::from_static(b"x"))).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let started = Instant::now();
        let mut bytes = 0;
        let err = loop {
            match body.next().await.unwrap() {
                Ok(b) => bytes += b.len(),
                Err(e) => break e,
            }
        };
        assert!(is_deadline_payload(&err));
        assert!(
            (2..=7).contains(&bytes),
            "{bytes} bytes before the deadline"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(w.expired.get());
    }

    #[tokio::test]
    async fn a_body_in_time_passes_untouched() {
        let (tx, payload) = trickle();
        let w = watched(payload);
        let mut body = Deadline::new(w.clone(), Duration::from_millis(300));
        tx.send(Ok(Bytes::from_static(b"CallSid=CA1")))
            .await
            .unwrap();
        drop(tx);
        assert_eq!(body.next().await.unwrap().unwrap(), "CallSid=CA1");
        assert!(!w.finished.get());
        assert!(body.next().await.is_none());
        assert!(w.finished.get());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!w.expired.get());
    }
}
