//! The alerts' SQL: the list, the counts, acknowledging and resolving, and the rules.
use super::{
    rules::AlertRules, Alert, AlertKind, AlertState, AlertsPage, Resolution, StateFilter, PAGE_SIZE,
};
use crate::{
    error::AppError,
    ssr::{audit, tenancy::Tx},
};
use uuid::Uuid;

/// The workspace's rules and their version (defaults at version 0 until first saved).
pub async fn rules(tx: &mut Tx, tenant_id: Uuid) -> Result<(AlertRules, i32), sqlx::Error> {
    let row = sqlx::query!(
        "select rules, version from alert_rules where tenant_id = $1",
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map_or((AlertRules::default(), 0), |r| {
        (
            serde_json::from_value(r.rules).unwrap_or_default(),
            r.version,
        )
    }))
}

/// Saves the rules at the version the form was opened at, with an audit entry naming the
/// thresholds that changed.
pub async fn save_rules(
    tx: &mut Tx,
    tenant_id: Uuid,
    user_id: Uuid,
    new: &AlertRules,
    version: i32,
) -> Result<(), AppError> {
    let (old, current) = rules(tx, tenant_id).await?;
    if current != version {
        return Err(AppError::validation(
            "version",
            "Someone changed these rules since you opened them. Reload to see their version.",
        ));
    }
    let json = serde_json::to_value(new).map_err(|e| AppError::internal("alert rules", &e))?;
    sqlx::query!(
        "insert into alert_rules (tenant_id, rules, updated_by) values ($1, $2, $3)
         on conflict (tenant_id) do update
            set rules = excluded.rules, updated_by = excluded.updated_by, updated_at = now(),
                version = alert_rules.version + 1",
        tenant_id,
        json,
        user_id
    )
    .execute(&mut **tx)
    .await?;
    let mut changes: Vec<audit::Change> = super::rules::FIELDS
        .iter()
        .filter(|f| old.get(f.key) != new.get(f.key))
        .map(|f| {
            audit::Change::new(
                f.key,
                &old.get(f.key).to_string(),
                &new.get(f.key).to_string(),
            )
        })
        .collect();
    for kind in AlertKind::RULES {
        if old.enabled(kind) != new.enabled(kind) {
            let on_off = |b: bool| if b { "on" } else { "off" };
            changes.push(audit::Change::new(
                kind.as_str(),
                on_off(old.enabled(kind)),
                on_off(new.enabled(kind)),
            ));
        }
    }
    audit::record_named(
        tx,
        tenant_id,
        Some(user_id),
        "alert_rules.changed",
        "Alert rules",
        serde_json::json!({ "changes": changes }),
    )
    .await?;
    Ok(())
}

