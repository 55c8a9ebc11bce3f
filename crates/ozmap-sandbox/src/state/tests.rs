//! The ids and dates the world makes up, checked against their formats.

use super::*;

#[test]
fn iso_dates_are_right() {
    assert_eq!(iso_from_unix_millis(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        iso_from_unix_millis(951_782_400_123),
        "2000-02-29T00:00:00.123Z"
    );
    assert_eq!(
        iso_from_unix_millis(1_735_689_599_999),
        "2024-12-31T23:59:59.999Z"
    );
}

#[test]
fn ids_are_24_hex_and_distinct() {
    let a = new_object_id();
    let b = new_object_id();
    assert!(super::super::network::is_object_id(&a), "{a}");
    assert_ne!(a, b);
    let d = derived_id("5da62301493d9c0006667701", 0x0d_0001);
    assert_eq!(d, "5da62301493d9c00060d0001");
}
