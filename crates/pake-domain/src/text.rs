//! The one rule for text that crosses into the domain: no NUL and no other control characters,
//! except the line breaks and tabs of multi-line fields. Single-line types (usernames, names,
//! queries, …) refuse those too in their own parsers.

/// Whether `c` may never appear in text PAKE accepts: C0 and C1 controls and DEL, other than
/// tab, line feed and carriage return.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether `text` holds a character no field accepts.
pub fn has_forbidden(text: &str) -> bool {
    text.chars().any(is_forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_escape_and_c1_controls_are_forbidden_line_breaks_are_not() {
        for bad in ["a\0b", "\u{1b}[31m", "x\u{7f}", "\u{85}", "\u{8}"] {
            assert!(has_forbidden(bad), "{bad:?}");
        }
        for ok in ["plain", "two\nlines\r\n", "tab\there", "ünïcødé ✓"] {
            assert!(!has_forbidden(ok), "{ok:?}");
        }
    }
}
