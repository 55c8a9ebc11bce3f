//! Names as a person reads them aloud: the abbreviations of street types and
//! titles that files and geocoders write ("R. Des. Vitor Lima") spelled out
//! ("Rua Desembargador Vitor Lima"), so a text-to-speech voice does not say
//! "erre" or "dés".
//!
//! Table-driven and conservative: an abbreviation is a whole word ending in its
//! dot ("Des.", or the ordinal sign: "Profª"), never part of a word; only a
//! street type that opens a street name is also known without its dot ("R
//! Lauro Linhares", "Av Beira-Mar"). A single letter is left alone ("D." is
//! Dom or Dona), except "N. Sra." (Nossa Senhora). The recogniser's hints are
//! built with the same function, so the read-back and the hints agree.

/// Street types, spelled out when they open the name.
const TYPES: &[(&str, &str)] = &[
    ("r", "Rua"),
    ("av", "Avenida"),
    ("avn", "Avenida"),
    ("tv", "Travessa"),
    ("trav", "Travessa"),
    ("rod", "Rodovia"),
    ("serv", "Servidão"),
    ("srv", "Servidão"),
    ("al", "Alameda"),
    ("estr", "Estrada"),
    ("est", "Estrada"),
    ("pç", "Praça"),
    ("pça", "Praça"),
    ("pc", "Praça"),
    ("pca", "Praça"),
    ("lg", "Largo"),
    ("lgo", "Largo"),
    ("pq", "Parque"),
    ("vd", "Viaduto"),
    ("bc", "Beco"),
    ("ld", "Ladeira"),
    ("lad", "Ladeira"),
    ("jd", "Jardim"),
    ("vl", "Vila"),
    ("cond", "Condomínio"),
    ("conj", "Conjunto"),
    ("res", "Residencial"),
    ("lot", "Loteamento"),
    ("pass", "Passagem"),
    ("cam", "Caminho"),
    ("esc", "Escadaria"),
];

/// Titles and words abbreviated inside a name; only with the dot, so a short
/// word of the name itself ("Rua Pe Roma") is never taken for one.
const TITLES: &[(&str, &str)] = &[
    ("dr", "Doutor"),
    ("dra", "Doutora"),
    ("prof", "Professor"),
    ("profa", "Professora"),
    ("profª", "Professora"),
    ("gov", "Governador"),
    ("pres", "Presidente"),
    ("sen", "Senador"),
    ("dep", "Deputado"),
    ("des", "Desembargador"),
    ("eng", "Engenheiro"),
    ("gen", "General"),
    ("gal", "General"),
    ("cel", "Coronel"),
    ("cap", "Capitão"),
    ("ten", "Tenente"),
    ("mal", "Marechal"),
    ("alm", "Almirante"),
    ("brig", "Brigadeiro"),
    ("maj", "Major"),
    ("sgt", "Sargento"),
    ("cmte", "Comandante"),
    ("com", "Comendador"),
    ("comend", "Comendador"),
    ("cons", "Conselheiro"),
    ("mons", "Monsenhor"),
    ("monsen", "Monsenhor"),
    ("vis", "Visconde"),
    ("visc", "Visconde"),
    ("bar", "Barão"),
    ("pe", "Padre"),
    ("fr", "Frei"),
    ("sto", "Santo"),
    ("sta", "Santa"),
    ("sr", "Senhor"),
    ("sra", "Senhora"),
    ("nsa", "Nossa"),
    ("ver", "Vereador"),
    ("pref", "Prefeito"),
    ("min", "Ministro"),
    ("arq", "Arquiteto"),
    ("vig", "Vigário"),
];

