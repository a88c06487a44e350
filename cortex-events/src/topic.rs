//! Topics and topic patterns.
//!
//! A topic is a dot-separated name, `user.created`: one or more segments of ASCII letters, digits,
//! `_` and `-`. A pattern selects topics: a segment matches itself, `*` matches exactly one
//! segment, and `#` matches any number of segments, none included (`user.#` matches `user`,
//! `user.created` and `user.email.changed`). These are RabbitMQ's topic-exchange rules, which NATS
//! (`*`, `>`) and the other bridges translate.
//!
//! ```
//! use cortex_events::Pattern;
//!
//! let pattern = Pattern::parse("user.*").unwrap();
//! assert!(pattern.matches("user.created"));
//! assert!(!pattern.matches("user.email.changed"));
//! assert!(Pattern::parse("user.#").unwrap().matches("user.email.changed"));
//! ```

use std::fmt;

/// Why a topic or a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// The topic or pattern is empty.
    #[error("a topic cannot be empty; write segments separated by dots, as `user.created`")]
    Empty,
    /// A segment between two dots (or at either end) is empty.
    #[error(
        "`{0}` has an empty segment; write segments separated by single dots, as `user.created`"
    )]
    EmptySegment(String),
    /// A character that topics do not allow.
    #[error(
        "`{topic}` contains `{character}`; a topic's segments are ASCII letters, digits, `_` and `-`{wildcards}"
    )]
    InvalidCharacter {
        /// The topic or pattern.
        topic: String,
        /// The first character refused.
        character: char,
        /// A note on wildcards, when the text was a topic rather than a pattern.
        wildcards: &'static str,
    },
    /// A wildcard inside a segment (`user*`): wildcards are whole segments.
    #[error(
        "`{0}` has a wildcard inside a segment; `*` and `#` must be whole segments, as `user.*`"
    )]
    PartialWildcard(String),
}

/// Checks a concrete topic (no wildcards).
///
/// ```
/// use cortex_events::topic::{check_topic, TopicError};
/// assert!(check_topic("order.placed").is_ok());
/// assert!(matches!(check_topic("order..placed"), Err(TopicError::EmptySegment(_))));
/// assert!(matches!(check_topic("order.*"), Err(TopicError::InvalidCharacter { .. })));
/// ```
pub fn check_topic(topic: &str) -> Result<(), TopicError> {
    check(topic, false)
}

