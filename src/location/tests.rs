//! Links over a real store and the bundled gazetteer; the SMS against a fake
//! Twilio (wiremock), as the SMS tests do.

use super::*;
use crate::geocode::gazetteer::Gazetteer;
use crate::geocode::{AreaCity, CepSource, Geocoder, ServiceArea};
use crate::sms::ProviderSettings;
use crate::store::tests::sqlite_db;
use secrecy::SecretString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Beside the sandbox's boxes: R. Delminda Silveira, 900 (`data/SANDBOX.md`).
const HOUSE: (f64, f64) = (-27.578_233_672_131_2, -48.527_442_812_919_624);
/// Praça da Sé, São Paulo: in Brazil, far from the ISP's streets.
const SAO_PAULO: (f64, f64) = (-23.5503, -46.6339);
const CALLER: &str = "+5548999990000";

fn locator() -> Locator {
    let g = Gazetteer::try_bundled().expect("the bundled gazetteer");
    Locator::new(Geocoder::Gazetteer(g.clone()), CepSource::Gazetteer(g)).with_area(
        ServiceArea::of_cities(vec![AreaCity {
            name: "Florianópolis".into(),
            uf: Some("SC".into()),
        }]),
    )
}

fn links(store: Store, provider: Option<Provider>, lang: &str) -> Links {
    Links::new(
        store,
        LocationSettings::default(),
        "https://ivr.example.com.br/",
        provider,
        Prompts::shipped(lang).unwrap(),
    )
}

fn fix((lat, lng): (f64, f64), accuracy_m: f64) -> Fix {
    Fix {
        lat,
        lng,
        accuracy_m,
    }
}

fn twilio(server: &MockServer) -> Provider {
    let s = ProviderSettings::Twilio {
        api: url::Url::parse(&server.uri()).unwrap(),
        account_sid: "AC0123".into(),
        auth_token: SecretString::from("tw-token"),
        from: "+5548988880000".into(),
    };
    Provider::build(&s, Duration::from_secs(2))
        .unwrap()
        .unwrap()
}

