//! The client directory (`CLIENT_DIRECTORY`): none, the HTTP contract, or IXC
//! Soft. Unset, it is the built-in sandbox's directory when no OZmap is
//! configured (so `serve` alone shows the short call) and none with a real one.

use super::{ConfigError, err, non_empty, outbound_url, within};
use crate::directory::DirectorySettings;
use clap::{Args, ValueEnum};
use secrecy::SecretString;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DirectoryKind {
    /// Every code accepted; name and address asked (the flow without a directory).
    None,
    /// The JSON contract of docs/client-directory.md.
    Http,
    /// IXC Soft's webservice.
    Ixc,
}

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Client directory (the ISP's system, asked about each code)")]
pub struct DirectoryArgs {
    /// none, http or ixc. Unset: the built-in sandbox's directory when no OZmap
    /// is configured, none with a real OZmap.
    #[arg(long, env = "CLIENT_DIRECTORY", value_enum, ignore_case = true)]
    pub client_directory: Option<DirectoryKind>,
    /// The directory's base URL (http: where /clients/{code} is; ixc: the IXC
    /// server, before /webservice/v1).
    #[arg(long, env = "CLIENT_DIRECTORY_URL")]
    pub client_directory_url: Option<String>,
    /// http: the bearer token (optional); ixc: `user:token`, sent as HTTP Basic. Secret.
    #[arg(long, env = "CLIENT_DIRECTORY_TOKEN", hide_env_values = true)]
    pub client_directory_token: Option<String>,
    /// Timeout of one look-up (all its requests).
    #[arg(long, env = "CLIENT_DIRECTORY_TIMEOUT_MS", default_value_t = 4_000)]
    pub client_directory_timeout_ms: u64,
    /// How long a known client is kept in memory (0: not kept). Unknown codes never are.
    #[arg(long, env = "CLIENT_DIRECTORY_CACHE_S", default_value_t = 300)]
    pub client_directory_cache_s: u64,
}

impl DirectoryArgs {
    /// `sandbox`: no OZmap configured.
    pub(super) fn check(self, sandbox: bool) -> Result<DirectorySettings, ConfigError> {
        let timeout = Duration::from_millis(within(
            "CLIENT_DIRECTORY_TIMEOUT_MS",
            self.client_directory_timeout_ms,
            200..=30_000,
            "must be between 200 and 30000 milliseconds",
        )?);
        let cache = Duration::from_secs(within(
            "CLIENT_DIRECTORY_CACHE_S",
            self.client_directory_cache_s,
            0..=3_600,
            "must be between 0 and 3600 seconds (known clients are kept for minutes, not hours)",
        )?);
        let kind = match self.client_directory {
            Some(k) => k,
            None if sandbox => return Ok(DirectorySettings::Sandbox { timeout, cache }),
            None => DirectoryKind::None,
        };
        let url = || {
            outbound_url("CLIENT_DIRECTORY_URL", self.client_directory_url.clone())?.ok_or_else(
                || {
                    err(
                        "CLIENT_DIRECTORY_URL",
                        "must be set when CLIENT_DIRECTORY is http or ixc",
                    )
                },
            )
        };
        let token = non_empty(self.client_directory_token.clone()).map(SecretString::from);
        Ok(match kind {
            DirectoryKind::None => DirectorySettings::Off,
            DirectoryKind::Http => DirectorySettings::Http {
                url: url()?,
                token,
                timeout,
                cache,
            },
            DirectoryKind::Ixc => DirectorySettings::Ixc {
                url: url()?,
                token: token.ok_or_else(|| {
                    err(
                        "CLIENT_DIRECTORY_TOKEN",
                        "must be set when CLIENT_DIRECTORY=ixc (the IXC user and token, user:token)",
                    )
                })?,
                timeout,
                cache,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_for_tests, parse_with_real_ozmap as parse};
    use super::*;

    #[test]
    fn the_default_is_the_sandbox_s_directory_with_the_sandbox_and_none_with_a_real_ozmap() {
        let sandbox = parse_for_tests(&[]).unwrap();
        assert!(matches!(
            sandbox.directory,
            DirectorySettings::Sandbox { .. }
        ));
        let none = parse_for_tests(&["--client-directory=none"]).unwrap();
        assert!(matches!(none.directory, DirectorySettings::Off));
        assert!(!none.call.flow.client_directory);
        let real = parse(&[]).unwrap();
        assert!(matches!(real.directory, DirectorySettings::Off));
        assert!(!real.call.flow.client_directory);
    }

    #[test]
    fn http_and_ixc_need_a_url_ixc_a_token_and_plain_http_only_to_loopback() {
        let var = |extra: &[&str]| parse(extra).expect_err("an error").var;
        assert_eq!(var(&["--client-directory=http"]), "CLIENT_DIRECTORY_URL");
        assert_eq!(
            var(&[
                "--client-directory=http",
                "--client-directory-url=http://erp.example.com"
            ]),
            "CLIENT_DIRECTORY_URL"
        );
        assert_eq!(
            var(&[
                "--client-directory=ixc",
                "--client-directory-url=https://ixc.example.com"
            ]),
            "CLIENT_DIRECTORY_TOKEN"
        );
        assert_eq!(
            var(&["--client-directory-timeout-ms=50"]),
            "CLIENT_DIRECTORY_TIMEOUT_MS"
        );
        let ok = parse(&[
            "--client-directory=http",
            "--client-directory-url=http://127.0.0.1:9/erp",
        ])
        .unwrap();
        assert!(matches!(ok.directory, DirectorySettings::Http { .. }));
        assert!(ok.call.flow.client_directory);
        // the caller is held past the budget at most the look-up's timeout, and a bit
        assert!(ok.call.flow.directory_hold_ms >= 4_000);
    }

    #[test]
    fn the_token_is_never_printed() {
        let cfg = parse(&[
            "--client-directory=ixc",
            "--client-directory-url=https://ixc.example.com",
            "--client-directory-token=42:s3cr3t-hash",
        ])
        .unwrap();
        assert!(!format!("{cfg:?}").contains("s3cr3t"));
    }
}
