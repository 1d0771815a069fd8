//! The architecture invariants of `ARCHITECTURE.md`, checked against the workspace itself: which
//! crate may depend on which (the dependency arrows only point down), which crates may use the
//! HTTP, peer-to-peer and storage stacks, which files may import axum or name a column family, and
//! the licences of every dependency. A change that breaks one fails here, not in review.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's crates, bottom layer first, each with the workspace crates it may depend on
/// (normal and build dependencies; tests and benchmarks may use more).
const LAYERS: &[(&str, &[&str])] = &[
    ("zkcustoms-circuits", &[]),
    ("zkcustoms-verifier", &["zkcustoms-circuits"]),
    ("zkcustoms-http", &[]),
    (
        "zkcustoms-ledger-types",
        &["zkcustoms-circuits", "zkcustoms-verifier"],
    ),
    (
        "zkcustoms-ledger-core",
        &[
            "zkcustoms-circuits",
            "zkcustoms-verifier",
            "zkcustoms-ledger-types",
        ],
    ),
    (
        "zkcustoms-documents",
        &["zkcustoms-ledger-types", "zkcustoms-ledger-core"],
    ),
    ("zkcustoms-ledger-client", &["zkcustoms-ledger-types"]),
    (
        "zkcustoms-ledger-http",
        &[
            "zkcustoms-circuits",
            "zkcustoms-verifier",
            "zkcustoms-ledger-types",
            "zkcustoms-ledger-core",
            "zkcustoms-documents",
            "zkcustoms-http",
        ],
    ),
    (
        "zkcustoms-node",
        &[
            "zkcustoms-circuits",
            "zkcustoms-verifier",
            "zkcustoms-ledger-types",
            "zkcustoms-ledger-core",
            "zkcustoms-documents",
            "zkcustoms-ledger-http",
            "zkcustoms-http",
        ],
    ),
    (
        "zkcustoms-audit",
        &[
            "zkcustoms-circuits",
            "zkcustoms-verifier",
            "zkcustoms-ledger-types",
            "zkcustoms-ledger-core",
            "zkcustoms-ledger-client",
        ],
    ),
    (
        "zkcustoms-ceremony",
        &["zkcustoms-circuits", "zkcustoms-verifier"],
    ),
    (
        "zkcustoms-prover",
        &[
            "zkcustoms-circuits",
            "zkcustoms-verifier",
            "zkcustoms-http",
            "zkcustoms-ledger-client",
        ],
    ),
];

/// The crates at the top, which may use any other: the binary, the benchmarks and the fuzz
/// targets.
const TOP: &[&str] = &["zkcustoms", "zkcustoms-benches", "zkcustoms-fuzz"];

/// Crates that only the named workspace crates may depend on directly (the crates of [`TOP`] may
/// use anything).
const WRAPPED: &[(&str, &[&str])] = &[
    // The web stack: the toolkit, the two HTTP layers, and nothing below them.
    (
        "axum",
        &[
            "zkcustoms-http",
            "zkcustoms-ledger-http",
            "zkcustoms-prover",
        ],
    ),
    (
        "tower",
        &[
            "zkcustoms-http",
            "zkcustoms-ledger-http",
            "zkcustoms-prover",
        ],
    ),
    (
        "tower-http",
        &[
            "zkcustoms-http",
            "zkcustoms-ledger-http",
            "zkcustoms-prover",
        ],
    ),
    // The HTTP server below axum: only the toolkit serves connections.
    ("hyper", &["zkcustoms-http"]),
    ("hyper-util", &["zkcustoms-http"]),
    ("maud", &["zkcustoms-ledger-http"]),
    (
        "prometheus-client",
        &[
            "zkcustoms-http",
            "zkcustoms-ledger-core",
            "zkcustoms-prover",
        ],
    ),
    // Peer-to-peer networking and the consensus runtime belong to the node.
    ("commonware-p2p", &["zkcustoms-node"]),
    ("commonware-runtime", &["zkcustoms-node"]),
    ("commonware-actor", &["zkcustoms-node"]),
    // The database: the ledger's store and the document store.
    ("rocksdb", &["zkcustoms-ledger-core", "zkcustoms-documents"]),
    // Fault injection, behind the document store's test feature.
    ("fail", &["zkcustoms-documents"]),
    // Outgoing HTTP: the one typed client.
    ("ureq", &["zkcustoms-ledger-client"]),
];

