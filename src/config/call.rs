//! The call: its words and voice, how the recogniser listens, the person it hands
//! over to, and how long it waits and keeps what the caller said.

use super::hours::{self, AgentSchedule};
use super::prompts::{self, LoadError};
use super::{ConfigError, err, non_empty, within};
use clap::Args;
use ivr_core::flow::FlowConfig;
use ivr_core::prompts::Prompts;
use ivr_core::render::{self, Recogniser};
use ivr_core::twiml::Platform;
use ivr_core::voice::VoiceCheck;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "The call")]
pub struct CallArgs {
    /// Language of the prompts (a file prompts/<language>.toml).
    #[arg(long, env = "IVR_LANGUAGE", default_value = "pt-BR")]
    pub language: String,
    /// Text-to-speech voice. Unset: the language's (pt-BR: Polly.Camila, en-US:
    /// Polly.Joanna). A known voice of another language stops the start.
    #[arg(long, env = "IVR_VOICE")]
    pub voice: Option<String>,
    /// The platform that reads the documents: `twilio`, `signalwire` or `telnyx`
    /// (a few `<Gather>` attributes differ). Unset: the one whose signing secret
    /// is configured (TWILIO_AUTH_TOKEN or TWILIO_WEBHOOK_KEYS: twilio,
    /// SIGNALWIRE_SIGNING_KEY: signalwire, TELNYX_PUBLIC_KEY: telnyx), else twilio.
    #[arg(long, env = "IVR_PLATFORM")]
    pub platform: Option<String>,
    /// Number a caller is transferred to when the IVR cannot help (E.164).
    /// Brazil's SAC decree expects a person to be reachable from every question.
    #[arg(long, env = "IVR_AGENT_NUMBER")]
    pub agent_number: Option<String>,
    /// The ISP's name, said in the greeting.
    #[arg(long, env = "IVR_COMPANY_NAME")]
    pub company_name: Option<String>,
    /// When a person answers, on the clock of `IVR_TIMEZONE`, e.g.
    /// `seg-sex 08:00-18:00; sab 08:00-12:00` (pt-BR or English day names);
    /// national holidays are closed. Unset: always open.
    #[arg(long, env = "IVR_AGENT_HOURS")]
    pub agent_hours: Option<String>,
    /// IANA time zone of the agents' hours and of the protocol number's date.
    #[arg(long, env = "IVR_TIMEZONE", default_value = hours::DEFAULT_TIMEZONE)]
    pub timezone: String,
    /// Silences or unusable answers per question before the transfer or goodbye.
    #[arg(long, env = "IVR_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// Longest a webhook waits on an outside service before answering with a hold.
    #[arg(long, env = "IVR_STEP_BUDGET_MS", default_value_t = 2000)]
    pub step_budget_ms: u64,
    /// Longest a webhook waits on the database before the caller hears a short
    /// hold and the platform comes back for the answer (the write goes on).
    #[arg(long, env = "IVR_STORE_BUDGET_MS", default_value_t = 800)]
    pub store_budget_ms: u64,
    /// Longest a caller is kept on hold for the reservation before being told the
    /// team will call back.
    #[arg(long, env = "IVR_RESERVE_HOLD_MS", default_value_t = 25_000)]
    pub reserve_hold_ms: u64,
    /// Longest a caller is kept on hold for the geocoder.
    #[arg(long, env = "IVR_GEOCODE_HOLD_MS", default_value_t = 12_000)]
    pub geocode_hold_ms: u64,
    /// Seconds of pause between two polls while the caller holds.
    #[arg(long, env = "IVR_POLL_PAUSE_S", default_value_t = 2)]
    pub poll_pause_s: u32,
    /// Folder with edited prompt files that replace the shipped ones.
    #[arg(long, env = "IVR_PROMPTS_DIR")]
    pub prompts_dir: Option<PathBuf>,
    /// Days a call's state (personal data) is kept after its last webhook.
    #[arg(long, env = "IVR_RETENTION_DAYS", default_value_t = 7)]
    pub retention_days: u32,
    /// Speech recogniser (`speechModel`) of every question: a model Twilio
    /// documents (`phone_call`, `experimental_conversations`, `googlev2_telephony`,
    /// `deepgram_nova-3`…), or `none` to let Twilio pick. The default,
    /// `phone_call`, is Twilio's generic telephony model, listed for pt-BR, with
    /// failover between providers; pinned because Twilio moves unpinned apps.
    #[arg(long, env = "IVR_SPEECH_MODEL", default_value = render::DEFAULT_MODEL)]
    pub speech_model: String,
    /// Ask for the enhanced recogniser (`enhanced="true"`). Written only with
    /// `phone_call` in a language Twilio has it for (en-US, es-ES…; not pt-BR).
    #[arg(long, env = "IVR_SPEECH_ENHANCED", default_value_t = true, action = clap::ArgAction::Set)]
    pub speech_enhanced: bool,
    /// Seconds of silence that end the spoken address (`speechTimeout`, 1–10).
    /// `auto` would end it at the caller's first pause.
    #[arg(long, env = "IVR_ADDRESS_SPEECH_TIMEOUT", default_value_t = render::DEFAULT_ADDRESS_TIMEOUT_S)]
    pub address_speech_timeout: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct CallSettings {
    /// What the flow needs: attempts, the agent, the holds.
    pub flow: FlowConfig,
    pub language: String,
    pub voice: String,
    /// Whose dialect the documents are written in (`IVR_PLATFORM`).
    pub platform: Platform,
    pub agent_number: Option<String>,
    /// When a person answers (`IVR_AGENT_HOURS` in `IVR_TIMEZONE`), and the
    /// local date of the protocol numbers.
    pub schedule: AgentSchedule,
    /// Longest a webhook waits on the geocoder before answering with a hold.
    pub step_budget: Duration,
    /// Longest a webhook waits on the database (`IVR_STORE_BUDGET_MS`).
    pub store_budget: Duration,
    pub prompts_dir: Option<PathBuf>,
    /// Days a call's state is kept after its last webhook.
    pub retention_days: u32,
    /// Model, `enhanced` and the address timeout; the address hints are added
    /// at start from the prompts and the gazetteer ([`CallSettings::recogniser`]).
    pub recogniser: Recogniser,
}

impl CallSettings {
    /// The prompts for the language: the operator's copy in `IVR_PROMPTS_DIR`
    /// when it holds one, else the shipped file.
    pub(crate) fn prompts(&self) -> Result<Prompts, LoadError> {
        prompts::load(&self.language, self.prompts_dir.as_deref())
    }

