//! The contacts search box: user text to a prefix full-text query.
use crate::error::AppError;

pub const MAX_QUERY_CHARS: usize = 100;
const MAX_TERMS: usize = 8;

/// "Ann Smi" → `ann:* & smi:*`: every word must prefix-match a name, email part, title or the
/// company. Only letters and digits reach the query, so no input can break its syntax.
/// `None` when there is nothing to search for.
pub fn prefix_query(raw: &str) -> Result<Option<String>, AppError> {
    if raw.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::validation(
            "q",
            format!("Search for at most {MAX_QUERY_CHARS} characters."),
        ));
    }
    let terms: Vec<String> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(MAX_TERMS)
        .map(|t| format!("{}:*", t.to_lowercase()))
        .collect();
    Ok((!terms.is_empty()).then(|| terms.join(" & ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_prefix_terms_joined_by_and() {
        assert_eq!(
            prefix_query("Ann Smi").expect("ok").as_deref(),
            Some("ann:* & smi:*")
        );
    }

    #[test]
    fn punctuation_and_query_syntax_are_dropped() {
        assert_eq!(
            prefix_query("ann@acme.test").expect("ok").as_deref(),
            Some("ann:* & acme:* & test:*")
        );
        assert_eq!(
            prefix_query("a & !b | (c:*)").expect("ok").as_deref(),
            Some("a:* & b:* & c:*")
        );
        assert_eq!(prefix_query("  ").expect("ok"), None);
        assert_eq!(prefix_query("!!!").expect("ok"), None);
    }

    #[test]
    fn accented_letters_are_kept() {
        assert_eq!(
            prefix_query("Zoë Müller").expect("ok").as_deref(),
            Some("zoë:* & müller:*")
        );
    }

    #[test]
    fn overlong_queries_are_refused_with_the_limit() {
        let err = prefix_query(&"a".repeat(101)).expect_err("too long");
        assert_eq!(
            err.field_message("q").as_deref(),
            Some("Search for at most 100 characters.")
        );
    }
}
