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
pub(super) fn load(language: &str, dir: Option<&Path>) -> Result<Prompts, LoadError> {
    if let Some(dir) = dir {
        let path = dir.join(format!("{language}.toml"));
        if path.exists() {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
                file: file.clone(),
                source,
            })?;
            return Ok(Prompts::parse(language, &file, &text)?);
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
        let text = include_str!("../../../../prompts/pt-BR.toml").replace("Olá!", "Bom dia!");
        std::fs::write(dir.join("pt-BR.toml"), text).unwrap();
        let p = load("pt-BR", Some(&dir)).unwrap();
        assert!(
            matches!(&p.render(&Line::new("greeting"))[0], SayPart::Text(t) if t.starts_with("Bom dia!"))
        );
        std::fs::write(dir.join("pt-BR.toml"), "greeting = 3\n").unwrap();
        assert!(load("pt-BR", Some(&dir)).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
