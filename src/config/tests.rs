//! Defaults, errors that name their variable, secrets kept out of `Debug`.

use super::http::percent_decode;
use super::*;
use crate::geocode::GeocoderKind;
use secrecy::ExposeSecret;

fn parse(args: &[&str]) -> Result<Config, ConfigError> {
    parse_for_tests(args)
}

#[test]
fn defaults_run_on_the_sandbox_and_the_gazetteer() {
    let c = parse(&[]).unwrap();
    assert_eq!(c.http.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.http.public_url, "http://127.0.0.1:8080");
    assert!(c.ozmap.is_sandbox());
    assert_eq!(c.geocoder.kind, GeocoderKind::Gazetteer);
    assert_eq!(
        (
            c.call.flow.max_attempts,
            c.call.step_budget.as_millis(),
            c.reserve.radius_m
        ),
        (3, 2000, 200)
    );
    assert!(!c.reserve.force);
    // The worker keeps the agents' clock for a visit's day.
    let worker = crate::worker::WorkerSettings {
        timezone: "America/Sao_Paulo".into(),
        ..Default::default()
    };
    assert_eq!(c.worker, worker);
    assert_eq!(c.reserve.commit_wait, std::time::Duration::from_secs(60));
}

#[test]
fn the_commit_wait_is_read_and_must_outlast_one_request() {
    let c = parse(&["--ozmap-timeout-ms=800", "--ozmap-commit-wait-ms=3000"]).unwrap();
    assert_eq!(c.reserve.commit_wait.as_millis(), 3_000);
    for args in [
        &["--ozmap-commit-wait-ms=8000"][..],
        &["--ozmap-timeout-ms=800", "--ozmap-commit-wait-ms=800"][..],
        &["--ozmap-commit-wait-ms=0"][..],
        &["--ozmap-commit-wait-ms=3600001"][..],
    ] {
        let e = parse(args).unwrap_err();
        assert_eq!(e.var, "OZMAP_COMMIT_WAIT_MS", "{args:?}: {e}");
    }
    let e = parse(&["--ozmap-commit-wait-ms=5000"]).unwrap_err();
    assert!(e.to_string().contains("OZMAP_TIMEOUT_MS (8000 ms)"), "{e}");
}

#[test]
fn worker_settings_come_from_the_flags() {
    let c = parse(&[
        "--worker-lease-ms=3000",
        "--retry-base-ms=200",
        "--breaker-failures=0",
        "--breaker-cooldown-ms=1000",
        "--shutdown-grace-ms=0",
        "--reservation-days=0",
    ])
    .unwrap();
    assert_eq!(
        (
            c.worker.lease_ms,
            c.worker.backoff_base_ms,
            c.worker.breaker_failures,
            c.worker.breaker_cooldown_ms,
            c.worker.shutdown_grace_ms,
            c.worker.reservation_days
        ),
        (3_000, 200, 0, 1_000, 0, 0)
    );
    assert_eq!(parse(&[]).unwrap().worker.reservation_days, 30);
}