fn check(text: &str, wildcards_allowed: bool) -> Result<(), TopicError> {
    if text.is_empty() {
        return Err(TopicError::Empty);
    }
    for segment in text.split('.') {
        if segment.is_empty() {
            return Err(TopicError::EmptySegment(text.to_string()));
        }
        if wildcards_allowed && (segment == "*" || segment == "#") {
            continue;
        }
        if let Some(character) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            if wildcards_allowed && (character == '*' || character == '#') {
                return Err(TopicError::PartialWildcard(text.to_string()));
            }
            return Err(TopicError::InvalidCharacter {
                topic: text.to_string(),
                character,
                wildcards: if wildcards_allowed || !(character == '*' || character == '#') {
                    ""
                } else {
                    " (wildcards belong in patterns, not in the topic an event is published on)"
                },
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(Box<str>),
    One,
    Any,
}

/// A topic pattern: literal segments, `*` (one segment) and `#` (any number of segments).
///
/// ```
/// use cortex_events::Pattern;
///
/// let all_orders = Pattern::parse("order.#").unwrap();
/// assert!(all_orders.matches("order"));
/// assert!(all_orders.matches("order.line.added"));
/// assert!(!all_orders.matches("orders.placed"));
/// assert_eq!(all_orders.to_string(), "order.#");
/// assert!(Pattern::parse("order.pl*ced").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    text: Box<str>,
    segments: Box<[Segment]>,
}

impl Pattern {
    /// Parses a pattern, checking every segment.
    pub fn parse(text: &str) -> Result<Self, TopicError> {
        check(text, true)?;
        let segments = text
            .split('.')
            .map(|s| match s {
                "*" => Segment::One,
                "#" => Segment::Any,
                literal => Segment::Literal(literal.into()),
            })
            .collect();
        Ok(Pattern {
            text: text.into(),
            segments,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern has no wildcard (it matches one topic: itself).
    ///
    /// ```
    /// use cortex_events::Pattern;
    /// assert!(Pattern::parse("user.created").unwrap().is_exact());
    /// assert!(!Pattern::parse("user.*").unwrap().is_exact());
    /// ```
    pub fn is_exact(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Literal(_)))
    }

    /// Whether `topic` matches.
    pub fn matches(&self, topic: &str) -> bool {
        if self.is_exact() {
            return *self.text == *topic;
        }
        let topic: Vec<&str> = topic.split('.').collect();
        matches_from(&self.segments, &topic)
    }
}

/// Matches segment lists; `#` tries every split (patterns are short, topics too).
fn matches_from(pattern: &[Segment], topic: &[&str]) -> bool {
    match pattern.split_first() {
        None => topic.is_empty(),
        Some((Segment::Any, rest)) => {
            (0..=topic.len()).any(|skip| matches_from(rest, &topic[skip..]))
        }
        Some((Segment::One, rest)) => !topic.is_empty() && matches_from(rest, &topic[1..]),
        Some((Segment::Literal(literal), rest)) => {
            topic.first().is_some_and(|t| **literal == **t) && matches_from(rest, &topic[1..])
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.text)
    }
}

impl std::str::FromStr for Pattern {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_the_table_says() {
        let table: &[(&str, &str, bool)] = &[
            ("user.created", "user.created", true),
            ("user.created", "user.deleted", false),
            ("user.created", "user.created.v2", false),
            ("user.created", "user", false),
            ("user.*", "user.created", true),
            ("user.*", "user", false),
            ("user.*", "user.email.changed", false),
            ("*.created", "user.created", true),
            ("*.created", "order.line.created", false),
            ("*", "user", true),
            ("*", "user.created", false),
            ("#", "user", true),
            ("#", "user.email.changed", true),
            ("user.#", "user", true),
            ("user.#", "user.created", true),
            ("user.#", "user.email.changed", true),
            ("user.#", "users.created", false),
            ("user.#.changed", "user.changed", true),
            ("user.#.changed", "user.email.changed", true),
            ("user.#.changed", "user.a.b.changed", true),
            ("user.#.changed", "user.email.created", false),
            ("#.changed", "changed", true),
            ("#.changed", "x.y.changed", true),
            ("*.#", "user", true),
            ("*.#", "user.x.y", true),
            ("*.*", "user", false),
            ("a.*.c", "a.b.c", true),
            ("a.*.c", "a.b.b.c", false),
            ("a-b_c.1", "a-b_c.1", true),
            // Case matters; a prefix is not a segment.
            ("User.created", "user.created", false),
            ("user.*", "username.created", false),
            ("user.#", "username", false),
            // Several wildcards.
            ("#.#", "a", true),
            ("#.#", "a.b.c", true),
            ("a.#.#", "a", true),
            ("#.a.#", "a", true),
            ("#.a.#", "x.y.a.z", true),
            ("#.a.#", "x.y.z", false),
            ("*.#.*", "a", false),
            ("*.#.*", "a.b", true),
            ("*.#.*", "a.b.c.d", true),
            ("#.*", "a", true),
            ("#.*", "a.b.c", true),
            ("*.*.*", "a.b.c", true),
            ("*.*.*", "a.b", false),
            ("a.*.#.c", "a.b.c", true),
            ("a.*.#.c", "a.c", false),
            ("a.*.#.c", "a.b.x.y.c", true),
            // `#` last matches the end of a longer topic; a literal after it must end it.
            ("#.changed", "changed.other", false),
            ("a.#", "b.a", false),
        ];
        for (pattern, topic, expected) in table {
            let parsed = Pattern::parse(pattern).unwrap();
            assert_eq!(
                parsed.matches(topic),
                *expected,
                "`{pattern}` against `{topic}`"
            );
        }
    }

    #[test]
    fn malformed_patterns_and_topics_say_what_is_wrong() {
        assert_eq!(Pattern::parse(""), Err(TopicError::Empty));
        assert_eq!(
            Pattern::parse("user..created").unwrap_err().to_string(),
            "`user..created` has an empty segment; write segments separated by single dots, as `user.created`"
        );
        assert!(matches!(
            Pattern::parse(".user"),
            Err(TopicError::EmptySegment(_))
        ));
        assert!(matches!(
            Pattern::parse("user."),
            Err(TopicError::EmptySegment(_))
        ));
        assert_eq!(
            Pattern::parse("user*").unwrap_err().to_string(),
            "`user*` has a wildcard inside a segment; `*` and `#` must be whole segments, as `user.*`"
        );
        assert_eq!(
            Pattern::parse("user created").unwrap_err().to_string(),
            "`user created` contains ` `; a topic's segments are ASCII letters, digits, `_` and `-`"
        );
        assert_eq!(
            check_topic("user.#").unwrap_err().to_string(),
            "`user.#` contains `#`; a topic's segments are ASCII letters, digits, `_` and `-` (wildcards belong in patterns, not in the topic an event is published on)"
        );
        assert!(check_topic("user.é").is_err());
        // Wildcards glued to text, doubled, or mixed, in any segment.
        for partial in ["a.#b", "a.b*", "**", "##", "*#", "a.*.c#"] {
            assert_eq!(
                Pattern::parse(partial),
                Err(TopicError::PartialWildcard(partial.to_string())),
                "{partial}"
            );
        }
        for empty in ["*.", ".#", "a..#", "."] {
            assert_eq!(
                Pattern::parse(empty),
                Err(TopicError::EmptySegment(empty.to_string())),
                "{empty}"
            );
        }
        assert_eq!(
            check_topic("user/created"),
            Err(TopicError::InvalidCharacter {
                topic: "user/created".into(),
                character: '/',
                wildcards: "",
            })
        );
        assert!(matches!(
            check_topic("user.*"),
            Err(TopicError::InvalidCharacter { character: '*', .. })
        ));
        assert!(matches!(
            Pattern::parse("user.cre@ted"),
            Err(TopicError::InvalidCharacter {
                character: '@',
                wildcards: "",
                ..
            })
        ));
        assert_eq!(check_topic(""), Err(TopicError::Empty));
        assert!(check_topic("A-Z_09.x").is_ok());
        assert!(check_topic("user.created").is_ok());
    }

    #[test]
    fn exactness_and_display() {
        assert!(Pattern::parse("a.b").unwrap().is_exact());
        assert!(!Pattern::parse("a.#").unwrap().is_exact());
        assert_eq!(Pattern::parse("a.*").unwrap().as_str(), "a.*");
        assert_eq!(
            format!("{:?}", Pattern::parse("a").unwrap()),
            "Pattern(\"a\")"
        );
        assert_eq!("a.*".parse::<Pattern>().unwrap().to_string(), "a.*");
    }
}
