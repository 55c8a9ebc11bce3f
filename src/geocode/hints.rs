//! The ISP's street names as recogniser hints for the address question.
//!
//! A hint biases the recogniser towards words it would otherwise miss, and street
//! names are the words callers say that a general model knows least
//! (`../shared/reference/brazil.md`: "street names help most"). A hint is
//! matched against what is *said*, so each name is written as a caller says it:
//! "R. Delminda Silveira" → "Rua Delminda Silveira", "Av. Gov. Irineu Bornhausen"
//! → "Avenida Governador Irineu Bornhausen". Names that differ only in how
//! they were abbreviated or capitalised are one hint.
//!
//! Twilio takes at most 500 hints of at most 100 characters
//! ([`ivr_core::render::MAX_HINTS`], [`ivr_core::render::MAX_HINT_CHARS`]), and an
//! ISP's file can hold tens of thousands of streets. The ones kept are those with
//! the most rows, the ISP's busiest streets and so the likeliest to be said;
//! ties go by name, so the choice is the same on every start.

use ivr_core::render::MAX_HINT_CHARS;
use std::collections::HashMap;

/// A street name as written in a file, as a caller says it (the read-back's
/// own spelling-out, [`ivr_core::domain::spoken_street`]).
pub(super) fn spoken_street(written: &str) -> String {
    ivr_core::domain::spoken_street(written)
}

