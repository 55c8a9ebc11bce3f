//! A large gazetteer of realistic Brazilian streets, for benchmarks, and
//! recogniser-style spoken forms of its rows for the benchmark's queries.
//!
//! [`generated_csv`] writes the format of `data/gazetteer.csv`
//! (`cep,street,number,neighbourhood,city,state,lat,lng`): each street has a few
//! numbered rows and one street-level row (empty number), about 5.5 rows per
//! street, so 50,000 rows hold about 9,000 streets. Names are mostly people, with
//! or without a title, a second given name, particles and two surnames ("R. Prof.
//! Maria da Silva Ramos", "Av. Gov. Irineu Bornhausen"); also the famous names,
//! saints and dates every city has ("Rua Rui Barbosa", "Av. Sete de Setembro"),
//! plants and places ("Rua das Acácias", "Av. Beira-Mar"), and a few numbered
//! streets ("Rua 12"). The same name occurs in several cities and neighbourhoods,
//! as in real data. Types are abbreviated about half the time, as ISPs' own
//! files mix both. Sixteen cities of SC, PR and RS; two are small towns with one
//! CEP for the whole town. A house number is about that many metres along its
//! street, as in the bundled file.
//!
//! Both functions are deterministic for a seed: they use a SplitMix64 written
//! here, not `rand`'s `StdRng`, whose stream may change between versions.

mod spoken;

pub use spoken::{number_words, sample_transcripts};

use std::collections::HashSet;
use std::f64::consts::TAU;
use std::fmt::Write as _;

/// The header of the bundled gazetteer, and of [`generated_csv`]'s output.
pub const HEADER: &str = "cep,street,number,neighbourhood,city,state,lat,lng";

/// Street types: spoken form, abbreviation, weight.
const TYPES: &[StreetType] = &[
    ("Rua", "R.", 70),
    ("Avenida", "Av.", 10),
    ("Travessa", "Trav.", 5),
    ("Servidão", "Serv.", 6),
    ("Rodovia", "Rod.", 2),
    ("Alameda", "Al.", 3),
    ("Praça", "Pç.", 2),
    ("Estrada", "Estr.", 2),
];

/// Titles: spoken form / abbreviation / who may hold it (m, f).
const TITLES: &str = "Doutor/Dr./m, Doutora/Dra./f, Professor/Prof./m, Professora/Profa./f, \
    Padre/Pe./m, Frei/Frei/m, Coronel/Cel./m, Governador/Gov./m, Desembargador/Des./m, \
    Dona/Dona/f, Capitão/Cap./m, General/Gen./m, Marechal/Mal./m, Deputado/Dep./m, \
    Vereador/Ver./m, Prefeito/Pref./m, Irmã/Irmã/f, Monsenhor/Mons./m, Senador/Sen./m, \
    Engenheiro/Eng./m, Tenente/Ten./m, Major/Maj./m, Madre/Madre/f, Comendador/Com./m";

const GIVEN_M: &str = "João, José, Antônio, Francisco, Luiz, Luís, Paulo, Carlos, Manoel, \
    Pedro, Jorge, Marcos, Roberto, Joaquim, Sebastião, Miguel, Raimundo, Alfredo, Henrique, \
    Ernesto, Otávio, Osvaldo, Lauro, Vitor, Hercílio, Jacó, Artur, Rodolfo, Júlio, Augusto, \
    Arnaldo, Bento, Cândido, Domingos, Eduardo, Fernando, Germano, Heitor, Ivo, Jaime, \
    Leonel, Mário, Nereu, Orlando, Rui, Sílvio, Tomás, Valmor, Waldemar, Acácio, Delfino, \
    Irineu, Adhemar, Aníbal, Frederico, Gustavo, Hugo, Emílio, Olavo, Pio, Evaristo, Lédio";

const GIVEN_F: &str = "Maria, Ana, Lúcia, Francisca, Antônia, Adélia, Helena, Rosa, Teresa, \
    Clara, Joana, Luíza, Marta, Olga, Delminda, Benta, Cecília, Júlia, Laura, Rita, Sofia, \
    Isabel, Alice, Beatriz, Carmen, Dalva, Edith, Glória, Hilda, Iracema, Zilda, Noêmia, \
    Benvenuta, Flora, Amélia, Otília";

