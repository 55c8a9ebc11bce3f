//! The generated gazetteer of `test_support::gazetteer`: it parses, has the rows
//! asked for, is realistic enough, and is the same for the same seed.

use std::collections::{HashMap, HashSet};
use test_support::gazetteer::{HEADER, generated_csv, number_words, sample_transcripts};

fn records(text: &str) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(r.headers().unwrap(), HEADER.split(',').collect::<Vec<_>>());
    r.records().map(|r| r.unwrap()).collect()
}

#[test]
fn the_output_parses_and_has_the_rows_asked_for() {
    for rows in [0, 1, 2, 7, 500] {
        let recs = records(&generated_csv(rows, 3));
        assert_eq!(recs.len(), rows);
        for r in &recs {
            assert_eq!(r.len(), 8);
            assert!(
                r[0].len() == 8 && r[0].bytes().all(|b| b.is_ascii_digit()),
                "{r:?}"
            );
            assert!(r[2].is_empty() || r[2].parse::<u32>().is_ok(), "{r:?}");
            let (lat, lng): (f64, f64) = (r[6].parse().unwrap(), r[7].parse().unwrap());
            assert!((-32.0..-23.0).contains(&lat) && (-53.0..-48.0).contains(&lng));
        }
    }
    assert_eq!(records(&generated_csv(1, 3))[0][2].to_string(), "");
}

#[test]
fn the_same_seed_gives_the_same_file() {
    assert_eq!(generated_csv(2000, 42), generated_csv(2000, 42));
    assert_ne!(generated_csv(2000, 42), generated_csv(2000, 43));
    let csv = generated_csv(2000, 42);
    assert_eq!(
        sample_transcripts(&csv, 300, 9),
        sample_transcripts(&csv, 300, 9)
    );
    assert_ne!(
        sample_transcripts(&csv, 300, 9),
        sample_transcripts(&csv, 300, 10)
    );
}

#[test]
fn fifty_thousand_rows_are_thousands_of_streets_each_with_a_street_level_row() {
    let recs = records(&generated_csv(50_000, 1));
    let mut streets: HashMap<(&str, &str, &str), bool> = HashMap::new();
    for r in &recs {
        let level = streets.entry((&r[1], &r[3], &r[4])).or_default();
        *level |= r[2].is_empty();
    }
    assert!(
        (8_000..=12_000).contains(&streets.len()),
        "{}",
        streets.len()
    );
    assert!(streets.values().all(|&l| l));
    let names: HashSet<&str> = recs.iter().map(|r| &r[1]).collect();
    assert!(names.len() > 5_000, "{}", names.len());
    let cities: HashSet<&str> = recs.iter().map(|r| &r[4]).collect();
    assert!(cities.len() >= 12);
    for ty in [
        "R. ",
        "Rua ",
        "Av. ",
        "Travessa ",
        "Serv. ",
        "Rodovia ",
        "Al. ",
        "Praça ",
    ] {
        assert!(names.iter().any(|n| n.starts_with(ty)), "{ty}");
    }
    for part in [
        " da ",
        " dos ",
        "Prof. ",
        "Sete de Setembro",
        "das Flores",
        "Beira-Mar",
    ] {
        assert!(names.iter().any(|n| n.contains(part)), "{part}");
    }
    // A one-CEP town: every one of its rows has the town's CEP.
    assert!(
        recs.iter()
            .filter(|r| &r[4] == "Antônio Carlos")
            .all(|r| &r[0] == "88180000")
    );
}

#[test]
fn transcripts_are_spoken_forms_of_rows() {
    let csv = generated_csv(3000, 5);
    let ts = sample_transcripts(&csv, 1000, 5);
    assert_eq!(ts.len(), 1000);
    assert!(ts.iter().all(|t| !t.trim().is_empty()));
    let with = |s: &str| ts.iter().filter(|t| t.to_lowercase().contains(s)).count();
    assert!(with("rua ") > 300, "types are said in full");
    assert_eq!(
        with("r. ") + with("av. "),
        0,
        "abbreviations are said in full"
    );
    assert!(with("sem número") + with("s/n") + with("sem numero") > 20);
    assert!(ts.iter().any(|t| t.chars().any(|c| c.is_ascii_digit())));
    assert!(with(" mil") > 0 && with("número ") + with("numero ") > 0);
    // Also on the bundled file, and on nothing.
    let bundled = include_str!("../../../data/gazetteer.csv");
    assert_eq!(sample_transcripts(bundled, 50, 1).len(), 50);
    assert!(sample_transcripts("", 5, 1).is_empty());
    assert!(sample_transcripts(HEADER, 5, 1).is_empty());
}

#[test]
fn numbers_are_said_in_portuguese() {
    let cases = [
        (0, "zero"),
        (20, "vinte"),
        (100, "cem"),
        (120, "cento e vinte"),
        (900, "novecentos"),
        (940, "novecentos e quarenta"),
        (1000, "mil"),
        (1100, "mil e cem"),
        (1190, "mil cento e noventa"),
        (1500, "mil e quinhentos"),
        (1720, "mil setecentos e vinte"),
        (2765, "dois mil setecentos e sessenta e cinco"),
        (21_005, "vinte e um mil e cinco"),
    ];
    for (n, w) in cases {
        assert_eq!(number_words(n), w);
    }
}

#[test]
fn transcripts_read_quoted_fields_and_any_column_order() {
    let csv = "street,lat,lng,number,city\n\"Rua \"\"Nova\"\", Trecho 2\",-27.1,-48.2,12,Cidade\n";
    let ts = sample_transcripts(csv, 200, 3);
    // One word at most is misspelt.
    let kept =
        |t: &String| t.to_lowercase().contains("nova") || t.to_lowercase().contains("trecho");
    assert!(ts.iter().all(kept), "{ts:?}");
    assert!(
        ts.iter().any(|t| t.contains("\"Nova\", Trecho 2")),
        "{ts:?}"
    );
    assert!(ts.iter().any(|t| t.contains("12")));
    assert!(ts.iter().any(|t| t.ends_with("Cidade")));
}
