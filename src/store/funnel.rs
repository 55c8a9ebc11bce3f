//! What the operators' console counts, kept with each call's state: the steps
//! the call reached, its current step, the last question it was at (where a
//! caller who gave up gave up), how its reservation ended, and when the platform
//! said the call ended.
//!
//! Why columns of `calls` and not a table of events: they are written by the
//! same statement that moves the call (no second write per webhook, nothing to
//! keep in step), and they hold no personal data. They go with the call when its
//! state expires (`IVR_RETENTION_DAYS`), so the console looks back that far.

use super::{Store, StoreError};
use ivr_core::flow::{Call, PlaceSource, Step};
use sqlx::{Connection, Row};

/// How a call's reservation ended, as the caller was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// A new port was reserved.
    Reserved,
    /// The client already had one: it was read back.
    Existing,
    /// No box with a free port near the address.
    NotViable,
    /// The ledger gave up (a dead letter).
    Failed,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Reserved => "reserved",
            CallOutcome::Existing => "existing",
            CallOutcome::NotViable => "not_viable",
            CallOutcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "reserved" => CallOutcome::Reserved,
            "existing" => CallOutcome::Existing,
            "not_viable" => CallOutcome::NotViable,
            "failed" => CallOutcome::Failed,
            _ => return None,
        })
    }
}

/// The funnel columns for a call now at `call.step`.
pub(super) struct Mark {
    pub(super) step: &'static str,
    /// Appended to `steps` the first time: `,ask_code,`.
    pub(super) token: String,
    /// `steps LIKE pattern` once the step is there (`_` matches itself too).
    pub(super) pattern: String,
    /// The step, when it is a question (not the end of the call).
    pub(super) question: Option<&'static str>,
}

impl Mark {
    pub(super) fn of(call: &Call) -> Mark {
        let step = call.step.name();
        Mark {
            step,
            token: format!(",{step},"),
            pattern: format!("%,{step},%"),
            question: (!matches!(call.step, Step::Transferred | Step::Finished)).then_some(step),
        }
    }
}

/// One call as the console counts it.
#[derive(Clone, Debug)]
pub struct CallTrace {
    pub call_sid: String,
    /// The steps reached, in the order first reached.
    pub steps: Vec<String>,
    /// The current step (`None` for calls stored before the console).
    pub step: Option<String>,
    /// The last question the call was at.
    pub last_question: Option<String>,
    pub outcome: Option<CallOutcome>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the platform's status callback said the call ended.
    pub ended_at: Option<i64>,
    /// The call's state; read for [`Store::recent_calls`] only.
    pub call: Option<Call>,
    /// How the place was given (`speech`, `cep`, `directory`, `link`, `chat`),
    /// once confirmed.
    pub place_source: Option<PlaceSource>,
}

/// The one field of a stored state the funnel reads.
#[derive(serde::Deserialize)]
struct PlaceOnly {
    #[serde(default)]
    data: PlaceData,
}

#[derive(Default, serde::Deserialize)]
struct PlaceData {
    #[serde(default)]
    place_source: Option<PlaceSource>,
}

fn place_source(state: &str) -> Option<PlaceSource> {
    serde_json::from_str::<PlaceOnly>(state)
        .ok()
        .and_then(|p| p.data.place_source)
}

impl CallTrace {
    pub fn reached(&self, step: &str) -> bool {
        self.steps.iter().any(|s| s == step)
    }
}

