//! What users write: the checks every string passes ([`check_text`]), and blocked words, matched
//! on a folded form ([`folded`]) so that look-alike characters and invisible ones cannot slip a
//! word past the filter.

use unicode_normalization::UnicodeNormalization;

use super::error::ApiError;

/// Text checks shared by every user-supplied string: no control characters (line breaks are
/// allowed where `allow_newlines`), and no bidi overrides that could disguise what is shown.
pub fn check_text(field: &str, value: &str, max_chars: usize, allow_newlines: bool) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n > max_chars {
        return Err(ApiError::validation(
            field,
            format!("must be at most {max_chars} characters (got {n})"),
        ));
    }
    if let Some(c) = forbidden_char(value, allow_newlines) {
        return Err(ApiError::validation(
            field,
            format!("contains a forbidden character U+{:04X}", c as u32),
        ));
    }
    Ok(())
}

/// The first character of `value` that must not be shown to others: a control character (line
/// breaks and tabs aside where `allow_newlines`) or a bidi override or isolate.
pub fn forbidden_char(value: &str, allow_newlines: bool) -> Option<char> {
    value.chars().find(|&c| {
        (c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// Characters that show nothing and can split a word: zero-width space, non-joiner and joiner,
/// word joiner, zero-width no-break space (BOM), soft hyphen, combining grapheme joiner.
const INVISIBLE: [char; 7] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{034F}',
];

/// A text as blocked words are matched against it: its compatibility form (NFKC: fullwidth and
/// styled letters become plain ones), in lower case, without invisible characters.
pub fn folded(text: &str) -> String {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !INVISIBLE.contains(c))
        .collect()
}

/// Refuses `text` (naming `field`) when it holds one of `blocked` (folded words): a word as a whole
/// word, a phrase (anything with a non-alphanumeric character) as a substring.
pub fn check_blocked(field: &str, text: &str, blocked: &[String]) -> Result<(), ApiError> {
    if blocked.is_empty() {
        return Ok(());
    }
    let text = folded(text);
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let hit = blocked.iter().any(|b| {
        if b.chars().all(char::is_alphanumeric) {
            words.contains(&b.as_str())
        } else {
            text.contains(b.as_str())
        }
    });
    if hit {
        return Err(ApiError::validation(field, "contains a word blocked in this session"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert!(check_text("title", "hello", 5, false).is_ok());
        assert!(check_text("title", "héllo!", 5, false).is_err());
        assert!(check_text("title", "a\u{202E}b", 10, false).is_err());
        assert!(check_text("title", "a\nb", 10, false).is_err());
        assert!(check_text("description", "a\nb", 10, true).is_ok());
        assert!(check_text("description", "a\u{0007}b", 10, true).is_err());
    }

    #[test]
    fn blocked_words_are_matched_on_the_folded_text() {
        let blocked = vec!["spam".to_string(), "buy now".to_string()];
        for disguised in [
            "s\u{200B}pam",
            "ＳＰＡＭ",
            "S\u{00AD}PAM",
            "𝐬𝐩𝐚𝐦",
            "please BUY\u{2060} NOW",
        ] {
            assert!(check_blocked("message", disguised, &blocked).is_err(), "{disguised:?}");
        }
        assert!(check_blocked("message", "spammer is fine", &blocked).is_ok());
        assert_eq!(folded("ＳＰＡＭ\u{200D}!"), "spam!");
    }
}
