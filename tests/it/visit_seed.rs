//! A visit written into the store as the booking step writes it (a `visits`
//! row and its period's place in `visit_periods`), for the operators' tests
//! (`visits_admin`, and the browser's `agenda_browser`).

use sqlx::Connection;
use test_support::TestApp;

/// Books a visit in the store as the booking step does: the period's place
/// taken against `capacity`, the visit written.
pub(crate) async fn book(
    app: &TestApp,
    protocol: &str,
    reservation: Option<i64>,
    slot: (&str, &str),
    cap: i64,
) {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("PRAGMA busy_timeout = 5000")
        .execute(&mut c)
        .await
        .ok();
    let mut tx = c.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO visit_periods (day, period, booked, capacity) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (day, period) DO UPDATE SET booked = visit_periods.booked + 1",
    )
    .bind(slot.0)
    .bind(slot.1)
    .bind(cap)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO visits (protocol, reservation_id, client_code, day, period, status, \
         erp_status, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, '123|123', $3, $4, 'booked', 'none', 1, 1, 1)",
    )
    .bind(protocol)
    .bind(reservation)
    .bind(slot.0)
    .bind(slot.1)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Marks a visit's booking in the ERP a dead letter, with `error`.
#[allow(dead_code)] // The browser's test uses it.
pub(crate) async fn erp_dead(app: &TestApp, protocol: &str, error: &str) {
    let mut c = sqlx::AnyConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("UPDATE visits SET erp_status = 'dead', erp_attempts = 3, last_error = $1 WHERE protocol = $2")
        .bind(error)
        .bind(protocol)
        .execute(&mut c)
        .await
        .unwrap();
}