#[test]
fn errors_name_the_variable() {
    let cases: &[(&[&str], &str)] = &[
        (&["--ozmap-url=https://x.ozmap.com.br:9994"], "OZMAP_TOKEN"),
        (&["--ozmap-url=ftp://x", "--ozmap-token=t"], "OZMAP_URL"),
        (&["--public-url=not a url"], "IVR_PUBLIC_URL"),
        (&["--database-url=mysql://x"], "IVR_DATABASE_URL"),
        (&["--max-attempts=0"], "IVR_MAX_ATTEMPTS"),
        (&["--step-budget-ms=20000"], "IVR_STEP_BUDGET_MS"),
        (&["--agent-number=call me"], "IVR_AGENT_NUMBER"),
        (&["--geocoder=google"], "GOOGLE_MAPS_KEY"),
        (
            &["--ozmap-url=https://x", "--ozmap-token=t"],
            "GEOCODER_URL",
        ),
        (&["--gazetteer-file=/no/such/file.csv"], "GAZETTEER_FILE"),
        (&["--service-area=Florianópolis-XX"], "IVR_SERVICE_AREA"),
        (&["--service-area=-27.7,-48.6,-27.4"], "IVR_SERVICE_AREA"),
        (
            &["--service-area=40.7,-74.0,40.8,-73.9"],
            "IVR_SERVICE_AREA",
        ),
        (&["--worker-lease-ms=500"], "IVR_WORKER_LEASE_MS"),
        (&["--retry-base-ms=0"], "IVR_RETRY_BASE_MS"),
        (&["--breaker-cooldown-ms=0"], "IVR_BREAKER_COOLDOWN_MS"),
        (&["--shutdown-grace-ms=120000"], "IVR_SHUTDOWN_GRACE_MS"),
        (&["--reservation-days=3651"], "IVR_RESERVATION_DAYS"),
        (&["--speech-model=phonecall"], "IVR_SPEECH_MODEL"),
        (&["--speech-model="], "IVR_SPEECH_MODEL"),
        (
            &["--language=pt-PT", "--speech-model=phone_call"],
            "IVR_SPEECH_MODEL",
        ),
        (
            &["--address-speech-timeout=0"],
            "IVR_ADDRESS_SPEECH_TIMEOUT",
        ),
        (
            &["--address-speech-timeout=11"],
            "IVR_ADDRESS_SPEECH_TIMEOUT",
        ),
        (&["--admin-token=x"], "IVR_ADMIN_TOKEN"),
        (
            &["--admin-token=23-characters-not-enuff"],
            "IVR_ADMIN_TOKEN",
        ),
        (&["--body-timeout-ms=100"], "IVR_BODY_TIMEOUT_MS"),
        (&["--body-timeout-ms=120000"], "IVR_BODY_TIMEOUT_MS"),
    ];
    for (args, var) in cases {
        let e = parse(args).unwrap_err();
        assert_eq!(e.var, *var, "{args:?}: {e}");
        assert!(e.to_string().contains(var));
    }
}

#[test]
fn the_admin_token_is_off_blank_or_at_least_24_characters() {
    assert!(parse(&[]).unwrap().admin_token.is_none());
    assert!(parse(&["--admin-token=  "]).unwrap().admin_token.is_none());
    let e = parse(&["--admin-token=23-characters-not-enuff"]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("configuration: IVR_ADMIN_TOKEN: too short (23 characters)"),
        "{e}"
    );
    assert!(
        !e.to_string().contains("not-enuf"),
        "the token is not echoed: {e}"
    );
    let c = parse(&["--admin-token= 24-characters-are-enough "]).unwrap();
    assert_eq!(
        c.admin_token.unwrap().expose_secret(),
        "24-characters-are-enough"
    );
}

#[test]
fn secrets_never_show_in_debug() {
    let c = parse(&[
        "--ozmap-url=https://x.ozmap.com.br:9994",
        "--ozmap-token=s3cr3t-t0ken",
        "--geocoder=gazetteer",
        "--twilio-auth-token=s3cr3t-twilio",
        "--twilio-webhook-keys=k1=s3cr3t-shared",
        "--signalwire-signing-key=s3cr3t-sw",
        "--admin-token=s3cr3t-admin-token-of-24-chars",
        "--public-url=https://ivr:s3cr3t-pass@ivr.example.com",
    ])
    .unwrap();
    assert_eq!(
        c.ozmap.api.as_ref().unwrap().1.expose_secret(),
        "s3cr3t-t0ken"
    );
    assert!(!format!("{c:?}").contains("s3cr3t"), "{c:?}");
    assert!(!c.http.public_url.contains("s3cr3t"));
}

