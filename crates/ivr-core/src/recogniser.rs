//! The speech recogniser's settings on every `<Gather>` that takes speech: the
//! model, `enhanced`, `speechTimeout` and the address question's `hints`.
//!
//! Why each rule, from Twilio's `<Gather>` reference (docs/voice/twiml/gather, as
//! of 2026) and `../shared/reference/brazil.md` ("Speech recognition on the
//! phone"):
//! - **Pin a model.** Twilio moved apps without a `speechModel` to other models in
//!   2025; an unpinned IVR changes recogniser under its callers. The default is
//!   [`DEFAULT_MODEL`], `phone_call`: a *generic* model (Twilio maps it to a
//!   provider and fails over to another one when that provider is down), trained
//!   on telephone audio, and one of the ten languages Twilio lists for it is
//!   `pt-BR`. `googlev2_telephony` is the telephony model of one provider, with no
//!   failover; it stays one setting away.
//! - **A closed list of models.** The names Twilio documents ([`GENERIC_MODELS`],
//!   [`GOOGLE_V2_MODELS`]) are checked at start, so a typo stops the start with an
//!   error naming `IVR_SPEECH_MODEL` instead of failing every question of every
//!   call. The one family Twilio documents as open, Deepgram ("accepts the values
//!   for all Deepgram models", written `deepgram_nova-2{-model}`), is accepted by
//!   its shape.
//! - **`enhanced` only where it does something.** Twilio: it "applies to only
//!   Google STT V1 `phone_call` model" and to `en-GB`, `en-US`, `es-ES`, `es-US`,
//!   `fr-CH`, `fr-FR`, `ja-JP`, `ru-RU`; its language table says "No" for `pt-BR`.
//!   So it is written only for `phone_call` in one of those languages: for the
//!   default pt-BR call it is left out, for an en-US call it is written.
//! - **A numeric `speechTimeout` on the address.** `auto` "stops recognizing
//!   speech at the first pause", and callers pause inside an address (between the
//!   street and the number, while finding the number on a bill). And a model
//!   "requires you to set `speechTimeout` to a positive integer value. Don't use
//!   `auto`" (also warning 13335), so with a model every question gets a number:
//!   [`SHORT_ANSWER_TIMEOUT_S`] for the short answers, the closest value to `auto`.
//! - **Hints within the documented limits.** "comma-separated list of up to 500
//!   entries", each "up to 100 characters", words separated by spaces (warning
//!   13330 when not): [`MAX_HINTS`], [`MAX_HINT_CHARS`], [`join_hints`].

use std::collections::HashSet;

/// The model written when `IVR_SPEECH_MODEL` is not set (see the module docs).
pub const DEFAULT_MODEL: &str = "phone_call";

/// The value of `IVR_SPEECH_MODEL` that writes no `speechModel` at all (Twilio
/// then picks, and may change its pick).
pub const NO_MODEL: &str = "none";

/// Twilio's generic models.
pub const GENERIC_MODELS: [&str; 5] = [
    "default",
    "numbers_and_commands",
    "phone_call",
    "experimental_conversations",
    "experimental_utterances",
];

/// Twilio's Google STT V2 models.
pub const GOOGLE_V2_MODELS: [&str; 4] = [
    "googlev2_long",
    "googlev2_short",
    "googlev2_telephony",
    "googlev2_telephony_short",
];

/// The languages Twilio lists for the generic `phone_call` model.
const PHONE_CALL_LANGUAGES: [&str; 10] = [
    "en-US", "en-GB", "en-AU", "fr-FR", "fr-CA", "ja-JP", "ru-RU", "es-US", "es-ES", "pt-BR",
];

/// The languages `enhanced` applies to (with `phone_call` only).
const ENHANCED_LANGUAGES: [&str; 8] = [
    "en-GB", "en-US", "es-ES", "es-US", "fr-CH", "fr-FR", "ja-JP", "ru-RU",
];

/// The most entries Twilio accepts in `hints`.
pub const MAX_HINTS: usize = 500;

/// The longest entry Twilio accepts in `hints`, in characters.
pub const MAX_HINT_CHARS: usize = 100;

/// Seconds of silence that end the address answer, by default: a caller who
/// stops to find the number keeps the turn, and a caller who has finished waits
/// 3 s once per address (a cut-off address costs a whole retry instead).
pub const DEFAULT_ADDRESS_TIMEOUT_S: u32 = 3;

