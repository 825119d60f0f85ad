//! CRM records, shared by the features built on them (contacts, analyses, pipeline): customers
//! with their business context, contacts, deals and activities; their SQL, the contact context
//! builder, search and the demo-data generator. No pages: those live in the features.
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod search;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

pub const LIFECYCLE_STAGES: [&str; 4] = ["lead", "prospect", "customer", "churned"];
pub const DEAL_STAGES: [&str; 6] = [
    "qualification",
    "discovery",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
];
pub const CONTACTS_PAGE_SIZE: i64 = 25;
pub const TIMELINE_PAGE_SIZE: i64 = 20;

/// One row of the contacts list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactRow {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub lifecycle_stage: String,
    pub company: String,
    pub owner_name: Option<String>,
}

impl ContactRow {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// What the contacts list is filtered by. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactFilter {
    pub q: Option<String>,
    pub stage: Option<String>,
    pub mine: bool,
    /// The archived contacts instead of the live ones.
    #[serde(default)]
    pub archived: bool,
    pub after: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactsPage {
    pub rows: Vec<ContactRow>,
    /// The cursor for the next page, when there is one.
    pub next_after: Option<Uuid>,
    /// Whether the reader may add and edit contacts.
    #[serde(default)]
    pub can_edit: bool,
}

/// A product or service the customer sells.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Offering {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetAudience {
    pub description: String,
    pub segments: Vec<String>,
    pub pain_points: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BusinessHours {
    pub timezone: String,
    /// Day → opening hours, in week order: [("Mon", "09:00-17:00"), …].
    pub weekly: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrandVoice {
    pub tone: String,
    /// How they write: "short sentences, plain words, first person plural".
    pub style: String,
    pub personality: Vec<String>,
    pub phrases_to_use: Vec<String>,
    pub phrases_to_avoid: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContentPreferences {
    pub formats: Vec<String>,
    pub length: String,
    pub emoji: bool,
    pub cta_style: String,
}

/// What every piece of content for this customer must carry, and must never claim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComplianceRules {
    pub required_disclaimers: Vec<String>,
    pub forbidden_claims: Vec<String>,
}

/// A customer and the business context the AI writes from (seed 001).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: Uuid,
    pub name: String,
    pub website: Option<String>,
    pub industry_category: String,
    pub industry_subcategory: String,
    pub business_description: String,
    pub unique_selling_points: Vec<String>,
    pub products_services: Vec<Offering>,
    pub target_audience: TargetAudience,
    pub business_hours: BusinessHours,
    pub brand_voice: BrandVoice,
    pub content_preferences: ContentPreferences,
    pub competitors: Vec<String>,
    pub compliance: ComplianceRules,
    pub is_vip: bool,
    pub updated_at: OffsetDateTime,
}

impl Customer {
    /// The brand voice in a sentence or two, embedded to score brand alignment.
    pub fn voice_text(&self) -> String {
        let v = &self.brand_voice;
        let mut s = String::new();
        if !v.tone.is_empty() {
            s.push_str(&format!("Tone: {}. ", v.tone));
        }
        if !v.personality.is_empty() {
            s.push_str(&format!("Personality: {}. ", v.personality.join(", ")));
        }
        if !v.phrases_to_use.is_empty() {
            s.push_str(&format!(
                "Typical phrases: {}.",
                v.phrases_to_use.join("; ")
            ));
        }
        if s.is_empty() {
            s = format!("{} {}", self.name, self.business_description);
        }
        s.trim().to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub lifecycle_stage: String,
    pub owner_user_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub updated_at: OffsetDateTime,
    /// When it was archived: it is then out of the list and the AI's context, history kept.
    pub archived_at: Option<OffsetDateTime>,
}

impl Contact {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    pub id: Uuid,
    pub name: String,
    pub stage: String,
    pub amount_minor: i64,
    pub currency: String,
    pub expected_close: Option<Date>,
    pub stage_entered_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Deal {
    pub fn is_open(&self) -> bool {
        !self.stage.starts_with("closed_")
    }

    /// "12,500.00 USD"
    pub fn amount(&self) -> String {
        format_money(self.amount_minor, &self.currency)
    }
}

/// "Health / Dentistry": the industry category and subcategory that are set, for prompts.
pub fn industry_line(category: &str, subcategory: &str) -> String {
    [category, subcategory]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

pub fn format_money(minor: i64, currency: &str) -> String {
    let units = minor / 100;
    let cents = (minor % 100).abs();
    let digits = units.abs().to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{grouped}.{cents:02} {currency}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: i64,
    pub kind: String,
    pub direction: Option<String>,
    pub occurred_at: OffsetDateTime,
    pub summary: String,
    pub outcome: Option<String>,
}

/// An open deal as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenDealFact {
    pub name: String,
    pub stage: String,
    pub amount: String,
    pub days_in_stage: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trend {
    Rising,
    Steady,
    Falling,
    Quiet,
}

impl Trend {
    /// Activity in the last 30 days against the 30 days before.
    pub fn from_counts(last_30d: i64, prev_30d: i64) -> Trend {
        match (last_30d, prev_30d) {
            (0, 0) => Trend::Quiet,
            (_, 0) => Trend::Rising,
            (l, p) if l * 4 >= p * 5 => Trend::Rising,
            (l, p) if l * 5 <= p * 4 => Trend::Falling,
            _ => Trend::Steady,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Trend::Rising => "rising",
            Trend::Steady => "steady",
            Trend::Falling => "falling",
            Trend::Quiet => "no activity in 60 days",
        }
    }
}

/// Facts computed from the records so the model does not have to guess them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub days_since_last_touch: Option<i64>,
    pub inbound_90d: i64,
    pub outbound_90d: i64,
    pub outbound_emails_90d: i64,
    pub replied_emails_90d: i64,
    pub activities_last_30d: i64,
    pub activities_prev_30d: i64,
    pub open_deals: Vec<OpenDealFact>,
    pub open_pipeline: String,
}

impl Facts {
    /// Replied outbound emails over outbound emails in the last 90 days, when any were sent.
    pub fn reply_rate(&self) -> Option<f64> {
        (self.outbound_emails_90d > 0)
            .then(|| self.replied_emails_90d as f64 / self.outbound_emails_90d as f64)
    }

