//! The CRM record forms as posted (contacts, deals, activities), and their validation: every
//! field's error at once, with the limits the database also holds.
use crate::{
    crm::{DEAL_STAGES, LIFECYCLE_STAGES},
    domain::{humanize, Email},
    error::FieldError,
};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_PHONE_CHARS: usize = 40;
pub const MAX_DEAL_NAME_CHARS: usize = 200;
pub const MAX_SUMMARY_CHARS: usize = 4_000;
/// The largest deal: a trillion in the currency's units.
pub const MAX_AMOUNT_UNITS: i64 = 1_000_000_000_000;
pub const ACTIVITY_KINDS: [&str; 4] = ["call", "email", "meeting", "note"];
pub const DIRECTIONS: [&str; 2] = ["outbound", "inbound"];

/// The outcomes an activity of `kind` may have (notes have none).
pub fn outcomes(kind: &str) -> &'static [&'static str] {
    match kind {
        "email" => &["replied", "no_reply", "bounced"],
        "call" => &["connected", "voicemail", "no_answer"],
        "meeting" => &["held", "no_show", "rescheduled"],
        _ => &[],
    }
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// A trimmed one-line text, required or not, checked for length and control characters.
fn line(errors: &mut Vec<FieldError>, field: &str, raw: &str, max: usize) -> String {
    let v = raw.trim().to_owned();
    FieldError::check_text(errors, field, &v, max);
    if v.contains('\n') {
        errors.push(err(field, "Keep this on one line."));
    }
    v
}

fn required(errors: &mut Vec<FieldError>, field: &str, value: &str, what: &str) {
    if value.is_empty() {
        errors.push(err(field, format!("Enter the {what}.")));
    }
}

fn id(errors: &mut Vec<FieldError>, field: &str, raw: &str, message: &str) -> Option<Uuid> {
    match raw.trim() {
        "" => None,
        s => match s.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(err(field, message));
                None
            }
        },
    }
}

/// The contact form. `id` is empty for a new contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactForm {
    pub id: String,
    pub version: String,
    pub customer_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
    pub lifecycle_stage: String,
    pub owner_user_id: String,
}

/// A checked contact.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactInput {
    pub customer_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub lifecycle_stage: String,
    pub owner_user_id: Option<Uuid>,
}

impl ContactForm {
    pub fn of(c: &crate::crm::Contact) -> Self {
        Self {
            id: c.id.to_string(),
            version: super::version_of(c.updated_at),
            customer_id: c.customer_id.to_string(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            title: c.title.clone().unwrap_or_default(),
            lifecycle_stage: c.lifecycle_stage.clone(),
            owner_user_id: c.owner_user_id.map(|u| u.to_string()).unwrap_or_default(),
        }
    }

    /// The contact this form edits, or `None` for a new one.
    pub fn contact_id(&self) -> Result<Option<Uuid>, FieldError> {
        match self.id.trim() {
            "" => Ok(None),
            s => s
                .parse()
                .map(Some)
                .map_err(|_| err("id", "This form names no contact. Reload the page.")),
        }
    }

    pub fn parse(&self) -> Result<ContactInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let customer_id = id(
            &mut errors,
            "customer_id",
            &self.customer_id,
            "Choose the company from the list.",
        );
        if customer_id.is_none() && self.customer_id.trim().is_empty() {
            errors.push(err(
                "customer_id",
                "Choose the company this contact works at.",
            ));
        }
        let first_name = line(&mut errors, "first_name", &self.first_name, MAX_NAME_CHARS);
        required(&mut errors, "first_name", &first_name, "first name");
        let last_name = line(&mut errors, "last_name", &self.last_name, MAX_NAME_CHARS);
        required(&mut errors, "last_name", &last_name, "last name");
        let email = match self.email.trim() {
            "" => None,
            raw => match Email::parse(raw) {
                Ok(e) => Some(String::from(e)),
                Err(e) => {
                    errors.push(err("email", e.to_string()));
                    None
                }
            },
        };
        let phone = line(&mut errors, "phone", &self.phone, MAX_PHONE_CHARS);
        if phone
            .chars()
            .any(|c| !(c.is_ascii_digit() || " +-().".contains(c) || c == 'x'))
        {
            errors.push(err(
                "phone",
                "Use digits, spaces and + - ( ) . only, such as +1 (555) 010-0199.",
            ));
        }
        let title = line(&mut errors, "title", &self.title, MAX_TITLE_CHARS);
        let stage = match self.lifecycle_stage.trim() {
            "" => "lead".to_owned(),
            s if LIFECYCLE_STAGES.contains(&s) => s.to_owned(),
            _ => {
                errors.push(err(
                    "lifecycle_stage",
                    format!("Choose one of: {}.", LIFECYCLE_STAGES.join(", ")),
                ));
                String::new()
            }
        };
        let owner_user_id = id(
            &mut errors,
            "owner_user_id",
            &self.owner_user_id,
            "Choose the owner from the list.",
        );
        match (customer_id, errors.is_empty()) {
            (Some(customer_id), true) => Ok(ContactInput {
                customer_id,
                first_name,
                last_name,
                email,
                phone: (!phone.is_empty()).then_some(phone),
                title: (!title.is_empty()).then_some(title),
                lifecycle_stage: stage,
                owner_user_id,
            }),
            _ => Err(errors),
        }
    }
}

