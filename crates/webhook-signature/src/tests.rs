//! The official vectors of each platform, and the failures that must fail.

use super::*;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{KeyInit, Mac};
use proptest::prelude::*;
use secrecy::SecretString;

const TOKEN: &str = "12345";
const U: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const NOW: u64 = 1_800_000_000;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn p() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

fn twilio_settings() -> SignatureSettings {
    SignatureSettings {
        twilio_auth_token: Some(SecretString::from(TOKEN)),
        ..Default::default()
    }
}

fn twilio_headers(sig: &str) -> Vec<(String, String)> {
    pairs(&[
        ("content-type", "application/x-www-form-urlencoded"),
        (TWILIO_SIGNATURE_HEADER, sig),
    ])
}

/// Runs the full check on a form request.
fn check_form(
    s: &SignatureSettings,
    url: &str,
    form: &[(String, String)],
    headers: &[(String, String)],
) -> Result<Platform, SigError> {
    let body = serde_urlencoded::to_string(form).unwrap_or_default();
    verify(
        s,
        &SignedRequest {
            url,
            headers,
            body: body.as_bytes(),
            form: Some(form),
            now_unix: NOW,
        },
    )
}

fn twilio_form(url: &str, form: &[(String, String)], sig: &str) -> Result<Platform, SigError> {
    check_form(&twilio_settings(), url, form, &twilio_headers(sig))
}

// ---- the table in twiml.md, one test per row ----

