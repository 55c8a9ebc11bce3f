//! The Debian package's files that can be checked without building it (the
//! package itself is built, installed and removed by `scripts/check-deb.sh`):
//! the environment file is README's configuration table, and the unit runs
//! what the package installs with that file.
//!
//! `debian/ozmap-ivr.env` is generated from README.md's table here:
//! `UPDATE_DEB_ENV=1 cargo test --test it package` rewrites it.

use std::path::Path;

const ENV_FILE: &str = "debian/ozmap-ivr.env";

/// The values the package sets (the rest is commented out: the defaults).
const PACKAGE_VALUES: &[(&str, &str, &str)] = &[(
    "IVR_DATABASE_URL",
    "sqlite:///var/lib/ozmap-ivr/ozmap-ivr.db",
    "SQLite in the service's StateDirectory",
)];

const HEADER: &str = "\
# /etc/ozmap-ivr/ozmap-ivr.env: the configuration of the ozmap-ivr service.
# systemd reads it (EnvironmentFile=), so does `ozmap-ivr check` when started as
#   sudo -u ozmap-ivr sh -c 'set -a; . /etc/ozmap-ivr/ozmap-ivr.env; ozmap-ivr check'
# One VAR=value a line; quote a value with spaces (\"seg-sex 08:00-18:00\").
# A commented-out variable takes its default. It holds secrets: root:ozmap-ivr 0640.
# A conffile: an upgrade keeps your edits, `apt purge` removes it.
# Generated from README.md's configuration table (tests/it/package.rs).
";

/// README's configuration table: (variables, default, meaning) per row.
fn readme_table() -> Vec<(Vec<String>, String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.starts_with("| Variable | Default | Meaning |"))
        .skip(2);
    let mut rows = Vec::new();
    for line in lines.by_ref() {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 3, "README table row: {line}");
        let vars = cells[0]
            .split(',')
            .map(|v| v.trim().trim_matches('`').to_string())
            .collect::<Vec<_>>();
        for v in &vars {
            assert!(
                !v.is_empty() && v.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "not a variable name in README's table: {v:?}"
            );
        }
        rows.push((vars, cells[1].to_string(), cells[2].to_string()));
    }
    assert!(rows.len() > 40, "README's configuration table not found");
    rows
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `text` in comment lines of at most 80 columns, each starting with `prefix`.
fn wrap(prefix: &str, text: &str, out: &mut String) {
    let mut line = String::from(prefix);
    for word in text.split_whitespace() {
        if line.len() > prefix.len() && line.len() + 1 + word.len() > 80 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(prefix);
        }
        if line.len() > prefix.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn expected_env_file() -> String {
    let mut out = String::from(HEADER);
    for (vars, default, meaning) in readme_table() {
        out.push('\n');
        wrap("# ", &format!("{}: {meaning}", vars.join(", ")), &mut out);
        wrap("#   ", &format!("Default: {default}."), &mut out);
        for var in &vars {
            match PACKAGE_VALUES.iter().find(|(v, _, _)| v == var) {
                Some((_, value, why)) => {
                    wrap("#   ", &format!("Set by the package: {why}."), &mut out);
                    out.push_str(&format!("{var}={value}\n"));
                }
                None => out.push_str(&format!("#{var}=\n")),
            }
        }
    }
    out
}

#[test]
fn the_environment_file_is_readmes_configuration_table() {
    let expected = expected_env_file();
    let path = root().join(ENV_FILE);
    if std::env::var_os("UPDATE_DEB_ENV").is_some() {
        std::fs::write(&path, &expected).expect("write the env file");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{ENV_FILE} differs from README's configuration table: regenerate it with \
         `UPDATE_DEB_ENV=1 cargo test --test it package`"
    );
    // Every variable appears once, commented out or set.
    for (vars, _, _) in readme_table() {
        for var in vars {
            let lines = actual
                .lines()
                .filter(|l| l.trim_start_matches('#').starts_with(&format!("{var}=")))
                .count();
            assert_eq!(lines, 1, "{var} in {ENV_FILE}");
        }
    }
}

/// Whatever `serve` reads from the environment is in the table, so in the file.
#[test]
fn every_variable_serve_reads_is_in_the_environment_file() {
    let help = std::process::Command::new(crate::BIN)
        .args(["serve", "--help"])
        .output()
        .expect("serve --help");
    let help = String::from_utf8_lossy(&help.stdout);
    let env_file = std::fs::read_to_string(root().join(ENV_FILE)).expect("env file");
    let mut seen = 0;
    for var in help
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next().map(str::to_string))
    {
        seen += 1;
        assert!(
            env_file.contains(&format!("#{var}=\n")) || env_file.contains(&format!("\n{var}=")),
            "{var} (serve --help) is not in {ENV_FILE}: add it to README's configuration table"
        );
    }
    assert!(seen > 40, "serve --help lists its variables ({seen} seen)");
}

/// The unit starts the installed binary with the packaged env file, as the
/// system user, in its state directory, and where the database is by default.
#[test]
fn the_unit_runs_the_packaged_binary_with_the_packaged_environment() {
    let unit = std::fs::read_to_string(root().join("debian/ozmap-ivr.service")).expect("unit");
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    for line in [
        "ExecStart=/usr/bin/ozmap-ivr serve",
        "EnvironmentFile=/etc/ozmap-ivr/ozmap-ivr.env",
        "User=ozmap-ivr",
        "StateDirectory=ozmap-ivr",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
    ] {
        assert!(unit.lines().any(|l| l == line), "unit lacks {line}");
    }
    for asset in [
        "\"usr/bin/\"",
        "\"lib/systemd/system/ozmap-ivr.service\"",
        "\"etc/ozmap-ivr/ozmap-ivr.env\"",
    ] {
        assert!(
            cargo.contains(asset),
            "Cargo.toml's deb assets lack {asset}"
        );
    }
    let env_file = std::fs::read_to_string(root().join(ENV_FILE)).expect("env file");
    assert!(env_file.contains("\nIVR_DATABASE_URL=sqlite:///var/lib/ozmap-ivr/"));
    // The stop timeout outlasts the longest worker grace (60 s) and the server's 10 s.
    let stop = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim_end_matches('s').parse::<u64>().ok())
        .expect("TimeoutStopSec=<n>s");
    assert!(
        stop > 60,
        "TimeoutStopSec={stop}s is shorter than the worker's longest grace"
    );
}
