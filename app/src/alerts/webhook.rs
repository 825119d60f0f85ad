//! The alert webhook (issue 15): each workspace may have its alerts sent to one address, signed
//! with a secret only the workspace knows, retried with backoff, every try kept in a log.
//!
//! A trigger on `alerts` queues a delivery for each alert opened, acknowledged or resolved
//! (migration `alert_webhooks`), so every path that changes an alert notifies; the
//! deliver-webhooks job sends them ([`send`](super::webhook_send)).
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Tries per delivery before it is marked failed: at once, then after 30 s, 1, 2, 4 and 8 min.
pub const MAX_ATTEMPTS: i16 = 6;
/// The longest address kept.
pub const MAX_URL_CHARS: usize = 500;
/// Deliveries the page lists, newest first.
pub const LOG_ROWS: i64 = 50;

/// The webhook as its page shows it (never the whole secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookView {
    pub url: String,
    pub enabled: bool,
    /// `warning` (every alert) or `critical` (critical ones only).
    pub min_severity: String,
    /// The secret's last four characters, to tell secrets apart.
    pub secret_tail: String,
    pub version: i32,
}

/// One delivery in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub event: String,
    pub alert_title: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i16,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookPage {
    pub webhook: Option<WebhookView>,
    pub deliveries: Vec<Delivery>,
    /// Admins change it; managers see it and its log.
    pub can_edit: bool,
}

/// What saving answers: the secret in full, once, when it was made (the first save or a
/// rotation); the receiver needs it to check signatures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub secret: Option<String>,
}

/// The webhook form, checked in the browser and again on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookForm {
    pub url: String,
    pub enabled: bool,
    pub min_severity: String,
    /// The version it was loaded at (0: none yet).
    pub version: i32,
}

impl WebhookForm {
    /// The form's problems, by field.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let url = self.url.trim();
        if url.is_empty() {
            out.push(("url".into(), "Enter the address to send alerts to.".into()));
        } else if url.chars().count() > MAX_URL_CHARS {
            out.push((
                "url".into(),
                format!("The address is too long: at most {MAX_URL_CHARS} characters."),
            ));
        } else if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains(char::is_whitespace)
            || url.split("://").nth(1).is_none_or(|rest| {
                rest.split(['/', '?', '#'])
                    .next()
                    .is_none_or(|host| host.is_empty())
            })
        {
            out.push((
                "url".into(),
                "Enter a full web address, such as https://hooks.example.com/smartcrm.".into(),
            ));
        }
        if !matches!(self.min_severity.as_str(), "warning" | "critical") {
            out.push((
                "min_severity".into(),
                "Choose every alert or critical alerts only.".into(),
            ));
        }
        out
    }
}

/// `X-SmartCRM-Signature`'s value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
/// The time is signed too, so a receiver can refuse an old delivery replayed.
#[cfg(feature = "ssr")]
pub fn signature(secret: &str, unix: i64, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={unix},v1={hex}")
}

/// The wait before try `attempt + 1` after `attempt` failed tries: 30 s doubled each time.
pub fn retry_after_secs(attempt: i16) -> i64 {
    30 * (1i64 << (attempt.clamp(1, 10) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(url: &str, severity: &str) -> WebhookForm {
        WebhookForm {
            url: url.into(),
            enabled: true,
            min_severity: severity.into(),
            version: 0,
        }
    }

    #[test]
    fn the_form_wants_a_full_web_address_and_a_severity() {
        assert!(form("https://hooks.example.com/x", "warning")
            .problems()
            .is_empty());
        assert!(form("http://127.0.0.1:9000/hook", "critical")
            .problems()
            .is_empty());
        for bad in [
            "",
            "hooks.example.com",
            "ftp://x.y",
            "https://",
            "https:///path",
            "https://a b",
        ] {
            let p = form(bad, "warning").problems();
            assert_eq!(p.len(), 1, "{bad:?}: {p:?}");
            assert_eq!(p[0].0, "url");
        }
        let long = format!("https://x.example/{}", "a".repeat(MAX_URL_CHARS));
        assert!(form(&long, "warning").problems()[0].1.contains("too long"));
        assert_eq!(form("https://x.y", "loud").problems()[0].0, "min_severity");
    }

    #[test]
    fn retries_wait_longer_each_time() {
        let waits: Vec<i64> = (1..MAX_ATTEMPTS).map(retry_after_secs).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 480]);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_signature_is_hmac_sha256_of_the_time_and_body() {
        // Python: hmac.new(b'whsec-test', b'1700000000.{"event":"test"}', hashlib.sha256).hexdigest()
        assert_eq!(
            signature("whsec-test", 1_700_000_000, br#"{"event":"test"}"#),
            "t=1700000000,v1=195b6c9de2a0e62d7b2da7a167156c291a95ddbd1cffc9c72cd3343cec68a226"
        );
    }
}
