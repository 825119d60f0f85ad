//! What an analysis prompt is filled with: the contact context as text blocks (with the facts
//! computed in Rust), and the fingerprint that keys the shared cache.
use crate::ai::prompts::{self, Prompt};
use crate::crm::{industry_line, ContactContext};
use crate::domain::humanize;
use blake2::{Blake2b512, Digest};

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 5] = ["contact", "customer", "deals", "activities", "facts"];

/// The context as the text blocks the placeholders stand for.
pub struct Sections {
    pub contact: String,
    pub customer: String,
    pub deals: String,
    pub activities: String,
    pub facts: String,
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none given".to_owned()
    } else {
        items.join("; ")
    }
}

pub fn sections(ctx: &ContactContext) -> Sections {
    let c = &ctx.contact;
    let mut contact = format!(
        "Name: {}\nLifecycle stage: {}",
        c.full_name(),
        humanize(&c.lifecycle_stage)
    );
    if let Some(t) = &c.title {
        contact.push_str(&format!("\nTitle: {t}"));
    }
    if let Some(e) = &c.email {
        contact.push_str(&format!("\nEmail: {e}"));
    }
    if let Some(o) = &c.owner_name {
        contact.push_str(&format!("\nAccount owner: {o}"));
    }

    let cu = &ctx.customer;
    let mut customer = format!(
        "Company: {}{}",
        cu.name,
        if cu.is_vip { " (VIP customer)" } else { "" }
    );
    let industry = industry_line(&cu.industry_category, &cu.industry_subcategory);
    if !industry.is_empty() {
        customer.push_str(&format!("\nIndustry: {industry}"));
    }
    if let Some(w) = &cu.website {
        customer.push_str(&format!("\nWebsite: {w}"));
    }
    if !cu.business_description.is_empty() {
        customer.push_str(&format!("\nWhat they do: {}", cu.business_description));
    }
    customer.push_str(&format!(
        "\nUnique selling points: {}",
        list(&cu.unique_selling_points)
    ));
    let offerings: Vec<String> = cu
        .products_services
        .iter()
        .map(|o| {
            if o.description.is_empty() {
                o.name.clone()
            } else {
                format!("{} ({})", o.name, o.description)
            }
        })
        .collect();
    customer.push_str(&format!("\nProducts and services: {}", list(&offerings)));
    let ta = &cu.target_audience;
    if !ta.description.is_empty() || !ta.segments.is_empty() {
        customer.push_str(&format!(
            "\nTarget audience: {} Segments: {}.",
            ta.description,
            list(&ta.segments)
        ));
    }
    if !ta.pain_points.is_empty() {
        customer.push_str(&format!(
            "\nTheir customers' pain points: {}",
            list(&ta.pain_points)
        ));
    }
    if !cu.business_hours.weekly.is_empty() {
        let hours: Vec<String> = cu
            .business_hours
            .weekly
            .iter()
            .map(|(d, h)| format!("{d} {h}"))
            .collect();
        customer.push_str(&format!(
            "\nBusiness hours ({}): {}",
            cu.business_hours.timezone,
            hours.join(", ")
        ));
    }
    let bv = &cu.brand_voice;
    if !bv.tone.is_empty() {
        customer.push_str(&format!(
            "\nBrand voice: {} ({})",
            bv.tone,
            list(&bv.personality)
        ));
    }
    customer.push_str(&format!(
        "\nPhrases to use: {}\nPhrases to avoid: {}",
        list(&bv.phrases_to_use),
        list(&bv.phrases_to_avoid)
    ));
    let cp = &cu.content_preferences;
    if !cp.formats.is_empty() || !cp.length.is_empty() {
        customer.push_str(&format!(
            "\nContent preferences: formats {}; length {}; emoji {}; calls to action {}",
            list(&cp.formats),
            if cp.length.is_empty() {
                "unspecified"
            } else {
                &cp.length
            },
            if cp.emoji { "welcome" } else { "avoid" },
            if cp.cta_style.is_empty() {
                "unspecified"
            } else {
                &cp.cta_style
            }
        ));
    }

    let deals = if ctx.deals.is_empty() {
        "No deals.".to_owned()
    } else {
        ctx.deals
            .iter()
            .map(|d| {
                let close = d
                    .expected_close
                    .map(|c| format!(", expected close {c}"))
                    .unwrap_or_default();
                format!(
                    "- {}: {}, {}{}",
                    d.name,
                    humanize(&d.stage),
                    d.amount(),
                    close
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };

    let activities = if ctx.recent_activities.is_empty() {
        "No recorded activity.".to_owned()
    } else {
        ctx.recent_activities
            .iter()
            .map(|a| {
                let dir = a
                    .direction
                    .as_deref()
                    .map(|d| format!(" {d}"))
                    .unwrap_or_default();
                let outcome = a
                    .outcome
                    .as_deref()
                    .map(|o| format!(" ({})", humanize(o).to_lowercase()))
                    .unwrap_or_default();
                format!(
                    "- {} {}{}{}: {}",
                    a.occurred_at.date(),
                    a.kind,
                    dir,
                    outcome,
                    a.summary
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };

    let f = &ctx.facts;
    let mut facts = vec![
        match f.days_since_last_touch {
            Some(d) => format!("- Days since last touch: {d}"),
            None => "- Days since last touch: never contacted".to_owned(),
        },
        format!(
            "- Inbound/outbound activities, last 90 days: {}",
            f.balance()
        ),
        match f.reply_rate() {
            Some(r) => format!(
                "- Email reply rate, last 90 days: {:.0}% ({} of {} outbound emails replied)",
                r * 100.0,
                f.replied_emails_90d,
                f.outbound_emails_90d
            ),
            None => "- Email reply rate, last 90 days: no outbound emails".to_owned(),
        },
        format!(
            "- Activity trend: {} ({} in the last 30 days, {} in the 30 before)",
            f.trend().label(),
            f.activities_last_30d,
            f.activities_prev_30d
        ),
        format!("- Open pipeline: {}", f.open_pipeline),
    ];
    for d in &f.open_deals {
        facts.push(format!(
            "- Open deal {:?}: {} for {} days, {}",
            d.name,
            humanize(&d.stage),
            d.days_in_stage,
            d.amount
        ));
    }
    Sections {
        contact,
        customer,
        deals,
        activities,
        facts: facts.join("\n"),
    }
}

impl Sections {
    /// The filled-in user prompt; an unknown placeholder is an error naming it.
    pub fn render(&self, template: &str) -> Result<String, String> {
        prompts::render(
            template,
            &[
                ("contact", &self.contact),
                ("customer", &self.customer),
                ("deals", &self.deals),
                ("activities", &self.activities),
                ("facts", &self.facts),
            ],
        )
    }
}

/// Identifies what an analysis was made from: the prompt, the model and the filled-in text.
/// Any new activity, deal change or prompt edit gives a new fingerprint.
pub fn fingerprint(prompt: &Prompt, model: &str, rendered: &str) -> String {
    let mut h = Blake2b512::new();
    for part in [
        prompt.name.as_str(),
        &prompt.version.to_string(),
        model,
        &prompt.system_prompt,
        rendered,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Sections {
        Sections {
            contact: "C".into(),
            customer: "CU".into(),
            deals: "D".into(),
            activities: "A".into(),
            facts: "F".into(),
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            s().render("x {{contact}} y {{ facts }}!").expect("ok"),
            "x C y F!"
        );
    }

    #[test]
    fn unknown_placeholders_name_the_known_ones() {
        let err = s().render("{{nope}}").expect_err("unknown");
        assert!(
            err.contains("unknown placeholder {{nope}}; use one of activities, contact, customer, deals, facts"),
            "{err}"
        );
    }

    #[test]
    fn the_fingerprint_changes_with_model_and_text() {
        let p = Prompt {
            name: "n".into(),
            version: 1,
            system_prompt: "s".into(),
            template: "t".into(),
            ai_model: "m".into(),
            max_tokens: 10,
            temperature: 0.0,
        };
        let a = fingerprint(&p, "m", "text");
        assert_eq!(a.len(), 32);
        assert_eq!(a, fingerprint(&p, "m", "text"));
        assert_ne!(a, fingerprint(&p, "m2", "text"));
        assert_ne!(a, fingerprint(&p, "m", "text2"));
    }
}