/// Licences every dependency must offer (one of the alternatives of its SPDX expression).
const LICENCES: &[&str] = &[
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "MIT",
    "MIT-0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "CC0-1.0",
    "Unlicense",
    "BSL-1.0",
    "0BSD",
    "CDLA-Permissive-2.0",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn metadata(no_deps: bool) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    // Only this machine's platform: the packages of other targets may not be downloaded, and
    // the check runs offline.
    let host = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    cmd.args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(root());
    if no_deps {
        cmd.arg("--no-deps");
    }
    let out = cmd.output().expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Each workspace crate's direct normal and build dependencies, by name.
fn direct_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let meta = metadata(true);
    let mut deps = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        let names = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].as_str() != Some("dev"))
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect();
        deps.insert(p["name"].as_str().unwrap().to_owned(), names);
    }
    deps
}

#[test]
fn workspace_dependencies_point_down_only() {
    let deps = direct_dependencies();
    let layered: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (krate, names) in &deps {
        if TOP.contains(&krate.as_str()) {
            continue;
        }
        let allowed = layered
            .get(krate.as_str())
            .unwrap_or_else(|| panic!("{krate} is not placed in a layer of tests/architecture.rs"));
        for d in names.iter().filter(|d| d.starts_with("zkcustoms")) {
            if !allowed.contains(&d.as_str()) {
                wrong.push(format!("{krate} depends on {d}"));
            }
        }
    }
    for (krate, names) in &deps {
        if names.contains("zkcustoms") {
            wrong.push(format!("{krate} depends on the binary crate"));
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies against the layering: {wrong:?}"
    );
}

#[test]
fn web_network_and_storage_stacks_stay_in_their_crates() {
    let deps = direct_dependencies();
    let mut wrong = Vec::new();
    for (krate, names) in &deps {
        if TOP.contains(&krate.as_str()) {
            continue;
        }
        for (banned, wrappers) in WRAPPED {
            if names.contains(*banned) && !wrappers.contains(&krate.as_str()) {
                wrong.push(format!("{krate} depends on {banned}"));
            }
        }
    }
    assert!(wrong.is_empty(), "crates outside their layer: {wrong:?}");
}

/// The Rust files under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn only_the_provers_http_module_imports_axum() {
    let src = root().join("prover/src");
    let allowed = src.join("service/http.rs");
    let offenders: Vec<_> = rust_files(&src)
        .into_iter()
        .filter(|f| *f != allowed)
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.contains("axum::") || text.contains("tower::") || text.contains("tower_http::")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "axum outside the HTTP module: {offenders:?}"
    );
}

