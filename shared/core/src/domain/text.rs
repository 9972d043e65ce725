//! Text from registries and callers made safe to show.

/// `text` fit for a terminal or a log line: control characters (newlines, ANSI escapes)
/// written as `\u{…}` escapes, so a registry-controlled string cannot forge a table row or
/// a log line.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod printable_tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("1.0.0"), "1.0.0");
        assert_eq!(
            printable("1.0.0\n\u{1b}[31mforged"),
            "1.0.0\\u{a}\\u{1b}[31mforged"
        );
    }
}
