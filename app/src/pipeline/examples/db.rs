//! The examples' SQL, every query scoped by tenant (and row-level security).
use super::{
    form::ExampleInput, EmbeddingStatus, ExampleRow, RunProgress, SimilarExample, EXCERPT_CHARS,
    PAGE_SIZE,
};
use crate::ssr::tenancy::Tx;
use sqlx::{Postgres, QueryBuilder, Row};
use time::OffsetDateTime;
use uuid::Uuid;

pub struct ListQuery<'a> {
    pub polarity: Option<&'a str>,
    pub output_type: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub purpose: Option<&'a str>,
    pub after: Option<Uuid>,
}

/// Newest first, one page plus one row (to tell whether another follows).
#[tracing::instrument(skip_all)]
pub async fn list(
    tx: &mut Tx,
    tenant: Uuid,
    q: &ListQuery<'_>,
) -> Result<Vec<ExampleRow>, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select e.id, e.polarity, e.output_type, e.industry, e.purpose, cu.name as customer, \
         left(e.content, ",
    );
    sql.push_bind(EXCERPT_CHARS)
        .push(
            ") as excerpt, e.annotation, e.embedding_model, e.updated_at \
               from content_examples e left join customers cu on cu.id = e.customer_id \
               where e.archived_at is null and e.tenant_id = ",
        )
        .push_bind(tenant);
    for (column, value) in [
        ("polarity", q.polarity),
        ("output_type", q.output_type),
        ("industry", q.industry),
        ("purpose", q.purpose),
    ] {
        if let Some(v) = value {
            sql.push(format!(" and e.{column} = "))
                .push_bind(v.to_owned());
        }
    }
    if let Some(after) = q.after {
        sql.push(" and (e.created_at, e.id) < (select a.created_at, a.id from content_examples a where a.tenant_id = ")
            .push_bind(tenant)
            .push(" and a.id = ")
            .push_bind(after)
            .push(")");
    }
    sql.push(" order by e.created_at desc, e.id desc limit ")
        .push_bind(PAGE_SIZE + 1);
    sql.build()
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| {
            Ok(ExampleRow {
                id: r.try_get("id")?,
                polarity: r.try_get("polarity")?,
                output_type: r.try_get("output_type")?,
                industry: r.try_get("industry")?,
                purpose: r.try_get("purpose")?,
                customer: r.try_get("customer")?,
                excerpt: r.try_get("excerpt")?,
                annotation: r.try_get("annotation")?,
                embedding_model: r.try_get("embedding_model")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

pub async fn industries(tx: &mut Tx, tenant: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select distinct industry from content_examples
          where tenant_id = $1 and archived_at is null and industry <> '' order by industry limit 200",
        tenant
    )
    .fetch_all(&mut **tx)
    .await
}

/// An example as stored, for the editor and for saves.
pub struct Stored {
    pub input: ExampleInput,
    pub customer: String,
    pub embedding_model: Option<String>,
    pub embedded_at: Option<OffsetDateTime>,
    pub from_task: Option<Uuid>,
    pub updated_at: OffsetDateTime,
}

/// A live example; locked for the transaction when `lock`.
pub async fn get(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Stored>, sqlx::Error> {
    let sql = format!(
        "select e.polarity, e.output_type, e.industry, e.purpose, e.customer_id, coalesce(cu.name, '') as customer,
                e.content, e.annotation, e.takeaways, e.embedding_model, e.embedded_at, d.task_id, e.updated_at
           from content_examples e
           left join customers cu on cu.id = e.customer_id
           left join project_deliverables d on d.id = e.deliverable_id
          where e.tenant_id = $1 and e.id = $2 and e.archived_at is null{}",
        if lock { " for update of e" } else { "" }
    );
    let Some(r) = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Stored {
        input: ExampleInput {
            polarity: r.try_get("polarity")?,
            output_type: r.try_get("output_type")?,
            industry: r.try_get("industry")?,
            purpose: r.try_get("purpose")?,
            customer_id: r.try_get("customer_id")?,
            content: r.try_get("content")?,
            annotation: r.try_get("annotation")?,
            takeaways: r.try_get("takeaways")?,
        },
        customer: r.try_get("customer")?,
        embedding_model: r.try_get("embedding_model")?,
        embedded_at: r.try_get("embedded_at")?,
        from_task: r.try_get("task_id")?,
        updated_at: r.try_get("updated_at")?,
    }))
}

pub async fn customer_name(
    tx: &mut Tx,
    tenant: Uuid,
    id: Option<Uuid>,
) -> Result<Option<String>, sqlx::Error> {
    match id {
        None => Ok(Some(String::new())),
        Some(id) => {
            sqlx::query_scalar!(
                "select name from customers where tenant_id = $1 and id = $2",
                tenant,
                id
            )
            .fetch_optional(&mut **tx)
            .await
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn insert(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    e: &ExampleInput,
    deliverable: Option<Uuid>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into content_examples
           (tenant_id, polarity, output_type, industry, purpose, customer_id, content, annotation, takeaways, created_by, deliverable_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
        tenant,
        e.polarity,
        e.output_type,
        e.industry,
        e.purpose,
        e.customer_id,
        e.content,
        e.annotation,
        e.takeaways,
        user,
        deliverable
    )
    .fetch_one(&mut **tx)
    .await
}

/// Inserts checked examples in one statement, without vectors (the background pass embeds
/// them); how many.
#[tracing::instrument(skip_all, fields(n = rows.len()))]
pub async fn insert_many(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    rows: &[ExampleInput],
) -> Result<u64, sqlx::Error> {
    let col = |f: fn(&ExampleInput) -> &str| -> Vec<&str> { rows.iter().map(f).collect() };
    let customer: Vec<Option<Uuid>> = rows.iter().map(|e| e.customer_id).collect();
    let done = sqlx::query!(
        "insert into content_examples
           (tenant_id, created_by, polarity, output_type, industry, purpose, customer_id, content, annotation, takeaways)
         select $1, $2, * from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::text[], $10::text[])",
        tenant,
        user,
        &col(|e| &e.polarity) as &[&str],
        &col(|e| &e.output_type) as &[&str],
        &col(|e| &e.industry) as &[&str],
        &col(|e| &e.purpose) as &[&str],
        &customer as &[Option<Uuid>],
        &col(|e| &e.content) as &[&str],
        &col(|e| &e.annotation) as &[&str],
        &col(|e| &e.takeaways) as &[&str]
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Saves the fields; a new text drops the old vector (it described other words).
#[tracing::instrument(skip_all, fields(%id))]
pub async fn update(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    e: &ExampleInput,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update content_examples
            set polarity = $3, output_type = $4, industry = $5, purpose = $6, customer_id = $7,
                embedding = case when content = $8 then embedding end,
                embedding_model = case when content = $8 then embedding_model end,
                embedded_at = case when content = $8 then embedded_at end,
                content = $8, annotation = $9, takeaways = $10, updated_at = now()
          where tenant_id = $1 and id = $2",
        tenant,
        id,
        e.polarity,
        e.output_type,
        e.industry,
        e.purpose,
        e.customer_id,
        e.content,
        e.annotation,
        e.takeaways
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a vector for the text the example has now (unless it changed since it was read).
pub async fn store_vector(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    content: &str,
    vector: Vec<f32>,
    model: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update content_examples set embedding = $4, embedding_model = $5, embedded_at = clock_timestamp()
          where tenant_id = $1 and id = $2 and content = $3",
        tenant,
        id,
        content,
        pgvector::Vector::from(vector) as pgvector::Vector,
        model
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn archive(tx: &mut Tx, tenant: Uuid, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "update content_examples set archived_at = now(), updated_at = now()
          where tenant_id = $1 and id = $2 and archived_at is null returning left(content, 60) as \"label!\"",
        tenant,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The `k` live examples nearest `vector` among those embedded by `model` (HNSW with an
/// iterative scan, so the filters still leave `k` rows when there are that many).
#[tracing::instrument(skip_all, fields(k))]
pub async fn similar(
    tx: &mut Tx,
    tenant: Uuid,
    vector: &pgvector::Vector,
    model: &str,
    polarity: Option<&str>,
    k: i64,
) -> Result<Vec<SimilarExample>, sqlx::Error> {
    sqlx::query!(
        "select set_config('hnsw.iterative_scan', 'relaxed_order', true) as a, set_config('hnsw.ef_search', '100', true) as b"
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query_as!(
        SimilarExample,
        r#"select id, polarity, output_type, industry, left(content, $6) as "excerpt!",
                  (embedding <=> $2) as "distance!"
             from content_examples
            where tenant_id = $1 and archived_at is null and embedding_model = $3
              and ($4::text is null or polarity = $4)
            order by embedding <=> $2 limit $5"#,
        tenant,
        vector as &pgvector::Vector,
        model,
        polarity,
        k,
        EXCERPT_CHARS
    )
    .fetch_all(&mut **tx)
    .await
}

/// Live examples whose vector is missing, of another model, or older than the open run.
pub async fn pending(
    tx: &mut Tx,
    tenant: Uuid,
    model: &str,
    since: Option<OffsetDateTime>,
    limit: i64,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, content from content_examples
          where tenant_id = $1 and archived_at is null
            and (embedding is null or embedding_model <> $2 or ($3::timestamptz is not null and (embedded_at is null or embedded_at < $3)))
          order by created_at, id limit $4",
        tenant,
        model,
        since,
        limit
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.content)).collect())
}

pub struct OpenRun {
    pub id: i64,
    pub requested_at: OffsetDateTime,
}

pub async fn open_run(tx: &mut Tx, tenant: Uuid) -> Result<Option<OpenRun>, sqlx::Error> {
    sqlx::query_as!(
        OpenRun,
        "select id, requested_at from example_embedding_runs where tenant_id = $1 and finished_at is null",
        tenant
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Starts a run over every live example; None when one is already open.
pub async fn start_run(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    model: &str,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into example_embedding_runs (tenant_id, model, requested_by, total)
           select $1, $2, $3, count(*)::int from content_examples where tenant_id = $1 and archived_at is null
           on conflict do nothing returning total"#,
        tenant,
        model,
        user
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn finish_run(tx: &mut Tx, id: i64, error: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update example_embedding_runs set finished_at = now(), last_error = $2 where id = $1",
        id,
        error
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn note_run_error(tx: &mut Tx, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update example_embedding_runs set last_error = $2 where id = $1",
        id,
        error
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The examples against `model`, and the newest run's progress.
pub async fn status(
    tx: &mut Tx,
    tenant: Uuid,
    model: &str,
) -> Result<EmbeddingStatus, sqlx::Error> {
    let run = sqlx::query!(
        "select requested_at, total, finished_at, last_error from example_embedding_runs
          where tenant_id = $1 order by id desc limit 1",
        tenant
    )
    .fetch_optional(&mut **tx)
    .await?;
    let since = run
        .as_ref()
        .filter(|r| r.finished_at.is_none())
        .map(|r| r.requested_at);
    let counts = sqlx::query!(
        r#"select count(*) as "total!",
                  count(*) filter (where embedding_model = $2 and ($3::timestamptz is null or embedded_at >= $3)) as "current!",
                  count(*) filter (where embedding_model = $2 and embedded_at >= $4) as "done!"
             from content_examples where tenant_id = $1 and archived_at is null"#,
        tenant,
        model,
        since,
        run.as_ref().map(|r| r.requested_at)
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(EmbeddingStatus {
        model: model.to_owned(),
        total: counts.total,
        current: counts.current,
        run: run.map(|r| RunProgress {
            requested_at: r.requested_at,
            total: r.total,
            done: counts.done,
            finished_at: r.finished_at,
            last_error: r.last_error,
        }),
    })
}

/// A delivered draft to promote: its text (as a reviewer left it), task, customer and type.
pub struct Promotable {
    pub content: String,
    pub task_id: Uuid,
    pub title: String,
    pub customer_id: Uuid,
    pub industry: String,
    pub output_type: String,
}

pub async fn promotable(
    tx: &mut Tx,
    tenant: Uuid,
    deliverable: Uuid,
) -> Result<Option<Promotable>, sqlx::Error> {
    sqlx::query_as!(
        Promotable,
        r#"select coalesce(d.edited_content, d.content) as "content!", t.id as task_id, t.title, t.customer_id,
                  cu.industry_category as industry, t.ai_instructions ->> 'output_type' as "output_type!"
             from project_deliverables d
             join project_tasks t on t.id = d.task_id
             join customers cu on cu.id = t.customer_id
            where d.tenant_id = $1 and d.id = $2 and d.delivered_at is not null"#,
        tenant,
        deliverable
    )
    .fetch_optional(&mut **tx)
    .await
}
