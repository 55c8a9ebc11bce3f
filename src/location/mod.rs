//! When the address cannot be said: a link by SMS where the caller marks the
//! house (issue 26). This module stands on its own; the call's side (offering
//! the link, holding the call, reading the position back) uses its seam:
//!
//! - [`Links::offer`]: a link for a session (a `CallSid`, a chat's `wa:…`)
//!   sent at once by SMS to a mobile number ([`Links::create_link`] and
//!   [`send_link_sms`] in one step). An SMS that could not go is an
//!   [`OfferError`] the call can say ("não consegui enviar o SMS").
//! - [`Links::position_for`]: the position a session's link brought, if any:
//!   what a held call polls.
//! - [`Links::arrived`]: a [`Notify`] told (all waiters) when a position is
//!   taken on this instance, so a held call wakes at once; another instance's
//!   positions are not told, so a hold polls as well (as it does for the
//!   ledger). [`Links::on_position`]: a hook called with each [`Taken`]
//!   (a hung-up call's reservation can start from it).
//!
//! The token: 128 bits from the operating system's generator, base64url (22
//! characters), so `{IVR_PUBLIC_URL}/l/{token}` fits one SMS with its
//! sentence. Only its SHA-256 is stored: a leaked database opens no live
//! link. A link is valid `IVR_LOCATION_LINK_MIN` minutes and is used once; an
//! unknown, expired or used token are one answer ([`LinkError::Gone`]), so
//! nothing tells whether a token ever existed. A position less accurate than
//! `IVR_LOCATION_MAX_ACCURACY_M`, or outside the service area, is refused and
//! the link stays usable.
//!
//! No token, position or phone number is ever logged here.

mod sms;
mod token;

pub(crate) use crate::store::LinkPosition as Position;
pub(crate) use sms::{LinkSmsError, send_link_sms};
pub(crate) use token::hash as token_hash;

use crate::geocode::{Locator, PointVerdict};
use crate::sms::Provider;
use crate::store::{Store, StoreError};
use ivr_core::prompts::Prompts;
use std::sync::Arc;
use tokio::sync::Notify;

/// `IVR_LOCATION_LINK_MIN` when unset.
pub(crate) const DEFAULT_LINK_MIN: u32 = 20;
/// `IVR_LOCATION_MAX_ACCURACY_M` when unset.
pub(crate) const DEFAULT_MAX_ACCURACY_M: u32 = 100;
/// How long a used link (and the position with it) is kept after it expired,
/// for a reservation started after a hang-up; then housekeeping deletes it.
pub(crate) const KEEP_USED_MS: i64 = 24 * 60 * 60 * 1000;
/// The path of a link: `{IVR_PUBLIC_URL}/l/{token}`.
pub(crate) const PATH: &str = "/l";

/// The links' rules (read by `config`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LocationSettings {
    /// How long a link is valid, in minutes (0: links are born expired, for
    /// tests and for turning the links off).
    pub(crate) link_min: u32,
    /// The worst accuracy radius taken, in metres.
    pub(crate) max_accuracy_m: u32,
}

impl Default for LocationSettings {
    fn default() -> Self {
        Self {
            link_min: DEFAULT_LINK_MIN,
            max_accuracy_m: DEFAULT_MAX_ACCURACY_M,
        }
    }
}

/// A link just made. `token` and `url` open it: never log them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct NewLink {
    pub(crate) token: String,
    pub(crate) url: String,
    pub(crate) expires_at: i64,
}

impl std::fmt::Debug for NewLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewLink {{ expires_at: {} }}", self.expires_at)
    }
}

/// A position as a browser gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Fix {
    pub(crate) lat: f64,
    pub(crate) lng: f64,
    /// The accuracy radius, in metres.
    pub(crate) accuracy_m: f64,
}

impl Fix {
    /// Finite, on the globe, with a positive accuracy.
    pub(crate) fn is_position(&self) -> bool {
        self.lat.is_finite()
            && self.lng.is_finite()
            && self.accuracy_m.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lng)
            && self.accuracy_m > 0.0
            && self.accuracy_m < 1.0e7
    }
}

/// A position taken through a link.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Taken {
    pub(crate) session_key: String,
    pub(crate) position: Position,
}

