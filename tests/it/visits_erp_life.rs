//! The ERP agendas end to end, continued (see `visits_erp`): the binary where
//! two instances or a restart are needed, and IXC.
//!
//! - two instances on one PostgreSQL race two callers for the ERP's last place
//!   in a period: one gets it, the other hears it was just filled and the next
//!   periods, and books one; the ERP ends with one visit in that period;
//! - the ERP reports a visit done and another cancelled: the poll the service
//!   runs at start (here after a restart: it runs every 15 minutes after that)
//!   ends the first as done, marks its reservation installed and the sandbox's
//!   client becomes implanted; the second ends cancelled, its reservation kept;
//! - the service killed (SIGKILL) after the ERP kept the booking but before
//!   its answer: after the restart the booking is sent again, and the ERP,
//!   idempotent by the protocol, still has one work order;
//! - `SCHEDULE=ixc`: a call books one `su_oss_chamado` with the agenda's date
//!   and period; IXC's order then fills the period for the next caller; an IXC
//!   whose pages of orders take longer than `SCHEDULE_TIMEOUT_MS` in all is
//!   given up (the caller hears the team will call), not waited on page after
//!   page.

use crate::erp_fakes::{
    ContractErp, IXC_TOKEN, IxcErp, contract_env, env_of, period, said, visit_until,
};
use crate::visits::{first_offered, to_the_offer};
use ivr_core::agenda::Day;
use serde_json::Value;
use std::time::{Duration, Instant};
use test_support::driver::{Phone, clients, keys as press};
use test_support::proc::{ADMIN_TOKEN, Service};
use test_support::*;

const BOOKED: &str = "A visita do técnico está agendada para";

#[tokio::test]
async fn two_instances_race_two_callers_for_the_erps_last_place_in_a_period() {
    let test = "two_instances_race_two_callers_for_the_erps_last_place_in_a_period";
    let Some(db) = TestDb::postgres(test).await else {
        return;
    };
    let (server, erp) = ContractErp::start(vec![
        // One place left in the ERP.
        period(0, "morning", 3, 2),
        period(0, "afternoon", 3, 0),
        period(1, "morning", 3, 0),
    ])
    .await;
    // The ERP answers its free periods late: a booking that reaches it
    // meanwhile must not count twice (as the ERP's and as ours).
    erp.state().slots_delay = Some(Duration::from_millis(300));
    let sandbox = start_sandbox().await;
    let ozmap = sandbox.base_url();
    let vars = contract_env(&server);
    let env = env_of(&vars);
    let (a, b) = tokio::join!(
        Service::start(crate::BIN, &db.url, &ozmap, &env),
        Service::start(crate::BIN, &db.url, &ozmap, &env)
    );
    let people = clients(53, 2);
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
    assert!(first.ends_with(&said(erp.day(0), "morning")), "{first}");
    assert_eq!(first, first_offered(&offers[1].text()), "the same offer");
    let [pa, pb] = &mut phones;
    let (ra, rb) = tokio::join!(
        pa.answer(&offers[0], press("1")),
        pb.answer(&offers[1], press("1"))
    );
    let docs = [ra.unwrap(), rb.unwrap()];
    let texts = [docs[0].text(), docs[1].text()];
    let won = texts
        .iter()
        .filter(|t| t.contains(&format!("{BOOKED} {first}.")))
        .count();
    let lost: Vec<usize> = (0..2)
        .filter(|&i| texts[i].contains("Esse período acabou de ser preenchido."))
        .collect();
    assert_eq!((won, lost.len()), (1, 1), "{texts:?}");
    let i = lost[0];
    let next = first_offered(&texts[i]);
    assert_ne!(next, first, "{}", texts[i]);

    // The one who lost books the next period offered.
    let end = phones[i].answer(&docs[i], press("1")).await.unwrap();
    assert!(
        end.text().contains(&format!("{BOOKED} {next}.")),
        "{}",
        end.text()
    );
    let held = erp.wait_visits(2, Duration::from_secs(30)).await;
    let d0 = erp.day(0).to_string();
    let mornings = held
        .values()
        .filter(|v| v.day == d0 && v.period == "morning")
        .count();
    assert_eq!(mornings, 1, "{held:?}");
    let s = erp.state();
    assert_eq!((s.created, s.puts.len()), (2, 2), "{:?}", s.puts);
    drop(s);
    drop((a, b));
}

