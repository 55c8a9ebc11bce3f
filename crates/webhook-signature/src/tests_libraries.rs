//! Vectors computed once with the platforms' official libraries, on the kind of
//! request this IVR receives (a pt-BR speech result, repeated `Digits`, basic auth
//! in the URL, a port on http), so a change of rule shows here.
//!
//! Made outside the repo (a scratch directory in /tmp), 2026-12-02 (Telnyx: see
//! `TELNYX_VECTORS`):
//! - Twilio: `npm install twilio@6.3.1`,
//!   `require("twilio/lib/webhooks/webhooks.js").getExpectedTwilioSignature(TOKEN, url,
//!   params)`, each one also accepted by its `validateRequest`; and PyPI `twilio`
//!   9.13.0, `RequestValidator(TOKEN).compute_signature(url, params)` (a repeated
//!   key through `getlist`), which gave the same five signatures;
//! - SignalWire: `npm install @signalwire/compatibility-api@3.2.0`, the same
//!   `getExpectedTwilioSignature(KEY, url, params)`, each accepted by its
//!   `validateRequest`.
//!
//! A repeated key was given to the Node libraries as an array (`Digits: ["9", "1",
//! "9"]`, how Express parses `Digits=9&Digits=1&Digits=9`).

use super::*;
use secrecy::SecretString;

const TOKEN: &str = "twilio-vector-token";
const KEY: &str = "PSKvector0123";
const SID: &str = "CA0123456789abcdef0123456789abcdef";

struct Vector {
    url: &'static str,
    params: &'static [(&'static str, &'static str)],
    twilio: &'static str,
    signalwire: &'static str,
}

const VECTORS: &[Vector] = &[
    Vector {
        url: "https://ivr.example.com.br/voice/answer?seq=3",
        params: &[
            ("CallSid", SID),
            ("Digits", "1"),
            ("From", "+5548991234567"),
        ],
        twilio: "5l4B6pHWOfqNWNmM47/xXWY44hc=",
        signalwire: "mCUWCd5d6Nic6fDi5moJMAe7vmw=",
    },
    Vector {
        url: "https://ivr.example.com.br/voice/answer?seq=4",
        params: &[
            ("CallSid", SID),
            (
                "SpeechResult",
                "Rua Delminda Silveira, novecentos, Agronômica, Florianópolis",
            ),
            ("Confidence", "0.91"),
        ],
        twilio: "aOZ64IxtbzbpEBef9LCG84rB7tI=",
        signalwire: "X9f98aPMUF7ys8J+nTblWm7Q9eA=",
    },
    Vector {
        url: "https://ivr.example.com.br/voice/answer?seq=5",
        params: &[
            ("CallSid", SID),
            ("Digits", "9"),
            ("Digits", "1"),
            ("Digits", "9"),
        ],
        twilio: "3OHvnsnuzDn+PqoxV4y3fYMmiVs=",
        signalwire: "7RO1V/kYlefwrDn8zt3ip2qkhjc=",
    },
    Vector {
        url: "https://ivr:s3nha@ivr.example.com.br/voice",
        params: &[("CallSid", SID), ("CallStatus", "ringing")],
        twilio: "pY7aS9KfSFBigw0LhsHubo+RUIg=",
        signalwire: "XbeAI0nlSeo/EkEjae6f+h1kvjg=",
    },
    Vector {
        url: "http://127.0.0.1:8080/voice/silence?seq=2",
        params: &[("CallSid", SID), ("CallStatus", "in-progress")],
        twilio: "xQKuqXOpsz2xhKPQFVxDFg6AuLk=",
        signalwire: "H4U/ItVU8bB44Yf2n8DYFvg31ug=",
    },
];

