//! Event topics and topic patterns, checked at compile time by the rules of
//! `cortex_events::topic` (which the runtime applies again): dot-separated segments of ASCII
//! letters, digits, `_` and `-`; in a pattern, `*` and `#` as whole segments. The messages are the
//! runtime's.

/// What is wrong with `text` as a topic (`wildcards: false`) or a pattern (`wildcards: true`).
pub(crate) fn problem(text: &str, wildcards: bool) -> Option<String> {
    if text.is_empty() {
        return Some(
            "a topic cannot be empty; write segments separated by dots, as `user.created`".into(),
        );
    }
    for segment in text.split('.') {
        if segment.is_empty() {
            return Some(format!(
                "`{text}` has an empty segment; write segments separated by single dots, as `user.created`"
            ));
        }
        if wildcards && (segment == "*" || segment == "#") {
            continue;
        }
        let Some(character) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        else {
            continue;
        };
        let wildcard = character == '*' || character == '#';
        if wildcards && wildcard {
            return Some(format!(
                "`{text}` has a wildcard inside a segment; `*` and `#` must be whole segments, as `user.*`"
            ));
        }
        let note = if wildcard {
            " (wildcards belong in patterns, not in the topic an event is published on)"
        } else {
            ""
        };
        return Some(format!(
            "`{text}` contains `{character}`; a topic's segments are ASCII letters, digits, `_` and `-`{note}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn topics_are_dotted_segments_without_wildcards() {
        for good in ["user.created", "a", "order-line_2.added"] {
            assert_eq!(problem(good, false), None, "{good}");
        }
        assert_eq!(
            problem("", false).unwrap(),
            "a topic cannot be empty; write segments separated by dots, as `user.created`"
        );
        assert!(
            problem("user..created", false)
                .unwrap()
                .starts_with("`user..created` has an empty segment")
        );
        assert!(problem(".user", false).unwrap().contains("empty segment"));
        assert_eq!(
            problem("user created", false).unwrap(),
            "`user created` contains ` `; a topic's segments are ASCII letters, digits, `_` and `-`"
        );
        assert!(problem("user.*", false).unwrap().ends_with(
            "(wildcards belong in patterns, not in the topic an event is published on)"
        ));
        assert!(problem("usér", false).unwrap().contains("contains `é`"));
    }

    #[test]
    fn patterns_take_whole_segment_wildcards() {
        for good in ["user.*", "#", "user.#", "*.created", "order.placed"] {
            assert_eq!(problem(good, true), None, "{good}");
        }
        assert_eq!(
            problem("user*", true).unwrap(),
            "`user*` has a wildcard inside a segment; `*` and `#` must be whole segments, as `user.*`"
        );
        assert!(problem("user.>", true).unwrap().contains("contains `>`"));
        assert!(problem("user.", true).unwrap().contains("empty segment"));
    }
}
