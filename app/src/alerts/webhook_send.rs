//! The alert webhook's storage and the deliver-webhooks job: settings, the delivery log, and
//! sending what is due, signed, with retries.
use super::webhook::{
    retry_after_secs, signature, Delivery, WebhookForm, WebhookView, LOG_ROWS, MAX_ATTEMPTS,
};
use crate::{
    error::{AppError, OnConstraint},
    ssr::{
        audit,
        tenancy::{self, Scope, Tx},
    },
};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// One try's time limit.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries one workspace sends per run (the rest wait for the next run, 10 s later).
const PER_RUN: i64 = 20;

pub async fn load(tx: &mut Tx, tenant_id: Uuid) -> Result<Option<WebhookView>, sqlx::Error> {
    let row = sqlx::query!(
        "select url, enabled, min_severity, right(secret, 4) as \"tail!\", version
           from alert_webhooks where tenant_id = $1",
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| WebhookView {
        url: r.url,
        enabled: r.enabled,
        min_severity: r.min_severity,
        secret_tail: r.tail,
        version: r.version,
    }))
}

pub async fn log(tx: &mut Tx, tenant_id: Uuid) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select d.id, d.event, a.title as "alert_title?", d.state, d.attempts, d.last_status,
                  d.last_error, d.created_at,
                  case when d.state = 'pending' then d.next_attempt_at end as next_attempt_at
             from webhook_deliveries d left join alerts a on a.id = d.alert_id
            where d.tenant_id = $1 order by d.created_at desc, d.id desc limit $2"#,
        tenant_id,
        LOG_ROWS
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Delivery {
            id: r.id,
            event: r.event,
            alert_title: r.alert_title,
            state: r.state,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: r.created_at,
            next_attempt_at: r.next_attempt_at,
        })
        .collect())
}

/// A new secret: 32 random bytes as hex.
fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("whsec_{hex}")
}

/// Saves the webhook at the version the form was loaded at; returns the secret when one was
/// made (the first save, or `rotate`). Audited, with what changed (never the secret).
pub async fn save(
    tx: &mut Tx,
    scope: Scope,
    form: &WebhookForm,
    rotate: bool,
) -> Result<Option<String>, AppError> {
    let old = load(tx, scope.tenant_id).await?;
    if old.as_ref().map_or(0, |w| w.version) != form.version {
        return Err(AppError::validation(
            "version",
            "Someone changed the webhook since you opened it. Reload to see their version.",
        ));
    }
    let secret = (old.is_none() || rotate).then(new_secret);
    let url = form.url.trim();
    sqlx::query!(
        "insert into alert_webhooks (tenant_id, url, secret, enabled, min_severity, updated_by)
         values ($1, $2, coalesce($3, (select w.secret from alert_webhooks w where w.tenant_id = $1)),
                 $4, $5, $6)
         on conflict (tenant_id) do update
            set url = excluded.url, enabled = excluded.enabled, min_severity = excluded.min_severity,
                secret = excluded.secret, updated_by = excluded.updated_by,
                updated_at = now(), version = alert_webhooks.version + 1",
        scope.tenant_id,
        url,
        secret.as_deref(),
        form.enabled,
        form.min_severity,
        scope.user_id
    )
    .execute(&mut **tx)
    .await
    .on_constraint(|c| {
        (c == "alert_webhooks_url_valid").then(|| {
            AppError::validation(
                "url",
                "Enter a full web address, such as https://hooks.example.com/smartcrm.",
            )
        })
    })?;
    let mut changes = Vec::new();
    let before = |f: fn(&WebhookView) -> String| old.as_ref().map(f).unwrap_or_default();
    for (field, from, to) in [
        ("url", before(|w| w.url.clone()), url.to_owned()),
        (
            "enabled",
            before(|w| w.enabled.to_string()),
            form.enabled.to_string(),
        ),
        (
            "min_severity",
            before(|w| w.min_severity.clone()),
            form.min_severity.clone(),
        ),
    ] {
        if from != to {
            changes.push(audit::Change::new(field, &from, &to));
        }
    }
    if rotate && old.is_some() {
        changes.push(audit::Change::new("secret", "(old)", "(rotated)"));
    }
    audit::record_named(
        tx,
        scope.tenant_id,
        Some(scope.user_id),
        "alert_webhook.changed",
        "Alert webhook",
        serde_json::json!({ "changes": changes }),
    )
    .await?;
    Ok(secret)
}

/// Queues a test delivery (sent by the next run, within 10 s).
pub async fn queue_test(tx: &mut Tx, tenant_id: Uuid) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "insert into webhook_deliveries (tenant_id, event, payload)
         select tenant_id, 'test', jsonb_build_object('event', 'test', 'message', 'A test from SmartCRM: this webhook works.')
           from alert_webhooks where tenant_id = $1",
        tenant_id
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n > 0)
}