impl ContactInput {
    /// Every field as (label, readable value), for the audit diff. The company and owner are
    /// named by the caller, who looked them up.
    pub fn fields(&self, company: &str, owner: &str) -> Vec<(&'static str, String)> {
        vec![
            ("First name", self.first_name.clone()),
            ("Last name", self.last_name.clone()),
            ("Email", self.email.clone().unwrap_or_default()),
            ("Phone", self.phone.clone().unwrap_or_default()),
            ("Title", self.title.clone().unwrap_or_default()),
            ("Stage", humanize(&self.lifecycle_stage)),
            ("Company", company.to_owned()),
            ("Owner", owner.to_owned()),
        ]
    }
}

/// The deal form, on the contact page. `id` is empty for a new deal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DealForm {
    pub id: String,
    pub contact_id: String,
    pub version: String,
    pub name: String,
    pub stage: String,
    /// "12500", "12,500.50".
    pub amount: String,
    pub currency: String,
    /// YYYY-MM-DD, or empty.
    pub expected_close: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DealInput {
    pub name: String,
    pub stage: String,
    pub amount_minor: i64,
    pub currency: String,
    pub expected_close: Option<Date>,
}

/// "12,500.5" → 1_250_050 minor units; at most two decimals.
pub fn parse_amount(raw: &str) -> Result<i64, String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != ' ')
        .collect();
    if cleaned.is_empty() {
        return Err("Enter the amount, such as 12,500 or 12500.50.".to_owned());
    }
    let (units, cents) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(units) || !(cents.is_empty() || digits(cents)) || cents.len() > 2 {
        return Err("Enter a positive amount with at most two decimals, such as 12,500.50.".into());
    }
    let units: i64 = units
        .parse()
        .ok()
        .filter(|u| *u <= MAX_AMOUNT_UNITS)
        .ok_or_else(|| format!("Enter an amount up to {MAX_AMOUNT_UNITS}."))?;
    let cents: i64 = format!("{cents:0<2}").parse().unwrap_or(0);
    Ok(units * 100 + cents)
}

/// The amount as the form shows it: "12500.50".
pub fn amount_text(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, (minor % 100).abs())
}

impl DealForm {
    pub fn of(contact_id: Uuid, d: &crate::crm::Deal) -> Self {
        Self {
            id: d.id.to_string(),
            contact_id: contact_id.to_string(),
            version: super::version_of(d.updated_at),
            name: d.name.clone(),
            stage: d.stage.clone(),
            amount: amount_text(d.amount_minor),
            currency: d.currency.clone(),
            expected_close: d.expected_close.map(|c| c.to_string()).unwrap_or_default(),
        }
    }

