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
pub async fn build(pool: &PgPool, scope: Scope, contact_id: Uuid, now: OffsetDateTime) -> Result<Option<Built>, sqlx::Error> {
    let started = Instant::now();
    let t = scope.tenant_id;
    let (contact, customer, deals, recent, stats) = tokio::try_join!(
        scoped(pool, scope, |c| Box::pin(db::contact(c, t, contact_id))),
        scoped(pool, scope, |c| Box::pin(db::customer_of_contact(c, t, contact_id))),
        scoped(pool, scope, |c| Box::pin(db::deals_of_contact(c, t, contact_id))),
        scoped(pool, scope, |c| Box::pin(db::activities(c, t, contact_id, None, TIMELINE_PAGE_SIZE))),
        scoped(pool, scope, |c| Box::pin(db::activity_stats(c, t, contact_id, now))),
    )?;
    let fetch = started.elapsed();
    let (Some(contact), Some(customer)) = (contact, customer) else {
        return Ok(None);
    };
    let computing = Instant::now();
    let facts = compute_facts(&stats, &deals, now);
    let context = ContactContext { contact, customer, deals, recent_activities: recent, facts };
    let build = computing.elapsed();
    tracing::debug!(
        contact_id = %contact_id,
        fetch_us = fetch.as_micros() as u64,
        build_us = build.as_micros() as u64,
        "contact context built"
    );
    Ok(Some(Built { context, fetch, build }))
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
    // Pipeline per currency, so different currencies are never added together.
    let mut totals: Vec<(String, i64)> = Vec::new();
    for d in &open {
        match totals.iter_mut().find(|(c, _)| *c == d.currency) {
            Some((_, sum)) => *sum += d.amount_minor,
            None => totals.push((d.currency.clone(), d.amount_minor)),
        }
    }
    let open_pipeline = if totals.is_empty() {
        "none".to_owned()
    } else {
        totals.iter().map(|(c, m)| super::format_money(*m, c)).collect::<Vec<_>>().join(" + ")
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
