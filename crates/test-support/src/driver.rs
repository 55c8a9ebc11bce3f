//! A step-by-step telephony platform for the crash and multi-instance tests.
//!
//! The TwiML executor in `ivr_tools::caller` runs a whole call in one go; these
//! tests need to stop between two webhooks (to kill the service), repeat a request
//! (a platform retry), send requests of one call to different instances, and go
//! on with the same call after a restart. So this driver posts one webhook at a
//! time, reads the answer with roxmltree, and signs every request as the platform
//! would (the service is started with the same `TWILIO_AUTH_TOKEN`).

use std::time::Duration;
use url::Url;

/// The token the services under test check signatures with.
pub const PLATFORM_TOKEN: &str = "platform-test-token";

/// What one TwiML answer says and where it leads.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    pub said: Vec<String>,
    /// The `<Gather action>`, when the answer asks a question.
    pub gather: Option<String>,
    /// The `<Redirect>` (after a hold pause, or after a Gather's silence).
    pub redirect: Option<String>,
    pub pause_s: u32,
    pub hangup: bool,
    pub dial: Option<String>,
}

impl Doc {
    /// A hold: pause, then poll again.
    pub fn is_hold(&self) -> bool {
        self.gather.is_none() && self.redirect.is_some() && !self.hangup
    }

    pub fn text(&self) -> String {
        self.said.join(" ")
    }

    pub fn parse(xml: &str) -> Result<Doc, String> {
        let tree = roxmltree::Document::parse(xml).map_err(|e| format!("bad XML: {e}"))?;
        let root = tree.root_element();
        if root.tag_name().name() != "Response" {
            return Err(format!(
                "<{}> is not a TwiML Response",
                root.tag_name().name()
            ));
        }
        let mut doc = Doc::default();
        let text_of = |n: roxmltree::Node| -> String {
            n.descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect::<String>()
                .trim()
                .to_string()
        };
        for verb in root.children().filter(|n| n.is_element()) {
            match verb.tag_name().name() {
                "Say" => doc.said.push(text_of(verb)),
                "Gather" => {
                    doc.gather = verb.attribute("action").map(str::to_string);
                    for say in verb.children().filter(|n| n.has_tag_name("Say")) {
                        doc.said.push(text_of(say));
                    }
                }
                "Redirect" => doc.redirect = Some(text_of(verb)),
                "Pause" => {
                    doc.pause_s += verb
                        .attribute("length")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(1)
                }
                "Hangup" => doc.hangup = true,
                "Dial" => doc.dial = Some(text_of(verb)),
                other => return Err(format!("unexpected verb <{other}>")),
            }
        }
        Ok(doc)
    }
}

/// What the caller gives a Gather.
#[derive(Clone, Debug)]
pub enum Say {
    Keys(String),
    Words(String),
}

pub fn keys(k: &str) -> Say {
    Say::Keys(k.to_string())
}

pub fn words(w: &str) -> Say {
    Say::Words(w.to_string())
}

/// Why a webhook got no usable answer.
#[derive(Debug)]
pub enum HookError {
    /// Nothing answered (the instance is down): a platform would fail over or retry.
    Down(String),
    /// An answer, but not a 200 TwiML document.
    Bad(String),
}

impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookError::Down(e) => write!(f, "no answer: {e}"),
            HookError::Bad(e) => write!(f, "bad answer: {e}"),
        }
    }
}

/// One phone call, driven webhook by webhook.
pub struct Phone {
    http: reqwest::Client,
    pub call_sid: String,
    /// Instances to send requests to, in turn (`http://127.0.0.1:PORT`): the host
    /// of each action URL is replaced by the next one, as a load balancer would.
    bases: Vec<String>,
    turn: usize,
    /// Everything heard, in order.
    pub heard: Vec<String>,
    pub requests: usize,
    /// Whether the platform has sent this call's first request (`ringing`).
    rang: bool,
    /// Requests sent again to another instance because the first did not answer.
    pub failovers: usize,
    /// `<Pause>` seconds are slept × this.
    pub pause_scale: f64,
    /// How long a request that nobody answers is sent again (a platform retrying
    /// while the service restarts, or the load balancer finding another instance).
    pub patience: Duration,
}

impl Phone {
    pub fn new(bases: &[String]) -> Phone {
        Phone {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .connect_timeout(Duration::from_secs(2))
                .build()
                .expect("http client"),
            call_sid: format!("CA{:032x}", rand::random::<u128>()),
            bases: bases.to_vec(),
            turn: 0,
            heard: Vec::new(),
            requests: 0,
            rang: false,
            failovers: 0,
            pause_scale: 0.1,
            patience: Duration::from_secs(20),
        }
    }