#[test]
fn http_layer_never_names_a_column_family() {
    // Reads go through the core's queries; the HTTP crate knows no schema, prefix or CF name.
    let schema_words = [
        "scan_prefix",
        "last_with_prefix",
        "records_prefix",
        "roots_prefix",
        "documents_prefix",
        "::CF",
        "COLUMN_FAMILIES",
        "rocksdb",
    ];
    let mut offenders = Vec::new();
    for f in rust_files(&root().join("ledger/http/src")) {
        let text = std::fs::read_to_string(&f).unwrap();
        for w in schema_words {
            if text.contains(w) {
                offenders.push(format!("{} names {w}", f.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// A source file without its unit tests: a test module declared out of line
/// (`#[cfg(test)] mod tests;`) is skipped, and one written inline at the top level
/// (`#[cfg(test)] mod tests {`) ends the production code, as it ends the file.
fn production_part(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "#[cfg(test)]" {
            let next = lines.peek().map_or("", |l| l.trim_end());
            let declaration = next.strip_prefix("pub(crate) ").unwrap_or(next);
            if declaration.starts_with("mod ") && declaration.ends_with(';') {
                lines.next();
                continue;
            }
            if declaration.starts_with("mod ") && declaration.ends_with('{') {
                break;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn production_part_skips_only_unit_tests() {
    let text = "a\n#[cfg(test)]\nmod tests;\nb\n#[cfg(test)]\nfn helper() {}\nc\n#[cfg(test)]\nmod tests {\nd\n}\n";
    assert_eq!(
        production_part(text),
        "a\nb\n#[cfg(test)]\nfn helper() {}\nc\n"
    );
}

#[test]
fn no_production_file_passes_800_lines() {
    let mut long = Vec::new();
    for dir in [
        "circuits", "verifier", "http", "prover", "ceremony", "ledger", "src",
    ] {
        for f in rust_files(&root().join(dir)) {
            if !f.components().any(|c| c.as_os_str() == "src") {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let lines = production_part(&text).lines().count();
            if lines > 800 {
                long.push(format!("{} ({lines} lines)", f.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these by concern: {long:?}");
}

/// Whether an SPDX expression offers one of the allowed licences (`A OR B`, `A AND B`, brackets,
/// and the old `A/B` for OR).
fn licence_ok(expr: &str) -> bool {
    fn alternatives(expr: &str) -> Vec<String> {
        // Split at top-level OR.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        let bytes = expr.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0 && expr[i..].starts_with(" OR ") => {
                    parts.push(expr[start..i].to_owned());
                    start = i + 4;
                    i += 3;
                }
                _ => {}
            }
            i += 1;
        }
        parts.push(expr[start..].to_owned());
        parts
    }
    fn ok(expr: &str) -> bool {
        let expr = expr.trim();
        if expr.starts_with('(') && expr.ends_with(')') && alternatives(expr).len() == 1 {
            let inner = &expr[1..expr.len() - 1];
            if inner.matches('(').count() == inner.matches(')').count() {
                return ok(inner);
            }
        }
        let alts = alternatives(expr);
        if alts.len() > 1 {
            return alts.iter().any(|a| ok(a));
        }
        if expr.contains(" AND ") {
            return expr.split(" AND ").all(ok);
        }
        if expr.contains('/') {
            return expr.split('/').any(ok);
        }
        LICENCES.contains(&expr)
    }
    ok(expr)
}

#[test]
fn every_dependency_has_an_allowed_licence() {
    assert!(licence_ok("MIT OR Apache-2.0"));
    assert!(licence_ok("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(!licence_ok("GPL-3.0"));
    assert!(!licence_ok("MIT AND GPL-3.0"));
    let meta = metadata(false);
    let mut refused = Vec::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        match p["license"].as_str() {
            Some(l) if licence_ok(l) => {}
            Some(l) => refused.push(format!("{name}: {l}")),
            None => refused.push(format!("{name}: no licence field")),
        }
    }
    assert!(
        refused.is_empty(),
        "dependencies without an allowed licence: {refused:?}"
    );
}

/// The top-level modules of a crate's `src/` and, for each, the other top-level modules its
/// production code names with `crate::`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let files = if path.is_dir() {
            rust_files(&path)
        } else if path.extension().is_some_and(|e| e == "rs") {
            vec![path.clone()]
        } else {
            continue;
        };
        let text = modules.entry(name).or_default();
        for f in files {
            let body = std::fs::read_to_string(f).unwrap();
            let production = production_part(&body);
            // Comments (doc links included) name modules without importing them.
            for line in production
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
            {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(m, text)| {
            let uses = names
                .iter()
                .filter(|other| *other != m)
                .filter(|other| {
                    let pat = format!("crate::{other}");
                    text.match_indices(&pat).any(|(i, _)| {
                        let next = text[i + pat.len()..].chars().next();
                        !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    })
                })
                .cloned()
                .collect();
            (m.clone(), uses)
        })
        .collect()
}

/// A cycle in a graph, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_cycle_between_the_modules_of_a_crate() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert!(find_cycle(&graph).is_some(), "the check finds a cycle");
    let crates = [
        "circuits",
        "verifier",
        "http",
        "prover",
        "ceremony",
        "ledger/types",
        "ledger/core",
        "ledger/documents",
        "ledger/client",
        "ledger/http",
        "ledger/node",
        "ledger/audit",
        ".",
    ];
    let mut cycles = Vec::new();
    for krate in crates {
        let src = root().join(krate).join("src");
        if let Some(cycle) = find_cycle(&module_graph(&src)) {
            cycles.push(format!("{krate}: {}", cycle.join(" -> ")));
        }
    }
    assert!(cycles.is_empty(), "import cycles: {cycles:?}");
}