#[test]
fn a_real_ozmap_needs_a_signing_secret_or_allow_unsigned() {
    let real = [
        "--ozmap-url=https://x.ozmap.com.br:9994",
        "--ozmap-token=t",
        "--geocoder=gazetteer",
    ];
    let e = parse(&real).unwrap_err();
    assert_eq!(e.var, "TWILIO_AUTH_TOKEN");
    for var in [
        "TWILIO_AUTH_TOKEN",
        "TWILIO_WEBHOOK_KEYS",
        "SIGNALWIRE_SIGNING_KEY",
        "TELNYX_PUBLIC_KEY",
        "JAMBONZ_WEBHOOK_SECRET",
        "--allow-unsigned",
    ] {
        assert!(e.to_string().contains(var), "{var} not named in: {e}");
    }
    let with = |extra: &str| {
        let mut v = real.to_vec();
        v.push(extra);
        parse(&v)
    };
    let c = with("--allow-unsigned").unwrap();
    assert!(c.signing.allow_unsigned && !c.signing.enforced());
    let telnyx = format!(
        "--telnyx-public-key={}",
        "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
    );
    for secret in [
        "--twilio-auth-token=tok",
        "--twilio-webhook-keys=k1=abc",
        "--signalwire-signing-key=PSK_x",
        telnyx.as_str(),
        "--jambonz-webhook-secret=jz",
    ] {
        let c = with(secret).unwrap_or_else(|e| panic!("{secret}: {e}"));
        assert!(c.signing.enforced(), "{secret}");
    }
    // The sandbox takes unsigned requests without being told.
    let c = parse(&[]).unwrap();
    assert!(!c.signing.enforced() && !c.signing.allow_unsigned);
}