fn lookup(table: &[(&str, &'static str)], abbr: &str) -> Option<&'static str> {
    let abbr = abbr.to_lowercase();
    table
        .iter()
        .find(|(short, _)| *short == abbr)
        .map(|(_, long)| *long)
}

/// "Av.Beira-Mar": a dot glued to the next word still ends an abbreviation;
/// a dot between digits ("1.500") is left alone.
fn space_after_dots(written: &str) -> String {
    let mut out = String::with_capacity(written.len() + 4);
    let mut chars = written.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '.' && chars.peek().is_some_and(|n| n.is_alphabetic()) {
            out.push(' ');
        }
    }
    out
}

fn spell_out(written: &str, street: bool) -> String {
    let spaced = space_after_dots(written);
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let (stem, dotted) = match word.strip_suffix('.') {
            Some(stem) => (stem, true),
            // "Profª": the ordinal sign marks an abbreviation as a dot does.
            None => (*word, word.ends_with('ª')),
        };
        let before_senhora = words
            .get(i + 1)
            .is_some_and(|w| w.eq_ignore_ascii_case("sra."));
        let long = if dotted && stem.eq_ignore_ascii_case("n") && before_senhora {
            Some("Nossa")
        } else if i == 0 {
            lookup(TYPES, stem)
                .filter(|_| dotted || street)
                .or_else(|| lookup(TITLES, stem).filter(|_| dotted))
        } else {
            lookup(TITLES, stem).filter(|_| dotted)
        };
        out.push(long.unwrap_or(word));
    }
    out.join(" ")
}

/// A street name as a person says it: "R. Delminda Silveira" → "Rua Delminda
/// Silveira", "Av. Gov. Irineu Bornhausen" → "Avenida Governador Irineu
/// Bornhausen", "R Lauro Linhares" → "Rua Lauro Linhares"; one space between
/// words.
pub fn spoken_street(written: &str) -> String {
    spell_out(written, true)
}

/// A neighbourhood's or a city's name as a person says it: the same
/// abbreviations, each only with its dot ("Jd. Atlântico" → "Jardim
/// Atlântico", "Sto. Amaro" → "Santo Amaro").
pub fn spoken_name(written: &str) -> String {
    spell_out(written, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn street_names_are_spelled_out_as_said() {
        let cases = [
            ("R. Delminda Silveira", "Rua Delminda Silveira"),
            ("Av. Madre Benvenuta", "Avenida Madre Benvenuta"),
            ("AV. BEIRA-MAR NORTE", "Avenida BEIRA-MAR NORTE"),
            ("Av.Beira-Mar Norte", "Avenida Beira-Mar Norte"),
            ("R Lauro Linhares", "Rua Lauro Linhares"),
            ("Av Rio Branco", "Avenida Rio Branco"),
            ("Trav. Ratclif", "Travessa Ratclif"),
            ("Rod. SC-401", "Rodovia SC-401"),
            ("Serv. da Prainha", "Servidão da Prainha"),
            ("Al. Adolfo Konder", "Alameda Adolfo Konder"),
            ("Pça. XV de Novembro", "Praça XV de Novembro"),
            ("Pç. Getúlio Vargas", "Praça Getúlio Vargas"),
            ("Est. Geral do Sertão", "Estrada Geral do Sertão"),
            ("Lgo. São Francisco", "Largo São Francisco"),
            (
                "Av. Gov. Irineu Bornhausen",
                "Avenida Governador Irineu Bornhausen",
            ),
            ("R. Des. Vitor Lima", "Rua Desembargador Vitor Lima"),
            (
                "R. Cap. Romualdo de Barros",
                "Rua Capitão Romualdo de Barros",
            ),
            ("R. Dr. Fúlvio Aducci", "Rua Doutor Fúlvio Aducci"),
            ("R. Prof. Enoé Schutel", "Rua Professor Enoé Schutel"),
            ("R. Profª Maria Júlia", "Rua Professora Maria Júlia"),
            ("Av. Pres. Kennedy", "Avenida Presidente Kennedy"),
            ("R. Sen. Ivo d'Aquino", "Rua Senador Ivo d'Aquino"),
            (
                "R. Dep. Antônio Edu Vieira",
                "Rua Deputado Antônio Edu Vieira",
            ),
            ("R. Cel. Pedro Demoro", "Rua Coronel Pedro Demoro"),
            (
                "R. Gen. Liberato Bittencourt",
                "Rua General Liberato Bittencourt",
            ),
            ("R. Ten. Silveira", "Rua Tenente Silveira"),
            ("R. Eng. Max de Souza", "Rua Engenheiro Max de Souza"),
            ("R. Pe. Roma", "Rua Padre Roma"),
            ("R. Sta. Luzia", "Rua Santa Luzia"),
            ("R. Sto. Antônio", "Rua Santo Antônio"),
            ("Av. Mal. Floriano", "Avenida Marechal Floriano"),
            ("R. Alm. Lamego", "Rua Almirante Lamego"),
            ("R. Brig. Silva Paes", "Rua Brigadeiro Silva Paes"),
            ("R. Com. Araújo", "Rua Comendador Araújo"),
            ("R. Cons. Mafra", "Rua Conselheiro Mafra"),
            ("R. Mons. Topp", "Rua Monsenhor Topp"),
            ("R. Vis. de Ouro Preto", "Rua Visconde de Ouro Preto"),
            ("R. Bar. do Rio Branco", "Rua Barão do Rio Branco"),
            ("N. Sra. dos Navegantes", "Nossa Senhora dos Navegantes"),
            ("R. N. Sra. de Fátima", "Rua Nossa Senhora de Fátima"),
            ("Dr. Antônio Luz", "Doutor Antônio Luz"),
            ("R. Frei Caneca", "Rua Frei Caneca"),
            ("Rua  Rui   Barbosa", "Rua Rui Barbosa"),
        ];
        for (written, said) in cases {
            assert_eq!(spoken_street(written), said, "{written}");
        }
    }

    #[test]
    fn only_whole_words_with_their_dot_and_no_single_letters() {
        for same in [
            // Without a dot a short word is the name's own.
            "Rua Pe Roma",
            "Rua Des Barros",
            "Rua Capitão Cap",
            // Inside a word, nothing.
            "Rua Barbosa",
            "Rua Profeta Daniel",
            "Rua Desembargadora Sta",
            // "D." is Dom or Dona: left as written.
            "Rua D. Jaime Câmara",
            // A type word only opens a name.
            "Rua Av. Central",
        ] {
            assert_eq!(spoken_street(same), same);
        }
        assert_eq!(spoken_street("R. D. Jaime Câmara"), "Rua D. Jaime Câmara");
        // A dot between digits is no abbreviation's.
        assert_eq!(spoken_street("Rod. SC-401 km 1.5"), "Rodovia SC-401 km 1.5");
        assert_eq!(spoken_street(" R.  "), "Rua");
        assert_eq!(spoken_street(""), "");
    }

    #[test]
    fn neighbourhoods_and_cities_only_with_dots() {
        assert_eq!(spoken_name("Jd. Atlântico"), "Jardim Atlântico");
        assert_eq!(
            spoken_name("Sto. Antônio de Lisboa"),
            "Santo Antônio de Lisboa"
        );
        assert_eq!(spoken_name("Agronômica"), "Agronômica");
        assert_eq!(spoken_name("Vl Nova"), "Vl Nova");
        assert_eq!(spoken_name("Florianópolis"), "Florianópolis");
    }
}