/// The bounds of `IVR_ADDRESS_SPEECH_TIMEOUT`.
pub const ADDRESS_TIMEOUT_RANGE_S: std::ops::RangeInclusive<u32> = 1..=10;

/// `speechTimeout` of the other questions when `auto` is not allowed: the
/// shortest positive value, the nearest to "at the first pause".
pub const SHORT_ANSWER_TIMEOUT_S: u32 = 1;

/// How the recogniser is asked to listen. Built once at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recogniser {
    /// `speechModel`; `None`: not written.
    pub model: Option<String>,
    /// Ask for the enhanced model where it applies ([`Recogniser::enhanced_for`]).
    pub enhanced: bool,
    /// `speechTimeout` of the address question (and of the street question
    /// asked when a CEP names only a town), in seconds.
    pub address_timeout_s: u32,
    /// `hints` of the address and street questions (the prompts' address
    /// words, then the ISP's streets), already within the limits; `None`: the
    /// prompts' hints.
    pub address_hints: Option<String>,
}

impl Default for Recogniser {
    /// The service's defaults, without street hints.
    fn default() -> Self {
        Recogniser {
            model: Some(DEFAULT_MODEL.to_string()),
            enhanced: true,
            address_timeout_s: DEFAULT_ADDRESS_TIMEOUT_S,
            address_hints: None,
        }
    }
}

impl Recogniser {
    /// Whether `enhanced="true"` is written for a Gather in `language`: asked
    /// for, and `phone_call` in a language the enhanced model exists for.
    pub fn enhanced_for(&self, language: &str) -> bool {
        self.enhanced
            && self.model.as_deref() == Some("phone_call")
            && ENHANCED_LANGUAGES
                .iter()
                .any(|l| l.eq_ignore_ascii_case(language))
    }

    /// `speechTimeout` in seconds; `None`: `auto`, which only a Gather without a
    /// model may use. An address (or street) question always gets its number.
    pub fn speech_timeout(&self, address: bool) -> Option<u32> {
        if address {
            Some(self.address_timeout_s)
        } else if self.model.is_some() {
            Some(SHORT_ANSWER_TIMEOUT_S)
        } else {
            None
        }
    }
}

/// Why a model name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error(
        "{0:?} is not a speech model Twilio documents: use one of {models}, a \
         deepgram_<model> name, or {NO_MODEL}",
        models = known_models().join(", ")
    )]
    Unknown(String),
    #[error(
        "phone_call does not recognise {language} (Twilio lists it for {}); choose another \
         model, e.g. googlev2_telephony",
        PHONE_CALL_LANGUAGES.join(", ")
    )]
    Language { language: String },
}

fn known_models() -> Vec<&'static str> {
    GENERIC_MODELS
        .iter()
        .chain(GOOGLE_V2_MODELS.iter())
        .copied()
        .collect()
}

