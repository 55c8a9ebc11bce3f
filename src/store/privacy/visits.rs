//! The visits of a data subject's requests: listed in the export, deleted by
//! the erasure (a booked one gives its place in the period back). A visit
//! holds the client's code and the protocol; it is found through the ledger
//! rows of the subject (by their id or their protocol).

use super::super::visits::give_place;
use super::StoreError;
use ivr_core::agenda::Slot;
use serde_json::{Value, json};
use sqlx::{AnyConnection, AnyPool, Row};
use std::collections::BTreeSet;

/// A visit found: its id, and its period when it held a place when read.
pub(super) type FoundVisit = (i64, Option<Slot>);

/// The visits of the ledger rows `ids` (or of their `protocols`), as the
/// export shows them, with what the erasure needs.
pub(super) async fn find(
    pool: &AnyPool,
    ids: &BTreeSet<i64>,
    protocols: &BTreeSet<String>,
) -> Result<(Vec<Value>, Vec<FoundVisit>), StoreError> {
    if ids.is_empty() && protocols.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let rows = sqlx::query(
        "SELECT id, protocol, reservation_id, client_code, day, period, status, erp_status, \
         erp_ref, created_at, updated_at FROM visits ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let (mut shown, mut found) = (Vec::new(), Vec::new());
    for r in rows {
        let rid: Option<i64> = r.try_get("reservation_id")?;
        let protocol: String = r.try_get("protocol")?;
        if !(rid.is_some_and(|id| ids.contains(&id)) || protocols.contains(&protocol)) {
            continue;
        }
        let id: i64 = r.try_get("id")?;
        let day: String = r.try_get("day")?;
        let period: String = r.try_get("period")?;
        let status: String = r.try_get("status")?;
        let slot = Slot::parse(&format!("{day}/{period}"))
            .ok_or_else(|| StoreError::Corrupt(format!("visit slot {day}/{period}")))?;
        shown.push(json!({
            "id": id,
            "protocol": protocol,
            "reservation_id": rid,
            "client_code": r.try_get::<String, _>("client_code")?,
            "day": day,
            "period": period,
            "status": status,
            "erp_status": r.try_get::<String, _>("erp_status")?,
            "erp_ref": r.try_get::<Option<String>, _>("erp_ref")?,
            "created_at_ms": r.try_get::<i64, _>("created_at")?,
            "updated_at_ms": r.try_get::<i64, _>("updated_at")?,
        }));
        found.push((id, (status == "booked").then_some(slot)));
    }
    Ok((shown, found))
}

/// Deletes the visits found on `c` (inside the erasure's transaction), giving
/// the place of one still booked back (its state read by the deletion itself).
pub(super) async fn erase(c: &mut AnyConnection, found: Vec<FoundVisit>) -> Result<(), StoreError> {
    for (id, _) in found {
        let gone = sqlx::query("DELETE FROM visits WHERE id = $1 RETURNING day, period, status")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
        let Some(r) = gone else { continue };
        let status: String = r.try_get("status")?;
        if status == "booked" {
            let day: String = r.try_get("day")?;
            let period: String = r.try_get("period")?;
            if let Some(slot) = Slot::parse(&format!("{day}/{period}")) {
                give_place(c, &slot).await?;
            }
        }
    }
    Ok(())
}
