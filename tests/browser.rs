//! The operators' console and the location page in headless Chromium, in a test binary of its own:
//! Cargo runs test binaries one after the other, so the browser's CPU does not
//! slow the timing-sensitive tests of `tests/it` on a small machine.

#[path = "it/agenda_browser.rs"]
mod agenda_browser;
#[path = "it/console_browser.rs"]
mod console_browser;
#[path = "it/console_walks.rs"]
mod console_walks;
#[path = "it/fake_twilio.rs"]
mod fake_twilio;
#[path = "it/location_browser.rs"]
mod location_browser;
#[path = "it/visit_seed.rs"]
mod visit_seed;