/// Surnames with the particle they take when one is said.
const SURNAMES: &str = "da Silva, dos Santos, de Oliveira, de Souza, de Sousa, Pereira, de Lima, \
    Ferreira, da Costa, Rodrigues, de Almeida, do Nascimento, de Carvalho, Gomes, Martins, \
    de Araújo, Ribeiro, Barbosa, da Rocha, Dias, Moreira, Mendes, Nunes, Cardoso, Teixeira, \
    Correia, Machado, Vieira, Ramos, Monteiro, de Medeiros, da Cunha, de Freitas, Pinto, \
    de Andrade, de Farias, Schmidt, Koerich, Bornhausen, Hoepcke, Schneider, Wendhausen, \
    Konder, Boiteux, Bittencourt, Linhares, Silveira, Duarte, Gonzaga, de Barros, de Campos, \
    Xavier, Fontes, da Luz, dos Anjos, do Amaral, dos Reis, Coelho, Müller, Westphal";

const FAMOUS: &str = "Rui Barbosa, Santos Dumont, Tiradentes, Duque de Caxias, Marechal Deodoro, \
    Getúlio Vargas, Castro Alves, Machado de Assis, Oswaldo Cruz, Barão do Rio Branco, \
    Visconde de Ouro Preto, Juscelino Kubitschek, Anita Garibaldi, Hercílio Luz, Cruz e Sousa, \
    Felipe Schmidt, Conselheiro Mafra, Presidente Vargas, Princesa Isabel, Dom Pedro II, \
    José Bonifácio, Almirante Tamandaré, Bento Gonçalves, Floriano Peixoto, Quintino Bocaiúva, \
    Padre Anchieta, Carlos Gomes, Monteiro Lobato, Cecília Meireles, Júlio de Castilhos";

const SAINTS: &str = "São João, São Pedro, São José, Santa Rita, Santa Luzia, Santo Antônio, \
    São Cristóvão, Nossa Senhora de Fátima, Nossa Senhora Aparecida, São Francisco de Assis, \
    São Sebastião, São Jorge, Santa Terezinha, Frei Caneca, Madre Paulina";

const DATES: &str = "Sete de Setembro, XV de Novembro, Primeiro de Maio, Treze de Maio, \
    Vinte e Um de Abril, Nove de Julho, Vinte de Setembro, Dois de Julho, Doze de Outubro, \
    Vinte e Oito de Setembro";

const NATURE: &str = "das Flores, das Acácias, dos Ipês, das Orquídeas, das Hortênsias, \
    dos Girassóis, das Palmeiras, dos Jasmins, das Gaivotas, dos Pinheiros, das Araucárias, \
    dos Eucaliptos, das Margaridas, das Rosas, das Violetas, dos Lírios, das Camélias, \
    das Azaleias, dos Flamboyants, das Tulipas, dos Canários, das Andorinhas";

const PLACES: &str = "Beira-Mar, Beira-Rio, da Praia, dos Imigrantes, dos Pescadores, dos Açores, \
    Brasil, Santa Catarina, Paraná, Rio Grande do Sul, São Paulo, Minas Gerais, da Liberdade, \
    da República, da Independência, da Paz, do Comércio, das Nações, da Lagoa, do Porto";

/// A street type: spoken form, abbreviation, weight.
type StreetType = (&'static str, &'static str, u32);

/// Cities: name|state|first five CEP digits, lowest-highest (one value for a
/// one-CEP town)|centre lat, lng|how far streets reach, km|weight|neighbourhoods.
const CITIES: &str = "\
    Florianópolis|SC|88010-88066|-27.5954,-48.548|9|14|Centro, Agronômica, Trindade, \
        Itacorubi, Córrego Grande, Saco dos Limões, Estreito, Coqueiros, Capoeiras, Ingleses, \
        Canasvieiras, Campeche, Santa Mônica, Pantanal, Carvoeira;\
    São José|SC|88101-88123|-27.6136,-48.6366|5|10|Kobrasol, Campinas, Barreiros, \
        Forquilhinhas, Centro, Roçado, Ipiranga, Serraria, Areias;\
    Palhoça|SC|88130-88138|-27.6455,-48.6697|6|8|Centro, Pagani, Ponte do Imaruim, \
        Passa Vinte, Pedra Branca, Aririú, Bela Vista;\
    Biguaçu|SC|88160-88164|-27.4942,-48.6558|4|4|Centro, Jardim Janaína, Rio Caveiras, \
        Vendaval, Fundos;\
    Blumenau|SC|89010-89075|-26.9194,-49.0661|7|9|Centro, Velha, Garcia, Itoupava Norte, \
        Vila Nova, Ponta Aguda, Victor Konder, Fortaleza;\
    Joinville|SC|89201-89239|-26.3045,-48.8487|8|10|Centro, América, Glória, Bucarein, \
        Anita Garibaldi, Boa Vista, Iririú, Costa e Silva;\
    Itajaí|SC|88301-88318|-26.9078,-48.6619|5|6|Centro, Fazenda, São Vicente, Cordeiros, \
        Vila Operária, Ressacada;\
    Criciúma|SC|88801-88819|-28.6775,-49.3697|5|5|Centro, Pinheirinho, Próspera, Michel, \
        Comerciário, Santa Bárbara;\
    Chapecó|SC|89801-89816|-27.1004,-52.6152|5|5|Centro, Efapi, Passo dos Fortes, \
        Presidente Médici, Jardim Itália;\
    Antônio Carlos|SC|88180|-27.5172,-48.7661|3|1|Centro, Rachadel, Santa Maria;\
    Rancho Queimado|SC|88470|-27.6727,-49.0191|3|1|Centro, Taquaras;\
    Curitiba|PR|80010-82990|-25.4284,-49.2733|10|12|Centro, Batel, Água Verde, Portão, \
        Boqueirão, Cabral, Bigorrilho, Rebouças, Santa Felicidade, Juvevê;\
    Maringá|PR|87005-87114|-23.4205,-51.9333|6|5|Zona 7, Centro, Jardim Alvorada, \
        Vila Operária, Zona 5;\
    Porto Alegre|RS|90010-91999|-30.0346,-51.2177|10|12|Centro Histórico, Menino Deus, \
        Moinhos de Vento, Petrópolis, Bom Fim, Cidade Baixa, Partenon, Tristeza;\
    Caxias do Sul|RS|95010-95098|-29.1678,-51.1794|6|6|Centro, São Pelegrino, Exposição, \
        Rio Branco, Pio X;\
    Pelotas|RS|96010-96090|-31.7654,-52.3376|5|4|Centro, Fragata, Três Vendas, Areal";