    pub fn parse(&self) -> Result<DealInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = line(&mut errors, "name", &self.name, MAX_DEAL_NAME_CHARS);
        required(&mut errors, "name", &name, "deal's name");
        let stage = match self.stage.trim() {
            "" => "qualification".to_owned(),
            s if DEAL_STAGES.contains(&s) => s.to_owned(),
            _ => {
                errors.push(err(
                    "stage",
                    format!("Choose one of: {}.", DEAL_STAGES.join(", ")),
                ));
                String::new()
            }
        };
        let amount_minor = parse_amount(&self.amount).unwrap_or_else(|m| {
            errors.push(err("amount", m));
            0
        });
        let currency = match self.currency.trim().to_ascii_uppercase() {
            c if c.is_empty() => "USD".to_owned(),
            c if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()) => c,
            _ => {
                errors.push(err(
                    "currency",
                    "Enter a three-letter currency code, such as USD or EUR.",
                ));
                String::new()
            }
        };
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let expected_close = match self.expected_close.trim() {
            "" => None,
            s => match Date::parse(s, &format) {
                Ok(d) if (2000..=2100).contains(&d.year()) => Some(d),
                _ => {
                    errors.push(err(
                        "expected_close",
                        "Enter a date such as 2026-12-31, between 2000 and 2100.",
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DealInput {
            name,
            stage,
            amount_minor,
            currency,
            expected_close,
        })
    }
}

impl DealInput {
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Name", self.name.clone()),
            ("Stage", humanize(&self.stage)),
            (
                "Amount",
                crate::crm::format_money(self.amount_minor, &self.currency),
            ),
            (
                "Expected close",
                self.expected_close
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
        ]
    }
}

/// The log-an-activity form on the contact page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityForm {
    pub contact_id: String,
    pub kind: String,
    pub direction: String,
    /// `YYYY-MM-DDTHH:MM` in UTC, as a `datetime-local` input posts it; empty for now.
    pub occurred_at: String,
    pub summary: String,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityInput {
    pub kind: String,
    pub direction: Option<String>,
    pub occurred_at: OffsetDateTime,
    pub summary: String,
    pub outcome: Option<String>,
}

/// `at` as a `datetime-local` value (UTC, to the minute).
pub fn datetime_local(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

impl ActivityForm {
    /// Checks the form against `now`: an activity is something that happened, so it may be at
    /// most a day ahead (time zones) and not before 2000.
    pub fn parse(&self, now: OffsetDateTime) -> Result<ActivityInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = self.kind.trim();
        if !ACTIVITY_KINDS.contains(&kind) {
            errors.push(err("kind", "Choose call, email, meeting or note."));
        }
        let direction = match (kind, self.direction.trim()) {
            ("note", _) | (_, "") => None,
            (_, d) if DIRECTIONS.contains(&d) => Some(d.to_owned()),
            _ => {
                errors.push(err("direction", "Choose outbound or inbound."));
                None
            }
        };
        if kind != "note"
            && ACTIVITY_KINDS.contains(&kind)
            && direction.is_none()
            && errors.iter().all(|e| e.field != "direction")
        {
            errors.push(err(
                "direction",
                format!("Say whether the {kind} was outbound or inbound."),
            ));
        }
        let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
        let format_secs =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let raw = self.occurred_at.trim();
        let occurred_at = PrimitiveDateTime::parse(raw, &format)
            .or_else(|_| PrimitiveDateTime::parse(raw, &format_secs))
            .map(PrimitiveDateTime::assume_utc);
        let occurred_at = match occurred_at {
            Ok(at) if at.year() < 2000 => {
                errors.push(err("occurred_at", "Enter a date from 2000 on."));
                now
            }
            Ok(at) if at > now + time::Duration::days(1) => {
                errors.push(err(
                    "occurred_at",
                    "Log what has happened: this date is in the future.",
                ));
                now
            }
            Ok(at) => at,
            // Left empty: it happened just now.
            Err(_) if raw.is_empty() => now,
            Err(_) => {
                errors.push(err(
                    "occurred_at",
                    "Enter a date and time such as 2026-11-24T14:30.",
                ));
                now
            }
        };
        let summary = self.summary.trim().to_owned();
        FieldError::check_text(&mut errors, "summary", &summary, MAX_SUMMARY_CHARS);
        required(
            &mut errors,
            "summary",
            &summary,
            "summary: what was said or done",
        );
        let outcome = match self.outcome.trim() {
            "" => None,
            o if outcomes(kind).contains(&o) => Some(o.to_owned()),
            _ if outcomes(kind).is_empty() => {
                errors.push(err(
                    "outcome",
                    format!("A {kind} has no outcome; leave it empty."),
                ));
                None
            }
            _ => {
                errors.push(err(
                    "outcome",
                    format!(
                        "A {kind}'s outcome is one of: {}.",
                        outcomes(kind).join(", ")
                    ),
                ));
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ActivityInput {
            kind: kind.to_owned(),
            direction,
            occurred_at,
            summary,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_contact_needs_a_company_and_both_names_and_reports_every_error_at_once() {
        let form = ContactForm {
            first_name: " ".into(),
            email: "not-an-email".into(),
            phone: "call me".into(),
            lifecycle_stage: "vip".into(),
            ..Default::default()
        };
        let errors = form.parse().expect_err("invalid");
        assert_eq!(
            fields(&errors),
            [
                "customer_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "lifecycle_stage"
            ]
        );
    }

    #[test]
    fn a_valid_contact_is_trimmed_lower_cased_and_defaults_to_lead() {
        let customer = Uuid::new_v4();
        let form = ContactForm {
            customer_id: customer.to_string(),
            first_name: " Ada ".into(),
            last_name: "Lovelace".into(),
            email: " Ada@Example.COM ".into(),
            phone: "+44 (20) 7946-0000".into(),
            ..Default::default()
        };
        let c = form.parse().expect("valid");
        assert_eq!(c.customer_id, customer);
        assert_eq!(c.first_name, "Ada");
        assert_eq!(c.email.as_deref(), Some("ada@example.com"));
        assert_eq!(c.lifecycle_stage, "lead");
        assert_eq!((c.title, c.owner_user_id), (None, None));
    }

    #[test]
    fn amounts_take_separators_and_two_decimals_at_most() {
        assert_eq!(parse_amount("12,500"), Ok(1_250_000));
        assert_eq!(parse_amount("12500.5"), Ok(1_250_050));
        assert_eq!(parse_amount("0.07"), Ok(7));
        for bad in ["", "-5", "1.234", "12a", "1e6", "1000000000001"] {
            assert!(parse_amount(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(amount_text(1_250_050), "12500.50");
    }

    #[test]
    fn a_deal_checks_stage_currency_and_date() {
        let form = DealForm {
            name: "Renewal".into(),
            stage: "won".into(),
            amount: "10".into(),
            currency: "dollars".into(),
            expected_close: "31/12/2026".into(),
            ..Default::default()
        };
        let errors = form.parse().expect_err("invalid");
        assert_eq!(fields(&errors), ["stage", "currency", "expected_close"]);
        let ok = DealForm {
            name: "Renewal".into(),
            amount: "10".into(),
            currency: "eur".into(),
            expected_close: "2026-12-31".into(),
            ..Default::default()
        }
        .parse()
        .expect("valid");
        assert_eq!(
            (ok.stage.as_str(), ok.currency.as_str()),
            ("qualification", "EUR")
        );
    }

    #[test]
    fn an_activity_has_a_direction_unless_it_is_a_note_and_happened_already() {
        let now = time::macros::datetime!(2026-11-24 12:00 UTC);
        let call = ActivityForm {
            kind: "call".into(),
            occurred_at: "2026-11-24T09:30".into(),
            summary: "Talked pricing".into(),
            outcome: "held".into(),
            ..Default::default()
        };
        assert_eq!(
            fields(&call.parse(now).expect_err("invalid")),
            ["direction", "outcome"]
        );
        let call = ActivityForm {
            direction: "outbound".into(),
            outcome: "connected".into(),
            ..call
        };
        let a = call.parse(now).expect("valid");
        assert_eq!(a.occurred_at, time::macros::datetime!(2026-11-24 09:30 UTC));
        let note = ActivityForm {
            kind: "note".into(),
            direction: "inbound".into(),
            occurred_at: "2026-12-01T09:00".into(),
            summary: "x".into(),
            ..Default::default()
        };
        let errors = note.parse(now).expect_err("future");
        assert_eq!(fields(&errors), ["occurred_at"]);
        assert_eq!(datetime_local(now), "2026-11-24T12:00");
    }
}
