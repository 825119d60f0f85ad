//! The `{{placeholders}}` a template may use, and the check that finds unknown or broken ones.
//! The model fills them from the business context and the task; an unknown name would be
//! guessed at, so it is refused with the list of those available.

/// Every placeholder a template may use, with what the model puts there.
pub const CATALOG: [(&str, &str); 28] = [
    ("business_name", "the customer's business name"),
    ("first_name", "the recipient's first name"),
    ("subject", "an email subject line"),
    ("offer_headline", "the offer in a few words"),
    ("hook", "an opening line that earns attention"),
    (
        "offer_details",
        "what the offer is, for whom and until when",
    ),
    ("call_to_action", "the one action to take"),
    ("sign_off", "a closing such as \"Warm regards\""),
    ("contact_line", "phone, website or address"),
    (
        "reference_to_last_touch",
        "what was last said or done together",
    ),
    ("value_reminder", "why the business is worth hearing from"),
    ("news", "what is new"),
    ("benefit", "what the reader gains"),
    ("hashtags", "at most three hashtags"),
    ("title", "a title"),
    ("intro", "the opening paragraph"),
    ("section_1_heading", "the first section's heading"),
    ("section_1", "the first section"),
    ("section_2_heading", "the second section's heading"),
    ("section_2", "the second section"),
    (
        "conclusion_with_call_to_action",
        "a closing paragraph ending in the call to action",
    ),
    ("reminder", "what is coming up"),
    ("headline", "a short headline"),
    ("website", "the customer's website"),
    ("phone", "the customer's phone number"),
    (
        "unique_selling_point",
        "one of the customer's selling points",
    ),
    (
        "disclaimer",
        "the customer's required disclaimer, word for word",
    ),
    ("signature", "the sender's name and role"),
];

pub fn known(name: &str) -> bool {
    CATALOG.iter().any(|(n, _)| *n == name)
}

/// The placeholders in `body`, in order of first use, or what is wrong with them.
pub fn check(body: &str) -> Result<Vec<String>, String> {
    let mut found: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("A \"{{\" is never closed with \"}}\".".to_owned());
        };
        let name = after[..end].trim();
        if name.is_empty()
            || name.len() > 60
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            let shown: String = name.chars().take(40).collect();
            return Err(format!(
                "\"{{{{{shown}}}}}\" is not a placeholder: use lower-case letters, digits and underscores, such as {{{{first_name}}}}."
            ));
        }
        if !known(name) {
            if !unknown.iter().any(|u| u == name) {
                unknown.push(name.to_owned());
            }
        } else if !found.iter().any(|f| f == name) {
            found.push(name.to_owned());
        }
        rest = &after[end + 2..];
    }
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|u| format!("{{{{{u}}}}}")).collect();
        let available: Vec<&str> = CATALOG.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "Unknown placeholder{} {}. Available: {}.",
            if unknown.len() == 1 { "" } else { "s" },
            names.join(", "),
            available.join(", ")
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_placeholders_are_listed_once_in_order() {
        let found = check("Hi {{first_name}}, {{ hook }} {{first_name}} - {{business_name}}");
        assert_eq!(
            found.as_deref(),
            Ok(&[
                "first_name".to_owned(),
                "hook".into(),
                "business_name".into()
            ][..])
        );
        assert_eq!(check("No placeholders at all."), Ok(vec![]));
    }

    #[test]
    fn an_unknown_placeholder_names_itself_and_lists_the_available_ones() {
        let err = check("Hi {{first_name}}, {{discount_code}} and {{discount_code}}")
            .expect_err("unknown");
        assert!(
            err.starts_with(
                "Unknown placeholder {{discount_code}}. Available: business_name, first_name,"
            ),
            "{err}"
        );
        assert!(err.contains("call_to_action"), "{err}");
    }

    #[test]
    fn broken_braces_are_refused() {
        assert!(check("Hi {{first_name")
            .expect_err("open")
            .contains("never closed"));
        assert!(check("Hi {{First Name}}")
            .expect_err("bad name")
            .contains("lower-case"));
        assert!(check("Hi {{}}").is_err());
    }
}
