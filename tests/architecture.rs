//! The service's modules depend on each other one way: no cycle among the
//! top-level modules of `src/`, and the session engine knows no channel. The
//! crate docs' tour (`src/lib.rs`) states the arrows; this keeps them.
//!
//! An arrow `a -> b` is any `crate::b` path in a file of module `a` (code and
//! its unit tests alike; comment lines are left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None`: the crate root).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut g = Graph::new();
    for file in &all {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a source file");
        let arrows = g.entry(from.clone()).or_default();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                // `crate::` preceded by an identifier character is another crate's path
                // (`ozmap_crate::`); none here, but be exact.
                if line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &line[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != from && name.chars().all(|c| !c.is_uppercase()) {
                    arrows.insert(name);
                }
            }
        }
    }
    // Only arrows to modules (a re-export at the root, `crate::Store`, is not one).
    let modules: BTreeSet<String> = g.keys().cloned().collect();
    for arrows in g.values_mut() {
        arrows.retain(|m| modules.contains(m));
    }
    g
}

/// A cycle through `start`, if there is one.
fn cycle_through(g: &Graph, start: &str) -> Option<Vec<String>> {
    fn walk(
        g: &Graph,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in g.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(g, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    walk(g, start, start, &mut path, &mut seen).then(|| {
        path.push(start.to_string());
        path
    })
}

#[test]
fn no_cycle_among_the_service_s_modules() {
    let g = graph();
    assert!(g.len() > 10, "the modules of src/ were found: {g:?}");
    let cycles: Vec<String> = g
        .keys()
        .filter_map(|m| cycle_through(&g, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_session_engine_knows_no_channel_and_configuration_builds_nothing() {
    let g = graph();
    let engine = &g["engine"];
    for channel in ["http", "whatsapp", "app", "sms"] {
        assert!(!engine.contains(channel), "engine -> {channel}: {engine:?}");
    }
    // Configuration is read by the composition, never the other way.
    let config = &g["config"];
    for composer in ["app", "http", "whatsapp", "engine", "admin", "in_process"] {
        assert!(
            !config.contains(composer),
            "config -> {composer}: {config:?}"
        );
    }
}
