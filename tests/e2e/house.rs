//! The shape of the house, checked: no file too long to walk through, no import cycle
//! between modules, so that every module can be read on top of the ones below it, and
//! keychain items named only where they are kept.
//!
//! The import check reads every `crate::`, `super::` and `self::` path of each crate
//! (`src/`, and the front door's `crates/front/src/`, which cannot import the main crate
//! back), in `use` lines, with their `{…}` trees, and inline, such as
//! `crate::error::clip(…)`;
//! it resolves each to the file that defines the module it names, and looks for cycles at
//! two levels: between the crate's top-level modules (`config`, `store`, `error`, …), and
//! between sibling files of one directory module (`store/backend.rs`,
//! `store/kernel_store.rs`). A parent module may use its own children (it declares and
//! re-exports them), and a child its parent: those edges are structure, not layering.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source roots of the workspace's crates: the main crate and the front door's.
const CRATES: [&str; 2] = ["src", "crates/front/src"];

/// The longest a source file may grow before it is split by job.
const MAX_LINES: usize = 600;

/// The rooms (below `src/`) that name keychain items and reach into the vault: the
/// cache, which names them, and the store, which is the vault. Everyone else asks the
/// cache for what they mean ("store these keys", "forget what was made from them").
const KEYCHAIN_ROOMS: [&str; 3] = ["cache.rs", "cache/", "store/"];

/// What only those rooms name, as tokens: the item-name functions of `cache::names`
/// (inline, or in a `use` tree), and the cache's vault.
const KEYCHAIN_ONLY: [&[&str]; 7] = [
    &["cache", "::", "item"],
    &["cache", "::", "items"],
    &["cache", "::", "keys_item"],
    &["cache", "::", "session_item"],
    &["cache", "::", "signin_item"],
    &["cache", "::", "legacy_role_item"],
    &[".", "vault"],
];

/// Where a file outside the rooms names one anyway: (file below `src/`, what, why).
const NAMED_OUTSIDE: [(&str, &str, &str); 2] = [
    (
        "session/mod.rs",
        "cache::item",
        "a target's lock and refresh stamp are named after its item, so every build takes one lock and direnv watches one stamp",
    ),
    (
        "session/mod.rs",
        "cache::session_item",
        "an MFA session's cancel mark is named after its item, as the lock is",
    ),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn no_source_file_is_longer_than_it_takes_to_read() {
    let mut long = Vec::new();
    for dir in ["src", "tests/e2e", "crates"] {
        let dir = repo().join(dir);
        if !dir.exists() {
            continue;
        }
        for file in rust_files(&dir) {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these by job (at most {MAX_LINES} lines): {long:#?}"
    );
}

/// A module path below the crate root: `["store", "backend"]`.
type Module = Vec<String>;

/// The module a file defines: `src/store/mod.rs` is `store`, `src/lib.rs` the root.
fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// `text` with comments, string and char literals blanked, so only code is searched.
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            i += body
                + rest[body..]
                    .find(&close)
                    .map_or(rest.len() - body, |e| e + close.len());
            out.push_str("\"\"");
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() && rest.as_bytes()[j] != b'"' {
                j += if rest.as_bytes()[j] == b'\\' { 2 } else { 1 };
            }
            i += (j + 1).min(rest.len());
            out.push_str("\"\"");
        } else if let Some(len) = char_literal(rest) {
            i += len;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `r"…"`, `r#"…"#`, `br"…"`: the number of `#`s, if `text` starts such a literal.
fn raw_string_start(text: &str) -> Option<usize> {
    let text = text.strip_prefix('b').unwrap_or(text);
    let text = text.strip_prefix('r')?;
    let hashes = text.bytes().take_while(|b| *b == b'#').count();
    (text.as_bytes().get(hashes) == Some(&b'"')).then_some(hashes)
}

/// The length of a char literal (`'x'`, `'\n'`, `'"'`) at the start of `text`, not a
/// lifetime (`'a`).
fn char_literal(text: &str) -> Option<usize> {
    let rest = text.strip_prefix('\'')?;
    let body = if let Some(escaped) = rest.strip_prefix('\\') {
        1 + escaped.find('\'')?
    } else {
        rest.chars().next()?.len_utf8()
    };
    (rest.as_bytes().get(body) == Some(&b'\'')).then_some(body + 2)
}

/// Every path in `code` that starts with `crate`, `super` or `self`, as its segments,
/// with the inline module (`mod platform { … }`) it stands in.
fn paths_in(code: &str) -> Vec<(Module, Vec<String>)> {
    let mut found = Vec::new();
    // Inline modules open at a brace depth: (name, depth).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let words: Vec<&str> = tokens(code);
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "mod" if words.get(i + 2) == Some(&"{") => {
                inline.push((words[i + 1].to_string(), depth));
            }
            "use" => {
                let end = (i..words.len())
                    .find(|&j| words[j] == ";")
                    .unwrap_or(words.len());
                let here: Module = inline.iter().map(|(n, _)| n.clone()).collect();
                for path in use_tree(&words[i + 1..end], Vec::new()) {
                    found.push((here.clone(), path));
                }
                i = end;
                continue;
            }
            word @ ("crate" | "super" | "self") if words.get(i + 1) == Some(&"::") => {
                let mut path = vec![word.to_string()];
                let mut j = i + 1;
                while words.get(j) == Some(&"::") && words.get(j + 1).is_some_and(|w| is_ident(w)) {
                    path.push(words[j + 1].to_string());
                    j += 2;
                }
                found.push((inline.iter().map(|(n, _)| n.clone()).collect(), path));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn is_ident(word: &str) -> bool {
    word.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Identifiers, `::`, and single punctuation characters.
fn tokens(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        let len = if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        } else if c.is_alphanumeric() || c == '_' {
            rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len())
        } else if rest.starts_with("::") {
            2
        } else {
            c.len_utf8()
        };
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

/// The paths a `use` tree names: `crate::{a::b, c::{d, e}}` is `crate::a::b`,
/// `crate::c::d`, `crate::c::e`.
fn use_tree(words: &[&str], prefix: Vec<String>) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut path = prefix.clone();
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "{" => {
                let mut depth = 0;
                let mut start = i + 1;
                let mut j = i;
                while j < words.len() {
                    match words[j] {
                        "{" => depth += 1,
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                paths.extend(use_tree(&words[start..j], path.clone()));
                                break;
                            }
                        }
                        "," if depth == 1 => {
                            paths.extend(use_tree(&words[start..j], path.clone()));
                            start = j + 1;
                        }
                        _ => {}
                    }
                    j += 1;
                }
                return paths;
            }
            "as" => break,
            "::" | "pub" | "(" | ")" => {}
            word if is_ident(word) => path.push(word.to_string()),
            _ => {}
        }
        i += 1;
    }
    if !path.is_empty() {
        paths.push(path);
    }
    paths
}