/// The hints from `(street as written, rows)`: spoken forms, repeats merged
/// (their rows added up), names too long for a hint left out, the most rows
/// first, ties by name; at most `max_entries`.
pub(super) fn busiest_streets(rows: Vec<(String, usize)>, max_entries: usize) -> Vec<String> {
    let mut merged: HashMap<String, (String, usize)> = HashMap::new();
    for (written, count) in rows {
        let spoken = spoken_street(&written).replace(',', " ");
        let spoken = spoken.split_whitespace().collect::<Vec<_>>().join(" ");
        if spoken.is_empty() || spoken.chars().count() > MAX_HINT_CHARS {
            continue;
        }
        let entry = merged
            .entry(spoken.to_lowercase())
            .or_insert_with(|| (spoken, 0));
        entry.1 += count;
    }
    let mut ranked: Vec<(String, (String, usize))> = merged.into_iter().collect();
    ranked.sort_by(|(ka, (a, na)), (kb, (b, nb))| {
        nb.cmp(na).then_with(|| ka.cmp(kb)).then_with(|| a.cmp(b))
    });
    ranked
        .into_iter()
        .take(max_entries)
        .map(|(_, (name, _))| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geocode::gazetteer::Gazetteer;
    use crate::geocode::{CepSource, Geocoder, Locator};
    use ivr_core::render::MAX_HINTS;
    use std::sync::Arc;

    #[test]
    fn names_are_written_as_callers_say_them_and_as_read_back() {
        // The table and its cases live with the read-back
        // (`ivr_core::domain::spoken_street`): the hints say what it says.
        for (written, said) in [
            ("R. Delminda Silveira", "Rua Delminda Silveira"),
            ("R. Des. Vitor Lima", "Rua Desembargador Vitor Lima"),
            ("Av.Beira-Mar Norte", "Avenida Beira-Mar Norte"),
            ("Rua Pe Roma", "Rua Pe Roma"),
        ] {
            assert_eq!(spoken_street(written), said, "{written}");
        }
    }

    #[test]
    fn the_busiest_streets_first_repeats_merged_ties_by_name() {
        let rows = vec![
            ("R. Frei Caneca".to_string(), 4),
            ("Rua Frei Caneca".to_string(), 1),
            ("R. Rui Barbosa".to_string(), 5),
            ("Av. Madre Benvenuta".to_string(), 2),
            ("R. Almirante Lamego".to_string(), 2),
            ("R. Lauro, Linhares".to_string(), 1),
            (format!("R. {}", "x".repeat(MAX_HINT_CHARS)), 50),
            (" ".to_string(), 9),
        ];
        assert_eq!(
            busiest_streets(rows.clone(), 10),
            [
                "Rua Frei Caneca",
                "Rua Rui Barbosa",
                "Avenida Madre Benvenuta",
                "Rua Almirante Lamego",
                "Rua Lauro Linhares",
            ]
        );
        assert_eq!(
            busiest_streets(rows, 2),
            ["Rua Frei Caneca", "Rua Rui Barbosa"]
        );
    }

    fn locator(g: Arc<Gazetteer>) -> Locator {
        Locator::new(Geocoder::Gazetteer(g.clone()), CepSource::Gazetteer(g))
    }

    #[test]
    fn the_bundled_gazetteer_gives_its_streets_as_said() {
        let hints = locator(Gazetteer::try_bundled().unwrap()).street_hints(MAX_HINTS);
        assert!(
            hints.contains(&"Rua Delminda Silveira".to_string()),
            "{hints:?}"
        );
        assert!(
            hints.contains(&"Avenida Madre Benvenuta".to_string()),
            "{hints:?}"
        );
        assert!(
            hints.contains(&"Rodovia Admar Gonzaga".to_string()),
            "{hints:?}"
        );
        assert!(
            hints.contains(&"Rua Desembargador Vitor Lima".to_string()),
            "{hints:?}"
        );
        assert!(hints.iter().all(|h| !h.contains('.')), "{hints:?}");
        // 8 rows each, then by name; Delminda Silveira (6 rows) next.
        assert_eq!(
            &hints[..3],
            [
                "Rua Santa Luzia",
                "Rua Santos Dumont",
                "Rua Delminda Silveira"
            ]
        );
    }

    /// A file of 3,000 streets, street `i` with `1 + i % 7` rows, and some names
    /// too long to be a hint.
    fn large_csv() -> String {
        let mut csv = String::from("cep,street,number,neighbourhood,city,state,lat,lng\n");
        for i in 0..3000 {
            let name = if i % 500 == 0 {
                format!("R. {}", "Comprido ".repeat(15))
            } else {
                format!("R. Street {i:04}")
            };
            for n in 0..(1 + i % 7) {
                csv.push_str(&format!(
                    "8802{:04},{name},{},Centro,Florianópolis,SC,-27.5,-48.5\n",
                    i % 10_000,
                    n + 1
                ));
            }
        }
        csv
    }

    #[test]
    fn a_large_gazetteer_gives_at_most_the_limit_busiest_first() {
        let g = Arc::new(Gazetteer::parse(&large_csv()).unwrap());
        let hints = locator(g.clone()).street_hints(MAX_HINTS);
        assert_eq!(hints.len(), MAX_HINTS);
        assert!(hints.iter().all(|h| h.chars().count() <= MAX_HINT_CHARS));
        // 7 rows: i % 7 == 6; the first of them by name is street 0006.
        assert_eq!(hints[0], "Rua Street 0006");
        let rows: HashMap<String, usize> = g
            .street_rows()
            .into_iter()
            .map(|(s, n)| (spoken_street(&s), n))
            .collect();
        let counts: Vec<usize> = hints.iter().map(|h| rows[h]).collect();
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "busiest first");
        // 427 streets have 7 rows (street 1000, the 428th, has too long a name),
        // so the last places go to streets with 6.
        assert_eq!((counts[426], counts[427]), (7, 6));

        // With the prompts' words first the whole value still fits.
        let prompt_words = ["rua", "avenida", "CEP"];
        let joined = ivr_core::render::join_hints(
            prompt_words
                .iter()
                .map(|w| w.to_string())
                .chain(hints.iter().cloned()),
        )
        .unwrap();
        let entries: Vec<&str> = ivr_core::render::split_hints(&joined).collect();
        assert_eq!(entries.len(), MAX_HINTS);
        assert_eq!(&entries[..3], &prompt_words);
    }

    #[test]
    fn beside_a_real_geocoder_only_the_isps_own_file_gives_hints() {
        use crate::geocode::{GeocoderKind, GeocoderSettings};
        let settings = |gazetteer_file| GeocoderSettings {
            kind: GeocoderKind::Nominatim,
            url: Some(url::Url::parse("http://127.0.0.1:9").unwrap()),
            google_maps_key: None,
            gazetteer_file,
            cep_url: None,
            request_timeout: std::time::Duration::from_secs(1),
            service_area: None,
        };
        // The bundled demonstration file resolves CEPs, but its streets are
        // not this ISP's.
        let demo = Locator::from_settings(&settings(None)).unwrap();
        assert!(demo.street_hints(MAX_HINTS).is_empty());

        let path = std::env::temp_dir().join(format!("ozmap-ivr-hints-{}.csv", std::process::id()));
        std::fs::write(
            &path,
            "cep,street,number,neighbourhood,city,state,lat,lng\n\
             88010000,Tv. Ratclif,10,Centro,Florianópolis,SC,-27.59,-48.55\n",
        )
        .unwrap();
        let own = Locator::from_settings(&settings(Some(path.clone()))).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(own.street_hints(MAX_HINTS), ["Travessa Ratclif"]);
    }

    #[test]
    fn fewer_entries_when_asked_for_fewer() {
        let hints = locator(Gazetteer::try_bundled().unwrap()).street_hints(2);
        assert_eq!(hints.len(), 2);
        assert!(
            locator(Gazetteer::try_bundled().unwrap())
                .street_hints(0)
                .is_empty()
        );
    }
}