fn form(v: &Vector) -> Vec<(String, String)> {
    v.params
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn check(
    url: &str,
    form: &[(String, String)],
    header: &str,
    sig: &str,
) -> Result<Platform, SigError> {
    let settings = SignatureSettings {
        twilio_auth_token: Some(SecretString::from(TOKEN)),
        signalwire_signing_key: Some(SecretString::from(KEY)),
        ..Default::default()
    };
    let body = serde_urlencoded::to_string(form).unwrap_or_default();
    let headers = vec![(header.to_string(), sig.to_string())];
    verify(
        &settings,
        &SignedRequest {
            url,
            headers: &headers,
            body: body.as_bytes(),
            form: Some(form),
            now_unix: 1_800_000_000,
        },
    )
}

#[test]
fn twilio_library_vectors() {
    for v in VECTORS {
        let f = form(v);
        assert_eq!(twilio_signature(TOKEN, v.url, &f), v.twilio, "{}", v.url);
        assert!(verify_twilio(TOKEN, v.url, &f, v.twilio), "{}", v.url);
        assert_eq!(
            check(v.url, &f, TWILIO_SIGNATURE_HEADER, v.twilio),
            Ok(Platform::Twilio),
            "{}",
            v.url
        );
    }
}

#[test]
fn signalwire_library_vectors() {
    for v in VECTORS {
        let f = form(v);
        assert_eq!(
            signalwire_signature(KEY, v.url, &f),
            v.signalwire,
            "{}",
            v.url
        );
        assert_eq!(
            check(v.url, &f, SIGNALWIRE_SIGNATURE_HEADER, v.signalwire),
            Ok(Platform::SignalWire),
            "{}",
            v.url
        );
    }
}

#[test]
fn library_vectors_fail_when_anything_changes() {
    for v in VECTORS {
        let mut f = form(v);
        f[0].1.push('x');
        assert_eq!(
            check(v.url, &f, TWILIO_SIGNATURE_HEADER, v.twilio),
            Err(SigError::Mismatch)
        );
        assert_eq!(
            check(v.url, &f, SIGNALWIRE_SIGNATURE_HEADER, v.signalwire),
            Err(SigError::Mismatch)
        );
        // Each platform's signature is no good with the other's secret.
        let f = form(v);
        assert_eq!(
            check(v.url, &f, SIGNALWIRE_SIGNATURE_HEADER, v.twilio),
            Err(SigError::Mismatch)
        );
    }
}

/// Telnyx: made with Node's Ed25519 (the key from 32 bytes of 7), each accepted by
/// telnyx-node 7.24.0's `new TelnyxWebhook(publicKeyBase64).verify(body, headers)`,
/// which refused the same requests with `telnyx-timestamp: +<timestamp>`.
const TELNYX_PUBLIC_KEY: &str = "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=";
const TELNYX_TIMESTAMP: u64 = 1_796_171_630;
const TELNYX_VECTORS: &[(&str, &str)] = &[
    (
        "CallSid=CA0123456789abcdef0123456789abcdef&Digits=1&From=%2B5548991234567",
        "PQhjeyKxIZiC+4hKh0m/xKT0aT6bxd6QB95FXqIcJYF3PLY73pBw6GP3k/omSR5MQz4fKQ+NLNW6+/rsUuW4AQ==",
    ),
    (
        "CallSid=CA0123456789abcdef0123456789abcdef&SpeechResult=Rua+Delminda+Silveira%2C+novecentos&Confidence=0.91",
        "sL1ABXn7dVv3dsSX6Vx173nQJbiz4FN38aU0Dq4ibJk99siVCAAcI7WeMnjix9l7rM6Z7zaPjSzpYo+VGFqHAg==",
    ),
];

fn telnyx_check(ts: &str, body: &str, sig: &str) -> Result<Platform, SigError> {
    let key: [u8; 32] = STANDARD
        .decode(TELNYX_PUBLIC_KEY)
        .unwrap()
        .try_into()
        .unwrap();
    let settings = SignatureSettings {
        telnyx_public_key: Some(key),
        ..Default::default()
    };
    let headers = vec![
        (TELNYX_SIGNATURE_HEADER.to_string(), sig.to_string()),
        (TELNYX_TIMESTAMP_HEADER.to_string(), ts.to_string()),
    ];
    verify(
        &settings,
        &SignedRequest {
            url: "https://ivr.example.com.br/voice",
            headers: &headers,
            body: body.as_bytes(),
            form: None,
            now_unix: TELNYX_TIMESTAMP + 10,
        },
    )
}

#[test]
fn telnyx_library_vectors_verify_and_a_signed_plus_timestamp_does_not() {
    for (body, sig) in TELNYX_VECTORS {
        let ts = TELNYX_TIMESTAMP.to_string();
        assert_eq!(telnyx_check(&ts, body, sig), Ok(Platform::Telnyx), "{body}");
        assert!(telnyx_check(&format!("+{ts}"), body, sig).is_err());
        assert_eq!(
            telnyx_check(&ts, &format!("{body}x"), sig),
            Err(SigError::Mismatch)
        );
    }
}