    /// Another handle on the same call (same CallSid, same instances), to send a
    /// request of this call concurrently, as a platform retry does.
    pub fn twin(&self) -> Phone {
        let mut p = Phone::new(&self.bases);
        p.call_sid = self.call_sid.clone();
        p.turn = self.turn;
        p.rang = self.rang;
        p
    }

    /// Starts at instance `i` (so that many calls spread over the instances).
    pub fn starting_at(mut self, i: usize) -> Phone {
        self.turn = i;
        self
    }

    pub fn heard_text(&self) -> String {
        self.heard.join(" | ")
    }

    fn params(&self) -> Vec<(String, String)> {
        vec![
            ("CallSid".into(), self.call_sid.clone()),
            (
                "AccountSid".into(),
                "AC00000000000000000000000000000000".into(),
            ),
            ("From".into(), "+5548999990000".into()),
            ("To".into(), "+554833334444".into()),
            ("CallStatus".into(), "in-progress".into()),
            ("Direction".into(), "inbound".into()),
        ]
    }

    fn rebase(url: &str, base: &str) -> String {
        let mut u = Url::parse(url).expect("action URLs are absolute");
        let b = Url::parse(base).expect("base URL");
        u.set_scheme(b.scheme()).expect("scheme");
        u.set_host(b.host_str()).expect("host");
        u.set_port(b.port()).expect("port");
        u.to_string()
    }

