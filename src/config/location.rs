//! The links by SMS where a caller marks the house (`location`): how long a
//! link lives and the worst accuracy taken.

use super::{ConfigError, within};
use crate::location::{DEFAULT_LINK_MIN, DEFAULT_MAX_ACCURACY_M, LocationSettings};
use clap::Args;

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Location links")]
pub struct LocationArgs {
    /// How long a link sent by SMS to mark the house is valid, in minutes
    /// (0 to 240; 0: every link is born expired).
    #[arg(long, env = "IVR_LOCATION_LINK_MIN", default_value_t = DEFAULT_LINK_MIN)]
    pub location_link_min: u32,
    /// The worst accuracy radius taken from the link's page, in metres (5 to
    /// 5000): a coarser position is refused with "aproxime-se da casa".
    #[arg(long, env = "IVR_LOCATION_MAX_ACCURACY_M", default_value_t = DEFAULT_MAX_ACCURACY_M)]
    pub location_max_accuracy_m: u32,
}

impl LocationArgs {
    pub(super) fn check(&self) -> Result<LocationSettings, ConfigError> {
        Ok(LocationSettings {
            link_min: within(
                "IVR_LOCATION_LINK_MIN",
                self.location_link_min,
                0..=240,
                "must be between 0 and 240 minutes",
            )?,
            max_accuracy_m: within(
                "IVR_LOCATION_MAX_ACCURACY_M",
                self.location_max_accuracy_m,
                5..=5_000,
                "must be between 5 and 5000 metres",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_for_tests;

    #[test]
    fn defaults_and_bounds() {
        let c = parse_for_tests(&[]).unwrap();
        assert_eq!((c.location.link_min, c.location.max_accuracy_m), (20, 100));
        let c =
            parse_for_tests(&["--location-link-min=0", "--location-max-accuracy-m=30"]).unwrap();
        assert_eq!((c.location.link_min, c.location.max_accuracy_m), (0, 30));
        let e = parse_for_tests(&["--location-link-min=241"]).unwrap_err();
        assert_eq!(e.var, "IVR_LOCATION_LINK_MIN");
        let e = parse_for_tests(&["--location-max-accuracy-m=2"]).unwrap_err();
        assert_eq!(e.var, "IVR_LOCATION_MAX_ACCURACY_M");
    }

    #[test]
    fn a_call_offers_the_link_only_when_sms_really_go_out() {
        // The sandbox's default provider writes to the log: nobody could open it.
        let c = parse_for_tests(&[]).unwrap();
        assert!(!c.call.flow.location_link);
        let twilio = [
            "--sms-provider=twilio",
            "--twilio-account-sid=AC0123456789abcdef0123456789abcdef",
            "--twilio-auth-token=t0k3n",
            "--sms-from=+5548988880000",
        ];
        let c = parse_for_tests(&twilio).unwrap();
        assert!(c.call.flow.location_link);
        assert_eq!(c.call.flow.location_wait_ms, 20 * 60_000);
        let mut off = twilio.to_vec();
        off.push("--location-link-min=0");
        assert!(!parse_for_tests(&off).unwrap().call.flow.location_link);
        let c = parse_for_tests(&["--sms-provider=none"]).unwrap();
        assert!(!c.call.flow.location_link);
    }
}
