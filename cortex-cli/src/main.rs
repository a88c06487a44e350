//! `cortex`: scaffold, generate, serve with hot reload, inspect and check Cortex apps.
//! Everything is in the `cortex_cli` library; `cortex --help` lists the commands.

fn main() -> std::process::ExitCode {
    cortex_cli::main()
}
