//! Call state: one row per call, moved one `seq` at a time; expired after the
//! retention period.

use super::funnel::Mark;
use super::{CallOutcome, Store, StoreError, StoredCall};
use ivr_core::domain::ReservationRequest;
use ivr_core::flow::Call;
use sqlx::{AnyConnection, Connection, Row};

impl Store {
    pub async fn load_call(&self, call_sid: &str) -> Result<Option<StoredCall>, StoreError> {
        let row = sqlx::query(
            "SELECT state, seq, last_reply, updated_at, steps FROM calls WHERE call_sid = $1",
        )
        .bind(call_sid)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let state: String = r.try_get("state")?;
            let call: Call =
                serde_json::from_str(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(StoredCall {
                call,
                seq: r.try_get("seq")?,
                last_reply: r.try_get("last_reply")?,
                updated_at: r.try_get("updated_at")?,
                steps: r.try_get("steps")?,
            })
        })
        .transpose()
    }

    /// Whether the platform told the call ended (its status callback).
    pub async fn call_ended(&self, call_sid: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT ended_at FROM calls WHERE call_sid = $1")
            .bind(call_sid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<i64>, _>("ended_at")?.is_some(),
            None => false,
        })
    }

    /// Stores a new call at `seq` 1. `false` when the call already exists (the
    /// platform sent the first request twice).
    pub async fn create_call(
        &self,
        call_sid: &str,
        call: &Call,
        reply: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mark = Mark::of(call);
        let row = NewCall {
            seq: 1,
            steps: mark.token,
            step: mark.step,
            question: mark.question,
        };
        self.insert_call(call_sid, call, reply, row, now).await
    }

    /// Stores a call greeted but never stored (see `http::greeting`) as its first
    /// answer left it: at `seq` 2, with both steps reached, in one statement, so
    /// the first answer costs one write like any other step. `false` when the
    /// call is stored already (a copy of this request, or its status callback).
    pub async fn create_answered_call(
        &self,
        call_sid: &str,
        greeted: &Call,
        call: &Call,
        reply: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (first, mark) = (Mark::of(greeted), Mark::of(call));
        let steps = if first.token == mark.token {
            first.token
        } else {
            format!("{}{}", first.token, mark.token)
        };
        let row = NewCall {
            seq: 2,
            steps,
            step: mark.step,
            question: mark.question.or(first.question),
        };
        self.insert_call(call_sid, call, reply, row, now).await
    }

    /// One `INSERT` of a call not stored yet; `false` when it is stored already.
    async fn insert_call(
        &self,
        call_sid: &str,
        call: &Call,
        reply: &str,
        row: NewCall,
        now: i64,
    ) -> Result<bool, StoreError> {
        let state = serde_json::to_string(call).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (call_sid, reply) = (call_sid.to_string(), reply.to_string());
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "INSERT INTO calls (call_sid, state, seq, last_reply, created_at, updated_at, \
                     steps, step, last_question) \
                     VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) ON CONFLICT (call_sid) DO NOTHING",
                )
                .bind(call_sid)
                .bind(state)
                .bind(row.seq)
                .bind(reply)
                .bind(now)
                .bind(row.steps)
                .bind(row.step)
                .bind(row.question)
                .execute(&mut *c)
                .await?;
                Ok(r.rows_affected() == 1)
            })
        }))
        .await
    }

    /// Moves a call from `expected_seq` to `expected_seq + 1`, and, in the same
    /// transaction, writes `reserve` to the ledger: once per client code, except
    /// that a dead, cancelled or "no coverage" row is taken up again by the new
    /// request (coverage may have come since).
    /// `false` when another request moved the call first.
    /// The step is added to the steps the call reached (for the console).
    pub async fn advance_call(
        &self,
        call_sid: &str,
        expected_seq: i64,
        call: &Call,
        reply: &str,
        reserve: Option<&ReservationRequest>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.advance_call_ending(call_sid, expected_seq, call, reply, reserve, None, now)
            .await
    }

    /// [`Store::advance_call`], recording too how the call's reservation ended
    /// when this step is the one that told the caller (`outcome`).
    #[allow(clippy::too_many_arguments)]
    pub async fn advance_call_ending(
        &self,
        call_sid: &str,
        expected_seq: i64,
        call: &Call,
        reply: &str,
        reserve: Option<&ReservationRequest>,
        outcome: Option<CallOutcome>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let update = CallUpdate::new(call_sid, expected_seq, 1, call, reply, outcome, now)?;
        let reserve = reserve
            .map(|req| {
                serde_json::to_string(req)
                    .map(|text| {
                        (
                            req.client_code.as_str().to_string(),
                            text,
                            req.protocol.clone(),
                        )
                    })
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()?;
        let call_sid = call_sid.to_string();
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let update = update.query();
                let Some((code, request, protocol)) = reserve else {
                    // One statement is atomic by itself: no transaction of its own needed.
                    return Ok(update.execute(&mut *c).await?.rows_affected() == 1);
                };
                let mut tx = c.begin().await?;
                let r = update.execute(&mut *tx).await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                upsert_reservation(&mut tx, code, call_sid, request, protocol, now).await?;
                tx.commit().await?;
                Ok(true)
            })
        }))
        .await
    }

    /// Replaces the state and the last answer of a call at `seq` without moving
    /// `seq`: the answer just stored is taken back before it went out (the
    /// reservation came within the step budget, so the hold is never heard).
    /// A repeated request then gets the new answer. `false` when the call is no
    /// longer at `seq`.
    pub async fn rewrite_call(
        &self,
        call_sid: &str,
        seq: i64,
        call: &Call,
        reply: &str,
        outcome: Option<CallOutcome>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let update = CallUpdate::new(call_sid, seq, 0, call, reply, outcome, now)?;
        self.update_one(Box::new(move |c| {
            Box::pin(async move { update.query().execute(&mut *c).await })
        }))
        .await
    }

    /// Deletes calls not touched since `before` (call state holds personal data).
    pub async fn purge_calls(&self, before: i64) -> Result<u64, StoreError> {
        self.write(Box::new(move |c| {
            Box::pin(async move {
                let r = sqlx::query("DELETE FROM calls WHERE updated_at < $1")
                    .bind(before)
                    .execute(&mut *c)
                    .await?;
                let g = sqlx::query("DELETE FROM geocodes WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *c)
                    .await?;
                Ok(r.rows_affected() + g.rows_affected())
            })
        }))
        .await
    }

    pub async fn count_calls(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM calls")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get("n")?)
    }

    // ---- geocoding cache -----------------------------------------------------
}