/// Open and acknowledged alerts (the header badge reads the first).
pub async fn counts(tx: &mut Tx, tenant_id: Uuid) -> Result<(i64, i64), sqlx::Error> {
    let r = sqlx::query!(
        r#"select count(*) filter (where state = 'open') as "open!",
                  count(*) filter (where state = 'acknowledged') as "ack!"
           from alerts where tenant_id = $1 and state in ('open', 'acknowledged')"#,
        tenant_id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((r.open, r.ack))
}

/// One page of alerts, newest first.
pub async fn list(
    tx: &mut Tx,
    tenant_id: Uuid,
    filter: StateFilter,
    kind: Option<AlertKind>,
    page: i64,
) -> Result<AlertsPage, sqlx::Error> {
    let page = page.clamp(0, 1000);
    let rows = sqlx::query!(
        r#"select a.id, a.kind, a.severity, a.title, a.detail, a.link, a.state, a.occurrences,
                  a.opened_at, a.last_seen_at, ack.display_name as "ack_name?", a.acknowledged_at,
                  res.display_name as "res_name?", a.resolved_at, a.resolution, a.resolution_note, a.version
           from alerts a
           left join users ack on ack.id = a.acknowledged_by
           left join users res on res.id = a.resolved_by
           where a.tenant_id = $1 and a.state = any($2) and ($3::text is null or a.kind = $3)
           order by a.opened_at desc, a.id desc
           limit $4 offset $5"#,
        tenant_id,
        &filter.states(),
        kind.map(AlertKind::as_str),
        PAGE_SIZE + 1,
        page * PAGE_SIZE
    )
    .fetch_all(&mut **tx)
    .await?;
    let has_more = rows.len() as i64 > PAGE_SIZE;
    let alerts = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .filter_map(|r| {
            Some(Alert {
                id: r.id,
                kind: AlertKind::parse(&r.kind)?,
                severity: r.severity,
                title: r.title,
                detail: r.detail,
                link: r.link,
                state: AlertState::parse(&r.state)?,
                occurrences: r.occurrences,
                opened_at: r.opened_at,
                last_seen_at: r.last_seen_at,
                acknowledged_by: r.ack_name,
                acknowledged_at: r.acknowledged_at,
                resolved_by: r.res_name,
                resolved_at: r.resolved_at,
                resolution: r.resolution,
                resolution_note: r.resolution_note,
                version: r.version,
            })
        })
        .collect();
    let (open, acknowledged) = counts(tx, tenant_id).await?;
    Ok(AlertsPage {
        alerts,
        page,
        has_more,
        open,
        acknowledged,
        can_act: false,
    })
}

/// Why a move of an alert was refused, read after the update matched nothing.
async fn refusal(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
    version: i32,
) -> Result<AppError, sqlx::Error> {
    let row = sqlx::query!(
        "select state, version from alerts where tenant_id = $1 and id = $2",
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        None => AppError::NotFound,
        Some(r) if r.version != version => AppError::validation(
            "",
            "This alert changed since you loaded it (someone else acted on it, or it cleared). Reload to see it now.",
        ),
        Some(r) => AppError::validation(
            "",
            format!(
                "This alert is {} already.",
                AlertState::parse(&r.state).map_or("closed", |s| s.label()).to_lowercase()
            ),
        ),
    })
}

/// Marks an open alert as seen by `user_id` (who takes it on).
pub async fn acknowledge(
    tx: &mut Tx,
    tenant_id: Uuid,
    user_id: Uuid,
    id: Uuid,
    version: i32,
) -> Result<(), AppError> {
    let title = sqlx::query_scalar!(
        "update alerts set state = 'acknowledged', acknowledged_by = $3, acknowledged_at = now(), version = version + 1
         where tenant_id = $1 and id = $2 and version = $4 and state = 'open'
         returning title",
        tenant_id,
        id,
        user_id,
        version
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(title) = title else {
        return Err(refusal(tx, tenant_id, id, version).await?);
    };
    audit::record_named(
        tx,
        tenant_id,
        Some(user_id),
        "alert.acknowledged",
        &title,
        serde_json::json!({ "alert": id }),
    )
    .await?;
    Ok(())
}

/// Closes a live alert with how it was settled and a note. A condition that still holds opens
/// a new alert at the next evaluation.
pub async fn resolve(
    tx: &mut Tx,
    tenant_id: Uuid,
    user_id: Uuid,
    id: Uuid,
    version: i32,
    resolution: Resolution,
    note: &str,
) -> Result<(), AppError> {
    let title = sqlx::query_scalar!(
        "update alerts set state = 'resolved', resolved_by = $3, resolved_at = now(), resolution = $5,
                resolution_note = $6, version = version + 1
         where tenant_id = $1 and id = $2 and version = $4 and state in ('open', 'acknowledged')
         returning title",
        tenant_id,
        id,
        user_id,
        version,
        resolution.as_str(),
        note
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(title) = title else {
        return Err(refusal(tx, tenant_id, id, version).await?);
    };
    audit::record_named(
        tx,
        tenant_id,
        Some(user_id),
        "alert.resolved",
        &title,
        serde_json::json!({ "alert": id, "resolution": resolution.as_str(), "note": note }),
    )
    .await?;
    Ok(())
}