/// Why a position was not taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// Unknown, expired or used: one answer for the three.
    #[error("the link is no longer valid")]
    Gone,
    #[error("not a position")]
    NotAPosition,
    /// Less accurate than the limit: the link stays usable.
    #[error("the position is not accurate enough")]
    Inaccurate { accuracy_m: f64, max_m: u32 },
    /// Outside the service area: the link stays usable.
    #[error("the position is outside the service area")]
    Outside,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an offer did not reach the caller.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OfferError {
    /// Not a mobile number (a landline, withheld…): offer nothing.
    #[error("the number takes no SMS")]
    NotMobile,
    /// SMS are off (`SMS_PROVIDER=none`).
    #[error("SMS are off")]
    NoProvider,
    #[error(transparent)]
    Sms(#[from] LinkSmsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no random token: {0}")]
    Random(String),
}

/// What is called with each position taken on this instance.
pub(crate) type OnPosition = Arc<dyn Fn(&Taken) + Send + Sync>;

/// The links: made, sent, used, waited for.
pub(crate) struct Links {
    store: Store,
    settings: LocationSettings,
    /// `IVR_PUBLIC_URL`, without a trailing `/` (never the credentials).
    public_url: String,
    provider: Option<Provider>,
    prompts: Prompts,
    arrived: Arc<Notify>,
    on_position: std::sync::RwLock<Option<OnPosition>>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Links {
    pub(crate) fn new(
        store: Store,
        settings: LocationSettings,
        public_url: &str,
        provider: Option<Provider>,
        prompts: Prompts,
    ) -> Self {
        Self {
            store,
            settings,
            public_url: public_url.trim_end_matches('/').to_string(),
            provider,
            prompts,
            arrived: Arc::new(Notify::new()),
            on_position: std::sync::RwLock::new(None),
        }
    }

    /// A new link for `session_key`, valid from `now` (Unix ms).
    pub(crate) async fn create_link(
        &self,
        session_key: &str,
        now: i64,
    ) -> Result<NewLink, OfferError> {
        let token = token::new().map_err(OfferError::Random)?;
        let ttl = i64::from(self.settings.link_min) * 60_000;
        let expires_at = now.saturating_add(ttl);
        self.store
            .insert_location_link(&token::hash(&token), session_key, now, expires_at)
            .await?;
        let url = format!("{}{PATH}/{token}", self.public_url);
        Ok(NewLink {
            token,
            url,
            expires_at,
        })
    }

    /// The seam's first step: a link for `session_key`, sent at once by SMS
    /// to `phone` (a mobile only; checked before anything is stored).
    pub(crate) async fn offer(
        &self,
        session_key: &str,
        phone: &str,
        now: i64,
    ) -> Result<NewLink, OfferError> {
        let phone = crate::sms::mobile_number(phone).ok_or(OfferError::NotMobile)?;
        let provider = self.provider.as_ref().ok_or(OfferError::NoProvider)?;
        let link = self.create_link(session_key, now).await?;
        send_link_sms(provider, &self.prompts, &phone, &link.url).await?;
        tracing::info!(
            expires_in_min = self.settings.link_min,
            "location link sent by SMS"
        );
        Ok(link)
    }

    /// The link a page is opened with, when it can still be used.
    pub(crate) async fn live(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<crate::store::LiveLink>, StoreError> {
        if !token::plausible(token) {
            return Ok(None);
        }
        self.store
            .live_location_link(&token::hash(token), now)
            .await
    }

    /// Takes a position for the link `token`: refused when it is not a
    /// position, less accurate than the limit, or outside the service area
    /// (the link stays usable); else the link is used, in one statement with
    /// the position and the nearest address, and the waiters are told.
    pub(crate) async fn take_position(
        &self,
        locator: &Locator,
        token: &str,
        fix: Fix,
        now: i64,
    ) -> Result<Taken, LinkError> {
        if !fix.is_position() {
            return Err(LinkError::NotAPosition);
        }
        if self.live(token, now).await?.is_none() {
            return Err(LinkError::Gone);
        }
        if fix.accuracy_m > f64::from(self.settings.max_accuracy_m) {
            return Err(LinkError::Inaccurate {
                accuracy_m: fix.accuracy_m,
                max_m: self.settings.max_accuracy_m,
            });
        }
        let place = match locator.judge_point(fix.lat, fix.lng).await {
            PointVerdict::Outside => return Err(LinkError::Outside),
            PointVerdict::Inside(place) => place,
        };
        let position = Position {
            lat: fix.lat,
            lng: fix.lng,
            accuracy_m: fix.accuracy_m,
            place,
            at: now,
        };
        let session_key = self
            .store
            .take_location_link(&token::hash(token), &position, now)
            .await?
            .ok_or(LinkError::Gone)?;
        let taken = Taken {
            session_key,
            position,
        };
        self.arrived.notify_waiters();
        let hook = self.on_position.read().ok().and_then(|h| h.clone());
        if let Some(hook) = hook {
            hook(&taken);
        }
        Ok(taken)
    }

    /// The latest position a link of `session_key` brought: what a held call
    /// polls (on every instance).
    pub(crate) async fn position_for(
        &self,
        session_key: &str,
    ) -> Result<Option<Position>, StoreError> {
        self.store.location_position(session_key).await
    }

    /// Told (all waiters) when a position is taken on this instance.
    // Not waited on by the call: its wait is a short `<Gather>` whose silence
    // polls `position_for`; kept for a hold that would wait in place.
    #[allow(dead_code)]
    pub(crate) fn arrived(&self) -> &Notify {
        &self.arrived
    }

    /// Sets the hook called with each position taken on this instance
    /// (replacing the one before).
    pub(crate) fn on_position(&self, hook: OnPosition) {
        if let Ok(mut h) = self.on_position.write() {
            *h = Some(hook);
        }
    }
}

#[cfg(test)]
mod tests;