/// Writes a confirmed request to the ledger on `c` (inside the caller's
/// transaction, with the state that confirmed it): once per client code, except
/// that a dead, cancelled or "no coverage" row is taken up again by the new
/// request (coverage may have come since), and so is a released one (its port
/// was freed in OZmap: the new request reserves again, its life starts over).
pub(super) async fn upsert_reservation(
    c: &mut AnyConnection,
    code: String,
    call_sid: String,
    request: String,
    protocol: Option<String>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO reservations (client_code, call_sid, request, status, attempts, \
                         next_attempt_at, claimed_until, created_at, updated_at, protocol) \
                         VALUES ($1, $2, $3, 'pending', 0, $4, 0, $4, $4, $5) \
                         ON CONFLICT (client_code) DO UPDATE SET call_sid = excluded.call_sid, \
                         request = excluded.request, protocol = excluded.protocol, status = 'pending', outcome = NULL, attempts = 0, \
                         next_attempt_at = excluded.next_attempt_at, claimed_until = 0, claim_token = NULL, \
                         last_error = NULL, updated_at = excluded.updated_at, created_at = CASE \
                         WHEN reservations.released_at IS NULL THEN reservations.created_at ELSE excluded.created_at END, \
                         reserved_at = NULL, installed_at = NULL, implanted_at = NULL, released_at = NULL, release_asked_at = NULL, \
                         life_due_at = NULL, life_attempts = 0, life_error = NULL, life_dead_at = NULL \
                         WHERE reservations.status IN ('dead', 'cancelled') \
                         OR (reservations.status = 'done' AND reservations.outcome = '{\"kind\":\"not_viable\"}') \
                         OR (reservations.status = 'done' AND reservations.released_at IS NOT NULL)",
    )
    .bind(code)
    .bind(call_sid)
    .bind(request)
    .bind(now)
    .bind(protocol)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The funnel columns and `seq` of a call row written for the first time.
struct NewCall {
    seq: i64,
    steps: String,
    step: &'static str,
    question: Option<&'static str>,
}

/// A call row at `seq` given a new state and answer, its `seq` moved by
/// `bump` (1 for a step, 0 for an answer taken back in place), and the funnel
/// columns kept (the step added to the steps reached).
struct CallUpdate {
    call_sid: String,
    seq: i64,
    bump: i64,
    state: String,
    reply: String,
    mark: Mark,
    outcome: Option<&'static str>,
    now: i64,
}

impl CallUpdate {
    fn new(
        call_sid: &str,
        seq: i64,
        bump: i64,
        call: &Call,
        reply: &str,
        outcome: Option<CallOutcome>,
        now: i64,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            call_sid: call_sid.to_string(),
            seq,
            bump,
            state: serde_json::to_string(call).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            reply: reply.to_string(),
            mark: Mark::of(call),
            outcome: outcome.map(CallOutcome::as_str),
            now,
        })
    }

    /// The one statement; it changes one row, or none when the call is no
    /// longer at `seq`.
    fn query(self) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        sqlx::query(
            "UPDATE calls SET state = $1, seq = seq + $11, last_reply = $2, updated_at = $3, \
             step = $6, steps = CASE WHEN steps LIKE $7 THEN steps ELSE steps || $8 END, \
             last_question = COALESCE($9, last_question), outcome = COALESCE($10, outcome) \
             WHERE call_sid = $4 AND seq = $5",
        )
        .bind(self.state)
        .bind(self.reply)
        .bind(self.now)
        .bind(self.call_sid)
        .bind(self.seq)
        .bind(self.mark.step)
        .bind(self.mark.pattern)
        .bind(self.mark.token)
        .bind(self.mark.question)
        .bind(self.outcome)
        .bind(self.bump)
    }
}
