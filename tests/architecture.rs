//! The architecture test: top-level modules of `src/` point one way, down the declared layers.
//!
//! It reads the sources (no compiler needed), finds every `crate::x` path outside `#[cfg(test)]`
//! modules and comments, and fails on an arrow that points up or sideways in `LAYERS` and on any
//! cycle, naming the file and line. Written small in the spirit of ArchUnit or
//! `cargo-modules --acyclic`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may name modules of lower layers only; modules of one layer
/// are peers and never name each other. A new top-level module must be placed here.
const LAYERS: &[&[&str]] = &[
    &["config"],
    &["time"],
    &["identity"],
    &["sealed"],
    &["db"],
    &["error"],
    &["audit"],
    &["auth"],
    &["web"],
    &["ledgers"],
    &["grid"],
    &["apikeys"],
    &["registry"],
    &["accounts", "cases"],
    &["volunteers", "open311", "broadcasts", "calls", "alarms", "routing"],
    &["councils", "decisions", "party", "frontage", "campaigns"],
    &["renovation", "property", "services"],
    &["stars"],
    &["command"],
    &["app", "demo"],
];

/// One `crate::` reference from a top-level module to another.
#[derive(Debug, Clone)]
struct Arrow {
    from: String,
    to: String,
    at: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules: `src/x.rs` and `src/x/`, without the crate roots.
fn top_modules() -> BTreeSet<String> {
    let mut mods = BTreeSet::new();
    for entry in std::fs::read_dir(src_dir()).expect("read src") {
        let path = entry.expect("dir entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if path.is_dir() || (path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main") {
            mods.insert(name);
        }
    }
    mods
}

/// The lines of a file that count: `#[cfg(test)]` items and `//` comments removed, numbered from 1.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skip_depth: Option<i64> = None;
    let mut pending_test = false;
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let opens = code.matches('{').count() as i64 - code.matches('}').count() as i64;
        if let Some(depth) = skip_depth.as_mut() {
            *depth += opens;
            if *depth <= 0 {
                skip_depth = None;
            }
            continue;
        }
        let trimmed = code.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        if pending_test {
            if trimmed.starts_with("#[") || trimmed.is_empty() {
                continue;
            }
            pending_test = false;
            if trimmed.ends_with(';') {
                continue; // `mod tests;` in a file of its own, which is skipped by name below
            }
            if opens > 0 {
                skip_depth = Some(opens);
            }
            continue;
        }
        out.push((i + 1, code.to_string()));
    }
    out
}

/// The module names a line refers to through `crate::x` or `crate::{x, y::z}`.
fn referenced(code: &str, mods: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `gongzhi_crate::`, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let head = part.trim().split("::").next().unwrap_or_default().trim();
                if mods.contains(head) {
                    found.push(head.to_string());
                }
            }
        } else {
            let head: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if mods.contains(&head) {
                found.push(head);
            }
        }
    }
    found
}

fn arrows() -> Vec<Arrow> {
    let mods = top_modules();
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src").to_string_lossy().replace('\\', "/");
        let from = rel.split('/').next().unwrap_or_default().trim_end_matches(".rs").to_string();
        if from == "lib" || from == "main" || rel.ends_with("/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        for (line, code) in code_lines(&text) {
            for to in referenced(&code, &mods) {
                if to != from {
                    out.push(Arrow {
                        from: from.clone(),
                        to,
                        at: format!("src/{rel}:{line}"),
                    });
                }
            }
        }
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn every_module_has_a_layer() {
    let missing: Vec<String> = top_modules().into_iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "top-level modules not placed in LAYERS (tests/architecture.rs): {missing:?}"
    );
}

#[test]
fn arrows_point_down_the_layers() {
    let mut wrong = Vec::new();
    for a in arrows() {
        let (Some(from), Some(to)) = (layer_of(&a.from), layer_of(&a.to)) else {
            continue; // reported by every_module_has_a_layer
        };
        if to >= from {
            let how = if to == from { "a peer in its own layer" } else { "a higher layer" };
            wrong.push(format!("{}: `{}` names `{}`, {how}", a.at, a.from, a.to));
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows against the layers (lower modules must not name higher ones; use a hook, an event or a plain field):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_cycles_between_top_level_modules() {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for a in arrows() {
        graph.entry(a.from.clone()).or_default().entry(a.to.clone()).or_insert(a.at.clone());
    }
    // Depth-first search; a back edge closes a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            match state.get(&next).copied().unwrap_or(0) {
                1 => {
                    let start = path.iter().position(|p| *p == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next);
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(&next, graph, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            let mut path = Vec::new();
            if let Some(cycle) = visit(node, &graph, &mut state, &mut path) {
                let steps: Vec<String> = cycle
                    .windows(2)
                    .map(|w| format!("{} -> {} at {}", w[0], w[1], graph[&w[0]][&w[1]]))
                    .collect();
                panic!("a cycle between top-level modules:\n{}", steps.join("\n"));
            }
        }
    }
}

/// The scanner itself: a test module, a comment and a grouped import are read as they should be.
#[test]
fn the_scanner_reads_paths_groups_and_skips_tests() {
    let mods: BTreeSet<String> = ["grid", "cases", "web"].iter().map(|s| s.to_string()).collect();
    assert_eq!(referenced("use crate::{grid::store, web};", &mods), vec!["grid", "web"]);
    assert_eq!(referenced("let x = crate::cases::store::get(db);", &mods), vec!["cases"]);
    assert!(referenced("use crate::db::Db;", &mods).is_empty());
    let text = "use crate::grid;\n// crate::web in a comment\n#[cfg(test)]\nmod tests {\n    use crate::cases;\n    fn f() { }\n}\nuse crate::web;\n";
    let seen: Vec<(usize, Vec<String>)> = code_lines(text)
        .into_iter()
        .map(|(n, l)| (n, referenced(&l, &mods)))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    assert_eq!(seen, vec![(1, vec!["grid".to_string()]), (8, vec!["web".to_string()])]);
}
