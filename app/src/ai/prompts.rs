//! The analysis prompts: stored in `ai_prompts`, filled from the contact context.
use crate::crm::{humanize, industry_line, ContactContext};
use crate::ssr::tenancy::Tx;
use blake2::{Blake2b512, Digest};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub name: String,
    pub version: i32,
    pub system_prompt: String,
    pub template: String,
    pub ai_model: String,
    pub max_tokens: i32,
    pub temperature: f32,
}

/// The active prompt called `name`: the workspace's own version if it has one, else the
/// built-in one.
pub async fn active(
    tx: &mut Tx,
    tenant_id: Uuid,
    name: &str,
) -> Result<Option<Prompt>, sqlx::Error> {
    sqlx::query_as!(
        Prompt,
        "select name, version, system_prompt, template, ai_model, max_tokens, temperature
         from ai_prompts
         where name = $2 and active and (tenant_id = $1 or tenant_id is null)
         order by tenant_id nulls last
         limit 1",
        tenant_id,
        name
    )
    .fetch_optional(&mut **tx)
    .await
}

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

/// Fills `{{placeholder}}`s. An unknown placeholder is an error, so a broken template is
/// caught instead of sent.
pub fn render(template: &str, s: &Sections) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 2048);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a {{ in the template is never closed".to_owned())?;
        let value = match after[..end].trim() {
            "contact" => &s.contact,
            "customer" => &s.customer,
            "deals" => &s.deals,
            "activities" => &s.activities,
            "facts" => &s.facts,
            other => {
                return Err(format!(
                    "unknown placeholder {{{{{other}}}}}; use one of {}",
                    PLACEHOLDERS.join(", ")
                ))
            }
        };
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
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
            render("x {{contact}} y {{ facts }}!", &s()).expect("ok"),
            "x C y F!"
        );
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_refused() {
        assert!(render("{{nope}}", &s())
            .expect_err("unknown")
            .contains("unknown placeholder {{nope}}"));
        assert!(render("{{contact", &s()).is_err());
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