struct Due {
    id: i64,
    event: String,
    payload: serde_json::Value,
    attempts: i16,
    url: String,
    secret: String,
}

/// The deliver-webhooks job: every workspace's due deliveries, tried once each. Returns how
/// many were delivered.
pub async fn deliver_due(pool: &PgPool) -> Result<u64, String> {
    // Without a remote AI provider nothing else has installed it.
    crate::ssr::ensure_tls_provider();
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("SmartCRM-Webhook/1")
        .build()
        .map_err(|e| format!("building the webhook client: {e}"))?;
    let workspaces = tenancy::workspace_ids(pool)
        .await
        .map_err(|e| format!("listing workspaces: {e}"))?;
    let mut delivered = 0;
    for tenant_id in workspaces {
        let scope = Scope {
            tenant_id,
            user_id: Uuid::nil(),
        };
        match deliver_workspace(pool, &client, scope).await {
            Ok(n) => delivered += n,
            Err(e) => tracing::warn!(%tenant_id, error = %e, "webhook deliveries failed"),
        }
    }
    Ok(delivered)
}

async fn deliver_workspace(
    pool: &PgPool,
    client: &reqwest::Client,
    scope: Scope,
) -> Result<u64, sqlx::Error> {
    // Claim what is due with a lease (another process skips it), then send outside any
    // transaction: a slow receiver holds no lock.
    let mut tx = tenancy::begin(pool, scope).await?;
    let due: Vec<Due> = sqlx::query!(
        r#"with due as (
             select d.id from webhook_deliveries d
              where d.tenant_id = $1 and d.state = 'pending' and d.next_attempt_at <= now()
              order by d.next_attempt_at limit $2 for update skip locked)
           update webhook_deliveries d set next_attempt_at = now() + interval '2 minutes'
             from due, alert_webhooks w
            where d.id = due.id and w.tenant_id = d.tenant_id
           returning d.id, d.event, d.payload, d.attempts, w.url, w.secret"#,
        scope.tenant_id,
        PER_RUN
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| Due {
        id: r.id,
        event: r.event,
        payload: r.payload,
        attempts: r.attempts,
        url: r.url,
        secret: r.secret,
    })
    .collect();
    tx.commit().await?;
    let mut delivered = 0;
    for d in due {
        let outcome = send(client, &d).await;
        let attempts = d.attempts.saturating_add(1);
        let mut tx = tenancy::begin(pool, scope).await?;
        match outcome {
            Ok(status) => {
                delivered += 1;
                sqlx::query!(
                    "update webhook_deliveries set state = 'delivered', attempts = $2, last_status = $3,
                            last_error = null, delivered_at = now() where id = $1",
                    d.id,
                    attempts,
                    status
                )
                .execute(&mut *tx)
                .await?;
            }
            Err((status, error)) => {
                let failed = attempts >= MAX_ATTEMPTS;
                tracing::info!(delivery = d.id, attempts, status, %error, failed, "webhook delivery failed");
                let error: String = error.chars().take(500).collect();
                sqlx::query!(
                    "update webhook_deliveries
                        set state = case when $4 then 'failed' else 'pending' end, attempts = $2,
                            last_status = $3, last_error = $5,
                            next_attempt_at = now() + make_interval(secs => $6::float8)
                      where id = $1",
                    d.id,
                    attempts,
                    status,
                    failed,
                    error,
                    retry_after_secs(attempts) as f64
                )
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
    }
    Ok(delivered)
}

/// One try: the status of a 2xx, or the status (if any) and what went wrong.
async fn send(client: &reqwest::Client, d: &Due) -> Result<i32, (Option<i32>, String)> {
    let mut body = d.payload.clone();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("delivery_id".into(), d.id.into());
        obj.insert("attempt".into(), (d.attempts + 1).into());
    }
    let bytes = serde_json::to_vec(&body).map_err(|e| (None, e.to_string()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let started = std::time::Instant::now();
    let res = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-SmartCRM-Event", &d.event)
        .header("X-SmartCRM-Delivery", d.id.to_string())
        .header("X-SmartCRM-Signature", signature(&d.secret, now, &bytes))
        .body(bytes)
        .send()
        .await;
    let ms = started.elapsed().as_millis() as u64;
    match res {
        Ok(r) if r.status().is_success() => {
            tracing::info!(
                delivery = d.id,
                status = r.status().as_u16(),
                ms,
                "webhook delivered"
            );
            Ok(i32::from(r.status().as_u16()))
        }
        Ok(r) => {
            let status = r.status();
            Err((
                Some(i32::from(status.as_u16())),
                format!("The receiver answered {status} after {ms} ms."),
            ))
        }
        Err(e) if e.is_timeout() => Err((
            None,
            format!("No answer within {} s.", SEND_TIMEOUT.as_secs()),
        )),
        Err(e) => Err((None, format!("Could not reach the receiver: {e}"))),
    }
}
