//! The service's own agenda (`SCHEDULE=builtin`): the periods the rules open
//! ([`AgendaRules::periods_from`]: working days, no national holidays, the
//! lead time and the horizon), less the ones the store shows full.

use super::{AgendaError, SlotQuery};
use crate::store::Store;
use ivr_core::agenda::{AgendaRules, Day, Slot};
use std::collections::HashSet;

/// The periods from `today` with room, within `query`'s days.
pub(super) async fn free_slots(
    rules: &AgendaRules,
    store: &Store,
    query: &SlotQuery,
    today: Day,
) -> Result<Vec<Slot>, AgendaError> {
    let open: Vec<Slot> = rules
        .periods_from(today)
        .into_iter()
        .filter(|s| s.day >= query.from && s.day <= query.to)
        .collect();
    let (Some(first), Some(last)) = (open.first(), open.last()) else {
        return Ok(Vec::new());
    };
    let used = store
        .period_use(first.day, last.day)
        .await
        .map_err(|e| AgendaError::Unavailable(e.to_string()))?;
    Ok(without_full(open, &used_full(rules, &used)))
}

/// The periods booked up to the rules' capacity.
fn used_full(rules: &AgendaRules, used: &[crate::store::PeriodUse]) -> HashSet<Slot> {
    used.iter()
        .filter(|u| u.booked >= rules.per_period)
        .map(|u| u.slot)
        .collect()
}

fn without_full(open: Vec<Slot>, full: &HashSet<Slot>) -> Vec<Slot> {
    open.into_iter().filter(|s| !full.contains(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Booking, NewVisit};

    fn query(today: Day) -> SlotQuery {
        SlotQuery {
            lat: -27.6,
            lng: -48.5,
            box_id: None,
            from: today,
            to: today.plus(30),
        }
    }

    #[tokio::test]
    async fn a_full_period_is_not_offered_and_the_others_are() {
        let db = test_support::TestDb::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        let rules = AgendaRules {
            per_period: 1,
            ..AgendaRules::default()
        };
        // Monday 2026-12-07: the first period is Tuesday morning.
        let today = Day::parse("2026-12-07").unwrap();
        let before = free_slots(&rules, &store, &query(today), today)
            .await
            .unwrap();
        assert_eq!(before[0].key(), "2026-12-08/morning");
        let booked = store
            .book_visit(
                NewVisit {
                    protocol: "p1".into(),
                    reservation_id: None,
                    client_code: "123".into(),
                    slot: before[0],
                    capacity: 1,
                    to_erp: false,
                    message: None,
                },
                0,
            )
            .await
            .unwrap();
        assert!(matches!(booked, Booking::Booked(_)));
        let after = free_slots(&rules, &store, &query(today), today)
            .await
            .unwrap();
        assert_eq!(after[0].key(), "2026-12-08/afternoon");
        assert_eq!(after.len(), before.len() - 1);
        // A narrower query keeps to its days.
        let q = SlotQuery {
            from: Day::parse("2026-12-10").unwrap(),
            to: Day::parse("2026-12-10").unwrap(),
            ..query(today)
        };
        let one_day = free_slots(&rules, &store, &q, today).await.unwrap();
        assert_eq!(one_day.len(), 2);
        assert!(one_day.iter().all(|s| s.day.to_string() == "2026-12-10"));
    }
}
