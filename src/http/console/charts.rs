//! The console's two charts as inline SVG: nothing to fetch, no script, and
//! they scale to a phone's width (`viewBox`, `width:100%`).

use super::funnel::StepCount;
use super::labels::Labels;
use maud::{Markup, html};

const WIDTH: f64 = 420.0;
const ROW: f64 = 26.0;
const LABEL_W: f64 = 125.0;

/// One bar per step reached: its length the calls that reached it, the red
/// end the calls abandoned there.
pub(crate) fn funnel(steps: &[(&'static str, StepCount)], l: &Labels) -> Markup {
    let max = steps
        .iter()
        .map(|(_, c)| c.reached)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bar_w = WIDTH - LABEL_W - 60.0;
    let height = ROW * steps.len().max(1) as f64 + 4.0;
    html! {
        svg #funnel-chart viewBox={"0 0 " (WIDTH) " " (height)} role="img"
            aria-label=(l.funnel) preserveAspectRatio="xMinYMin meet" {
            @for (i, (step, c)) in steps.iter().enumerate() {
                @let y = i as f64 * ROW + 2.0;
                @let w = (c.reached as f64 / max * bar_w).max(1.0);
                @let a = (c.abandoned as f64 / max * bar_w).min(w);
                g data-step=(step) {
                    text x="0" y=(y + 16.0) font-size="12" { (l.term(step)) }
                    rect x=(LABEL_W) y=(y) width=(w) height="20" fill="#2b6cb0" rx="2" {}
                    @if c.abandoned > 0 {
                        rect x=(LABEL_W + w - a) y=(y) width=(a) height="20" fill="#c53030" rx="2" {}
                    }
                    text x=(LABEL_W + w + 6.0) y=(y + 16.0) font-size="12" {
                        (c.reached)
                        @if c.abandoned > 0 { " (−" (c.abandoned) ")" }
                    }
                }
            }
            @if steps.is_empty() {
                text x="0" y="18" font-size="12" { "—" }
            }
        }
    }
}

/// Calls per local hour, 0 to 23.
pub(crate) fn per_hour(hours: &[u64; 24], l: &Labels) -> Markup {
    let max = hours.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (h, base) = (120.0, 100.0);
    let col = WIDTH / 24.0;
    html! {
        svg #hours-chart viewBox={"0 0 " (WIDTH) " " (h)} role="img" aria-label=(l.per_hour) {
            line x1="0" y1=(base) x2=(WIDTH) y2=(base) stroke="#999" {}
            @for (i, n) in hours.iter().enumerate() {
                @let bh = *n as f64 / max * (base - 16.0);
                @let x = i as f64 * col;
                @if *n > 0 {
                    rect x=(x + 3.0) y=(base - bh) width=(col - 6.0) height=(bh) fill="#2b6cb0" {}
                    text x=(x + col / 2.0) y=(base - bh - 3.0) font-size="11" text-anchor="middle" { (n) }
                }
                @if i % 3 == 0 {
                    text x=(x + col / 2.0) y=(base + 15.0) font-size="11" text-anchor="middle" { (i) "h" }
                }
            }
        }
    }
}
