//! Ids and timestamps in the shapes OZmap uses: ObjectId-like hex ids and ISO
//! 8601 UTC times.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A stable 24-hex id derived from another one (for things the file only implies:
/// the clients on used ports, the PON feeding a splitter).
pub(super) fn derived_id(base: &str, tag: u32) -> String {
    let prefix: String = base.chars().take(18).collect();
    format!("{prefix:0<18}{:06x}", tag & 0xff_ffff)
}

/// A fresh ObjectId-like id: seconds, random bits, a counter.
pub(crate) fn new_object_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xff_ffff;
    let random: u64 = rand::random::<u64>() & 0xff_ffff_ffff;
    format!("{:08x}{random:010x}{count:06x}", secs & 0xffff_ffff)
}

/// Now as ISO 8601 UTC with milliseconds, e.g. `2024-05-01T12:00:00.000Z`.
pub(crate) fn now_iso() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso_from_unix_millis(d.as_millis())
}

pub(super) fn iso_from_unix_millis(ms: u128) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms % 1000
    )
}