#[test]
fn outbound_urls_must_be_https_unless_loopback() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--ozmap-url=http://x.ozmap.com.br:9994", "--ozmap-token=t"],
            "OZMAP_URL",
        ),
        (
            &["--ozmap-url=http://10.0.0.5", "--ozmap-token=t"],
            "OZMAP_URL",
        ),
        (
            &[
                "--geocoder=nominatim",
                "--geocoder-url=http://nominatim.example.org",
            ],
            "GEOCODER_URL",
        ),
        (
            &[
                "--geocoder=google",
                "--google-maps-key=k",
                "--geocoder-url=http://maps.example.com",
            ],
            "GEOCODER_URL",
        ),
        (&["--cep-url=http://viacep.com.br"], "CEP_URL"),
        (&["--cep-url=http://127.0.0.1.nip.io"], "CEP_URL"),
    ];
    for (args, var) in cases {
        let e = parse(args).unwrap_err();
        assert_eq!(e.var, *var, "{args:?}: {e}");
        assert!(e.to_string().contains("https"), "{e}");
    }
    for ok in [
        "http://127.0.0.1:9994",
        "http://127.10.0.1",
        "http://localhost:8080",
        "http://[::1]:9994",
        "https://x.ozmap.com.br:9994",
    ] {
        let arg = format!("--ozmap-url={ok}");
        let c = parse(&[
            &arg,
            "--ozmap-token=t",
            "--allow-unsigned",
            "--geocoder=gazetteer",
        ])
        .unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert!(!c.ozmap.is_sandbox());
        let arg = format!("--cep-url={ok}");
        parse(&[&arg]).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn signing_keys_parse_and_errors_name_their_variable() {
    let c = parse(&["--twilio-webhook-keys= k1=abc , k2=d=ef ,"]).unwrap();
    let keys: Vec<(&str, &str)> = c
        .signing
        .keys
        .twilio_shared_keys
        .iter()
        .map(|(id, k)| (id.as_str(), k.expose_secret()))
        .collect();
    assert_eq!(keys, [("k1", "abc"), ("k2", "d=ef")]);
    for bad in ["k1", "=abc", "k1=", "k1=a,k1=b"] {
        let arg = format!("--twilio-webhook-keys={bad}");
        let e = parse(&[&arg]).unwrap_err();
        assert_eq!(e.var, "TWILIO_WEBHOOK_KEYS", "{bad}");
        assert!(!e.to_string().contains("abc"), "{e}");
    }
    let e = parse(&["--telnyx-public-key=not-a-key"]).unwrap_err();
    assert_eq!(e.var, "TELNYX_PUBLIC_KEY");
}

#[test]
fn credentials_in_the_public_url_become_basic_auth() {
    let c = parse(&["--public-url=https://ivr:p%40ss@ivr.example.com/base/"]).unwrap();
    assert_eq!(c.http.public_url, "https://ivr.example.com/base");
    let auth = c.http.webhook_auth.as_ref().unwrap();
    assert_eq!(auth.user, "ivr");
    assert_eq!(auth.password.expose_secret(), "p@ss");
    // Signed and action URLs keep the credentials as written.
    assert_eq!(
        c.http.platform_base_url(),
        "https://ivr:p%40ss@ivr.example.com/base"
    );
    let plain = parse(&["--public-url=https://ivr.example.com"]).unwrap();
    assert!(plain.http.webhook_auth.is_none());
    assert_eq!(plain.http.platform_base_url(), "https://ivr.example.com");
    for bad in [
        "https://ivr@ivr.example.com",
        "https://:s3cr3t@ivr.example.com",
        "https://ivr.example.com/?x=1",
    ] {
        let arg = format!("--public-url={bad}");
        let e = parse(&[&arg]).unwrap_err();
        assert_eq!(e.var, "IVR_PUBLIC_URL", "{bad}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }
}

#[test]
fn rate_limits_default_to_three_calls_a_minute_and_two_hundred_requests_a_second() {
    let c = parse(&[]).unwrap();
    assert_eq!(
        (
            c.http.rate_calls_per_minute,
            c.http.rate_requests_per_second
        ),
        (3, 200)
    );
    let c = parse(&["--rate-calls-per-minute=0", "--rate-requests-per-second=7"]).unwrap();
    assert_eq!(
        (
            c.http.rate_calls_per_minute,
            c.http.rate_requests_per_second
        ),
        (0, 7)
    );
}

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("a%40b%3a").as_deref(), Some("a@b:"));
    assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
    assert_eq!(percent_decode("%zz").as_deref(), Some("%zz"));
    assert_eq!(percent_decode("%ff"), None);
}

#[test]
fn the_service_area_is_parsed_and_optional() {
    use crate::geocode::ServiceArea;
    let c = parse(&["--service-area= Florianópolis-SC, São José-SC "]).unwrap();
    let area = c.geocoder.service_area.unwrap();
    assert_eq!(area.to_string(), "Florianópolis-SC, São José-SC");
    let c = parse(&["--service-area=-27.4,-48.3,-27.7,-48.6"]).unwrap();
    assert!(matches!(
        c.geocoder.service_area,
        Some(ServiceArea::Bounds(_))
    ));
    assert!(parse(&[]).unwrap().geocoder.service_area.is_none());
    assert!(
        parse(&["--service-area= "])
            .unwrap()
            .geocoder
            .service_area
            .is_none()
    );
    let e = parse(&["--service-area=Florianópolis-XX"]).unwrap_err();
    assert!(e.to_string().contains("not a Brazilian state"), "{e}");
}

#[test]
fn the_recogniser_defaults_to_phone_call_and_a_three_second_address() {
    use ivr_core::render::Recogniser;
    let c = parse(&[]).unwrap();
    assert_eq!(
        c.call.recogniser,
        Recogniser {
            model: Some("phone_call".into()),
            enhanced: true,
            address_timeout_s: 3,
            address_hints: None,
        }
    );
    let c = parse(&[
        "--speech-model=googlev2_telephony",
        "--speech-enhanced=false",
        "--address-speech-timeout=5",
    ])
    .unwrap();
    assert_eq!(
        c.call.recogniser.model.as_deref(),
        Some("googlev2_telephony")
    );
    assert!(!c.call.recogniser.enhanced);
    assert_eq!(c.call.recogniser.address_timeout_s, 5);
    let c = parse(&["--speech-model=none"]).unwrap();
    assert_eq!(c.call.recogniser.model, None);
}

#[test]
fn the_address_hints_are_the_prompts_words_then_the_streets() {
    let c = parse(&[]).unwrap();
    let prompts = c.call.prompts().unwrap();
    let streets = ["Rua Delminda Silveira".to_string(), "rua".to_string()];
    let r = c.call.recogniser(&prompts, &streets);
    assert_eq!(
        r.address_hints.as_deref(),
        Some(
            "rua, avenida, travessa, servidão, rodovia, número, bairro, CEP, Rua Delminda Silveira"
        )
    );
    assert_eq!((r.model, r.address_timeout_s), (c.call.recogniser.model, 3));
}

/// Milliseconds since the epoch of a UTC date and time (days from civil:
/// Howard Hinnant's algorithm, so the test does not lean on jiff).
fn utc_ms(y: i64, m: i64, d: i64, hh: i64, mm: i64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(((days * 24 + hh) * 60 + mm) * 60_000).unwrap()
}

#[test]
fn agent_hours_and_time_zone_errors_name_the_variable() {
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["--agent-hours=seg-sex 08:00-1800"],
            "IVR_AGENT_HOURS",
            "\"1800\"",
        ),
        (&["--agent-hours=sgx 08:00-18:00"], "IVR_AGENT_HOURS", "sgx"),
        (
            &["--agent-hours=seg-sex 18:00-08:00"],
            "IVR_AGENT_HOURS",
            "18:00-08:00",
        ),
        (
            &["--timezone=America/Sao_Pablo"],
            "IVR_TIMEZONE",
            "America/Sao_Pablo",
        ),
        (&["--timezone=BRT"], "IVR_TIMEZONE", "BRT"),
    ];
    for (args, var, quoted) in cases {
        let e = parse(args).unwrap_err();
        assert_eq!(e.var, *var, "{args:?}: {e}");
        assert!(e.to_string().contains(var), "{e}");
        assert!(e.message.contains(quoted), "{e}");
    }
}

