//! The call recorder: one `ai_calls` row per AI call, written in batches off the request path.
use super::*;

/// One row of `ai_calls`.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub tenant_id: Uuid,
    pub user_id: Option<Uuid>,
    pub task_kind: &'static str,
    pub prompt_name: Option<String>,
    pub prompt_version: Option<i32>,
    pub subject_id: Option<Uuid>,
    pub requested_model: String,
    pub model: Option<String>,
    pub provider: String,
    pub status: &'static str,
    pub error: Option<String>,
    pub attempts: i16,
    pub latency_ms: i32,
    pub ttft_ms: Option<i32>,
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub cost_usd: Option<f64>,
    pub cache_hit: bool,
    pub request_id: Option<String>,
    pub experiment_id: Option<Uuid>,
    pub arm: Option<&'static str>,
    pub routed_by: Option<String>,
}

impl CallRecord {
    pub fn new(
        meta: &CallMeta,
        requested_model: &str,
        provider: &str,
        status: &'static str,
    ) -> Self {
        CallRecord {
            tenant_id: meta.scope.tenant_id,
            user_id: Some(meta.scope.user_id).filter(|u| !u.is_nil()),
            task_kind: meta.task.as_str(),
            prompt_name: meta.prompt_name.clone(),
            prompt_version: meta.prompt_version,
            subject_id: meta.subject_id,
            requested_model: requested_model.to_owned(),
            model: None,
            provider: provider.to_owned(),
            status,
            error: None,
            attempts: 0,
            latency_ms: 0,
            ttft_ms: None,
            prompt_tokens: None,
            completion_tokens: None,
            cost_usd: None,
            cache_hit: false,
            request_id: meta.request_id.clone(),
            experiment_id: meta.route.experiment_id,
            arm: meta.route.arm,
            routed_by: meta.route.routed_by.clone(),
        }
    }
}

/// Writes `ai_calls` off the request path. Records queue up and a background task writes
/// whatever has queued in one insert per tenant, so a burst of calls costs a few statements
/// instead of one transaction each.
#[derive(Clone)]
pub struct CallRecorder {
    tx: mpsc::Sender<CallRecord>,
}

impl CallRecorder {
    const BATCH: usize = 500;

    pub fn spawn(pool: PgPool) -> CallRecorder {
        let (tx, mut rx) = mpsc::channel::<CallRecord>(20_000);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(Self::BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < Self::BATCH {
                    match rx.try_recv() {
                        Ok(record) => batch.push(record),
                        Err(_) => break,
                    }
                }
                if let Err(err) = write_calls(&pool, &batch).await {
                    tracing::warn!(error = %err, rows = batch.len(), "could not record AI calls");
                }
                batch.clear();
            }
        });
        CallRecorder { tx }
    }

    pub fn record(&self, record: CallRecord) {
        if let Err(err) = self.tx.try_send(record) {
            tracing::warn!(error = %err, "AI call not recorded: the recorder is behind or stopped");
        }
    }
}

async fn write_calls(pool: &PgPool, records: &[CallRecord]) -> Result<(), sqlx::Error> {
    let mut tenants: Vec<Uuid> = records.iter().map(|r| r.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    for tenant in tenants {
        let rows: Vec<&CallRecord> = records.iter().filter(|r| r.tenant_id == tenant).collect();
        let col =
            |f: fn(&CallRecord) -> Option<String>| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
        let mut tx = tenancy::begin(
            pool,
            Scope {
                tenant_id: tenant,
                user_id: Uuid::nil(),
            },
        )
        .await?;
        sqlx::query(
            "insert into ai_calls (tenant_id, user_id, task_kind, prompt_name, prompt_version, subject_id, requested_model,
                                   model, provider, status, error, attempts, latency_ms, ttft_ms, prompt_tokens,
                                   completion_tokens, cost_usd, cache_hit, request_id, experiment_id, arm, routed_by)
             select $1, u.* from unnest($2::uuid[], $3::text[], $4::text[], $5::int4[], $6::uuid[], $7::text[], $8::text[],
                                        $9::text[], $10::text[], $11::text[], $12::int2[], $13::int4[], $14::int4[],
                                        $15::int4[], $16::int4[], $17::float8[], $18::bool[], $19::text[], $20::uuid[],
                                        $21::text[], $22::text[]) as u",
        )
        .bind(tenant)
        .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.task_kind).collect::<Vec<_>>())
        .bind(col(|r| r.prompt_name.clone()))
        .bind(rows.iter().map(|r| r.prompt_version).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.subject_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.requested_model.as_str()).collect::<Vec<_>>())
        .bind(col(|r| r.model.clone()))
        .bind(rows.iter().map(|r| r.provider.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
        .bind(col(|r| r.error.clone()))
        .bind(rows.iter().map(|r| r.attempts).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.ttft_ms).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.prompt_tokens).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.completion_tokens).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.cost_usd).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.cache_hit).collect::<Vec<_>>())
        .bind(col(|r| r.request_id.clone()))
        .bind(rows.iter().map(|r| r.experiment_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.arm).collect::<Vec<_>>())
        .bind(col(|r| r.routed_by.clone()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
