//! Distances on the ground, as OZmap's `near` filter measures them.

/// Mean Earth radius used by [`distance_m`], in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// Great-circle (haversine) distance between two WGS 84 points, in metres.
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_is_right_at_a_known_distance() {
        // One degree of latitude is 111.195 km on this sphere.
        let d = distance_m(-27.0, -48.0, -28.0, -48.0);
        assert!((d - 111_194.9).abs() < 1.0, "{d}");
        let (lat, lng) = (-27.578_233_672_131_2, -48.527_442_812_919_624);
        assert_eq!(distance_m(lat, lng, lat, lng), 0.0);
    }
}
