//! The text-to-speech voice: its default for the language, whether a voice
//! speaks the language, and the longest text one `<Say>` may carry with it.
//!
//! Twilio writes Amazon Polly voices `Polly.<Name>` (with `-Neural`,
//! `-Generative` or `-LongForm` for the other engines) and Google voices
//! `Google.<language>-<type>-<letter>`, e.g. `Google.pt-BR-Wavenet-A`; the basic
//! voices are `man`, `woman` and `alice`. Polly's languages are Amazon's list
//! ("Available voices", Amazon Polly developer guide); a Google voice carries its
//! language in its name. A voice outside both is not judged here.

/// The voice of each shipped language when `IVR_VOICE` is not set.
pub const DEFAULT_VOICES: [(&str, &str); 2] =
    [("pt-BR", "Polly.Camila"), ("en-US", "Polly.Joanna")];

/// The longest `<Say>` text for a Polly voice (Twilio warning 13521 above it).
pub const MAX_SAY_CHARS_POLLY: usize = 3000;

/// The longest `<Say>` text for the basic voices (`man`, `woman`, `alice`).
pub const MAX_SAY_CHARS_BASIC: usize = 4096;

/// The basic voices.
pub const BASIC_VOICES: [&str; 3] = ["man", "woman", "alice"];

/// Amazon Polly's voices by language (every engine), as Amazon lists them.
const POLLY: &[(&str, &[&str])] = &[
    ("arb", &["Zeina"]),
    ("ar-AE", &["Hala", "Zayd"]),
    ("nl-BE", &["Lisa"]),
    ("ca-ES", &["Arlet"]),
    ("cs-CZ", &["Jitka"]),
    ("yue-CN", &["Hiujin"]),
    ("cmn-CN", &["Zhiyu"]),
    ("da-DK", &["Naja", "Mads", "Sofie"]),
    ("nl-NL", &["Laura", "Lotte", "Ruben"]),
    ("en-AU", &["Nicole", "Olivia", "Russell"]),
    ("en-GB", &["Amy", "Emma", "Brian", "Arthur"]),
    ("en-IN", &["Aditi", "Raveena", "Kajal"]),
    ("en-IE", &["Niamh"]),
    ("en-NZ", &["Aria"]),
    ("en-SG", &["Jasmine"]),
    ("en-ZA", &["Ayanda"]),
    (
        "en-US",
        &[
            "Danielle", "Gregory", "Ivy", "Joanna", "Kendra", "Kimberly", "Salli", "Joey",
            "Justin", "Kevin", "Matthew", "Ruth", "Stephen", "Patrick",
        ],
    ),
    ("en-GB-WLS", &["Geraint"]),
    ("cy-GB", &["Gwyneth"]),
    ("fi-FI", &["Suvi"]),
    ("fr-FR", &["Celine", "Lea", "Mathieu", "Remi"]),
    ("fr-BE", &["Isabelle"]),
    ("fr-CA", &["Chantal", "Gabrielle", "Liam"]),
    ("de-DE", &["Marlene", "Vicki", "Hans", "Daniel"]),
    ("de-AT", &["Hannah"]),
    ("de-CH", &["Sabrina"]),
    ("hi-IN", &["Aditi", "Kajal"]),
    ("is-IS", &["Dora", "Karl"]),
    ("it-IT", &["Carla", "Bianca", "Giorgio", "Adriano"]),
    ("ja-JP", &["Mizuki", "Takumi", "Kazuha", "Tomoko"]),
    ("ko-KR", &["Seoyeon", "Jihye"]),
    ("nb-NO", &["Liv", "Ida"]),
    ("pl-PL", &["Ewa", "Maja", "Jacek", "Jan", "Ola"]),
    ("pt-BR", &["Camila", "Vitoria", "Ricardo", "Thiago"]),
    ("pt-PT", &["Ines", "Cristiano"]),
    ("ro-RO", &["Carmen"]),
    ("ru-RU", &["Tatyana", "Maxim"]),
    ("es-ES", &["Conchita", "Lucia", "Enrique", "Sergio"]),
    ("es-MX", &["Mia", "Andres"]),
    ("es-US", &["Lupe", "Penelope", "Miguel", "Pedro"]),
    ("sv-SE", &["Astrid", "Elin"]),
    ("tr-TR", &["Filiz", "Burcu"]),
];

/// The voice used for `language` when none is configured.
pub fn default_voice(language: &str) -> Option<&'static str> {
    DEFAULT_VOICES
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(language.trim()))
        .map(|(_, v)| *v)
}

/// A Polly voice's name without the prefix and the engine (`Polly.Camila-Neural`
/// → `Camila`); `None` for another voice.
fn polly_name(voice: &str) -> Option<&str> {
    let name = voice.trim().strip_prefix("Polly.")?;
    Some(name.split_once('-').map_or(name, |(n, _)| n))
}

/// Whether `voice` is an Amazon Polly voice (by its `Polly.` prefix).
pub fn is_polly(voice: &str) -> bool {
    polly_name(voice).is_some()
}

/// Whether `voice` is one of Twilio's basic voices.
pub fn is_basic(voice: &str) -> bool {
    BASIC_VOICES
        .iter()
        .any(|b| b.eq_ignore_ascii_case(voice.trim()))
}