struct City {
    name: &'static str,
    state: &'static str,
    cep: (u32, u32),
    lat: f64,
    lng: f64,
    km: f64,
    weight: u32,
    hoods: Vec<&'static str>,
}

fn cities() -> Vec<City> {
    CITIES
        .split(';')
        .map(|line| {
            let f: Vec<&str> = line.split('|').map(str::trim).collect();
            let num = |s: &str| s.parse::<f64>().expect("CITIES");
            let (lo, hi) = f[2].split_once('-').unwrap_or((f[2], f[2]));
            let (lat, lng) = f[3].split_once(',').expect("CITIES");
            City {
                name: f[0],
                state: f[1],
                cep: (num(lo) as u32, num(hi) as u32),
                lat: num(lat),
                lng: num(lng),
                km: num(f[4]),
                weight: num(f[5]) as u32,
                hoods: list(f[6]),
            }
        })
        .collect()
}

/// SplitMix64: small, fast and the same on every platform and version.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6a09_e667_f3bc_c909)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// lo..=hi.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn weighted<T>(&mut self, xs: &[T], weight: impl Fn(&T) -> u32) -> usize {
        let total: u32 = xs.iter().map(&weight).sum();
        let mut r = self.range(1, total);
        for (i, x) in xs.iter().enumerate() {
            if r <= weight(x) {
                return i;
            }
            r -= weight(x);
        }
        xs.len() - 1
    }
}

