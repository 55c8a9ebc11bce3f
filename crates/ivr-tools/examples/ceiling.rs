//! The ceiling for the load figures in BENCHMARKS.md, on its own port: a bare
//! actix-web handler that parses the same form a platform posts and answers the
//! same bytes as the service's greeting, without state (see `crates/ivr-tools/src/bench/ceiling.rs`).
//! `ozmap-ivr bench` starts the same server itself; this binary is for measuring it
//! with another tool.
//!
//! Run: `cargo run --release --example ceiling -- 127.0.0.1:8099`

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".to_string());
    match ivr_tools::bench::ceiling::serve(&bind).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ceiling: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