#[tokio::test]
async fn visits_the_erp_reports_done_or_cancelled_are_acted_on_after_the_poll() {
    let (server, erp) = ContractErp::start(vec![
        period(0, "morning", 4, 0),
        period(0, "afternoon", 4, 0),
    ])
    .await;
    let sandbox = start_sandbox().await;
    let db = TestDb::sqlite();
    let mut vars = contract_env(&server);
    // Today's periods can be booked: the poll asks about visits whose day has come.
    vars.push(("SCHEDULE_LEAD_DAYS", "0".into()));
    let mut svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), &env_of(&vars)).await;
    for client in &clients(54, 2) {
        let mut phone = Phone::new(std::slice::from_ref(&svc.base));
        let confirm = phone.walk_to_confirmation(client).await.unwrap();
        let offer = phone.confirm_and_wait(&confirm).await.unwrap();
        let first = first_offered(&offer.text());
        assert!(first.ends_with(&said(erp.day(0), "morning")), "{first}");
        let end = phone.answer(&offer, press("1")).await.unwrap();
        assert!(end.text().contains(BOOKED), "{}", phone.heard_text());
    }
    let today = erp.day(0);
    let held = erp.wait_visits(2, Duration::from_secs(20)).await;
    let of = |code: &str| {
        held.iter()
            .find(|(_, v)| v.body["client_code"] == code)
            .map(|(p, _)| p.clone())
            .unwrap()
    };
    let (done, cancelled) = (of("54000"), of("54001"));
    for p in [&done, &cancelled] {
        visit_until(&svc.base, ADMIN_TOKEN, today, p, "in the ERP", |v| {
            v["erp_status"] == "done"
        })
        .await;
    }
    assert!(sandbox.client_implanted().iter().all(|(_, i)| !i));

    // The technician installs one client; the ERP cancels the other's visit.
    // The service asks at start (and every 15 minutes): restarted, it asks now.
    erp.set_status(&done, "done");
    erp.set_status(&cancelled, "cancelled");
    svc.kill();
    svc.restart().await;
    let v = visit_until(&svc.base, ADMIN_TOKEN, today, &done, "done", |v| {
        v["status"] == "done"
    })
    .await;
    assert_eq!(v["erp_status"], "done", "{v}");
    visit_until(
        &svc.base,
        ADMIN_TOKEN,
        today,
        &cancelled,
        "cancelled",
        |v| v["status"] == "cancelled",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = svc.ledger().await;
        let implanted = |code: &str| {
            rows.iter()
                .any(|r| r["client_code"] == code && r["life_state"] == "implanted")
        };
        if implanted("54000") {
            assert!(!implanted("54001"), "{rows:#?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not implanted: {rows:#?}\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let implanted = sandbox.client_implanted();
    assert!(
        implanted.contains(&("54000".to_string(), true)),
        "{implanted:?}"
    );
    assert!(
        implanted.contains(&("54001".to_string(), false)),
        "{implanted:?}"
    );
    // The cancelled one's reservation stays, for an operator to decide.
    assert_eq!(sandbox.live_properties().len(), 2);
    assert_eq!(svc.count_in_log("the ERP reports a visit done"), 1);
    assert_eq!(svc.count_in_log("the ERP reports a visit cancelled"), 1);
    no_personal_data(&svc.log_text());
}

/// Nothing of the caller's in the service's log: name, number, address.
fn no_personal_data(log: &str) {
    for personal in [
        "Maria da Silva",
        "5548999990000",
        "99999-0000",
        "Rua ",
        "R. ",
    ] {
        assert!(!log.contains(personal), "{personal:?} in the log:\n{log}");
    }
}

#[tokio::test]
async fn killed_while_the_erp_answers_a_booking_the_erp_still_has_one_work_order() {
    let (server, erp) = ContractErp::start(vec![period(0, "afternoon", 4, 0)]).await;
    let sandbox = start_sandbox().await;
    let db = TestDb::sqlite();
    let vars = contract_env(&server);
    let mut svc = Service::start(crate::BIN, &db.url, &sandbox.base_url(), &env_of(&vars)).await;
    let client = &clients(55, 1)[0];
    let mut phone = Phone::new(std::slice::from_ref(&svc.base));
    let confirm = phone.walk_to_confirmation(client).await.unwrap();
    let offer = phone.confirm_and_wait(&confirm).await.unwrap();
    // The ERP keeps the booking at once, and answers it 10 s later.
    erp.state().put_delay = Some(Duration::from_secs(10));
    let end = phone.answer(&offer, press("1")).await.unwrap();
    assert!(end.text().contains(BOOKED), "{}", phone.heard_text());
    let deadline = Instant::now() + Duration::from_secs(20);
    while erp.state().puts.is_empty() {
        assert!(Instant::now() < deadline, "no booking sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    svc.kill();
    erp.state().put_delay = None;
    svc.restart().await;
    let held = erp.wait_visits(1, Duration::from_secs(5)).await;
    let protocol = held.keys().next().unwrap().clone();
    let v = visit_until(
        &svc.base,
        ADMIN_TOKEN,
        erp.day(0),
        &protocol,
        "settled",
        |v| v["erp_status"] == "done",
    )
    .await;
    let s = erp.state();
    assert_eq!(s.puts.len(), 2, "sent again after the restart");
    assert_eq!((s.created, s.visits.len()), (1, 1), "one work order");
    assert_eq!(v["erp_ref"], "OS-1", "{v}");
    no_personal_data(&svc.log_text());
}

const ADMIN: &str = "erp-e2e-ixc-admin-token-3390";

/// Today on the service's calendar (`IVR_TIMEZONE`, São Paulo: UTC−3 all year).
fn sao_paulo_today() -> Day {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Day::from_days_since_epoch((secs - 3 * 3600).div_euclid(86_400))
}

#[tokio::test]
async fn an_ixc_agenda_too_slow_over_its_pages_is_given_up_within_the_timeout() {
    let (server, ixc) = IxcErp::start().await;
    {
        // 1200 night orders in the window (no period taken): three pages to read.
        let at = format!("{} 19:00:00", sao_paulo_today().plus(2));
        let mut s = ixc.state();
        for id in 1..=1200u64 {
            let order = serde_json::json!({"id": id.to_string(), "status": "AG",
                "data_agenda": at, "melhor_horario_agenda": "N", "protocolo": ""});
            s.orders.insert(id, order);
        }
        // Each page well within the timeout; the three of them not.
        s.listing_delay = Some(Duration::from_millis(450));
    }
    let url = format!("--schedule-url={}", server.uri());
    let token = format!("--schedule-token={IXC_TOKEN}");
    let app = TestApp::spawn(&[
        "--schedule=ixc",
        &url,
        &token,
        "--schedule-ixc-subject=17",
        "--schedule-timeout-ms=1000",
    ])
    .await;
    let heard = heard(&app.call(to_the_offer("130*1")).await);
    assert!(
        heard.contains("Não consegui consultar a agenda agora."),
        "{heard}"
    );
    assert!(ixc.state().listings >= 2, "paged");
    assert!(ixc.state().inserts.is_empty());

    // Quick pages: the same three are read and the periods offered.
    ixc.state().listing_delay = None;
    let heard = heard_again(&app, "131*1").await;
    assert!(heard.contains(", tecle 1."), "{heard}");
}

async fn heard_again(app: &TestApp, code: &str) -> String {
    heard(&app.call(to_the_offer(code)).await)
}

#[tokio::test]
async fn an_ixc_agenda_books_one_service_order_with_the_period_chosen() {
    let (server, ixc) = IxcErp::start().await;
    let url = format!("--schedule-url={}", server.uri());
    let token = format!("--schedule-token={IXC_TOKEN}");
    let admin = format!("--admin-token={ADMIN}");
    let app = TestApp::spawn(&[
        "--schedule=ixc",
        &url,
        &token,
        "--schedule-ixc-subject=17",
        "--schedule-ixc-sector=3",
        "--schedule-visits-per-period=1",
        &admin,
    ])
    .await;
    let mut answers = to_the_offer("125*1");
    answers.push(keys("1"));
    let said_first = heard(&app.call(answers).await);
    let first = first_offered(&said_first);
    assert!(
        said_first.contains(&format!("{BOOKED} {first}.")),
        "{said_first}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    while ixc.state().inserts.is_empty() {
        assert!(Instant::now() < deadline, "no order inserted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let order: Value = {
        let s = ixc.state();
        assert_eq!(s.inserts.len(), 1, "one insert: {:?}", s.inserts);
        assert_eq!(s.updates, 0);
        s.inserts[0].clone()
    };
    let at = order["data_agenda"].as_str().unwrap();
    let day = Day::parse(&at[..10]).unwrap();
    let (period, start) = match order["melhor_horario_agenda"].as_str().unwrap() {
        "M" => ("morning", "08:00:00"),
        "T" => ("afternoon", "13:00:00"),
        other => panic!("a period letter: {other}"),
    };
    assert_eq!(&at[11..], start, "{order}");
    assert!(first.ends_with(&said(day, period)), "{first} vs {order}");
    assert_eq!(order["id_assunto"], "17");
    assert_eq!(order["setor"], "3");
    assert_eq!(order["id_cliente"], "125");
    assert_eq!(order["status"], "AG");
    let protocol = order["protocolo"].as_str().unwrap().to_string();
    let v = visit_until(&app.base_url, ADMIN, day, &protocol, "in IXC", |v| {
        v["erp_status"] == "done"
    })
    .await;
    assert_eq!(v["day"], day.to_string());
    assert_eq!(v["period"], period);
    assert_eq!(v["erp_ref"], "4101");

    // IXC's order takes the period's one place: the next caller hears another.
    let mut answers = to_the_offer("126*1");
    answers.push(keys("9"));
    let heard = heard(&app.call(answers).await);
    assert_ne!(first_offered(&heard), first, "{heard}");
    assert_eq!(ixc.state().inserts.len(), 1);
}
