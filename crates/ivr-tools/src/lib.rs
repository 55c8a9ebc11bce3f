//! Tools around the service, for the people who build and run it:
//! - [`caller`]: a TwiML executor that plays the platform (the terminal caller of
//!   `ozmap-ivr call`, the platform in the black-box tests, the engine of the load);
//! - [`bench`](mod@bench): the load generator of `ozmap-ivr bench`, with its ceiling.
//!
//! This crate talks to the service over HTTP only; it depends on [`ivr_core`] for
//! what a webhook and a greeting are, never on the service crate, so the service's
//! production library carries none of it (`roxmltree` lives here alone). The few
//! things the load generator needs of the service in process come through
//! [`bench::Service`], which the binary implements.

pub mod bench;
pub mod caller;
