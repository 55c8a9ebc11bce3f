//! The technician's visit after the reservation (`SCHEDULE=builtin`), as a
//! caller walks it: the first period offered is booked and read back, a second
//! call of the same client hears the visit already booked; key 9 books nothing;
//! two instances on one PostgreSQL racing two callers for the last place of a
//! period: one gets it, the other hears it was just filled and the next ones.

use ivr_core::tutorial;
use std::time::Duration;
use test_support::TestDb;
use test_support::driver::{Phone, clients, keys as press};
use test_support::proc::Service;
use test_support::*;

pub(crate) fn to_the_offer(code: &str) -> Vec<ivr_tools::caller::Answer> {
    vec![
        keys(code),
        keys("1"),
        say("gabriel marioto"),
        say(tutorial::SPOKEN_ADDRESS),
        keys("1"),
    ]
}

/// "quinta-feira, dia 10, de manhã": the first period offered, as said.
pub(crate) fn first_offered(heard: &str) -> String {
    let end = heard.find(", tecle 1.").expect("an offer");
    let start = heard[..end].rfind("Para ").expect("an offer") + "Para ".len();
    heard[start..end].to_string()
}

#[tokio::test]
async fn the_tutorial_call_books_the_first_period_once() {
    let app = TestApp::spawn(&["--schedule=builtin"]).await;
    let mut answers = to_the_offer("123*123");
    answers.push(keys("1"));
    let report = app.call(answers).await;
    let first = heard(&report);
    let heard = first;
    assert!(heard.contains("Reservamos a porta"), "{heard}");
    assert!(!heard.contains("vai ligar para agendar"), "{heard}");
    assert!(heard.contains("agendar a visita do técnico"), "{heard}");
    let slot = first_offered(&heard);
    assert!(
        slot.contains(", dia ") && (slot.ends_with("de manhã") || slot.ends_with("à tarde")),
        "{slot}"
    );
    assert!(
        heard.contains(&format!("A visita do técnico está agendada para {slot}.")),
        "{heard}"
    );
    assert!(heard.contains("Até logo"), "{heard}");
    // The same client again: the visit is said back, not offered twice.
    let mut again = to_the_offer("123*123");
    again.push(keys("1"));
    let report = app.call(again).await;
    let second = test_support::heard(&report);
    let heard = second;
    assert!(heard.contains("Você já tem uma reserva"), "{heard}");
    assert!(
        heard.contains(&format!("já está agendada para {slot}")),
        "{heard}"
    );
    assert!(!heard.contains("tecle 1."), "no offer: {heard}");
}

#[tokio::test]
async fn key_9_books_nothing_and_says_how_to_book() {
    let app = TestApp::spawn(&["--schedule=builtin"]).await;
    let mut answers = to_the_offer("321*1");
    answers.push(keys("9"));
    let report = app.call(answers).await;
    let skipped = heard(&report);
    assert!(
        skipped.contains("você recebe por SMS como agendar"),
        "{skipped}"
    );
    // Asked again, the client is offered the periods again.
    let report = app.call(to_the_offer("321*1")).await;
    let again = heard(&report);
    assert!(heard_has_offer(&again), "{again}");
}

fn heard_has_offer(h: &str) -> bool {
    h.contains(", tecle 1.") && h.contains("Para agendar depois, tecle 9.")
}