#[test]
fn vector_plain_url() {
    assert_eq!(
        twilio_signature(TOKEN, U, &p()),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    assert!(verify_twilio(
        TOKEN,
        U,
        &p(),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    ));
    assert_eq!(
        twilio_form(U, &p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Ok(Platform::Twilio)
    );
}

#[test]
fn vector_port_removed() {
    let url = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
    assert_eq!(
        twilio_form(url, &p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Ok(Platform::Twilio)
    );
}

#[test]
fn vector_https_default_port_added() {
    assert_eq!(
        twilio_form(U, &p(), "kvajT1Ptam85bY51eRf/AJRuM3w="),
        Ok(Platform::Twilio)
    );
}

#[test]
fn vector_http_default_port_added() {
    let url = "http://mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        twilio_form(url, &p(), "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        Ok(Platform::Twilio)
    );
}

#[test]
fn vector_http_explicit_port() {
    let url = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
    assert_eq!(
        twilio_form(url, &p(), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        Ok(Platform::Twilio)
    );
}

#[test]
fn vector_repeated_params() {
    let form = pairs(&[
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]);
    assert_eq!(
        twilio_signature(TOKEN, U, &form),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    );
    assert_eq!(
        twilio_form(U, &form, "IK+Dwps556ElfBT0I3Rgjkr1wJU="),
        Ok(Platform::Twilio)
    );
}

#[test]
fn vector_credentials_in_url() {
    let url = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        twilio_form(url, &p(), "CukzLTc1tT5dXEDIHm/tKBanW10="),
        Ok(Platform::Twilio)
    );
    // The credentials are part of what was signed.
    assert_eq!(
        twilio_form(U, &p(), "CukzLTc1tT5dXEDIHm/tKBanW10="),
        Err(SigError::Mismatch)
    );
}

const JSON_BODY: &str = r#"{"property": "value", "boolean": true}"#;
const JSON_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

fn json(url: &str, body: &str, sig: &str) -> Result<Platform, SigError> {
    let headers = pairs(&[
        ("content-type", "application/json"),
        (TWILIO_SIGNATURE_HEADER, sig),
    ]);
    verify(
        &twilio_settings(),
        &SignedRequest {
            url,
            headers: &headers,
            body: body.as_bytes(),
            form: None,
            now_unix: NOW,
        },
    )
}

/// `bodySHA256` is not supported (see the crate doc): even the twiml.md vector,
/// correctly signed, is refused, and so is a changed body.
#[test]
fn json_body_with_body_sha256_is_refused() {
    for body in [JSON_BODY.to_string(), JSON_BODY.replace("value", "other")] {
        assert_eq!(
            json(JSON_URL, &body, "a9nBmqA0ju/hNViExpshrM61xv4="),
            Err(SigError::Malformed("body is not a form"))
        );
    }
}

#[test]
fn must_fail_body_without_body_sha256() {
    let sig = twilio_signature(TOKEN, U, &[]);
    assert!(matches!(
        json(U, JSON_BODY, &sig),
        Err(SigError::Malformed(_))
    ));
}

#[test]
fn vector_changed_caller_and_from() {
    let mut form = p();
    for (k, v) in form.iter_mut() {
        if k == "Caller" || k == "From" {
            *v = "+12349013030".into();
        }
    }
    assert_eq!(
        twilio_form(U, &form, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        Ok(Platform::Twilio)
    );
    // ...and the original signature no longer fits the changed values.
    assert_eq!(
        twilio_form(U, &form, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Err(SigError::Mismatch)
    );
}

#[test]
fn vector_hmac_sha256_shared_key() {
    let s = SignatureSettings {
        twilio_shared_keys: vec![("KS1".into(), SecretString::from(TOKEN))],
        ..Default::default()
    };
    let mut headers = twilio_headers("033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s=");
    headers.push((
        TWILIO_SIGNATURE_SETTINGS_HEADER.into(),
        "key=KS1,algorithm=HMAC_SHA256".into(),
    ));
    assert_eq!(check_form(&s, U, &p(), &headers), Ok(Platform::Twilio));

    // Unknown key id, unknown algorithm, and a SHA-1 signature under the header.
    let mut other = headers.clone();
    other[2].1 = "key=KS2,algorithm=HMAC_SHA256".into();
    assert!(matches!(
        check_form(&s, U, &p(), &other),
        Err(SigError::Malformed(_))
    ));
    other[2].1 = "key=KS1,algorithm=HMAC_MD5".into();
    assert!(matches!(
        check_form(&s, U, &p(), &other),
        Err(SigError::Malformed(_))
    ));
    let mut sha1 = twilio_headers("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    sha1.push(headers[2].clone());
    assert_eq!(check_form(&s, U, &p(), &sha1), Err(SigError::Mismatch));
}

// ---- must fail ----

#[test]
fn must_fail_missing_header() {
    let headers = pairs(&[("content-type", "application/x-www-form-urlencoded")]);
    assert_eq!(
        check_form(&twilio_settings(), U, &p(), &headers),
        Err(SigError::Missing)
    );
    // An empty header is no signature either.
    assert_eq!(twilio_form(U, &p(), " "), Err(SigError::Missing));
}

#[test]
fn must_fail_changed_parameter_value() {
    let mut form = p();
    form[2].1 = "1235".into();
    assert_eq!(
        twilio_form(U, &form, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Err(SigError::Mismatch)
    );
}

#[test]
fn must_fail_another_token() {
    let s = SignatureSettings {
        twilio_auth_token: Some(SecretString::from("54321")),
        ..Default::default()
    };
    assert_eq!(
        check_form(&s, U, &p(), &twilio_headers("RSOYDt4T1cUTdK1PDd93/VVr8B8=")),
        Err(SigError::Mismatch)
    );
    assert!(!verify_twilio(
        "54321",
        U,
        &p(),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    ));
}

#[test]
fn bad_base64_is_malformed() {
    assert!(matches!(
        twilio_form(U, &p(), "not base64!"),
        Err(SigError::Malformed(_))
    ));
}

#[test]
fn nothing_configured() {
    let headers = twilio_headers("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    assert_eq!(
        check_form(&SignatureSettings::default(), U, &p(), &headers),
        Err(SigError::NotConfigured)
    );
    assert!(!SignatureSettings::default().any());
    assert!(twilio_settings().any());
}

#[test]
fn header_of_an_unconfigured_platform_is_not_accepted() {
    // Only SignalWire is configured; a Twilio signature made with some token is
    // checked with the SignalWire key (compat header), and fails.
    let s = SignatureSettings {
        signalwire_signing_key: Some(SecretString::from("PSKsecret")),
        ..Default::default()
    };
    let sig = twilio_signature(TOKEN, U, &p());
    assert_eq!(
        check_form(&s, U, &p(), &twilio_headers(&sig)),
        Err(SigError::Mismatch)
    );
    // A Telnyx header while Telnyx is not configured: no usable signature.
    let headers = pairs(&[
        (TELNYX_SIGNATURE_HEADER, "AAAA"),
        (TELNYX_TIMESTAMP_HEADER, "1"),
    ]);
    assert_eq!(check_form(&s, U, &p(), &headers), Err(SigError::Missing));
}

#[test]
fn debug_shows_no_secret() {
    let s = SignatureSettings {
        twilio_auth_token: Some(SecretString::from("tok-abc-123")),
        twilio_shared_keys: vec![("KS1".into(), SecretString::from("shared-xyz"))],
        signalwire_signing_key: Some(SecretString::from("PSK-sw-789")),
        telnyx_public_key: None,
    };
    let d = format!("{s:?}");
    assert!(!d.contains("tok-abc-123") && !d.contains("shared-xyz") && !d.contains("PSK-sw"));
    let e = SigError::Malformed("signature is not Base64").to_string();
    assert!(e.contains("Base64"));
}

#[test]
fn url_variants_cover_ports_and_brackets() {
    assert_eq!(
        url_variants("https://h.example/p?q=1"),
        vec!["https://h.example/p?q=1", "https://h.example:443/p?q=1"]
    );
    assert_eq!(
        url_variants("http://u:p@h.example:8080"),
        vec![
            "http://u:p@h.example:8080",
            "http://u:p@h.example",
            "http://h.example:8080",
            "http://h.example",
        ]
    );
    assert_eq!(
        url_variants("https://[::1]:8443/x"),
        vec!["https://[::1]:8443/x", "https://[::1]/x"]
    );
    assert_eq!(url_variants("not a url"), vec!["not a url"]);
}

// ---- SignalWire ----

const SW_KEY: &str = "PSKa1b2c3d4e5f6";

fn sw_settings() -> SignatureSettings {
    SignatureSettings {
        signalwire_signing_key: Some(SecretString::from(SW_KEY)),
        ..Default::default()
    }
}

#[test]
fn signalwire_cxml_header_accepted() {
    let sig = twilio_signature(SW_KEY, U, &p());
    let headers = pairs(&[(SIGNALWIRE_SIGNATURE_HEADER, &sig)]);
    assert_eq!(
        check_form(&sw_settings(), U, &p(), &headers),
        Ok(Platform::SignalWire)
    );
    // The compat header X-Twilio-Signature also works with the signing key.
    assert_eq!(
        check_form(&sw_settings(), U, &p(), &twilio_headers(&sig)),
        Ok(Platform::SignalWire)
    );
    // Not with another key, not with a changed value.
    let other = twilio_signature("PSKother", U, &p());
    let headers = pairs(&[(SIGNALWIRE_SIGNATURE_HEADER, &other)]);
    assert_eq!(
        check_form(&sw_settings(), U, &p(), &headers),
        Err(SigError::Mismatch)
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sw_raw(headers: &[(String, String)], body: &str) -> Result<Platform, SigError> {
    verify(
        &sw_settings(),
        &SignedRequest {
            url: U,
            headers,
            body: body.as_bytes(),
            form: None,
            now_unix: NOW,
        },
    )
}

#[test]
fn signalwire_raw_body_schemes() {
    let body = r#"{"call":{"call_id":"x"}}"#;
    let mut m1 = HmacSha1::new_from_slice(SW_KEY.as_bytes()).unwrap();
    m1.update(format!("{U}{body}").as_bytes());
    let sha1_hex = hex(&m1.finalize().into_bytes());
    let mut m2 = HmacSha256::new_from_slice(SW_KEY.as_bytes()).unwrap();
    m2.update(format!("{U}{body}").as_bytes());
    let sha256_hex = hex(&m2.finalize().into_bytes());

    let h1 = pairs(&[(SIGNALWIRE_SIGNATURE_HEADER, &sha1_hex)]);
    assert_eq!(sw_raw(&h1, body), Ok(Platform::SignalWire));
    assert_eq!(sw_raw(&h1, "{}"), Err(SigError::Mismatch));

    let h2 = pairs(&[(SIGNALWIRE_SHA256_SIGNATURE_HEADER, &sha256_hex)]);
    assert_eq!(sw_raw(&h2, body), Ok(Platform::SignalWire));
    assert_eq!(sw_raw(&h2, "{}"), Err(SigError::Mismatch));

    // A bad SHA-256 header falls back to a good SHA-1 one.
    let both = pairs(&[
        (SIGNALWIRE_SHA256_SIGNATURE_HEADER, &"00".repeat(32)),
        (SIGNALWIRE_SIGNATURE_HEADER, &sha1_hex),
    ]);
    assert_eq!(sw_raw(&both, body), Ok(Platform::SignalWire));
}

// ---- Telnyx ----

fn telnyx_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn telnyx_settings() -> SignatureSettings {
    SignatureSettings {
        telnyx_public_key: Some(telnyx_key().verifying_key().to_bytes()),
        ..Default::default()
    }
}

fn telnyx(ts: &str, sig: &str, body: &str, now: u64) -> Result<Platform, SigError> {
    let headers = pairs(&[
        (TELNYX_SIGNATURE_HEADER, sig),
        (TELNYX_TIMESTAMP_HEADER, ts),
    ]);
    verify(
        &telnyx_settings(),
        &SignedRequest {
            url: U,
            headers: &headers,
            body: body.as_bytes(),
            form: None,
            now_unix: now,
        },
    )
}

fn telnyx_sign(ts: u64, body: &str) -> String {
    STANDARD.encode(
        telnyx_key()
            .sign(format!("{ts}|{body}").as_bytes())
            .to_bytes(),
    )
}

#[test]
fn telnyx_signature_verifies() {
    let body = r#"{"data":{"event_type":"call.initiated"}}"#;
    let sig = telnyx_sign(NOW, body);
    assert_eq!(
        telnyx(&NOW.to_string(), &sig, body, NOW + 10),
        Ok(Platform::Telnyx)
    );
    assert_eq!(
        telnyx(&NOW.to_string(), &sig, body, NOW + 300),
        Ok(Platform::Telnyx)
    );
}

#[test]
fn telnyx_failures() {
    let body = r#"{"data":{}}"#;
    let sig = telnyx_sign(NOW, body);
    let ts = NOW.to_string();
    assert_eq!(telnyx(&ts, &sig, body, NOW + 301), Err(SigError::Expired));
    assert_eq!(telnyx(&ts, &sig, body, NOW - 301), Err(SigError::Expired));
    assert_eq!(
        telnyx(&ts, &sig, r#"{"data":{"x":1}}"#, NOW),
        Err(SigError::Mismatch)
    );
    // The timestamp is signed: another one (still in the window) fails.
    assert_eq!(
        telnyx(&(NOW + 1).to_string(), &sig, body, NOW),
        Err(SigError::Mismatch)
    );
    assert!(matches!(
        telnyx(&ts, "%%%not-b64", body, NOW),
        Err(SigError::Malformed(_))
    ));
    assert!(matches!(
        telnyx(&ts, "AAAA", body, NOW),
        Err(SigError::Malformed(_))
    ));
    assert!(matches!(
        telnyx("soon", &sig, body, NOW),
        Err(SigError::Malformed(_))
    ));
    let headers = pairs(&[(TELNYX_SIGNATURE_HEADER, &sig)]);
    let r = SignedRequest {
        url: U,
        headers: &headers,
        body: body.as_bytes(),
        form: None,
        now_unix: NOW,
    };
    assert_eq!(verify(&telnyx_settings(), &r), Err(SigError::Missing));
}

#[test]
fn telnyx_key_parsing() {
    let raw = telnyx_key().verifying_key().to_bytes();
    let b64 = STANDARD.encode(raw);
    assert_eq!(SignatureSettings::parse_telnyx_key(&b64), Ok(raw));
    assert_eq!(
        SignatureSettings::parse_telnyx_key(b64.trim_end_matches('=')),
        Ok(raw)
    );
    assert_eq!(SignatureSettings::parse_telnyx_key(&hex(&raw)), Ok(raw));
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(&raw);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(&der)
    );
    assert_eq!(SignatureSettings::parse_telnyx_key(&pem), Ok(raw));
    for bad in ["", "abc", "%%%%", &STANDARD.encode([1u8; 31])] {
        assert!(SignatureSettings::parse_telnyx_key(bad).is_err(), "{bad}");
    }
    // The identity point is a weak (small-order) key.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(SignatureSettings::parse_telnyx_key(&hex(&identity)).is_err());
}

proptest! {
    #[test]
    fn accepts_exactly_what_was_signed(
        form in prop::collection::btree_map("[A-Za-z]{1,12}", "\\PC{0,24}", 1..10),
        idx in any::<prop::sample::Index>(),
        replacement in "\\PC{0,24}",
        path in "[a-z/]{0,12}",
    ) {
        let url = format!("https://ivr.example.com/{path}?step=1");
        let form: Vec<(String, String)> = form.into_iter().collect();
        let sig = twilio_signature(TOKEN, &url, &form);
        prop_assert_eq!(twilio_form(&url, &form, &sig), Ok(Platform::Twilio));

        let i = idx.index(form.len());
        prop_assume!(form[i].1 != replacement);
        let mut changed = form.clone();
        changed[i].1 = replacement;
        prop_assert_eq!(twilio_form(&url, &changed, &sig), Err(SigError::Mismatch));
    }
}