/// `IVR_SPEECH_MODEL` checked for speech in `language`: `Ok(None)` for
/// [`NO_MODEL`], the model's name for a documented one.
pub fn parse_model(raw: &str, language: &str) -> Result<Option<String>, ModelError> {
    let name = raw.trim();
    if name.eq_ignore_ascii_case(NO_MODEL) {
        return Ok(None);
    }
    let deepgram = name.strip_prefix("deepgram_").is_some_and(|m| {
        !m.is_empty()
            && m.starts_with(|c: char| c.is_ascii_lowercase())
            && m.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    if !deepgram && !known_models().contains(&name) {
        return Err(ModelError::Unknown(name.to_string()));
    }
    if name == "phone_call"
        && !PHONE_CALL_LANGUAGES
            .iter()
            .any(|l| l.eq_ignore_ascii_case(language.trim()))
    {
        return Err(ModelError::Language {
            language: language.trim().to_string(),
        });
    }
    Ok(Some(name.to_string()))
}

/// The entries of a `hints` value as the prompts write it (`"rua, avenida"`).
pub fn split_hints(hints: &str) -> impl Iterator<Item = &str> {
    hints.split(',').map(str::trim).filter(|h| !h.is_empty())
}

/// One `hints` value from phrases, in order, within Twilio's limits: a comma
/// inside a phrase (it would split it) becomes a space, runs of whitespace
/// become one space, and empty phrases, phrases longer than [`MAX_HINT_CHARS`]
/// and repeats (ignoring case) are left out; at most [`MAX_HINTS`] entries.
/// `None` when nothing is left. XML escaping is the TwiML writer's job.
pub fn join_hints<I, S>(phrases: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut seen = HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for phrase in phrases {
        if out.len() == MAX_HINTS {
            break;
        }
        let entry = phrase
            .as_ref()
            .replace(',', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if entry.is_empty() || entry.chars().count() > MAX_HINT_CHARS {
            continue;
        }
        if seen.insert(entry.to_lowercase()) {
            out.push(entry);
        }
    }
    (!out.is_empty()).then(|| out.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_model_is_phone_call_and_checks_the_language() {
        assert_eq!(
            parse_model(DEFAULT_MODEL, "pt-BR"),
            Ok(Some("phone_call".into()))
        );
        assert_eq!(parse_model(" none ", "pt-BR"), Ok(None));
        assert_eq!(
            parse_model("googlev2_telephony", "pt-BR"),
            Ok(Some("googlev2_telephony".into()))
        );
        assert_eq!(
            parse_model("deepgram_nova-3", "pt-BR"),
            Ok(Some("deepgram_nova-3".into()))
        );
        assert!(matches!(
            parse_model("phonecall", "pt-BR"),
            Err(ModelError::Unknown(_))
        ));
        assert!(matches!(
            parse_model("deepgram_", "pt-BR"),
            Err(ModelError::Unknown(_))
        ));
        assert!(matches!(
            parse_model("deepgram_Nova 3", "pt-BR"),
            Err(ModelError::Unknown(_))
        ));
        assert!(matches!(
            parse_model("phone_call", "pt-PT"),
            Err(ModelError::Language { .. })
        ));
    }

    #[test]
    fn enhanced_only_with_phone_call_in_a_language_it_exists_for() {
        let r = Recogniser::default();
        assert!(r.enhanced_for("en-US"));
        assert!(!r.enhanced_for("pt-BR"));
        let off = Recogniser {
            enhanced: false,
            ..Recogniser::default()
        };
        assert!(!off.enhanced_for("en-US"));
        let other = Recogniser {
            model: Some("googlev2_telephony".into()),
            ..Recogniser::default()
        };
        assert!(!other.enhanced_for("en-US"));
    }

    #[test]
    fn auto_only_without_a_model_and_never_on_the_address() {
        let r = Recogniser::default();
        assert_eq!(r.speech_timeout(true), Some(DEFAULT_ADDRESS_TIMEOUT_S));
        assert_eq!(r.speech_timeout(false), Some(SHORT_ANSWER_TIMEOUT_S));
        let none = Recogniser {
            model: None,
            ..Recogniser::default()
        };
        assert_eq!(none.speech_timeout(true), Some(DEFAULT_ADDRESS_TIMEOUT_S));
        assert_eq!(none.speech_timeout(false), None);
    }

    #[test]
    fn hints_are_cleaned_deduplicated_and_bounded() {
        let long = "x".repeat(MAX_HINT_CHARS + 1);
        let exact = "y".repeat(MAX_HINT_CHARS);
        let joined = join_hints([
            "rua",
            " Rua ",
            "",
            "Rua  Delminda\tSilveira",
            "Travessa A, B",
            long.as_str(),
            exact.as_str(),
        ])
        .unwrap();
        assert_eq!(
            joined,
            format!("rua, Rua Delminda Silveira, Travessa A B, {exact}")
        );
        assert_eq!(join_hints(["", " , "]), None);

        let many: Vec<String> = (0..2 * MAX_HINTS).map(|i| format!("Rua {i}")).collect();
        let joined = join_hints(&many).unwrap();
        let entries: Vec<&str> = split_hints(&joined).collect();
        assert_eq!(entries.len(), MAX_HINTS);
        assert_eq!(entries[0], "Rua 0");
        assert_eq!(entries[MAX_HINTS - 1], format!("Rua {}", MAX_HINTS - 1));
    }

    #[test]
    fn prompt_hints_split_on_commas() {
        let v: Vec<&str> = split_hints("rua, avenida,, CEP ").collect();
        assert_eq!(v, ["rua", "avenida", "CEP"]);
    }
}
