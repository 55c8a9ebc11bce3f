//! Vectors computed with the platforms' own libraries, and the cases where the
//! platforms differ from each other (repeated keys, credentials in the URL).
//!
//! How the vectors were made (Node 20, in a scratch directory outside the repo):
//! `npm install twilio@6.3.1 @signalwire/compatibility-api@3.2.0`, then
//! `require("<pkg>/lib/webhooks/webhooks.js").getExpectedTwilioSignature(key, url,
//! params)` with a repeated key given as an array (how Express parses
//! `Digits=5678&Digits=1234`), e.g.
//! `getExpectedTwilioSignature("PSKa1b2c3d4e5f6", U, {CallSid: "CA123", Digits: ["5678", "1234"]})`.

use super::*;
use secrecy::SecretString;

const U: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const TOKEN: &str = "12345";
const SW_KEY: &str = "PSKa1b2c3d4e5f6";
const NOW: u64 = 1_800_000_000;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn settings() -> SignatureSettings {
    SignatureSettings {
        twilio_auth_token: Some(SecretString::from(TOKEN)),
        signalwire_signing_key: Some(SecretString::from(SW_KEY)),
        ..Default::default()
    }
}

fn check(
    url: &str,
    form: &[(String, String)],
    header: &str,
    sig: &str,
) -> Result<Platform, SigError> {
    let body = serde_urlencoded::to_string(form).unwrap_or_default();
    let headers = pairs(&[
        ("content-type", "application/x-www-form-urlencoded"),
        (header, sig),
    ]);
    verify(
        &settings(),
        &SignedRequest {
            url,
            headers: &headers,
            body: body.as_bytes(),
            form: Some(form),
            now_unix: NOW,
        },
    )
}

fn sw(url: &str, form: &[(String, String)], sig: &str) -> Result<Platform, SigError> {
    check(url, form, SIGNALWIRE_SIGNATURE_HEADER, sig)
}

fn tw(url: &str, form: &[(String, String)], sig: &str) -> Result<Platform, SigError> {
    check(url, form, TWILIO_SIGNATURE_HEADER, sig)
}

// ---- repeated keys: SignalWire keeps submission order and repeats ----

/// @signalwire/compatibility-api 3.2.0, key `PSKa1b2c3d4e5f6`, URL `U`.
const SW_5678_1234: &str = "X19YERSyk2ZczyGIRI2uJAP+kC8=";
const SW_1234_1234: &str = "6ex+ww9oeY+VcVgUBVa9fxxaqxQ=";
/// twilio 6.3.1 (node), token `12345`, URL `U`.
const TW_5678_1234: &str = "JFq24C+KVrR33xBH3hmVkr1Gb/s=";
const TW_1234_1234: &str = "BEEp8OeJW2ZAo3MYL2JAQSKCpBQ=";

fn digits(a: &str, b: &str) -> Vec<(String, String)> {
    pairs(&[("CallSid", "CA123"), ("Digits", a), ("Digits", b)])
}

#[test]
fn signalwire_library_vectors_for_repeated_keys() {
    assert_eq!(
        signalwire_signature(SW_KEY, U, &digits("5678", "1234")),
        SW_5678_1234
    );
    assert_eq!(
        signalwire_signature(SW_KEY, U, &digits("1234", "1234")),
        SW_1234_1234
    );
    assert_eq!(
        sw(U, &digits("5678", "1234"), SW_5678_1234),
        Ok(Platform::SignalWire)
    );
    assert_eq!(
        sw(U, &digits("1234", "1234"), SW_1234_1234),
        Ok(Platform::SignalWire)
    );
    // In the compat header too.
    assert_eq!(
        tw(U, &digits("5678", "1234"), SW_5678_1234),
        Ok(Platform::SignalWire)
    );
}

#[test]
fn signalwire_submission_order_is_part_of_what_was_signed() {
    // The same values in the other order are another request.
    assert_eq!(
        sw(U, &digits("1234", "5678"), SW_5678_1234),
        Err(SigError::Mismatch)
    );
    // One `Digits=1234` is not two.
    let once = pairs(&[("CallSid", "CA123"), ("Digits", "1234")]);
    assert_eq!(sw(U, &once, SW_1234_1234), Err(SigError::Mismatch));
    // Twilio's distinct, sorted form is still accepted from SignalWire.
    let twilio_form = twilio_signature(SW_KEY, U, &digits("5678", "1234"));
    assert_eq!(
        sw(U, &digits("5678", "1234"), &twilio_form),
        Ok(Platform::SignalWire)
    );
}

#[test]
fn twilio_library_vectors_for_repeated_keys_keep_twilio_rule() {
    assert_eq!(
        twilio_signature(TOKEN, U, &digits("5678", "1234")),
        TW_5678_1234
    );
    assert_eq!(
        twilio_signature(TOKEN, U, &digits("1234", "1234")),
        TW_1234_1234
    );
    assert_eq!(
        tw(U, &digits("5678", "1234"), TW_5678_1234),
        Ok(Platform::Twilio)
    );
    // Twilio's rule: values sorted and distinct, so the order does not matter.
    assert_eq!(
        tw(U, &digits("1234", "5678"), TW_5678_1234),
        Ok(Platform::Twilio)
    );
    assert_eq!(
        tw(U, &digits("1234", "1234"), TW_1234_1234),
        Ok(Platform::Twilio)
    );
    // SignalWire's form is not accepted with the Twilio token.
    let sw_form_with_token = signalwire_signature(TOKEN, U, &digits("5678", "1234"));
    assert_ne!(sw_form_with_token, TW_5678_1234);
    assert_eq!(
        tw(U, &digits("5678", "1234"), &sw_form_with_token),
        Err(SigError::Mismatch)
    );
}

