//! Rebuilds the CLI when anything under `templates/` changes: `include_dir!` embeds the folder,
//! but the compiler only tracks the files that existed at the last build, not new ones.

fn main() {
    println!("cargo:rerun-if-changed=templates");
}
