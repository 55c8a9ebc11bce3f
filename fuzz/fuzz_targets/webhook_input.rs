//! Any bytes as a webhook body: form parsing, speech normalisation, the call flow
//! and the TwiML writer must never panic and must always give well-formed TwiML.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    test_support::fuzz::check(data);
});
