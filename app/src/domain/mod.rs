//! Validated types and small text helpers shared by the browser and the server ("parse, don't
//! validate").
mod email;
mod role;
mod task_state;

pub use email::Email;
pub use role::Role;
pub use task_state::TaskState;

/// "closed_won" → "Closed won".
pub fn humanize(raw: &str) -> String {
    let spaced = raw.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A query-string value, form-encoded ("ann & co" → "ann+%26+co").
pub fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Where to go after signing in: only paths on this site, never another origin.
pub fn safe_next_path(next: Option<&str>) -> String {
    const DEFAULT: &str = "/dashboard";
    match next.map(str::trim) {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.starts_with("/sign-in")
                && !p.starts_with("/api/")
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => DEFAULT.to_owned(),
    }
}

/// The sign-in page's address, returning to `next` after it.
pub fn sign_in_path(next: &str) -> String {
    let next = safe_next_path(Some(next));
    let encoded: String = next
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("/sign-in?next={encoded}")
}

#[cfg(test)]
mod tests {
    use super::{humanize, safe_next_path, sign_in_path};

    #[test]
    fn stage_names_read_as_words() {
        assert_eq!(humanize("closed_won"), "Closed won");
        assert_eq!(humanize(""), "");
    }

    #[test]
    fn sign_in_path_percent_encodes_the_return_address() {
        assert_eq!(
            sign_in_path("/audit?before=10&x=é"),
            "/sign-in?next=/audit%3Fbefore%3D10%26x%3D%C3%A9"
        );
        assert_eq!(
            sign_in_path("https://evil.test"),
            "/sign-in?next=/dashboard"
        );
    }

    #[test]
    fn next_path_keeps_local_paths_with_their_query() {
        assert_eq!(safe_next_path(Some("/team?page=2")), "/team?page=2");
    }

    #[test]
    fn next_path_refuses_other_origins_and_loops() {
        for bad in [
            "https://evil.test/",
            "//evil.test",
            "/\\evil.test",
            "/sign-in?next=/x",
            "",
            "dashboard",
        ] {
            assert_eq!(safe_next_path(Some(bad)), "/dashboard", "{bad}");
        }
        assert_eq!(safe_next_path(None), "/dashboard");
    }
}