    pub fn trend(&self) -> Trend {
        Trend::from_counts(self.activities_last_30d, self.activities_prev_30d)
    }

    /// "3 in / 5 out"
    pub fn balance(&self) -> String {
        format!("{} in / {} out", self.inbound_90d, self.outbound_90d)
    }
}

/// Everything the contact page and the AI analyses read about one contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactContext {
    pub contact: Contact,
    pub customer: Customer,
    pub deals: Vec<Deal>,
    /// Newest first, at most `TIMELINE_PAGE_SIZE`.
    pub recent_activities: Vec<Activity>,
    pub facts: Facts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelinePage {
    pub activities: Vec<Activity>,
    pub next_before: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_by_thousands_with_cents() {
        assert_eq!(format_money(1_250_000, "USD"), "12,500.00 USD");
        assert_eq!(format_money(99, "EUR"), "0.99 EUR");
        assert_eq!(format_money(12_345_678_901, "USD"), "123,456,789.01 USD");
    }

    #[test]
    fn the_trend_compares_the_last_30_days_with_the_30_before() {
        assert_eq!(Trend::from_counts(0, 0), Trend::Quiet);
        assert_eq!(Trend::from_counts(3, 0), Trend::Rising);
        assert_eq!(Trend::from_counts(5, 4), Trend::Rising);
        assert_eq!(Trend::from_counts(4, 4), Trend::Steady);
        assert_eq!(Trend::from_counts(4, 5), Trend::Falling);
        assert_eq!(Trend::from_counts(0, 2), Trend::Falling);
    }
}