    /// One request to one instance, signed, exactly as given.
    pub async fn post_to(
        &mut self,
        url: &str,
        extra: &[(String, String)],
    ) -> Result<Doc, HookError> {
        let mut form = self.params();
        // A parameter given here replaces the usual one (`CallStatus`, say).
        form.retain(|(k, _)| !extra.iter().any(|(ek, _)| ek == k));
        form.extend(extra.iter().cloned());
        let sig = webhook_signature::twilio_signature(PLATFORM_TOKEN, url, &form);
        self.requests += 1;
        let resp = self
            .http
            .post(url)
            .header("X-Twilio-Signature", sig)
            .form(&form)
            .send()
            .await
            .map_err(|e| HookError::Down(e.without_url().to_string()))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| HookError::Down(e.without_url().to_string()))?;
        if status != 200 {
            return Err(HookError::Bad(format!("HTTP {status}: {body}")));
        }
        let doc = Doc::parse(&body).map_err(HookError::Bad)?;
        self.heard.extend(doc.said.iter().cloned());
        Ok(doc)
    }

    /// One request to the next instance in turn; when it does not answer, the
    /// others are tried (a load balancer's failover).
    pub async fn post(&mut self, url: &str, extra: &[(String, String)]) -> Result<Doc, HookError> {
        let n = self.bases.len();
        let mut last = None;
        for i in 0..n {
            let base = self.bases[(self.turn + i) % n].clone();
            let target = Self::rebase(url, &base);
            match self.post_to(&target, extra).await {
                Ok(doc) => {
                    self.turn = (self.turn + i + 1) % n;
                    return Ok(doc);
                }
                Err(HookError::Down(e)) => {
                    if i + 1 < n {
                        self.failovers += 1;
                    }
                    last = Some(HookError::Down(e));
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(HookError::Down("no instance".into())))
    }

    /// Like [`Phone::post`], but when no instance answers, waits and sends the
    /// same request again, until `patience` runs out (a platform retrying a
    /// webhook while the service restarts).
    pub async fn post_patiently(
        &mut self,
        url: &str,
        extra: &[(String, String)],
        patience: Duration,
    ) -> Result<Doc, HookError> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match self.post(url, extra).await {
                Err(HookError::Down(_)) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }

    /// The first webhook of the call (again, when the platform restarts it).
    /// As a platform sends it: `CallStatus=ringing` on the call's first request,
    /// `in-progress` after.
    pub async fn dial_in(&mut self) -> Result<Doc, HookError> {
        let url = format!("{}/voice", self.bases[self.turn % self.bases.len()]);
        let extra = if !std::mem::replace(&mut self.rang, true) {
            vec![("CallStatus".to_string(), "ringing".to_string())]
        } else {
            Vec::new()
        };
        self.post_patiently(&url, &extra, self.patience).await
    }

    /// The form fields a Gather posts for this answer.
    pub fn gathered(answer: &Say) -> Vec<(String, String)> {
        match answer {
            Say::Keys(k) => vec![
                ("Digits".into(), k.clone()),
                ("FinishedOnKey".into(), String::new()),
            ],
            Say::Words(w) => vec![
                ("SpeechResult".into(), w.clone()),
                ("Confidence".into(), "0.92".into()),
            ],
        }
    }

    /// Answers the question `doc` asks.
    pub async fn answer(&mut self, doc: &Doc, answer: Say) -> Result<Doc, HookError> {
        let action = doc
            .gather
            .clone()
            .ok_or_else(|| HookError::Bad(format!("no question to answer in {doc:?}")))?;
        self.post_patiently(&action, &Self::gathered(&answer), self.patience)
            .await
    }

    /// Follows holds (pause, poll) until the answer asks something or ends the
    /// call; when no instance answers, keeps trying for the phone's patience.
    pub async fn settle(&mut self, mut doc: Doc) -> Result<Doc, HookError> {
        let patience = self.patience;
        for _ in 0..400 {
            if !doc.is_hold() {
                return Ok(doc);
            }
            let pause = Duration::from_secs_f64(f64::from(doc.pause_s.max(1)) * self.pause_scale);
            tokio::time::sleep(pause).await;
            let url = doc.redirect.clone().unwrap_or_default();
            doc = self.post_patiently(&url, &[], patience).await?;
        }
        Err(HookError::Bad("held for more than 400 polls".into()))
    }
}

/// A new client: code, name and an address typed as CEP and house number.
#[derive(Clone, Debug)]
pub struct Client {
    pub code: String,
    pub name: &'static str,
    pub cep: &'static str,
    pub number: &'static str,
}

/// Addresses of the bundled gazetteer that each reach a box with free ports in
/// the sandbox network (see data/SANDBOX.md), with how many clients each can take.
pub const ADDRESSES: &[(&str, &str, usize)] = &[
    ("88025500", "900", 6),  // CTO-AGR-01, ports 3-8
    ("88025200", "400", 6),  // CTO-AGR-03, ports 2, 4-8
    ("88025100", "250", 7),  // CTO-AGR-05, SPL-AGR-05-B ports 2-8
    ("88035000", "1350", 8), // CTO-AGR-09, ports 1-8
    ("88015702", "2200", 7), // CTO-AGR-10, ports 2-8
    ("88036001", "1350", 3), // CTO-AGR-07, ports 6-8
];

/// `n` clients with distinct codes (`prefix` + index), spread over the addresses
/// so that every one of them can get a port in a fresh sandbox.
pub fn clients(prefix: u32, n: usize) -> Vec<Client> {
    let capacity: usize = ADDRESSES.iter().map(|a| a.2).sum();
    assert!(
        n <= capacity,
        "the sandbox network has {capacity} free ports"
    );
    let mut slots = Vec::new();
    for (cep, number, free) in ADDRESSES {
        for _ in 0..*free {
            slots.push((*cep, *number));
        }
    }
    // round-robin over the addresses, not one address after the other
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut taken = vec![0usize; ADDRESSES.len()];
    while order.len() < slots.len() {
        for (i, (cep, number, free)) in ADDRESSES.iter().enumerate() {
            if taken[i] < *free {
                taken[i] += 1;
                order.push((cep, number));
            }
        }
    }
    (0..n)
        .map(|i| Client {
            code: format!("{prefix}{i:03}"),
            name: "Maria da Silva",
            cep: order[i].0,
            number: order[i].1,
        })
        .collect()
}

impl Phone {
    /// From the first webhook to the address read-back, nothing confirmed yet.
    /// Returns the read-back question.
    pub async fn walk_to_confirmation(&mut self, c: &Client) -> Result<Doc, HookError> {
        let d = self.dial_in().await?;
        let d = self.answer(&d, keys(&c.code)).await?;
        let d = self.answer(&d, keys("1")).await?;
        let d = self.answer(&d, words(c.name)).await?;
        let d = self.answer(&d, keys(c.cep)).await?;
        let d = self.answer(&d, keys(c.number)).await?;
        let d = self.settle(d).await?;
        if d.gather.is_none() || !d.text().contains("O endereço é") {
            return Err(HookError::Bad(format!(
                "expected the address read-back, heard: {}",
                d.text()
            )));
        }
        Ok(d)
    }

    /// "Yes" to the read-back, then on hold until the outcome.
    pub async fn confirm_and_wait(&mut self, confirm: &Doc) -> Result<Doc, HookError> {
        let d = self.answer(confirm, keys("1")).await?;
        self.settle(d).await
    }
}