/// Which module file each path in each file names: edges between files' modules.
fn module_edges(crate_src: &str) -> BTreeMap<Module, BTreeSet<Module>> {
    let src = repo().join(crate_src);
    let files: Vec<PathBuf> = rust_files(&src)
        .into_iter()
        .filter(|f| !f.starts_with(src.join("bin")) && *f != src.join("main.rs"))
        .collect();
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for file in &files {
        let me = module_of(&src, file);
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for (inline, path) in paths_in(&code) {
            let mut absolute: Module = match path.first().map(String::as_str) {
                Some("crate") => Vec::new(),
                Some("super" | "self") => me.iter().chain(&inline).cloned().collect(),
                _ => continue,
            };
            let mut rest = path.iter().skip(usize::from(path[0] == "crate")).peekable();
            while let Some(segment) = rest.peek() {
                match segment.as_str() {
                    "super" => {
                        absolute.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                rest.next();
            }
            absolute.extend(rest.cloned());
            let target = (1..=absolute.len())
                .rev()
                .map(|n| absolute[..n].to_vec())
                .find(|m| modules.contains(m));
            if let Some(target) = target
                && target != me
            {
                edges.entry(me.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

/// Every cycle in `graph`, one per strongly connected component of two or more.
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    // Kosaraju: finishing order on the graph, then components on the reversed one.
    let nodes: BTreeSet<&Module> = graph
        .iter()
        .flat_map(|(a, bs)| std::iter::once(a).chain(bs))
        .collect();
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for start in &nodes {
        if !seen.insert(*start) {
            continue;
        }
        let mut stack = vec![(
            *start,
            graph.get(*start).into_iter().flatten().collect::<Vec<_>>(),
        )];
        while let Some((node, next)) = stack.last_mut() {
            if let Some(n) = next.pop() {
                if seen.insert(n) {
                    stack.push((n, graph.get(n).into_iter().flatten().collect()));
                }
            } else {
                order.push(*node);
                stack.pop();
            }
        }
    }
    let mut reversed: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (a, bs) in graph {
        for b in bs {
            reversed.entry(b).or_default().push(a);
        }
    }
    let mut assigned = BTreeSet::new();
    let mut found = Vec::new();
    for root in order.into_iter().rev() {
        if !assigned.insert(root) {
            continue;
        }
        let mut component = vec![root];
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            for m in reversed.get(n).into_iter().flatten() {
                if assigned.insert(*m) {
                    component.push(m);
                    stack.push(m);
                }
            }
        }
        if component.len() > 1 {
            component.sort();
            let names: Vec<String> = component.iter().map(|m| m.join("::")).collect();
            let inside: Vec<String> = component
                .iter()
                .flat_map(|a| {
                    graph
                        .get(*a)
                        .into_iter()
                        .flatten()
                        .filter(|b| component.contains(b))
                        .map(move |b| format!("{} -> {}", a.join("::"), b.join("::")))
                })
                .collect();
            found.push(format!("{{{}}}: {}", names.join(", "), inside.join(", ")));
        }
    }
    found
}

/// The graph between top-level modules, and the one between sibling files.
fn layered_graphs(crate_src: &str) -> [BTreeMap<Module, BTreeSet<Module>>; 2] {
    let mut top: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    let mut siblings: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (a, targets) in module_edges(crate_src) {
        for b in targets {
            if !a.is_empty() && !b.is_empty() && a[0] != b[0] {
                top.entry(a[..1].to_vec())
                    .or_default()
                    .insert(b[..1].to_vec());
            }
            // b, or something inside b, is a sibling of a (same parent, another name).
            let parent = a.len().saturating_sub(1);
            if a.len() >= 2
                && b.len() >= a.len()
                && b[..parent] == a[..parent]
                && b[parent] != a[parent]
            {
                siblings
                    .entry(a.clone())
                    .or_default()
                    .insert(b[..a.len()].to_vec());
            }
        }
    }
    [top, siblings]
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut found = Vec::new();
    for crate_src in CRATES {
        let [top, siblings] = layered_graphs(crate_src);
        assert!(!top.is_empty(), "no imports found in {crate_src}");
        found.extend(
            cycles(&top)
                .into_iter()
                .map(|c| format!("{crate_src}: {c}")),
        );
        found.extend(
            cycles(&siblings)
                .into_iter()
                .map(|c| format!("{crate_src}: {c}")),
        );
    }
    assert!(
        found.is_empty(),
        "import cycles (move the shared piece down to the module that owns it):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_import_check_sees_use_trees_inline_paths_and_inline_modules() {
    let code = code_only(
        r#"
        use crate::{config::{ConfigError, rules}, store::StoreError as E};
        // use crate::commented::out;
        fn f() { let s = "crate::in_a_string::x"; crate::error::clip(s, 1); let c = '"'; }
        mod platform {
            use super::super::kernel_store::KernelStore;
        }
        use super::sibling;
        "#,
    );
    let paths: Vec<String> = paths_in(&code)
        .into_iter()
        .map(|(inline, p)| format!("{}:{}", inline.join("::"), p.join("::")))
        .collect();
    assert_eq!(
        paths,
        [
            ":crate::config::ConfigError",
            ":crate::config::rules",
            ":crate::store::StoreError",
            ":crate::error::clip",
            "platform:super::super::kernel_store::KernelStore",
            ":super::sibling",
        ]
    );
    let graph: BTreeMap<Module, BTreeSet<Module>> = [
        (vec!["a".into()], BTreeSet::from([vec!["b".into()]])),
        (vec!["b".into()], BTreeSet::from([vec!["a".into()]])),
        (vec!["c".into()], BTreeSet::from([vec!["a".into()]])),
    ]
    .into();
    assert_eq!(cycles(&graph), ["{a, b}: a -> b, b -> a"]);
}

/// What `code` names of [`KEYCHAIN_ONLY`], each as its tokens joined: `cache::item`.
fn keychain_names(code: &str) -> BTreeSet<String> {
    let words = tokens(code);
    // A `use` tree (`use crate::cache::{self, item}`) names `cache::item` too.
    let in_paths: BTreeSet<String> = paths_in(code)
        .iter()
        .flat_map(|(_, path)| path.windows(2).map(|w| w.join("::")))
        .collect();
    KEYCHAIN_ONLY
        .iter()
        .filter(|pattern| {
            words.windows(pattern.len()).any(|w| w == **pattern)
                || in_paths.contains(&pattern.concat())
        })
        .map(|pattern| pattern.concat())
        .collect()
}

#[test]
fn only_the_cache_and_the_store_name_keychain_items_or_reach_into_the_vault() {
    let src = repo().join("src");
    let mut found = Vec::new();
    let mut excused = BTreeSet::new();
    for file in rust_files(&src) {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if KEYCHAIN_ROOMS
            .iter()
            .any(|room| relative == *room || room.ends_with('/') && relative.starts_with(room))
        {
            continue;
        }
        for named in keychain_names(&code_only(&std::fs::read_to_string(&file).unwrap())) {
            match NAMED_OUTSIDE
                .iter()
                .position(|(f, n, _)| *f == relative && *n == named)
            {
                Some(i) => {
                    excused.insert(i);
                }
                None => found.push(format!("src/{relative}: {named}")),
            }
        }
    }
    let stale: Vec<String> = (0..NAMED_OUTSIDE.len())
        .filter(|i| !excused.contains(i))
        .map(|i| format!("src/{}: {}", NAMED_OUTSIDE[i].0, NAMED_OUTSIDE[i].1))
        .collect();
    assert!(
        found.is_empty(),
        "ask the cache for what is meant (a method of `Cache`), rather than naming its items or its vault:\n{}",
        found.join("\n")
    );
    assert!(
        stale.is_empty(),
        "no longer named there: drop these from NAMED_OUTSIDE: {stale:?}"
    );
}

#[test]
fn the_keychain_check_sees_inline_paths_use_trees_and_the_vault() {
    let code = code_only(
        r#"
        use crate::cache::{self, signin_item};
        // cache::keys_item("commented out")
        fn f(c: &Cache, item: &str) {
            cache::item(t);
            c.vault.delete(item);
            let items = "cache::items";
            c.store_keys(item);
        }
        "#,
    );
    assert_eq!(
        keychain_names(&code),
        BTreeSet::from([".vault", "cache::item", "cache::signin_item"].map(String::from))
    );
}