#[tokio::test]
async fn two_instances_race_two_callers_for_the_last_place_of_a_period() {
    let test = "two_instances_race_two_callers_for_the_last_place_of_a_period";
    let Some(db) = TestDb::postgres(test).await else {
        return;
    };
    let sandbox = start_sandbox().await;
    let ozmap = sandbox.base_url();
    let env = [("SCHEDULE", "builtin"), ("SCHEDULE_VISITS_PER_PERIOD", "1")];
    let (a, b) = tokio::join!(
        Service::start(crate::BIN, &db.url, &ozmap, &env),
        Service::start(crate::BIN, &db.url, &ozmap, &env)
    );
    let people = clients(31, 2);
    let mut phones = [
        Phone::new(std::slice::from_ref(&a.base)),
        Phone::new(std::slice::from_ref(&b.base)),
    ];
    let mut offers = Vec::new();
    for (phone, client) in phones.iter_mut().zip(&people) {
        let confirm = phone.walk_to_confirmation(client).await.unwrap();
        let offer = phone.confirm_and_wait(&confirm).await.unwrap();
        assert!(offer.gather.is_some(), "{}", phone.heard_text());
        offers.push(offer);
    }
    let first = first_offered(&offers[0].text());
    assert_eq!(first, first_offered(&offers[1].text()), "the same offer");
    let [pa, pb] = &mut phones;
    let (ra, rb) = tokio::join!(
        pa.answer(&offers[0], press("1")),
        pb.answer(&offers[1], press("1"))
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let texts = [ra.text(), rb.text()];
    let booked = format!("A visita do técnico está agendada para {first}.");
    let won: Vec<_> = texts.iter().filter(|t| t.contains(&booked)).collect();
    let lost: Vec<_> = texts
        .iter()
        .filter(|t| t.contains("Esse período acabou de ser preenchido."))
        .collect();
    assert_eq!((won.len(), lost.len()), (1, 1), "{texts:?}");
    // The one who lost hears the next periods, not the one just filled.
    let loser = lost[0];
    assert!(loser.contains(", tecle 1."), "{loser}");
    assert_ne!(first_offered(loser), first, "{loser}");
    drop((a, b));
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The `Body` of a message the fake messaging API accepted.
fn body(form: &[(String, String)]) -> &str {
    form.iter()
        .find(|(k, _)| k == "Body")
        .map(|(_, v)| v.as_str())
        .expect("a Body")
}

#[tokio::test]
async fn one_sms_carries_the_reservation_and_the_visit_booked() {
    use crate::sms::{AUTH_TOKEN, CALLER, FakeTwilio, Mode};
    let fake = FakeTwilio::start(Mode::Accept, AUTH_TOKEN).await;
    // Held an hour: only the booking can make it due now.
    let app = crate::sms::spawn(&fake, &["--schedule=builtin", "--schedule-sms-hold-s=3600"]).await;
    let mut answers = to_the_offer("555*1");
    answers.push(keys("1"));
    let report = app
        .call_with(
            |o| {
                o.auth_token = Some(secrecy::SecretString::from(AUTH_TOKEN));
                o.from = CALLER.to_string();
            },
            answers,
        )
        .await;
    let slot = first_offered(&heard(&report));
    let sent = fake.wait_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "one message: {sent:?}");
    let text = body(&sent[0]);
    assert!(text.contains("reservamos a porta"), "{text}");
    assert!(
        text.contains(&format!("Visita do técnico: {slot}.")),
        "{text}"
    );
    assert!(!text.contains("ligue de novo"), "{text}");
    assert!(!text.contains("vai ligar para agendar"), "{text}");
}

#[tokio::test]
async fn a_skip_sends_the_held_sms_at_once_saying_how_to_book() {
    use crate::sms::{AUTH_TOKEN, CALLER, FakeTwilio, Mode};
    let fake = FakeTwilio::start(Mode::Accept, AUTH_TOKEN).await;
    let app = crate::sms::spawn(&fake, &["--schedule=builtin", "--schedule-sms-hold-s=3600"]).await;
    let mut answers = to_the_offer("556*1");
    answers.push(keys("9"));
    app.call_with(
        |o| {
            o.auth_token = Some(secrecy::SecretString::from(AUTH_TOKEN));
            o.from = CALLER.to_string();
        },
        answers,
    )
    .await;
    let sent = fake.wait_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = body(&sent[0]);
    assert!(
        text.contains("Para agendar a visita do técnico, ligue de novo para nós."),
        "{text}"
    );
}

#[tokio::test]
async fn a_whatsapp_conversation_books_a_visit_by_typing_it() {
    use crate::whatsapp::{Chat, body, is_buttons, up_to_the_address};
    let c = Chat::start_with_flags(TestDb::sqlite(), false, &["--schedule=builtin"]).await;
    up_to_the_address(&c).await;
    let r = c
        .text("Rua Delminda Silveira, 900, Agronômica, Florianópolis", 1)
        .await;
    assert!(is_buttons(&r[0]), "{r:?}");
    // Yes: the hold, then (pushed) the outcome with the offer as a list.
    let r = c.button("yes", 2).await;
    let offer = body(&r[1]);
    assert!(offer.contains("porta "), "{offer}");
    assert!(offer.contains("\n1 - "), "{offer}");
    assert!(offer.contains("\n9 - agendar depois"), "{offer}");
    assert!(!offer.contains("tecle"), "{offer}");
    let second = offer
        .lines()
        .find_map(|l| l.strip_prefix("2 - "))
        .expect("a second period")
        .to_string();
    let r = c.text("2", 1).await;
    let booked = body(&r[0]);
    assert!(
        booked.contains(&format!("A visita do técnico está agendada para {second}.")),
        "{booked}"
    );
}

#[tokio::test]
async fn a_caller_who_hangs_up_at_the_offer_gets_the_held_sms_after_the_hold() {
    let app = TestApp::spawn(&[
        "--schedule=builtin",
        "--sms-provider=log",
        "--schedule-sms-hold-s=2",
    ])
    .await;
    let client = &clients(41, 1)[0];
    let mut phone = Phone::new(std::slice::from_ref(&app.base_url));
    let confirm = phone.walk_to_confirmation(client).await.unwrap();
    let offer = phone.confirm_and_wait(&confirm).await.unwrap();
    assert!(offer.gather.is_some(), "{}", phone.heard_text());
    // The caller hangs up here: the outcome's message waits for the hold.
    let store = ozmap_ivr::Store::connect(&app.db.url).await.unwrap();
    let held = store.list_messages(None, 10).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].status, ozmap_ivr::MessageStatus::Pending);
    assert!(
        held[0].next_attempt_at >= held[0].created_at + 1_900,
        "held: {} -> {}",
        held[0].created_at,
        held[0].next_attempt_at
    );
    assert!(held[0].body.contains("ligue de novo"), "{}", held[0].body);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let m = store.list_messages(None, 10).await.unwrap();
        if m[0].status == ozmap_ivr::MessageStatus::Sent {
            assert_eq!(m.len(), 1);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never sent: {:?}",
            m[0].status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