/// The languages a known Polly or Google voice speaks; `None` when the voice
/// is not one this module knows.
pub fn languages_of(voice: &str) -> Option<Vec<&str>> {
    if let Some(name) = polly_name(voice) {
        let langs: Vec<&str> = POLLY
            .iter()
            .filter(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            .map(|(l, _)| *l)
            .collect();
        return (!langs.is_empty()).then_some(langs);
    }
    let rest = voice.trim().strip_prefix("Google.")?;
    let mut parts = rest.splitn(3, '-');
    let (lang, region) = (parts.next()?, parts.next()?);
    let well_formed = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic())
    };
    (well_formed(lang, 2..=3) && well_formed(region, 2..=2) && parts.next().is_some())
        .then(|| vec![&rest[..lang.len() + 1 + region.len()]])
}

/// What the check of a configured voice found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoiceCheck {
    /// A known voice of the language, or a basic voice.
    Speaks,
    /// Not a voice this module knows: accepted (the platform may know it).
    Unknown,
}

/// A known voice of another language.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "IVR_VOICE {voice} speaks {speaks}, not IVR_LANGUAGE {language}: choose a {language} voice{hint}, or leave IVR_VOICE unset",
    speaks = speaks.join(", "),
    hint = default_voice(language).map(|v| format!(" (e.g. {v})")).unwrap_or_default()
)]
pub struct WrongLanguage {
    pub voice: String,
    pub language: String,
    pub speaks: Vec<String>,
}

/// Whether `voice` can say prompts in `language`.
pub fn check(voice: &str, language: &str) -> Result<VoiceCheck, WrongLanguage> {
    if is_basic(voice) {
        return Ok(VoiceCheck::Speaks);
    }
    match languages_of(voice) {
        None => Ok(VoiceCheck::Unknown),
        Some(langs)
            if langs
                .iter()
                .any(|l| l.eq_ignore_ascii_case(language.trim())) =>
        {
            Ok(VoiceCheck::Speaks)
        }
        Some(langs) => Err(WrongLanguage {
            voice: voice.trim().to_string(),
            language: language.trim().to_string(),
            speaks: langs.into_iter().map(str::to_string).collect(),
        }),
    }
}

/// The longest text one `<Say>` with `voice` may carry: 4,096 characters for
/// the basic voices (and no voice, which is `man`), 3,000 for every other
/// (Polly's limit, the lowest one Twilio documents).
pub fn max_say_chars(voice: Option<&str>) -> usize {
    match voice {
        None => MAX_SAY_CHARS_BASIC,
        Some(v) if is_basic(v) => MAX_SAY_CHARS_BASIC,
        Some(_) => MAX_SAY_CHARS_POLLY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_voice_follows_the_language() {
        assert_eq!(default_voice("pt-BR"), Some("Polly.Camila"));
        assert_eq!(default_voice("en-US"), Some("Polly.Joanna"));
        assert_eq!(default_voice("es-ES"), None);
        for (language, voice) in DEFAULT_VOICES {
            assert_eq!(check(voice, language), Ok(VoiceCheck::Speaks));
        }
    }

    #[test]
    fn known_voices_of_the_language_pass_and_of_another_fail() {
        for v in [
            "Polly.Camila",
            "Polly.Vitoria-Neural",
            "Polly.Thiago-Neural",
            "Google.pt-BR-Wavenet-A",
            "Google.pt-BR-Chirp3-HD-Aoede",
            "alice",
            "woman",
        ] {
            assert_eq!(check(v, "pt-BR"), Ok(VoiceCheck::Speaks), "{v}");
        }
        assert_eq!(
            check("Polly.Joanna-Neural", "en-US"),
            Ok(VoiceCheck::Speaks)
        );
        let e = check("Polly.Camila", "en-US").unwrap_err();
        assert_eq!(e.speaks, ["pt-BR"]);
        let msg = e.to_string();
        assert!(
            msg.contains("IVR_VOICE") && msg.contains("IVR_LANGUAGE"),
            "{msg}"
        );
        assert!(msg.contains("Polly.Joanna"), "names the default: {msg}");
        assert!(check("Polly.Ines", "pt-BR").is_err(), "pt-PT is not pt-BR");
        assert!(check("Google.en-US-Standard-C", "pt-BR").is_err());
        // Aditi speaks two languages.
        assert_eq!(check("Polly.Aditi", "hi-IN"), Ok(VoiceCheck::Speaks));
        assert_eq!(check("Polly.Aditi", "en-IN"), Ok(VoiceCheck::Speaks));
    }

    #[test]
    fn unknown_voices_are_left_to_the_platform() {
        for v in [
            "Polly.Nobody",
            "Google.xx",
            "amazon.Camila:neural:pt-BR",
            "Foo",
        ] {
            assert_eq!(check(v, "pt-BR"), Ok(VoiceCheck::Unknown), "{v}");
        }
    }

    #[test]
    fn the_say_limit_follows_the_voice() {
        assert_eq!(max_say_chars(Some("Polly.Camila")), 3000);
        assert_eq!(max_say_chars(Some("Polly.Joanna-Neural")), 3000);
        assert_eq!(max_say_chars(Some("Google.pt-BR-Standard-A")), 3000);
        assert_eq!(max_say_chars(Some("alice")), 4096);
        assert_eq!(max_say_chars(Some("man")), 4096);
        assert_eq!(max_say_chars(None), 4096);
    }
}