#[test]
fn agent_hours_default_to_always_open_in_sao_paulo() {
    let c = parse(&[]).unwrap();
    let s = &c.call.schedule;
    assert!(s.hours().is_none());
    assert_eq!(s.tz_name(), "America/Sao_Paulo");
    // The zones come from the copy compiled in, not /usr/share/zoneinfo
    // (jiff without `tzdb-zoneinfo`), so a bare container knows them too.
    let db = format!("{:?}", jiff::tz::db());
    assert!(db.contains("Bundled"), "{db}");
    // 2026-03-15 is a Sunday; 2026-12-25 Christmas: open all the same.
    assert!(s.open_at(utc_ms(2026, 3, 15, 3, 0)));
    assert!(s.open_at(utc_ms(2026, 12, 25, 13, 0)));
    assert_eq!(s.spoken("pt-BR"), None);
    // A blank value is unset; the zone's case is the database's.
    let c = parse(&["--agent-hours= ", "--timezone=america/manaus"]).unwrap();
    assert!(c.call.schedule.hours().is_none());
    assert_eq!(c.call.schedule.tz_name(), "America/Manaus");
}

#[test]
fn agent_hours_are_read_on_the_agents_clock() {
    let c = parse(&["--agent-hours=seg-sex 08:00-18:00"]).unwrap();
    let s = &c.call.schedule;
    // São Paulo is UTC-3 all year (no daylight saving since 2019).
    let monday_10h = utc_ms(2026, 3, 9, 13, 0);
    let local = s.local(monday_10h);
    assert_eq!(
        (
            local.year,
            local.month,
            local.day,
            local.weekday,
            local.minute
        ),
        (2026, 3, 9, 0, 600)
    );
    assert!(s.open_at(monday_10h));
    assert!(s.open_at(utc_ms(2026, 3, 9, 11, 0)), "08:00");
    assert!(!s.open_at(utc_ms(2026, 3, 9, 10, 59)), "07:59");
    assert!(!s.open_at(utc_ms(2026, 3, 9, 21, 0)), "18:00");
    assert!(!s.open_at(utc_ms(2026, 3, 15, 13, 0)), "a Sunday");
    assert!(
        !s.open_at(utc_ms(2026, 12, 25, 13, 0)),
        "Christmas, a Friday"
    );
    assert!(!s.open_at(utc_ms(2026, 2, 16, 13, 0)), "Carnival Monday");
    assert!(
        s.open_at(utc_ms(2026, 12, 24, 13, 0)),
        "Christmas Eve, a Thursday"
    );
    // Friday 17:30 in São Paulo is Friday 20:30 UTC; Friday 23:30 there is
    // already Saturday in UTC: the date is the agents'.
    assert!(s.open_at(utc_ms(2026, 3, 13, 20, 30)));
    assert_eq!(s.today(utc_ms(2026, 3, 14, 2, 30)), "20260313");
    assert_eq!(s.today(utc_ms(2026, 3, 14, 3, 0)), "20260314");
    assert_eq!(
        s.spoken("pt-BR").as_deref(),
        Some("de segunda a sexta, das 8 às 18 horas")
    );
    assert_eq!(
        s.spoken("en-US").as_deref(),
        Some("Monday to Friday, 8 a.m. to 6 p.m.")
    );
    // Another zone moves the same instant: 13:00 UTC is 09:00 in Manaus.
    let c = parse(&[
        "--agent-hours=seg-sex 09:30-18:00",
        "--timezone=America/Manaus",
    ])
    .unwrap();
    assert!(!c.call.schedule.open_at(monday_10h));
    assert!(c.call.schedule.open_at(utc_ms(2026, 3, 9, 13, 30)));
}