async fn fake_twilio(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC0123/Messages.json"))
        .respond_with(
            ResponseTemplate::new(status).set_body_json(serde_json::json!({"sid": "SM1"})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_link_takes_one_accurate_position_inside_the_area() {
    let db = sqlite_db().await;
    let l = links(db.store.clone(), None, "pt-BR");
    let loc = locator();
    let link = l.create_link("CA1", 1_000).await.unwrap();
    assert!(
        link.url.starts_with("https://ivr.example.com.br/l/") && link.url.ends_with(&link.token),
        "{}",
        link.url
    );
    assert_eq!(link.expires_at, 1_000 + 20 * 60_000);
    // The store holds the hash, never the token.
    assert!(l.live(&link.token, 2_000).await.unwrap().is_some());
    assert!(
        db.store
            .live_location_link(&link.token, 2_000)
            .await
            .unwrap()
            .is_none()
    );
    let woken = Arc::new(AtomicUsize::new(0));
    let seen = woken.clone();
    l.on_position(Arc::new(move |t: &Taken| {
        assert_eq!(t.session_key, "CA1");
        seen.fetch_add(1, Ordering::SeqCst);
    }));
    // Not a position, too coarse, outside the area: refused, still usable.
    assert!(matches!(
        l.take_position(&loc, &link.token, fix((f64::NAN, 0.0), 5.0), 2_000)
            .await,
        Err(LinkError::NotAPosition)
    ));
    assert!(matches!(
        l.take_position(&loc, &link.token, fix(HOUSE, 250.0), 2_000)
            .await,
        Err(LinkError::Inaccurate { max_m: 100, .. })
    ));
    assert!(matches!(
        l.take_position(&loc, &link.token, fix(SAO_PAULO, 10.0), 2_000)
            .await,
        Err(LinkError::Outside)
    ));
    assert!(matches!(
        l.take_position(&loc, &link.token, fix((38.72, -9.14), 10.0), 2_000)
            .await,
        Err(LinkError::Outside)
    ));
    assert_eq!(l.position_for("CA1").await.unwrap(), None);
    // The house: taken, with the nearest address; then the link is gone.
    let wait = l.arrived().notified();
    let taken = l
        .take_position(&loc, &link.token, fix(HOUSE, 12.0), 3_000)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(1), wait)
        .await
        .expect("the waiters are told");
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    let place = taken.position.place.clone().expect("the nearest address");
    assert!(place.street.contains("Delminda"), "{place:?}");
    assert_eq!((place.lat, place.lng), HOUSE);
    assert_eq!(l.position_for("CA1").await.unwrap(), Some(taken.position));
    assert!(matches!(
        l.take_position(&loc, &link.token, fix(HOUSE, 12.0), 4_000)
            .await,
        Err(LinkError::Gone)
    ));
    // Unknown and malformed tokens: the same answer.
    for t in ["AAAAAAAAAAAAAAAAAAAAAA", "../../etc", ""] {
        assert!(matches!(
            l.take_position(&loc, t, fix(HOUSE, 12.0), 4_000).await,
            Err(LinkError::Gone)
        ));
    }
    assert_eq!(woken.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_expired_link_takes_nothing() {
    let db = sqlite_db().await;
    let l = links(db.store.clone(), None, "pt-BR");
    let link = l.create_link("CA2", 0).await.unwrap();
    let late = 20 * 60_000;
    assert!(l.live(&link.token, late).await.unwrap().is_none());
    assert!(matches!(
        l.take_position(&locator(), &link.token, fix(HOUSE, 12.0), late)
            .await,
        Err(LinkError::Gone)
    ));
}

/// GSM 03.38's basic set: a text in it fits 160 characters in one SMS.
fn gsm7(s: &str) -> bool {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    s.chars().all(|c| BASIC.contains(c))
}

#[test]
fn the_sms_is_one_gsm7_message_with_a_long_public_url() {
    let url = format!(
        "https://atendimento.provedor-exemplo.com.br/l/{}",
        "A".repeat(token::CHARS)
    );
    for lang in ["pt-BR", "en-US"] {
        let text = sms::text(&Prompts::shipped(lang).unwrap(), &url);
        assert!(text.ends_with(&url), "{text}");
        assert!(gsm7(&text), "{lang}: not GSM-7: {text}");
        assert!(text.chars().count() <= 160, "{lang}: {}", text.len());
    }
    let pt = sms::text(&Prompts::shipped("pt-BR").unwrap(), &url);
    assert!(pt.contains("Estou aqui"), "{pt}");
}

#[tokio::test]
async fn the_offer_sends_one_sms_with_the_link_to_a_mobile_only() {
    let server = fake_twilio(201).await;
    let db = sqlite_db().await;
    let l = links(db.store.clone(), Some(twilio(&server)), "pt-BR");
    let link = l.offer("CA3", CALLER, 1_000).await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&reqs[0].body).unwrap();
    assert!(form.contains(&("To".into(), CALLER.into())), "{form:?}");
    let body = &form.iter().find(|(k, _)| k == "Body").unwrap().1;
    assert!(body.ends_with(&link.url), "{body}");
    assert!(body.starts_with("Abra em frente à casa"), "{body}");
    assert!(l.live(&link.token, 2_000).await.unwrap().is_some());
    // A landline or a withheld number: no link, no SMS.
    for n in ["+554833334444", "anonymous"] {
        assert!(matches!(
            l.offer("CA4", n, 1_000).await,
            Err(OfferError::NotMobile)
        ));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // SMS off.
    let off = links(db.store.clone(), None, "pt-BR");
    assert!(matches!(
        off.offer("CA5", CALLER, 1_000).await,
        Err(OfferError::NoProvider)
    ));
}

#[tokio::test]
async fn a_provider_down_or_refusing_is_an_error_the_call_can_say() {
    for (status, refused) in [(503, false), (400, true)] {
        let server = fake_twilio(status).await;
        let db = sqlite_db().await;
        let l = links(db.store.clone(), Some(twilio(&server)), "en-US");
        match l.offer("CA6", CALLER, 1_000).await {
            Err(OfferError::Sms(LinkSmsError::Refused(_))) if refused => {}
            Err(OfferError::Sms(LinkSmsError::Failed(_))) if !refused => {}
            other => panic!("{status}: {other:?}"),
        }
        // One try: the caller is waiting.
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn the_link_sms_goes_straight_through_the_provider() {
    let server = fake_twilio(201).await;
    let p = twilio(&server);
    let prompts = Prompts::shipped("en-US").unwrap();
    send_link_sms(&p, &prompts, CALLER, "https://x.example/l/abc")
        .await
        .unwrap();
    assert!(matches!(
        send_link_sms(&p, &prompts, "+554833334444", "https://x.example/l/abc").await,
        Err(LinkSmsError::NotMobile)
    ));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&reqs[0].body).unwrap();
    assert!(
        form.contains(&(
            "Body".into(),
            "Open it in front of the house and tap I'm here: https://x.example/l/abc".into()
        )),
        "{form:?}"
    );
}
