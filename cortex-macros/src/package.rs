//! The library of the package being compiled, which `#[cortex::main]` links into the binary.
//!
//! `discover()` finds the components of the crates linked into the binary, and rustc links a
//! dependency only when the binary names it: a `src/main.rs` that never mentions the package's own
//! `src/lib.rs` would start with none of the library's controllers. Cargo tells the compiler (and
//! so this macro) which package and target it compiles; the package's manifest says whether it
//! has a library and what it is called.

use std::path::{Path, PathBuf};

use proc_macro2::Ident;

/// What Cargo says about the crate being compiled: its package, and its target's names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// `CARGO_PKG_NAME`.
    pub(crate) package: &'a str,
    /// `CARGO_CRATE_NAME`: the name of the crate being compiled.
    pub(crate) crate_name: Option<&'a str>,
    /// `CARGO_BIN_NAME`: set only when compiling a binary target.
    pub(crate) bin_name: Option<&'a str>,
}

/// The package's own library, when the crate being compiled is another target of that package (a
/// binary, an example) which Cargo hands the library to: read from Cargo's environment and the
/// package's `Cargo.toml`. `None` outside Cargo, or when there is no library to link.
pub(crate) fn own_library_from_env() -> Option<Ident> {
    let var = |name| std::env::var(name).ok();
    let package = var("CARGO_PKG_NAME")?;
    let (crate_name, bin_name) = (var("CARGO_CRATE_NAME"), var("CARGO_BIN_NAME"));
    let manifest_path = var("CARGO_MANIFEST_PATH")
        .map(PathBuf::from)
        .or_else(|| var("CARGO_MANIFEST_DIR").map(|dir| Path::new(&dir).join("Cargo.toml")))?;
    let manifest = std::fs::read_to_string(&manifest_path).ok()?;
    let lib_rs = manifest_path.parent()?.join("src").join("lib.rs");
    let target = Target {
        package: &package,
        crate_name: crate_name.as_deref(),
        bin_name: bin_name.as_deref(),
    };
    let name = own_library(target, &manifest, lib_rs.is_file())?;
    // A name that is not an identifier (Cargo rejects those) links nothing rather than panicking.
    syn::parse_str(&name).ok()
}

/// The crate name of the package's library, if `target` is not that library and Cargo links the
/// library into it, following Cargo's target rules: a `[lib]` table, or `src/lib.rs` unless
/// `autolib = false`; named by `[lib] name` or after the package (`-` → `_`); linkable unless it
/// is a proc macro or its `crate-type` has no `lib`, `rlib` or `dylib`.
pub(crate) fn own_library(
    target: Target<'_>,
    manifest: &str,
    lib_rs_exists: bool,
) -> Option<String> {
    // Cargo has already rejected a malformed manifest; nothing to link is the safe answer.
    let manifest: toml_edit::DocumentMut = manifest.parse().ok()?;
    let lib = manifest.get("lib").and_then(|lib| lib.as_table_like());
    let autolib = manifest
        .get("package")
        .and_then(|package| package.get("autolib"))
        .and_then(|autolib| autolib.as_bool())
        .unwrap_or(true);
    if lib.is_none() && !(autolib && lib_rs_exists) {
        return None;
    }
    let setting =
        |key: &str| lib.and_then(|lib| lib.get(key).or_else(|| lib.get(&key.replace('-', "_"))));
    if setting("proc-macro").and_then(|p| p.as_bool()) == Some(true) {
        return None;
    }
    if let Some(types) = setting("crate-type").and_then(|t| t.as_array()) {
        let linkable = types
            .iter()
            .any(|t| matches!(t.as_str(), Some("lib" | "rlib" | "dylib")));
        if !linkable {
            return None;
        }
    }
    let name = setting("name")
        .and_then(|n| n.as_str())
        .unwrap_or(target.package)
        .replace('-', "_");
    // The library itself (and its unit and doc tests) cannot name itself as a dependency; every
    // other target of the package gets it from Cargo. A binary may share the library's name.
    let other_target = target.bin_name.is_some()
        || target
            .crate_name
            .is_some_and(|crate_name| crate_name != name);
    other_target.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIN: Target<'static> = Target {
        package: "my-app",
        crate_name: Some("my_app"),
        bin_name: Some("my-app"),
    };

    const PACKAGE: &str = "[package]\nname = \"my-app\"\nversion = \"0.1.0\"\n";

    #[test]
    fn a_binary_links_the_src_lib_rs_of_its_package_named_with_underscores() {
        assert_eq!(own_library(BIN, PACKAGE, true).as_deref(), Some("my_app"));
    }

    #[test]
    fn a_package_without_a_library_links_nothing() {
        assert_eq!(own_library(BIN, PACKAGE, false), None);
        let no_autolib = "[package]\nname = \"my-app\"\nautolib = false\n";
        assert_eq!(own_library(BIN, no_autolib, true), None);
    }

    #[test]
    fn a_lib_table_names_the_library_and_may_move_it() {
        let renamed = format!("{PACKAGE}[lib]\nname = \"core_logic\"\n");
        assert_eq!(
            own_library(BIN, &renamed, true).as_deref(),
            Some("core_logic")
        );
        let moved = format!("{PACKAGE}[lib]\npath = \"lib/app.rs\"\n");
        assert_eq!(own_library(BIN, &moved, false).as_deref(), Some("my_app"));
    }

    #[test]
    fn a_library_cargo_does_not_link_into_binaries_is_left_alone() {
        for lib in [
            "proc-macro = true",
            "proc_macro = true",
            "crate-type = [\"cdylib\"]",
            "crate_type = [\"staticlib\", \"cdylib\"]",
        ] {
            let manifest = format!("{PACKAGE}[lib]\n{lib}\n");
            assert_eq!(own_library(BIN, &manifest, true), None, "{lib}");
        }
        let both = format!("{PACKAGE}[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n");
        assert_eq!(own_library(BIN, &both, true).as_deref(), Some("my_app"));
    }

    #[test]
    fn the_library_itself_and_its_tests_link_nothing_but_an_example_does() {
        let lib = Target {
            crate_name: Some("my_app"),
            bin_name: None,
            ..BIN
        };
        assert_eq!(own_library(lib, PACKAGE, true), None);
        let outside_cargo = Target {
            crate_name: None,
            bin_name: None,
            ..BIN
        };
        assert_eq!(own_library(outside_cargo, PACKAGE, true), None);
        let example = Target {
            crate_name: Some("demo"),
            bin_name: None,
            ..BIN
        };
        assert_eq!(
            own_library(example, PACKAGE, true).as_deref(),
            Some("my_app")
        );
    }

    #[test]
    fn a_manifest_that_does_not_parse_links_nothing() {
        assert_eq!(own_library(BIN, "[package\nname = ", true), None);
    }
}
