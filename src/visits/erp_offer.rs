//! An ERP's free periods as the caller is offered them, and the capacity a
//! booking here is held to.
//!
//! The ERP counts the visits it has (its own, and ours that reached it); the
//! store counts ours (`visit_periods.booked`), some of them still on their way
//! to the ERP (`erp_status = 'pending'`). A period has room here while the
//! ERP's `free` is above our pending ones, and a booking here is held to
//! `booked + free - pending`: our visits plus what the ERP can still take,
//! less what we already owe it. That capacity is recorded with the period
//! (every instance books against the same row), so two callers racing for the
//! ERP's last place get one "yes", whichever instance they are on.
//!
//! The store is read *before* the ERP is asked. Read after, a booking of ours
//! that reached the ERP and was settled in between would be counted twice:
//! by the ERP's answer as still free (it was asked before the booking landed)
//! and by the store as no longer owed; the period would be offered, and its
//! capacity recorded, one place too many. Read before, a booking settled in
//! between is still owed here, and an answer that already counts it only
//! makes the period look fuller than it is, never emptier.

use super::erp::ErpAgenda;
use super::{AgendaError, SlotQuery};
use crate::store::Store;
use ivr_core::agenda::Slot;
use std::collections::HashMap;

/// The periods with room between `query.from` and `query.to`, in order; each
/// one's capacity recorded in the store for the booking that may follow.
pub(super) async fn free_slots(
    erp: &ErpAgenda,
    store: &Store,
    query: &SlotQuery,
) -> Result<Vec<Slot>, AgendaError> {
    let unavailable = |e: crate::store::StoreError| AgendaError::Unavailable(e.to_string());
    let used: HashMap<Slot, (u32, u32)> = store
        .period_use(query.from, query.to)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|u| (u.slot, (u.booked, u.capacity)))
        .collect();
    let pending = store
        .erp_pending_by_period(query.from, query.to)
        .await
        .map_err(unavailable)?;
    // Only now (see the module's docs).
    let offered = erp.free_slots(query).await?;
    let mut slots = Vec::new();
    for f in offered {
        let owed = pending.get(&f.slot).copied().unwrap_or(0);
        let (booked, recorded) = match used.get(&f.slot) {
            Some(&(booked, recorded)) => (booked, Some(recorded)),
            None => (0, None),
        };
        let capacity = (booked + f.free).saturating_sub(owed);
        // A write only where the recorded capacity changes.
        if recorded != Some(capacity) {
            store
                .record_period_capacity(&f.slot, capacity)
                .await
                .map_err(unavailable)?;
        }
        if f.free > owed {
            slots.push(f.slot);
        }
    }
    slots.sort();
    slots.dedup();
    Ok(slots)
}
