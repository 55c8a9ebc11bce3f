//! The prompts the service speaks: the shipped ones, or an operator's edited copy.

use ivr_core::prompts::{PromptError, Prompts};
use std::path::Path;

/// Why the prompts could not be loaded; the message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("prompts: cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] PromptError),
}

/// The prompts for `language`: from `dir` when given and it holds
/// `<language>.toml` (`IVR_PROMPTS_DIR`), otherwise the shipped copy.
pub(crate) fn load(language: &str, dir: Option<&Path>) -> Result<Prompts, LoadError> {
    if let Some(dir) = dir {
        let path = dir.join(format!("{language}.toml"));
        if path.exists() {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
                file: file.clone(),
                source,
            })?;
            // A language that is shipped: keys added since the copy was made
            // keep the shipped text (and the start says which).
            let base = Prompts::shipped(language).ok();
            let (prompts, from_base) = Prompts::parse_over(language, &file, &text, base.as_ref())?;
            if !from_base.is_empty() {
                tracing::warn!(
                    file = %file,
                    keys = %from_base.join(", "),
                    "prompts: the copy lacks these keys; the shipped text is said for them"
                );
            }
            return Ok(prompts);
        }
    }
    Ok(Prompts::shipped(language)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ivr_core::flow::Line;
    use ivr_core::twiml::SayPart;

    #[test]
    fn a_folder_copy_replaces_the_shipped_file() {
        let dir = std::env::temp_dir().join(format!("ozmap-ivr-prompts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = include_str!("../../prompts/pt-BR.toml").replace("Olá!", "Bom dia!");
        std::fs::write(dir.join("pt-BR.toml"), text).unwrap();
        let p = load("pt-BR", Some(&dir)).unwrap();
        assert!(
            matches!(&p.render(&Line::new("greeting"))[0], SayPart::Text(t) if t.starts_with("Bom dia!"))
        );
        std::fs::write(dir.join("pt-BR.toml"), "greeting = 3\n").unwrap();
        assert!(load("pt-BR", Some(&dir)).is_err());
        // a copy made before a key was added: the shipped text for that key
        std::fs::write(
            dir.join("pt-BR.toml"),
            "greeting = \"Bom dia, {company}!\"\n",
        )
        .unwrap();
        let p = load("pt-BR", Some(&dir)).unwrap();
        assert!(
            matches!(&p.render(&Line::new("greeting"))[0], SayPart::Text(t) if t.starts_with("Bom dia"))
        );
        assert!(p.plain("client.unknown").starts_with("Não encontrei"));
        // a language with no shipped file must have every key
        std::fs::write(dir.join("es-ES.toml"), "greeting = \"Hola\"\n").unwrap();
        assert!(load("es-ES", Some(&dir)).is_err());
        // a bad placeholder is still refused
        std::fs::write(dir.join("pt-BR.toml"), "greeting = \"Oi {nome}\"\n").unwrap();
        assert!(load("pt-BR", Some(&dir)).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
