//! The layering rule, checked: every `crate::` path under `app/src` must point down (or
//! sideways within its own module). The table below is the README's "Layout" section; when one
//! changes, the other must.
//!
//! Floors, lowest first:
//! - base (`domain`, `error`): both targets, import nothing of ours;
//! - infrastructure (`ssr`): server-only plumbing, imports only base;
//! - shared services (`auth`, `layout`, `audit`, `ai`, `crm`, `import`, `alerts`, `jobs`, `live`): used by every feature, each
//!   importing only the ones listed for it;
//! - features (`contacts`, `customers`, `analyses`, `pipeline`, `models`, `dashboard`, `team`): import any floor below,
//!   never each other;
//! - the root (`lib.rs`, `state.rs`): composes the features and may import anything. Nothing
//!   imports it.
use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

const BASE: &[&str] = &["domain", "error"];

/// Each module and the modules of ours it may use (besides itself).
fn allowed() -> BTreeMap<&'static str, Vec<&'static str>> {
    let with_base =
        |more: &[&'static str]| -> Vec<&'static str> { BASE.iter().chain(more).copied().collect() };
    let shared = [
        "ssr", "auth", "layout", "audit", "ai", "crm", "import", "alerts", "jobs", "live",
    ];
    let mut m = BTreeMap::new();
    m.insert("domain", vec![]);
    m.insert("error", vec![]);
    m.insert("ssr", with_base(&[]));
    m.insert("auth", with_base(&["ssr"]));
    m.insert("layout", with_base(&["auth"]));
    m.insert("audit", with_base(&["ssr", "auth", "layout"]));
    m.insert("ai", with_base(&["ssr", "auth", "layout"]));
    m.insert("crm", with_base(&["ssr"]));
    m.insert("import", with_base(&["ssr", "auth", "layout"]));
    m.insert("live", with_base(&["ssr", "auth"]));
    m.insert("alerts", with_base(&["ssr", "auth", "layout", "live"]));
    m.insert("jobs", with_base(&["ssr", "auth", "layout"]));
    for feature in [
        "contacts",
        "customers",
        "analyses",
        "pipeline",
        "models",
        "dashboard",
        "team",
    ] {
        m.insert(feature, with_base(&shared));
    }
    m
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Drops comments and string literals, so prose that mentions `crate::x` does not count.
fn code_only(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // raw string r#"..."# / r"..."
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(b[i] as char);
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // a char literal like '{' or '"'
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The first-level modules a file reaches through `crate::`, including `use crate::{a, b::c}`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            // Top-level names inside the (possibly nested) group.
            let mut depth = 1;
            let mut start_of_item = true;
            let mut name = String::new();
            for c in group.chars() {
                let ident = c.is_alphanumeric() || c == '_';
                if depth == 1 && start_of_item && ident {
                    name.push(c);
                    continue;
                }
                if !name.is_empty() {
                    found.insert(std::mem::take(&mut name));
                    start_of_item = false;
                }
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => start_of_item = true,
                    _ => {}
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn every_module_imports_only_what_its_floor_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 40,
        "found only {} files under {src:?}",
        files.len()
    );
    let allowed = allowed();
    let mut problems = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "state" {
            continue; // the root composes everything
        }
        let Some(may) = allowed.get(top.as_str()) else {
            problems.push(format!(
                "{}: module `{top}` is not in the layering table",
                rel.display()
            ));
            continue;
        };
        let code = code_only(&fs::read_to_string(file).expect("readable"));
        for used in crate_modules(&code) {
            if used == top || may.contains(&used.as_str()) {
                continue;
            }
            problems.push(format!(
                "{}: `{top}` must not use `crate::{used}`",
                rel.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_inline_paths_and_ignores_prose() {
    let code = code_only(
        "use crate::{a::x, b::{y, z}, c};\n// crate::hidden\nlet s = \"crate::quoted\";\nfn f() { crate::d::g(); }",
    );
    let found: Vec<String> = crate_modules(&code).into_iter().collect();
    assert_eq!(found, ["a", "b", "c", "d"]);
}

#[test]
fn a_feature_importing_another_feature_is_caught() {
    let allowed = allowed();
    let contacts = &allowed["contacts"];
    assert!(!contacts.contains(&"analyses"));
    assert!(!allowed["ssr"]
        .iter()
        .any(|m| ["pipeline", "ai", "analyses"].contains(m)));
    assert!(contacts.contains(&"crm"));
}
