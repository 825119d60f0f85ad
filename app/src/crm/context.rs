//! The context builder: everything the AI analyses know about a contact, loaded in parallel.
//!
//! Contact, customer, deals, recent activities and activity counts are five queries on five
//! pooled connections at once, each in its own tenant-scoped transaction, so the wall time is
//! the slowest query rather than the sum (seed 004 measured 300 ms for this in parallel).
use super::{db, ContactContext, Deal, Facts, OpenDealFact, TIMELINE_PAGE_SIZE};
use crate::ssr::tenancy::{self, Scope};
use futures::future::BoxFuture;
use sqlx::{PgConnection, PgPool};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

/// A built context and how long it took.
pub struct Built {
    pub context: ContactContext,
    pub fetch: Duration,
    pub build: Duration,
}

/// Runs `f` in its own tenant-scoped transaction on its own pooled connection.
async fn scoped<T: Send>(
    pool: &PgPool,
    scope: Scope,
    f: impl for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    let mut tx = tenancy::begin(pool, scope).await?;
    let out = f(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Loads and computes the context of `contact_id`; `None` when the tenant has no such contact.
#[tracing::instrument(skip_all)]
pub async fn build(
    pool: &PgPool,
    scope: Scope,
    contact_id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<Built>, sqlx::Error> {
    let started = Instant::now();
    let t = scope.tenant_id;
    let (contact, customer, deals, recent, stats) = tokio::try_join!(
        scoped(pool, scope, |c| Box::pin(db::contact(c, t, contact_id))),
        scoped(pool, scope, |c| Box::pin(db::customer_of_contact(
            c, t, contact_id
        ))),
        scoped(pool, scope, |c| Box::pin(db::deals_of_contact(
            c, t, contact_id
        ))),
        scoped(pool, scope, |c| Box::pin(db::activities(
            c,
            t,
            contact_id,
            None,
            TIMELINE_PAGE_SIZE
        ))),
        scoped(pool, scope, |c| Box::pin(db::activity_stats(
            c, t, contact_id, now
        ))),
    )?;
    let fetch = started.elapsed();
    let (Some(contact), Some(customer)) = (contact, customer) else {
        return Ok(None);
    };
    let computing = Instant::now();
    let facts = compute_facts(&stats, &deals, now);
    let context = ContactContext {
        contact,
        customer,
        deals,
        recent_activities: recent,
        facts,
    };
    let build = computing.elapsed();
    tracing::debug!(
        contact_id = %contact_id,
        fetch_us = fetch.as_micros() as u64,
        build_us = build.as_micros() as u64,
        "contact context built"
    );
    Ok(Some(Built {
        context,
        fetch,
        build,
    }))
}

/// The facts the model should not have to work out for itself.
pub fn compute_facts(stats: &db::ActivityStats, deals: &[Deal], now: OffsetDateTime) -> Facts {
    let open: Vec<&Deal> = deals.iter().filter(|d| d.is_open()).collect();
    let open_deals = open
        .iter()
        .map(|d| OpenDealFact {
            name: d.name.clone(),
            stage: d.stage.clone(),
            amount: d.amount(),
            days_in_stage: (now - d.stage_entered_at).whole_days().max(0),
        })
        .collect();
    // Pipeline per currency (in currency order), so different currencies are never added together.
    let mut totals: Vec<(String, i64)> = Vec::new();
    for d in &open {
        match totals.iter_mut().find(|(c, _)| *c == d.currency) {
            Some((_, sum)) => *sum += d.amount_minor,
            None => totals.push((d.currency.clone(), d.amount_minor)),
        }
    }
    totals.sort();
    let open_pipeline = if totals.is_empty() {
        "none".to_owned()
    } else {
        totals
            .iter()
            .map(|(c, m)| super::format_money(*m, c))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    Facts {
        days_since_last_touch: stats.last_touch.map(|t| (now - t).whole_days().max(0)),
        inbound_90d: stats.inbound_90d,
        outbound_90d: stats.outbound_90d,
        outbound_emails_90d: stats.outbound_emails_90d,
        replied_emails_90d: stats.replied_emails_90d,
        activities_last_30d: stats.last_30d,
        activities_prev_30d: stats.prev_30d,
        open_deals,
        open_pipeline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: Uuid = Uuid::from_u128(0x71);
    const CONTACT: Uuid = Uuid::from_u128(0xc1);

    /// One customer and contact with a known history, relative to `NOW`.
    async fn known_history(pool: &PgPool) {
        sqlx::query!(
            "insert into tenants (id, name, slug) values ($1, 'T', 't')",
            T
        )
        .execute(pool)
        .await
        .expect("tenant");
        let scope = Scope {
            tenant_id: T,
            user_id: Uuid::nil(),
        };
        let mut tx = tenancy::begin(pool, scope).await.expect("tx");
        let customer = Uuid::from_u128(0xcc);
        sqlx::query!(
            r#"insert into customers (id, tenant_id, name, unique_selling_points, brand_voice)
               values ($1, $2, 'Harbor Dental', '{"Same-day appointments"}', '{"tone": "warm", "phrases_to_avoid": ["cheap"]}')"#,
            customer,
            T
        )
        .execute(&mut *tx)
        .await
        .expect("customer");
        sqlx::query!(
            "insert into contacts (id, tenant_id, customer_id, first_name, last_name, email)
             values ($1, $2, $3, 'Ann', 'Lee', 'ann@harbor.test')",
            CONTACT,
            T,
            customer
        )
        .execute(&mut *tx)
        .await
        .expect("contact");
        // days ago, kind, direction, outcome
        let history: [(i64, &str, Option<&str>, Option<&str>); 8] = [
            (3, "email", Some("outbound"), Some("replied")),
            (3, "email", Some("inbound"), None),
            (10, "call", Some("outbound"), Some("connected")),
            (20, "email", Some("outbound"), Some("no_reply")),
            (40, "email", Some("outbound"), Some("no_reply")),
            (45, "note", None, None),
            (80, "email", Some("outbound"), Some("replied")),
            (200, "meeting", Some("outbound"), Some("held")), // outside the 90-day window
        ];
        for (days, kind, direction, outcome) in history {
            sqlx::query!(
                "insert into activities (tenant_id, contact_id, kind, direction, outcome, occurred_at, summary)
                 values ($1, $2, $3, $4, $5, $6, 'x')",
                T,
                CONTACT,
                kind,
                direction,
                outcome,
                NOW - time::Duration::days(days)
            )
            .execute(&mut *tx)
            .await
            .expect("activity");
        }
        for (name, stage, amount, days_in_stage, currency) in [
            ("Recall campaign", "proposal", 1_250_000_i64, 12_i64, "USD"),
            ("Website", "discovery", 500_000, 3, "USD"),
            ("Old deal", "closed_won", 900_000, 100, "USD"),
            ("EU clinic", "negotiation", 100_000, 0, "EUR"),
        ] {
            sqlx::query!(
                "insert into deals (tenant_id, customer_id, contact_id, name, stage, amount_minor, currency, stage_entered_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
                T,
                customer,
                CONTACT,
                name,
                stage,
                amount,
                currency,
                NOW - time::Duration::days(days_in_stage) - time::Duration::hours(1)
            )
            .execute(&mut *tx)
            .await
            .expect("deal");
        }
        tx.commit().await.expect("commit");
    }

    const NOW: OffsetDateTime = datetime!(2026-11-20 12:00 UTC);

    #[sqlx::test(migrations = "../migrations")]
    async fn the_facts_are_computed_from_the_records(pool: PgPool) {
        known_history(&pool).await;
        let built = build(
            &pool,
            Scope {
                tenant_id: T,
                user_id: Uuid::nil(),
            },
            CONTACT,
            NOW,
        )
        .await
        .expect("build")
        .expect("the contact exists");
        let f = &built.context.facts;
        assert_eq!(f.days_since_last_touch, Some(3));
        // within 90 days: inbound 1; outbound 3+1+1+1 = 6 (the note has no direction)
        assert_eq!((f.inbound_90d, f.outbound_90d), (1, 5));
        assert_eq!((f.outbound_emails_90d, f.replied_emails_90d), (4, 2));
        assert_eq!(f.reply_rate(), Some(0.5));
        // last 30 days: 3, 3, 10, 20 → 4; the 30 before: 40, 45 → 2
        assert_eq!((f.activities_last_30d, f.activities_prev_30d), (4, 2));
        assert_eq!(f.trend(), crate::crm::Trend::Rising);
        let open: Vec<(&str, i64)> = f
            .open_deals
            .iter()
            .map(|d| (d.name.as_str(), d.days_in_stage))
            .collect();
        assert_eq!(open.len(), 3, "closed deals are not open: {open:?}");
        assert!(
            open.contains(&("Recall campaign", 12))
                && open.contains(&("Website", 3))
                && open.contains(&("EU clinic", 0))
        );
        assert_eq!(f.open_pipeline, "1,000.00 EUR + 17,500.00 USD");
        assert_eq!(built.context.recent_activities.len(), 8);
        assert_eq!(
            built.context.customer.brand_voice.phrases_to_avoid,
            ["cheap"]
        );
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn another_tenant_gets_nothing(pool: PgPool) {
        known_history(&pool).await;
        let other = Uuid::from_u128(0x72);
        sqlx::query!(
            "insert into tenants (id, name, slug) values ($1, 'O', 'o')",
            other
        )
        .execute(&pool)
        .await
        .expect("tenant");
        let built = build(
            &pool,
            Scope {
                tenant_id: other,
                user_id: Uuid::nil(),
            },
            CONTACT,
            NOW,
        )
        .await
        .expect("build");
        assert!(built.is_none());
    }
}