fn list(s: &'static str) -> Vec<&'static str> {
    s.split(',').map(str::trim).collect()
}

/// The name lists, split once per call.
struct Names {
    titles: Vec<(&'static str, &'static str, bool)>,
    given_m: Vec<&'static str>,
    given_f: Vec<&'static str>,
    surnames: Vec<&'static str>,
    /// (weight, names)
    others: Vec<(u32, Vec<&'static str>)>,
}

impl Names {
    fn new() -> Names {
        let titles = list(TITLES)
            .into_iter()
            .map(|t| {
                let p: Vec<&str> = t.split('/').collect();
                (p[0], p[1], p[2] == "f")
            })
            .collect();
        Names {
            titles,
            given_m: list(GIVEN_M),
            given_f: list(GIVEN_F),
            surnames: list(SURNAMES),
            others: vec![
                (12, list(FAMOUS)),
                (6, list(SAINTS)),
                (6, list(DATES)),
                (7, list(NATURE)),
                (5, list(PLACES)),
            ],
        }
    }

    /// "Prof. Maria da Silva Ramos" (abbreviated title) or "Professora ...".
    fn person(&self, rng: &mut Rng, abbreviate: bool) -> String {
        let female = rng.chance(0.3);
        let given = if female { &self.given_f } else { &self.given_m };
        let mut words: Vec<&str> = Vec::new();
        if rng.chance(0.25) {
            let fits: Vec<_> = self.titles.iter().filter(|t| t.2 == female).collect();
            let t = rng.pick(&fits);
            words.push(if abbreviate { t.1 } else { t.0 });
        }
        words.push(*rng.pick(given));
        if rng.chance(0.3) {
            words.push(*rng.pick(given));
        }
        let n = if rng.chance(0.35) { 2 } else { 1 };
        for _ in 0..n {
            let s = *rng.pick(&self.surnames);
            match s.split_once(' ') {
                Some((particle, bare)) if !rng.chance(0.45) => {
                    words.push(particle);
                    words.push(bare);
                }
                Some((_, bare)) => words.push(bare),
                None => words.push(s),
            }
        }
        words.dedup();
        words.join(" ")
    }

    /// The street's words with types and titles in full ("R. Dr. X" → "Rua Doutor X").
    fn in_full(&self, street: &str) -> Vec<String> {
        street
            .split_whitespace()
            .map(|w| {
                let ty = TYPES.iter().find(|t| t.1 == w).map(|t| t.0);
                let title = self.titles.iter().find(|t| t.1 == w).map(|t| t.0);
                ty.or(title).unwrap_or(w).to_string()
            })
            .collect()
    }

    fn street(&self, rng: &mut Rng) -> (String, &'static StreetType) {
        let kind = &TYPES[rng.weighted(TYPES, |t| t.2)];
        let abbreviate = rng.chance(0.5);
        let r = rng.below(100);
        let name = if r < 2 {
            rng.range(1, 40).to_string()
        } else if r < 38 {
            let i = rng.weighted(&self.others, |o| o.0);
            rng.pick(&self.others[i].1).to_string()
        } else {
            self.person(rng, abbreviate)
        };
        let ty = if abbreviate { kind.1 } else { kind.0 };
        (format!("{ty} {name}"), kind)
    }
}

/// A point `m` metres from (lat, lng) towards `bearing` (radians).
fn along(lat: f64, lng: f64, bearing: f64, m: f64) -> (f64, f64) {
    let dlat = m * bearing.cos() / 111_320.0;
    let dlng = m * bearing.sin() / (111_320.0 * lat.to_radians().cos());
    (lat + dlat, lng + dlng)
}

/// A gazetteer CSV (header and `rows` data rows) of realistic Brazilian
/// streets; the same for the same seed. Each street has numbered rows and a
/// street-level row (the last street may be cut short; it keeps that row).
pub fn generated_csv(rows: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let names = Names::new();
    let cities = cities();
    let mut seen: HashSet<(String, usize, usize)> = HashSet::new();
    let mut out = String::with_capacity(rows * 80 + HEADER.len() + 1);
    out.push_str(HEADER);
    out.push('\n');
    let mut left = rows;
    while left > 0 {
        let c = rng.weighted(&cities, |c| c.weight);
        let city = &cities[c];
        let h = rng.below(city.hoods.len());
        let (street, kind) = names.street(&mut rng);
        if !seen.insert((names.in_full(&street).join(" "), c, h)) {
            continue; // the same street twice in one neighbourhood ("R. X" is "Rua X")
        }
        let prefix = rng.range(city.cep.0, city.cep.1);
        let cep = if city.cep.0 == city.cep.1 {
            prefix * 1000
        } else {
            prefix * 1000 + rng.range(0, 999)
        };
        // uniform over a disc around the centre
        let d = city.km * 1000.0 * rng.unit().sqrt();
        let (lat0, lng0) = along(city.lat, city.lng, rng.unit() * TAU, d);
        let bearing = rng.unit() * TAU;
        let ((lo, hi), (step_lo, step_hi)) = match kind.0 {
            "Rodovia" | "Estrada" => ((100, 2000), (50, 900)),
            _ => ((1, 150), (6, 260)),
        };
        let mut numbers = Vec::new();
        let mut n = rng.range(lo, hi);
        for _ in 0..rng.range(3, 6).min(left as u32 - 1) {
            numbers.push(n);
            n += rng.range(step_lo, step_hi);
        }
        let first = numbers.first().copied().unwrap_or(n);
        let mid = f64::from(first + numbers.last().copied().unwrap_or(n)) / 2.0;
        let level = std::iter::once((None, mid + 3.0));
        let numbered = numbers.iter().map(|&n| (Some(n), f64::from(n)));
        for (number, m) in numbered.chain(level) {
            let (lat, lng) = along(lat0, lng0, bearing, m);
            // no name in the lists holds a comma or a quote: nothing to quote
            let n = number.map(|n| n.to_string()).unwrap_or_default();
            let (hood, name, uf) = (city.hoods[h], city.name, city.state);
            let _ = writeln!(
                out,
                "{cep:08},{street},{n},{hood},{name},{uf},{lat:.7},{lng:.7}"
            );
            left -= 1;
        }
    }
    out
}
