//! The layers of `src/`, checked: a top-level module may import only modules
//! of its own layer or lower ones, and no two top-level modules may import
//! each other, directly or round a circle.
//!
//! The layers, bottom to top, are written at the top of `src/lib.rs`; this
//! test holds the same table. It reads every `src/**/*.rs`, collects the
//! `crate::…` paths (in `use` lines, in expressions and in doc links) outside
//! `#[cfg(test)] mod tests` blocks (a unit test may reach anywhere), and
//! reports each import that points up and each cycle.
//!
//! `LAYERING_SRC=/path/to/src cargo test --test layering` checks another
//! tree (for example an older checkout) with the same rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A module not in the table fails the test: a new
/// top-level module must be given its place.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "shared helpers",
        &[
            "clock",
            "net",
            "problem",
            "alert",
            "alloc_count",
            "password",
            "systemd",
            "store",
            "durable",
            "shutdown",
            "spool",
        ],
    ),
    ("protocol cores", &["sdp", "docs", "fax", "numbering"]),
    (
        "services",
        &[
            "ata",
            "routing",
            "sip",
            "media",
            "mail",
            "smtp",
            "bridge",
            "compliance",
            "queue",
            "intake",
            "reception",
            "retention",
        ],
    ),
    ("web", &["web"]),
    ("daemon", &["config", "daemon"]),
    ("tools and CLI", &["tools", "bench", "fuzzing"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// Every top-level module of `src` (files and folders, without `lib.rs` and
/// `main.rs`).
fn top_modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
            (module != "lib" && module != "main").then_some(module)
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a file without its `#[cfg(test)] mod tests { … }` block (by
/// convention the last item of a file).
fn without_unit_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// The top-level modules a piece of source names through `crate::`.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::X, b, c::{…}}`: the first name of each item.
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        found.insert(ident(&group[j..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| modules.contains(m));
    found
}

/// Import edges between top-level modules, each with one file that makes it.
fn edges(src: &Path) -> BTreeMap<(String, String), PathBuf> {
    let modules = top_modules(src);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel.components().next().unwrap().as_os_str();
        let first = first.to_str().unwrap();
        let from = first.strip_suffix(".rs").unwrap_or(first).to_string();
        if !modules.contains(&from) {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        for to in imports(without_unit_tests(&text), &modules) {
            if to != from {
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| rel.to_path_buf());
            }
        }
    }
    edges
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<(String, String), PathBuf>) -> Vec<Vec<String>> {
    struct Search<'a> {
        next: BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.next.get(v).cloned().unwrap_or_default() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = self.stack.pop().unwrap();
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut search = Search {
        next: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for (from, to) in edges.keys() {
        search.next.entry(from).or_default().push(to);
        search.next.entry(to).or_default();
    }
    let nodes: Vec<&str> = search.next.keys().copied().collect();
    for v in nodes {
        if !search.index.contains_key(v) {
            search.visit(v);
        }
    }
    search.found
}

/// Everything wrong with the tree at `src`, one line each.
fn problems(src: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for module in top_modules(src) {
        if layer_of(&module).is_none() {
            out.push(format!(
                "src/{module}: not in the layer table of tests/layering.rs and src/lib.rs"
            ));
        }
    }
    let edges = edges(src);
    for ((from, to), file) in &edges {
        if let (Some(a), Some(b)) = (layer_of(from), layer_of(to))
            && b > a
        {
            out.push(format!(
                "{from} ({}) imports {to} ({}), a higher layer, in src/{}",
                LAYERS[a].0,
                LAYERS[b].0,
                file.display()
            ));
        }
    }
    for cycle in cycles(&edges) {
        let links: Vec<String> = edges
            .iter()
            .filter(|((f, t), _)| cycle.contains(f) && cycle.contains(t))
            .map(|((f, t), file)| format!("{f} -> {t} (src/{})", file.display()))
            .collect();
        out.push(format!(
            "cycle between {}: {}",
            cycle.join(", "),
            links.join("; ")
        ));
    }
    out
}

#[test]
fn modules_import_only_their_own_layer_or_lower_and_never_in_a_circle() {
    let src = std::env::var_os("LAYERING_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let problems = problems(&src);
    assert!(
        problems.is_empty(),
        "{} layering problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_layer_table_is_the_one_written_in_lib_rs() {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    // Each layer is one bullet `//! - **name**: …`, continued on the lines below.
    let mut bullets: Vec<String> = Vec::new();
    for line in lib.lines().filter_map(|l| l.strip_prefix("//!")) {
        if let Some(item) = line.strip_prefix(" - ") {
            bullets.push(item.to_string());
        } else if let (Some(last), Some(more)) = (bullets.last_mut(), line.strip_prefix("   ")) {
            last.push(' ');
            last.push_str(more.trim());
        } else if line.trim().is_empty() || !line.starts_with("   ") {
            bullets.push(String::new());
        }
    }
    for (name, modules) in LAYERS {
        let bullet = bullets
            .iter()
            .find(|b| b.starts_with(&format!("**{name}**")))
            .unwrap_or_else(|| panic!("src/lib.rs does not describe the layer {name:?}"));
        for m in *modules {
            assert!(
                bullet.contains(&format!("`{m}`")),
                "src/lib.rs puts `{m}` outside the layer {name:?}: {bullet}"
            );
        }
    }
}

#[test]
fn the_checker_sees_upward_imports_groups_and_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::create_dir(src.join("sip")).unwrap();
    fs::write(
        src.join("lib.rs"),
        "pub mod clock;\npub mod sip;\npub mod web;\n",
    )
    .unwrap();
    // A helper that reaches up into a service through a `use` group, and a
    // service that reaches into the web layer in a doc link.
    fs::write(src.join("clock.rs"), "use crate::{net::X, sip::{a, b}};\n").unwrap();
    fs::write(src.join("net.rs"), "").unwrap();
    fs::write(src.join("sip/mod.rs"), "//! See [`crate::web`].\n").unwrap();
    fs::write(
        src.join("web.rs"),
        "use crate::sip;\n#[cfg(test)]\nmod tests {\n    use crate::daemon;\n}\n",
    )
    .unwrap();
    let found = problems(src);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("clock (shared helpers) imports sip (services)")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("sip (services) imports web (web)")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("cycle between sip, web")),
        "{found:?}"
    );
    // `clock -> net` is within its layer; unit tests may reach anywhere.
    assert_eq!(found.len(), 3, "{found:?}");
}
