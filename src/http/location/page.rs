//! The location page's HTML (maud), its words in pt-BR and en-US, and its
//! two static files (the style sheet and the script, served by the service:
//! nothing from another site).

use maud::{DOCTYPE, Markup, html};

pub(super) const STYLE: &str = include_str!("page.css");
pub(super) const SCRIPT: &str = include_str!("page.js");
pub(super) const STYLE_PATH: &str = "/l/static/page.css";
pub(super) const SCRIPT_PATH: &str = "/l/static/page.js";

/// The page's Content-Security-Policy: nothing but its own style sheet and
/// script, its posts to itself, in no frame.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Every word the page and its answers show.
#[derive(Debug)]
pub(super) struct Words {
    pub lang: &'static str,
    pub title: &'static str,
    pub lead: &'static str,
    pub button: &'static str,
    pub note: &'static str,
    pub locating: &'static str,
    /// `{m}`: the accuracy in metres.
    pub accuracy: &'static str,
    pub sending: &'static str,
    pub denied: &'static str,
    pub unavailable: &'static str,
    pub unsupported: &'static str,
    pub failed: &'static str,
    /// Before the nearest address, once taken.
    pub near: &'static str,
    pub gone_title: &'static str,
    pub gone: &'static str,
    pub done: &'static str,
    /// `{m}`: the accuracy in metres.
    pub inaccurate: &'static str,
    pub outside: &'static str,
    pub not_a_position: &'static str,
    pub too_many: &'static str,
    pub busy: &'static str,
}

const PT_BR: Words = Words {
    lang: "pt-BR",
    title: "Marque a casa da instalação",
    lead: "Fique em frente à casa da instalação, com o telefone na mão, e toque no botão.",
    button: "Estou aqui",
    note: "A localização é usada só para encontrar a caixa de fibra mais perto da casa.",
    locating: "Buscando a sua localização…",
    accuracy: "Precisão de {m} m",
    sending: "Enviando…",
    denied: "O navegador não deu acesso à localização. Permita o acesso à localização \
             para este site nas configurações do navegador e toque de novo em Estou aqui.",
    unavailable: "Não foi possível obter a localização. Ligue a localização do telefone, \
                  vá para perto da casa, ao ar livre, e tente de novo.",
    unsupported: "Este navegador não informa a localização. Abra o link no navegador do \
                  telefone (Chrome ou Safari).",
    failed: "Não foi possível enviar agora. Confira a internet do telefone e tente de novo.",
    near: "Endereço mais próximo: ",
    gone_title: "Este link não é mais válido",
    gone: "O link expirou ou já foi usado. Se ainda precisa marcar a casa, ligue de novo.",
    done: "Recebemos a localização. Volte para a ligação.",
    inaccurate: "Precisão de {m} m: aproxime-se da casa e tente de novo.",
    outside: "Este ponto fica fora da área que atendemos. Confira se está em frente à casa \
              da instalação e tente de novo.",
    not_a_position: "Não recebemos uma localização válida. Tente de novo.",
    too_many: "Muitas tentativas. Espere um minuto e tente de novo.",
    busy: "Não foi possível receber agora. Tente de novo em instantes.",
};

const EN_US: Words = Words {
    lang: "en-US",
    title: "Mark the installation's house",
    lead: "Stand in front of the house to be installed, phone in hand, and tap the button.",
    button: "I'm here",
    note: "Your location is used only to find the fibre box nearest the house.",
    locating: "Finding your location…",
    accuracy: "Accuracy: {m} m",
    sending: "Sending…",
    denied: "The browser gave no access to your location. Allow location access for \
             this site in the browser's settings and tap I'm here again.",
    unavailable: "Your location could not be found. Turn the phone's location on, go \
                  near the house, outdoors, and try again.",
    unsupported: "This browser does not give your location. Open the link in the phone's \
                  browser (Chrome or Safari).",
    failed: "Could not send it now. Check the phone's internet and try again.",
    near: "Nearest address: ",
    gone_title: "This link is no longer valid",
    gone: "The link expired or was already used. If you still need to mark the house, \
           call again.",
    done: "We received your location. Go back to the call.",
    inaccurate: "Accuracy {m} m: move closer to the house and try again.",
    outside: "This point is outside the area we serve. Check that you are in front of \
              the house to be installed and try again.",
    not_a_position: "That was not a valid location. Try again.",
    too_many: "Too many tries. Wait a minute and try again.",
    busy: "Could not take it now. Try again in a moment.",
};

/// The words for the prompts' language (`en…`: English, else pt-BR).
pub(super) fn words(language: &str) -> &'static Words {
    if language
        .get(..2)
        .is_some_and(|l| l.eq_ignore_ascii_case("en"))
    {
        &EN_US
    } else {
        &PT_BR
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex, nofollow";
            meta name="referrer" content="no-referrer";
            meta name="color-scheme" content="light";
            title { (title) }
            link rel="stylesheet" href=(STYLE_PATH);
        }
    }
}

/// The page of a live link: one button.
pub(super) fn live(w: &Words) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(w.lang) {
            (head(w.title))
            body {
                main #page
                    data-locating=(w.locating) data-accuracy=(w.accuracy)
                    data-sending=(w.sending) data-denied=(w.denied)
                    data-unavailable=(w.unavailable) data-unsupported=(w.unsupported)
                    data-failed=(w.failed) data-near=(w.near) {
                    h1 { (w.title) }
                    p.lead { (w.lead) }
                    button #here type="button" { (w.button) }
                    p #accuracy .accuracy hidden {}
                    p #status .status role="status" aria-live="polite" {}
                    p #address .address hidden {}
                    p.note { (w.note) }
                }
                script src=(SCRIPT_PATH) {}
            }
        }
    }
}

/// The one page of an unknown, expired or used link.
pub(super) fn gone(w: &Words) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(w.lang) {
            (head(w.gone_title))
            body {
                main #gone {
                    h1 { (w.gone_title) }
                    p.lead { (w.gone) }
                }
            }
        }
    }
}
