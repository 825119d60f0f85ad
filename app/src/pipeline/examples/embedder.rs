//! The background pass that keeps every workspace's example vectors current: examples without
//! a vector, with another model's, or older than an admin's open run are embedded again. The
//! workspaces to visit come from `examples_to_embed` (the one cross-workspace door); each is
//! then handled in its own tenant-scoped transactions.
use super::service;
use crate::{ai::gateway::Gateway, ssr::tenancy};
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Examples embedded per workspace per pass, so one large workspace cannot starve the others.
pub const PER_WORKSPACE: i64 = 256;

/// Runs a pass every `every` until `stop`.
pub async fn run(pool: PgPool, gateway: Arc<Gateway>, every: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match pass(&pool, &gateway).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(embedded = n, "examples embedded"),
            Err(e) => {
                tracing::warn!(error = %e, "the example embedding pass failed; retrying later")
            }
        }
    }
}

/// One pass over every workspace with work; how many examples it embedded.
#[tracing::instrument(skip_all)]
pub async fn pass(pool: &PgPool, gateway: &Gateway) -> Result<usize, sqlx::Error> {
    let model = gateway.embedding_model().to_owned();
    let mut tx = tenancy::begin_anonymous(pool).await?;
    let tenants: Vec<Uuid> = sqlx::query_scalar!(
        r#"select tenant_id as "tenant_id!" from examples_to_embed($1)"#,
        model
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut total = 0;
    for tenant in tenants {
        match service::embed_pending(pool, gateway, tenant, PER_WORKSPACE).await {
            Ok(n) => total += n,
            Err(e) => {
                tracing::warn!(%tenant, error = %e, "embedding a workspace's examples failed")
            }
        }
    }
    Ok(total)
}