fn trace(r: &sqlx::any::AnyRow, with_state: bool) -> Result<CallTrace, StoreError> {
    let steps: String = r.try_get("steps")?;
    let outcome: Option<String> = r.try_get("outcome")?;
    let state: String = r.try_get("state")?;
    let place_source = place_source(&state);
    let call = if with_state {
        Some(serde_json::from_str(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    } else {
        None
    };
    Ok(CallTrace {
        call_sid: r.try_get("call_sid")?,
        steps: steps
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        step: r.try_get("step")?,
        last_question: r.try_get("last_question")?,
        outcome: outcome.as_deref().and_then(CallOutcome::parse),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        ended_at: r.try_get("ended_at")?,
        call,
        place_source,
    })
}

/// Most calls one funnel reads (a week of a busy line is far below).
const MAX_TRACES: i64 = 200_000;

impl Store {
    /// The calls that started at or after `since` (ms), oldest first.
    pub async fn call_traces(&self, since: i64) -> Result<Vec<CallTrace>, StoreError> {
        let rows = sqlx::query(
            "SELECT call_sid, steps, step, last_question, outcome, created_at, updated_at, \
             ended_at, state FROM calls WHERE created_at >= $1 ORDER BY created_at LIMIT $2",
        )
        .bind(since)
        .bind(MAX_TRACES)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| trace(r, false)).collect()
    }

    /// The newest calls, with their state (the caller's number is in it: mask it).
    pub async fn recent_calls(&self, limit: i64) -> Result<Vec<CallTrace>, StoreError> {
        let rows = sqlx::query(
            "SELECT call_sid, steps, step, last_question, outcome, created_at, updated_at, \
             ended_at, state FROM calls ORDER BY created_at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| trace(r, true)).collect()
    }

    /// The platform said the call ended (its status callback); the first time counts.
    pub async fn end_call(&self, call_sid: &str, now: i64) -> Result<bool, StoreError> {
        let call_sid = call_sid.to_string();
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE calls SET ended_at = $1 WHERE call_sid = $2 AND ended_at IS NULL",
                )
                .bind(now)
                .bind(call_sid)
                .execute(&mut *c)
                .await
            })
        }))
        .await
    }

    // ---- the console's sessions ----------------------------------------------

    /// Keeps a session (`id` is the SHA-256 of the cookie; `token_fp` says
    /// which `IVR_ADMIN_TOKEN` opened it, never the token itself) and drops
    /// expired ones.
    pub async fn create_session(
        &self,
        id: &str,
        csrf: &str,
        token_fp: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let (id, csrf, token_fp) = (id.to_string(), csrf.to_string(), token_fp.to_string());
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let mut tx = c.begin().await?;
                sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO console_sessions (id, csrf, token_fp, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(csrf)
                .bind(token_fp)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            })
        }))
        .await
    }

    /// The CSRF token of a live session opened with the token `token_fp`
    /// fingerprints, or `None` (none, expired, or opened with another token).
    pub async fn session(
        &self,
        id: &str,
        token_fp: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT csrf FROM console_sessions WHERE id = $1 AND token_fp = $2 AND expires_at >= $3",
        )
        .bind(id)
        .bind(token_fp)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("csrf")).transpose()?)
    }

    /// Every console session's id and token fingerprint, expired ones included
    /// (a few rows: one per login in the last 8 hours).
    pub async fn session_tokens(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, token_fp FROM console_sessions")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("token_fp")?)))
            .collect()
    }

    /// Ends every console session (`ozmap-ivr console logout-all`); how many
    /// there were, expired ones included.
    pub async fn delete_all_sessions(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM console_sessions")
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.update_one(Box::new(move |c| {
            Box::pin(async move {
                sqlx::query("DELETE FROM console_sessions WHERE id = $1")
                    .bind(id)
                    .execute(&mut *c)
                    .await
            })
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::all_dbs;

    #[tokio::test]
    async fn steps_are_kept_once_in_order_with_the_last_question_and_outcome() {
        for db in all_dbs().await {
            let s = &db.store;
            let mut call = Call::new(Some("+5548991234567".into()));
            call.data.place_source = Some(PlaceSource::Link);
            assert!(s.create_call("CA1", &call, "<r/>", 10).await.unwrap());
            assert!(!s.call_ended("CA1").await.unwrap());
            let steps = [
                Step::ConfirmCode,
                Step::AskCode,
                Step::ConfirmCode,
                Step::Finished,
            ];
            for (seq, step) in (1..).zip(steps) {
                call.step = step;
                let outcome = (call.step == Step::Finished).then_some(CallOutcome::NotViable);
                assert!(
                    s.advance_call_ending("CA1", seq, &call, "<r/>", None, outcome, 20)
                        .await
                        .unwrap()
                );
            }
            let loaded = s.load_call("CA1").await.unwrap().unwrap();
            assert_eq!(loaded.steps, ",ask_code,,confirm_code,,finished,");
            let t = &s.call_traces(0).await.unwrap()[0];
            assert_eq!(t.steps, ["ask_code", "confirm_code", "finished"]);
            assert_eq!(t.step.as_deref(), Some("finished"));
            assert_eq!(t.last_question.as_deref(), Some("confirm_code"));
            assert_eq!(t.outcome, Some(CallOutcome::NotViable));
            assert_eq!(t.ended_at, None);
            assert!(t.call.is_none());
            assert_eq!(t.place_source, Some(PlaceSource::Link));
            assert!(s.end_call("CA1", 30).await.unwrap());
            assert!(s.call_ended("CA1").await.unwrap());
            assert!(!s.call_ended("CAnone").await.unwrap());
            assert!(
                !s.end_call("CA1", 40).await.unwrap(),
                "the first end counts"
            );
            let recent = s.recent_calls(5).await.unwrap();
            assert_eq!(recent[0].ended_at, Some(30));
            assert_eq!(
                recent[0].call.as_ref().unwrap().data.phone.as_deref(),
                Some("+5548991234567")
            );
            assert!(s.call_traces(11).await.unwrap().is_empty());
            assert!(!s.end_call("CAnone", 1).await.unwrap());
        }
    }

    #[tokio::test]
    async fn sessions_expire_and_end() {
        for db in all_dbs().await {
            let s = &db.store;
            s.create_session("h1", "csrf1", "fp1", 100, 0)
                .await
                .unwrap();
            assert_eq!(
                s.session("h1", "fp1", 50).await.unwrap().as_deref(),
                Some("csrf1")
            );
            assert_eq!(
                s.session("h1", "fp2", 50).await.unwrap(),
                None,
                "another token"
            );
            assert_eq!(s.session("h1", "fp1", 101).await.unwrap(), None, "expired");
            assert_eq!(s.session("h2", "fp1", 50).await.unwrap(), None);
            // a login after the expiry drops the old row
            s.create_session("h2", "csrf2", "fp1", 300, 200)
                .await
                .unwrap();
            assert!(!s.delete_session("h1").await.unwrap());
            assert!(s.delete_session("h2").await.unwrap());
            assert_eq!(s.session("h2", "fp1", 250).await.unwrap(), None);
            // every session ends at once
            s.create_session("h3", "c3", "fp1", 900, 500).await.unwrap();
            s.create_session("h4", "c4", "fp2", 900, 500).await.unwrap();
            let mut tokens = s.session_tokens().await.unwrap();
            tokens.sort();
            assert_eq!(
                tokens,
                [
                    ("h3".to_string(), "fp1".to_string()),
                    ("h4".into(), "fp2".into())
                ]
            );
            assert_eq!(s.delete_all_sessions().await.unwrap(), 2);
            assert_eq!(s.session("h3", "fp1", 600).await.unwrap(), None);
            assert_eq!(s.delete_all_sessions().await.unwrap(), 0);
        }
    }
}
