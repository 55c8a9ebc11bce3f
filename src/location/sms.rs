//! The link by SMS, sent at once through the configured provider (the caller
//! is waiting: not through the worker's queue of outcomes), one try.

use crate::sms::{Provider, SendError, mobile_number};
use ivr_core::flow::{Arg, Line};
use ivr_core::prompts::Prompts;

/// The `[sms]` prompt of the link, with `{url}`.
pub(crate) const PROMPT: &str = "sms.location_link";

/// Why the SMS with the link did not go; the call says "não consegui enviar
/// o SMS" and goes on. The provider's text has its digits masked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkSmsError {
    #[error("the number takes no SMS")]
    NotMobile,
    #[error("the SMS provider failed: {0}")]
    Failed(String),
    #[error("the SMS provider refused the message: {0}")]
    Refused(String),
}

/// The message for `url`, in the prompts' language.
pub(crate) fn text(prompts: &Prompts, url: &str) -> String {
    prompts.text(&Line::new(PROMPT).arg("url", Arg::Text(url.to_string())))
}

/// Sends the link `url` to `phone` (a mobile in E.164 only) through
/// `provider`, once; `Ok` when the provider took it. The log provider gets
/// one line without the text (the URL opens the link).
pub(crate) async fn send_link_sms(
    provider: &Provider,
    prompts: &Prompts,
    phone: &str,
    url: &str,
) -> Result<(), LinkSmsError> {
    let to = mobile_number(phone).ok_or(LinkSmsError::NotMobile)?;
    if provider.name() == "log" {
        // The log provider writes a message's text to the log: not this one,
        // whose link opens a caller's page.
        tracing::info!(
            to = %crate::redact::phone(&to),
            "SMS (log provider: set SMS_PROVIDER to send it): the location link, its URL withheld"
        );
        return Ok(());
    }
    match provider.send(&to, &text(prompts, url)).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let (kind, err) = match e {
                SendError::Retry(m) => ("failed", LinkSmsError::Failed(m)),
                SendError::Refused(m) => ("refused", LinkSmsError::Refused(m)),
            };
            tracing::warn!(provider = provider.name(), outcome = kind, error = %err, "location link: SMS not sent");
            Err(err)
        }
    }
}