    /// Longest a caller holds for the geocoder.
    pub(crate) fn geocode_hold(&self) -> Duration {
        Duration::from_millis(self.flow.geocode_hold_ms)
    }

    /// The recogniser settings with the address hints: the prompts' address
    /// words (`hints.address`), then `streets` (the ISP's busiest first), within
    /// Twilio's limits. Built once at start.
    pub(crate) fn recogniser(&self, prompts: &Prompts, streets: &[String]) -> Recogniser {
        let words = prompts.plain("hints.address");
        let phrases = render::split_hints(&words).chain(streets.iter().map(String::as_str));
        Recogniser {
            address_hints: render::join_hints(phrases),
            ..self.recogniser.clone()
        }
    }
}

impl CallArgs {
    /// `default_platform`: the platform of the configured signing secret, used
    /// when `IVR_PLATFORM` is not set.
    pub(super) fn check(self, default_platform: Platform) -> Result<CallSettings, ConfigError> {
        let platform = match non_empty(self.platform.clone()) {
            None => default_platform,
            Some(raw) => Platform::parse(&raw).ok_or_else(|| {
                err(
                    "IVR_PLATFORM",
                    format!("{raw:?} is not a platform: use twilio, signalwire or telnyx"),
                )
            })?,
        };
        let max_attempts = within(
            "IVR_MAX_ATTEMPTS",
            self.max_attempts,
            1..=10,
            "must be between 1 and 10",
        )?;
        let step_budget_ms = within(
            "IVR_STEP_BUDGET_MS",
            self.step_budget_ms,
            100..=10_000,
            "must be between 100 and 10000 (the platform allows 15 s per answer)",
        )?;
        let store_budget_ms = within(
            "IVR_STORE_BUDGET_MS",
            self.store_budget_ms,
            100..=10_000,
            "must be between 100 and 10000 (the platform allows 15 s per answer)",
        )?;
        within(
            "IVR_RETENTION_DAYS",
            self.retention_days,
            1..=u32::MAX,
            "must be at least 1",
        )?;
        let poll_pause_s = within(
            "IVR_POLL_PAUSE_S",
            self.poll_pause_s,
            1..=10,
            "must be between 1 and 10",
        )?;
        let agent_number = non_empty(self.agent_number);
        if let Some(n) = &agent_number {
            let digits = n.strip_prefix('+').unwrap_or(n);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 15
            {
                return Err(err(
                    "IVR_AGENT_NUMBER",
                    "must be a phone number in E.164 form, e.g. +5548999990000",
                ));
            }
        }
        let schedule = AgentSchedule::new(self.agent_hours, Some(self.timezone))?;
        let model = render::parse_model(&self.speech_model, &self.language)
            .map_err(|e| err("IVR_SPEECH_MODEL", e.to_string()))?;
        let address_timeout_s = within(
            "IVR_ADDRESS_SPEECH_TIMEOUT",
            self.address_speech_timeout,
            render::ADDRESS_TIMEOUT_RANGE_S,
            "must be between 1 and 10 seconds",
        )?;
        let voice = check_voice(non_empty(self.voice), &self.language)?;
        if let Some(f) = &self.prompts_dir
            && !f.is_dir()
        {
            return Err(err(
                "IVR_PROMPTS_DIR",
                format!("{} is not a folder", f.display()),
            ));
        }
        Ok(CallSettings {
            flow: FlowConfig {
                max_attempts,
                agent_available: agent_number.is_some(),
                geocode_hold_ms: self.geocode_hold_ms,
                reserve_hold_ms: self.reserve_hold_ms,
                poll_pause_s,
                company_name: non_empty(self.company_name),
                agent_hours_spoken: schedule.spoken(&self.language),
                ..FlowConfig::default()
            },
            language: self.language,
            voice,
            platform,
            agent_number,
            schedule,
            step_budget: Duration::from_millis(step_budget_ms),
            store_budget: Duration::from_millis(store_budget_ms),
            prompts_dir: self.prompts_dir,
            retention_days: self.retention_days,
            recogniser: Recogniser {
                model,
                enhanced: self.speech_enhanced,
                address_timeout_s,
                address_hints: None,
            },
        })
    }
}

/// `IVR_VOICE` checked against `IVR_LANGUAGE`: unset, the language's default; a
/// known voice of another language is refused; a voice nobody here knows is
/// accepted with a warning (the platform may know it).
fn check_voice(voice: Option<String>, language: &str) -> Result<String, ConfigError> {
    let Some(voice) = voice else {
        return ivr_core::voice::default_voice(language)
            .map(str::to_string)
            .ok_or_else(|| {
                err(
                    "IVR_VOICE",
                    format!("no default voice for IVR_LANGUAGE {language}: set IVR_VOICE"),
                )
            });
    };
    match ivr_core::voice::check(&voice, language) {
        Ok(VoiceCheck::Speaks) => {}
        Ok(VoiceCheck::Unknown) => tracing::warn!(
            voice = %voice,
            language = %language,
            "IVR_VOICE is not a voice this service knows; check it speaks IVR_LANGUAGE"
        ),
        Err(e) => return Err(err("IVR_VOICE", e.to_string())),
    }
    Ok(voice)
}