// ---- Telnyx: the timestamp is digits only; each signature has one key ----

fn telnyx_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[9u8; 32])
}

fn telnyx(ts: &str, body: &str, now: u64) -> Result<Platform, SigError> {
    use base64::Engine;
    use ed25519_dalek::Signer;
    // Signed over exactly the header's text, so only the digits rule can refuse it.
    let sig = STANDARD.encode(
        telnyx_key()
            .sign(format!("{ts}|{body}").as_bytes())
            .to_bytes(),
    );
    let headers = pairs(&[
        (TELNYX_SIGNATURE_HEADER, &sig),
        (TELNYX_TIMESTAMP_HEADER, ts),
    ]);
    let s = SignatureSettings {
        telnyx_public_key: Some(telnyx_key().verifying_key().to_bytes()),
        ..Default::default()
    };
    verify(
        &s,
        &SignedRequest {
            url: U,
            headers: &headers,
            body: body.as_bytes(),
            form: None,
            now_unix: now,
        },
    )
}

#[test]
fn telnyx_timestamp_must_be_digits_only() {
    let body = "CallSid=v2:abc&Digits=1";
    assert_eq!(
        telnyx("1796155324", body, 1_796_155_324),
        Ok(Platform::Telnyx)
    );
    for ts in [
        "+1796155324",
        "1796155324.0",
        "0x6B0E6E3C",
        "-0",
        "1_796_155_324",
    ] {
        assert_eq!(
            telnyx(ts, body, 1_796_155_324),
            Err(SigError::Malformed("timestamp is not unix seconds")),
            "{ts}"
        );
    }
}

#[test]
fn telnyx_replay_key_is_one_per_signature() {
    let sig = STANDARD.encode([5u8; 64]);
    let unpadded = sig.trim_end_matches('=').to_string();
    assert_ne!(sig, unpadded);
    let key = |s: &str| telnyx_replay_key(&pairs(&[(TELNYX_SIGNATURE_HEADER, s)]));
    let k = key(&sig).expect("a key");
    assert!(k.starts_with("telnyx:") && k.len() == 7 + 64);
    // However the Base64 is padded, the same signature is the same key.
    assert_eq!(key(&unpadded), Some(k.clone()));
    assert_ne!(key(&STANDARD.encode([6u8; 64])), Some(k));
    assert_eq!(key("%%%"), None);
    assert_eq!(telnyx_replay_key(&[]), None);
    // Remembered for the whole window, on both sides of now.
    assert!(TELNYX_REPLAY_TTL_MS >= 2 * TELNYX_TOLERANCE_SECS as i64 * 1000);
}

// ---- basic auth in the public URL: signed with or without the credentials ----

/// The request URL as the service rebuilds it from `IVR_PUBLIC_URL`.
const CREDS: &str = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";

fn p() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

#[test]
fn credentials_in_the_url_are_optional_in_what_was_signed() {
    // twiml.md vectors (token 12345): over the URL with the credentials, and over
    // the same URL without them (what Twilio's security notes say it signs).
    assert_eq!(
        tw(CREDS, &p(), "CukzLTc1tT5dXEDIHm/tKBanW10="),
        Ok(Platform::Twilio)
    );
    assert_eq!(
        tw(CREDS, &p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Ok(Platform::Twilio)
    );
    // https without the credentials and with the default port: also accepted
    // (`kvajT1Ptam85bY51eRf/AJRuM3w=` is the `:443` vector of twiml.md).
    assert_eq!(
        tw(CREDS, &p(), "kvajT1Ptam85bY51eRf/AJRuM3w="),
        Ok(Platform::Twilio)
    );
    let with_port = "https://user:pass@mycompany.com:8443/myapp.php?foo=1&bar=2";
    assert_eq!(
        tw(with_port, &p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Ok(Platform::Twilio)
    );
    // SignalWire the same.
    let sig = signalwire_signature(SW_KEY, U, &p());
    assert_eq!(sw(CREDS, &p(), &sig), Ok(Platform::SignalWire));
    // The request URL without credentials never matches a signature made with them,
    // and the rest of the URL is still signed.
    assert_eq!(
        tw(U, &p(), "CukzLTc1tT5dXEDIHm/tKBanW10="),
        Err(SigError::Mismatch)
    );
    let other_path = "https://user:pass@mycompany.com/other.php?foo=1&bar=2";
    assert_eq!(
        tw(other_path, &p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Err(SigError::Mismatch)
    );
    let other_host = "https://user:pass@evil.example/myapp.php?foo=1&bar=2";
    assert_eq!(
        tw(other_host, &p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Err(SigError::Mismatch)
    );
}
