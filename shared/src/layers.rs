//! The layering of `lib.rs`, checked: no module imports a module of a layer above its own, and the
//! modules (`layer::module`) import each other without cycles. Every `crate::` path and every
//! `super::` path of every source file counts, `use` trees expanded; a macro's `$crate::` paths
//! belong to where it expands and are counted there (`endpoints.rs` imports what its table names).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top first.
const LAYERS: [&str; 4] = ["adapter", "rules", "effects", "domain"];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file: `rules/stage/mod.rs` → `[rules, stage]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().to_string()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Removes comments, string and char literals, so that only code is read (line breaks kept).
fn code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !chars[i.saturating_sub(1)].is_alphanumeric()
        {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            i += 2 + hashes;
            let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            while i < chars.len() && !chars[i..].iter().collect::<String>().starts_with(&close) {
                i += 1;
            }
            i += close.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3; // a char literal such as '"' (lifetimes have no closing quote)
        } else if c == '\'' && next == Some('\\') {
            i += chars[i + 2..]
                .iter()
                .position(|c| *c == '\'')
                .map_or(chars.len(), |p| p + 3);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree.find('{') {
        None => {
            for part in tree.split(',') {
                let part = part.trim().split(" as ").next().unwrap().trim();
                if !part.is_empty() {
                    out.push(format!("{prefix}{part}"));
                }
            }
        }
        Some(open) => {
            let head = &tree[..open];
            let inner = &tree[open + 1..tree.rfind('}').unwrap()];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&format!("{prefix}{head}"), &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&format!("{prefix}{head}"), &inner[start..], out);
        }
    }
}

/// Every path a file names, absolute (`crate::…`), `super::` paths resolved against `module`.
fn paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut raw = Vec::new();
    for stmt in code.split(';') {
        let at = stmt
            .match_indices("use ")
            .map(|(i, _)| i)
            .find(|&i| i == 0 || !stmt.as_bytes()[i - 1].is_ascii_alphanumeric() && stmt.as_bytes()[i - 1] != b'_');
        if let Some(i) = at {
            let tree: String = stmt[i + 4..].split_whitespace().collect::<Vec<_>>().join(" ");
            if tree.starts_with("crate::") || tree.starts_with("super::") || tree.starts_with('{') {
                expand("", &tree, &mut raw);
            }
        }
    }
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("crate::").chain(code.match_indices("super::")) {
        if i > 0 && (bytes[i - 1] == b'$' || bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            continue;
        }
        let end = code[i..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(code.len(), |e| i + e);
        raw.push(code[i..end].to_string());
    }
    raw.into_iter()
        .filter_map(|p| {
            let mut segs: Vec<&str> = p.split("::").filter(|s| !s.is_empty()).collect();
            let mut base: Vec<String> = match segs.first() {
                Some(&"crate") => {
                    segs.remove(0);
                    Vec::new()
                }
                Some(&"super") => module.to_vec(),
                _ => return None,
            };
            while segs.first() == Some(&"super") {
                segs.remove(0);
                base.pop();
            }
            base.extend(segs.into_iter().map(str::to_string));
            Some(base)
        })
        .collect()
}

/// `layer::module` of a module path (the layer's own `mod.rs` is `layer::`).
fn unit(path: &[String]) -> Option<(String, String)> {
    let layer = path.first()?;
    rank(layer)?;
    Some((layer.clone(), path.get(1).cloned().unwrap_or_default()))
}

#[test]
fn layers_import_downwards_and_modules_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<(String, String), BTreeSet<(String, String)>> = BTreeMap::new();
    let mut wrong = BTreeSet::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(from) = unit(&module) else { continue };
        let text = code(&std::fs::read_to_string(file).unwrap());
        for path in paths(&text, &module) {
            let Some(to) = unit(&path) else { continue };
            if rank(&to.0) < rank(&from.0) {
                wrong.insert(format!(
                    "{} imports {} (layer `{}` is above `{}`)",
                    file.strip_prefix(&src).unwrap().display(),
                    path.join("::"),
                    to.0,
                    from.0
                ));
            }
            if to != from && !to.1.is_empty() {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    let wrong: Vec<String> = wrong.into_iter().collect();
    assert!(
        wrong.is_empty(),
        "imports against the layers of lib.rs:\n{}",
        wrong.join("\n")
    );
    // A depth-first search for a back edge names one cycle.
    fn visit(
        n: &(String, String),
        graph: &BTreeMap<(String, String), BTreeSet<(String, String)>>,
        stack: &mut Vec<(String, String)>,
        done: &mut BTreeSet<(String, String)>,
    ) -> Option<Vec<(String, String)>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            return Some(stack[i..].to_vec());
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.clone());
        for next in graph.get(n).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(n.clone());
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(cycle) = visit(n, &graph, &mut Vec::new(), &mut done) {
            let names: Vec<String> = cycle.iter().map(|(l, m)| format!("{l}::{m}")).collect();
            panic!("modules import each other in a cycle: {} -> (back)", names.join(" -> "));
        }
    }
}

#[test]
fn the_reader_expands_use_trees_and_resolves_super() {
    let module = vec!["rules".to_string(), "stage".to_string(), "requests".to_string()];
    let found = paths(
        &code("use super::super::access::{self, Need};\nuse crate::domain::{ids::X, keys};\nlet _ = crate::effects::store::Refusal::A; // crate::adapter"),
        &module,
    );
    let joined: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert!(joined.contains(&"rules::access::self".to_string()), "{joined:?}");
    assert!(joined.contains(&"domain::ids::X".to_string()) && joined.contains(&"domain::keys".to_string()));
    assert!(joined.contains(&"effects::store::Refusal::A".to_string()));
    assert!(
        !joined.iter().any(|p| p.starts_with("adapter")),
        "comments are not code"
    );
}
