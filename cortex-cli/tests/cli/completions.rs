use crate::support::{assert_error, run_in, stdout};

#[test]
fn prints_a_script_for_each_shell() {
    let dir = std::env::temp_dir();
    for (shell, marker) in [
        ("bash", "complete -F _cortex"),
        ("zsh", "#compdef cortex"),
        ("fish", "complete -c cortex"),
    ] {
        let output = run_in(&dir, &["completions", shell]);
        assert!(output.status.success(), "{shell}: {output:?}");
        let script = stdout(&output);
        assert!(
            script.contains(marker),
            "{shell}: no `{marker}` in the script"
        );
        for command in ["new", "generate", "serve", "routes", "doctor"] {
            assert!(script.contains(command), "{shell}: `{command}` missing");
        }
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let output = run_in(&std::env::temp_dir(), &["completions", "tcsh"]);
    assert_error(&output, 2, "invalid value 'tcsh'", None);
}

#[test]
fn generate_completes_only_the_kinds_that_exist() {
    let dir = std::env::temp_dir();
    let bash = stdout(&run_in(&dir, &["completions", "bash"]));
    assert!(
        bash.contains(
            "controller service middleware plugin migration model resource auth event-handler"
        ),
        "the kinds are not offered:\n{bash}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&run_in(&dir, &["completions", shell]));
        assert!(!script.contains("actor"), "{shell}: `actor` is offered");
    }
}