#[test]
fn the_default_voice_follows_the_language() {
    assert_eq!(parse(&[]).unwrap().call.voice, "Polly.Camila");
    let en = parse(&["--language=en-US"]).unwrap();
    assert_eq!(en.call.voice, "Polly.Joanna");
    let chosen = parse(&["--language=en-US", "--voice=Polly.Matthew-Neural"]).unwrap();
    assert_eq!(chosen.call.voice, "Polly.Matthew-Neural");
    // An empty IVR_VOICE is unset.
    assert_eq!(parse(&["--voice="]).unwrap().call.voice, "Polly.Camila");
}

#[test]
fn a_voice_of_another_language_stops_the_start_and_an_unknown_one_does_not() {
    for args in [
        &["--language=en-US", "--voice=Polly.Camila"][..],
        &["--voice=Polly.Joanna"],
        &["--voice=Google.en-US-Neural2-A"],
    ] {
        let e = parse(args).unwrap_err();
        assert_eq!(e.var, "IVR_VOICE", "{args:?}");
        assert!(e.message.contains("IVR_LANGUAGE"), "{args:?}: {e}");
    }
    let unknown = parse(&["--voice=Polly.Someone-New"]).unwrap();
    assert_eq!(unknown.call.voice, "Polly.Someone-New");
    assert_eq!(parse(&["--voice=alice"]).unwrap().call.voice, "alice");
}

#[test]
fn the_platform_follows_the_signing_secret_unless_ivr_platform_says() {
    use ivr_core::twiml::Platform;
    const TELNYX: &str =
        "--telnyx-public-key=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let platform = |args: &[&str]| parse(args).unwrap().call.platform;
    assert_eq!(platform(&[]), Platform::Twilio);
    assert_eq!(platform(&["--twilio-auth-token=t"]), Platform::Twilio);
    assert_eq!(
        platform(&["--twilio-webhook-keys=k1=abc"]),
        Platform::Twilio
    );
    assert_eq!(
        platform(&["--signalwire-signing-key=s"]),
        Platform::SignalWire
    );
    assert_eq!(platform(&[TELNYX]), Platform::Telnyx);
    assert_eq!(
        platform(&[TELNYX, "--platform=signalwire"]),
        Platform::SignalWire
    );
    assert_eq!(platform(&["--platform=Telnyx"]), Platform::Telnyx);
    assert_eq!(platform(&["--platform="]), Platform::Twilio);
    let e = parse(&["--platform=plivo"]).unwrap_err();
    assert_eq!(e.var, "IVR_PLATFORM");
}
