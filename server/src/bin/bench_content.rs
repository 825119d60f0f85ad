//! `smartcrm-bench-content`: issue 12's benchmarks, each beside a reference measured in the
//! same run. Run through `scripts/bench-content.sh` (a throwaway database, the demo workspaces
//! seeded, the built-in local embedding model). The app runs in this process on loopback and is
//! called over HTTP as a signed-in manager, like the browser does.
//!
//! 1. Template preview (`preview_template`) p50/p99; reference: `session_user`, the cheapest
//!    signed-in server function (the floor of HTTP, session and JSON).
//! 2. Example save with its embedding (`save_example`, local model) p50/p99; reference: the
//!    embedding alone, through the same gateway in process.
//! 3. CSV import of 10,000 contacts (upload, preview, import) in rows/s; reference: `psql \copy`
//!    of the same rows, already resolved to ids, into the same table.
//! 4. "Find similar" over HTTP at 100,000 examples p50/p99 and recall@10 against exact search;
//!    references: the same query in SQL through the HNSW index, and exact (a full scan).
use app::{
    ai::{
        gateway::{CallMeta, Gateway},
        TaskKind,
    },
    pipeline::examples::{db as examples_db, ExampleSaved, SimilarResult},
    ssr::tenancy::{self, Scope},
};
use leptos::prelude::LeptosOptions;
use rand::{Rng, SeedableRng};
use server::{
    benchkit::{ms, percentile, unit, vector_text},
    config::Settings,
    demo::TENANTS,
    startup, state,
};
use std::{
    collections::HashSet,
    time::{Duration, Instant},
};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    /// Calls a server function with form arguments; the body, or an error with the status.
    async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Result<String, Error> {
        let res = self
            .client
            .post(format!("{}/api/{endpoint}", self.base))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await?;
        let status = res.status();
        let body = res.text().await?;
        if !status.is_success() {
            return Err(format!("{endpoint}: {status}: {body:.300}").into());
        }
        Ok(body)
    }

    async fn timed(&self, endpoint: &str, form: &[(&str, &str)]) -> Result<Duration, Error> {
        let started = Instant::now();
        self.call(endpoint, form).await?;
        Ok(started.elapsed())
    }
}

fn p50_p99(samples: &mut [Duration]) -> (Duration, Duration) {
    (percentile(samples, 0.5), percentile(samples, 0.99))
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::EPSILON)
}

fn meta(scope: Scope) -> CallMeta {
    CallMeta {
        scope,
        task: TaskKind::ContentGeneration,
        prompt_name: Some("bench".to_owned()),
        prompt_version: None,
        subject_id: None,
        request_id: None,
        route: Default::default(),
    }
}

const OPENERS: [&str; 10] = [
    "Spring sale on",
    "Last call for",
    "We fixed your",
    "Thanks for choosing our",
    "Meet the new",
    "Your quote for",
    "A reminder about",
    "Tips to care for",
    "Why customers love",
    "Book your",
];
const THINGS: [&str; 25] = [
    "teeth whitening",
    "family dental checkups",
    "window cleaning",
    "roof repairs",
    "tax returns",
    "wedding photography",
    "bike tune-ups",
    "yoga classes",
    "legal consultations",
    "HVAC servicing",
    "garden design",
    "pet grooming",
    "home insurance",
    "car detailing",
    "bakery catering",
    "accounting software",
    "physiotherapy",
    "solar panels",
    "kitchen remodels",
    "moving services",
    "piano lessons",
    "craft beer tastings",
    "IT support",
    "hair colouring",
    "coworking desks",
];
const ENDINGS: [&str; 4] = [
    "this weekend only.",
    "with a free consultation.",
    "before prices rise next month.",
    "from a team that knows your neighbourhood.",
];

/// The i-th of 1,000 distinct short marketing sentences.
fn sentence(i: usize) -> String {
    format!(
        "{} {} {}",
        OPENERS[i % OPENERS.len()],
        THINGS[(i / OPENERS.len()) % THINGS.len()],
        ENDINGS[(i / (OPENERS.len() * THINGS.len())) % ENDINGS.len()]
    )
}

async fn embed(
    gateway: &Gateway,
    scope: Scope,
    texts: &[String],
) -> Result<(Vec<Vec<f32>>, String), Error> {
    let made = gateway
        .embed(&meta(scope), texts)
        .await
        .map_err(|f| f.to_string())?;
    Ok((made.vectors, made.model))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut settings = Settings::from_env()?;
    let examples: usize = std::env::var("BENCH_EXAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let psql = std::env::var("BENCH_PSQL").map_err(|_| "set BENCH_PSQL to psql's path")?;
    let owner_url = std::env::var("BENCH_OWNER_URL").map_err(|_| "set BENCH_OWNER_URL")?;
    let databases = state::Databases::from_settings(&settings)?;
    let owner_options = databases
        .owner
        .clone()
        .ok_or("set SMARTCRM_OWNER_DATABASE_URL")?;
    settings.db_max_connections = 20;
    let leptos_options = LeptosOptions::builder()
        .output_name("smartcrm")
        .site_root("target/site")
        .build();
    let (router, pool, app_state) =
        startup::build_with(databases, &settings, leptos_options).await?;
    server::demo::seed(&pool).await?;
    let owner = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(owner_options)
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service()).await;
    });
    app::ai::gateway::ensure_tls_provider();
    let http = Http {
        base,
        client: reqwest::Client::builder().cookie_store(true).build()?,
    };
    http.call(
        "sign_in",
        &[
            ("email", "manager@acme.test"),
            ("password", server::demo::PASSWORD),
        ],
    )
    .await?;
    let tenant = TENANTS[0].id;
    let manager: Uuid =
        sqlx::query_scalar("select id from users where email = 'manager@acme.test'")
            .fetch_one(&owner)
            .await?;
    let scope = Scope {
        tenant_id: tenant,
        user_id: manager,
    };
    let (customer_id, customer_name): (Uuid, String) =
        sqlx::query_as("select id, name from customers where tenant_id = $1 order by name limit 1")
            .bind(tenant)
            .fetch_one(&owner)
            .await?;
    println!("| measurement | p50 | p99 | reference in the same run | ratio (p50) |\n|---|---|---|---|---|");

    // 1. Template preview.
    let (template, version): (Uuid, i32) = sqlx::query_as(
        "select id, coalesce(active_version, latest_version) from content_templates
          where tenant_id is null and output_type = 'email' order by name limit 1",
    )
    .fetch_one(&owner)
    .await?;
    let (t, v, c) = (
        template.to_string(),
        version.to_string(),
        customer_id.to_string(),
    );
    let args = [
        ("id", t.as_str()),
        ("version", v.as_str()),
        ("customer_id", c.as_str()),
    ];
    for _ in 0..20 {
        http.timed("preview_template", &args).await?;
        http.timed("session_user", &[]).await?;
    }
    let (mut preview, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        preview.push(http.timed("preview_template", &args).await?);
        floor.push(http.timed("session_user", &[]).await?);
    }
    let (p50, p99) = p50_p99(&mut preview);
    let (f50, f99) = p50_p99(&mut floor);
    println!(
        "| template preview over HTTP (`preview_template`, 300 calls) | {} | {} | `session_user` (signed-in floor): {} / {} | {:.1}x |",
        ms(p50), ms(p99), ms(f50), ms(f99), ratio(p50, f50)
    );

    // 2. Example save with its embedding, against the embedding alone.
    let mut saves = Vec::new();
    let mut alone = Vec::new();
    let mut model = String::new();
    for i in 0..80 {
        let text = format!("{} Example {i} for the save benchmark.", sentence(i * 7));
        let form = [
            ("form[polarity]", "positive"),
            ("form[output_type]", "email"),
            ("form[content]", text.as_str()),
            ("form[annotation]", "Specific and friendly."),
        ];
        let started = Instant::now();
        let body = http.call("save_example", &form).await?;
        let took = started.elapsed();
        let saved: ExampleSaved = serde_json::from_str(&body)?;
        model = saved
            .embedded_with
            .ok_or_else(|| format!("not embedded: {:?}", saved.embed_error))?;
        let started = Instant::now();
        embed(&app_state.ai, scope, &[format!("{text} (alone)")]).await?;
        let took_alone = started.elapsed();
        if i >= 10 {
            saves.push(took);
            alone.push(took_alone);
        }
    }
    let (p50, p99) = p50_p99(&mut saves);
    let (a50, a99) = p50_p99(&mut alone);
    println!(
        "| example save with embedding over HTTP (`save_example`, {model}, 70 saves) | {} | {} | the embedding alone, in process: {} / {} | {:.2}x |",
        ms(p50), ms(p99), ms(a50), ms(a99), ratio(p50, a50)
    );

    // 3. Import of 10,000 contacts, against psql \copy of the same rows.
    let mut csv = String::from("Company,First name,Last name,Email,Title,Stage\n");
    let mut copy = String::new();
    for i in 0..10_000 {
        csv.push_str(&format!(
            "\"{customer_name}\",Bench{i},Importer,bench{i}@import.test,Buyer,prospect\n"
        ));
        copy.push_str(&format!(
            "{tenant},{customer_id},{manager},Bench{i},Copier,copy{i}@import.test,Buyer,prospect\n"
        ));
    }
    let started = Instant::now();
    let part = reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("bench.csv");
    let res = http
        .client
        .post(format!("{}/api/upload_contacts_csv", http.base))
        .header(reqwest::header::ACCEPT, "application/json")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await?;
    let upload: String = serde_json::from_str(&res.text().await?)?;
    let preview: app::import::Preview = serde_json::from_str(
        &http
            .call("contact_import_preview", &[("upload", &upload)])
            .await?,
    )?;
    let mut pairs: Vec<(String, String)> = preview
        .fields
        .iter()
        .zip(&preview.suggested)
        .map(|(f, c)| {
            (
                format!("columns[{}]", f.key),
                c.map(|c| c.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    pairs.push(("upload".into(), upload));
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let report: app::import::Report =
        serde_json::from_str(&http.call("import_contacts", &form).await?)?;
    let import_took = started.elapsed();
    if report.imported != 10_000 {
        return Err(format!(
            "imported {} of 10,000: {:?}",
            report.imported,
            report.errors.first()
        )
        .into());
    }
    let file = std::env::temp_dir().join("smartcrm-bench-copy.csv");
    std::fs::write(&file, copy)?;
    let started = Instant::now();
    let out = std::process::Command::new(&psql)
        .arg(&owner_url)
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .arg("-qc")
        .arg(format!(
            "\\copy contacts (tenant_id, customer_id, owner_user_id, first_name, last_name, email, title, lifecycle_stage) from '{}' csv",
            file.display()
        ))
        .output()?;
    let copy_took = started.elapsed();
    let _ = std::fs::remove_file(&file);
    if !out.status.success() {
        return Err(format!("psql: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let rate = |d: Duration| 10_000.0 / d.as_secs_f64();
    println!(
        "| CSV import of 10,000 contacts over HTTP (upload, preview, import) | {:.0} rows/s ({:.2} s) | | `psql \\copy` of the same rows (ids resolved): {:.0} rows/s ({:.2} s) | {:.2}x the rate |",
        rate(import_took), import_took.as_secs_f64(), rate(copy_took), copy_took.as_secs_f64(),
        rate(import_took) / rate(copy_took)
    );

    // 4. Find similar at 100,000 examples. Real embeddings of 500 sentences are the centres;
    // each example is a centre moved a little, as paraphrases are.
    let centre_texts: Vec<String> = (0..500).map(|i| sentence(i * 2)).collect();
    let mut centres = Vec::new();
    for chunk in centre_texts.chunks(32) {
        centres.extend(embed(&app_state.ai, scope, chunk).await?.0);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let started = Instant::now();
    for chunk in 0..examples.div_ceil(1000) {
        let n = 1000.min(examples - chunk * 1000);
        let vectors: Vec<String> = (0..n)
            .map(|_| {
                let c = &centres[rng.random_range(0..centres.len())];
                vector_text(&unit(
                    c.iter()
                        .map(|x| x + 0.02 * (rng.random::<f32>() - 0.5))
                        .collect(),
                ))
            })
            .collect();
        let polarity: Vec<&str> = (0..n)
            .map(|i| if i % 4 == 0 { "negative" } else { "positive" })
            .collect();
        sqlx::query(
            "insert into content_examples (tenant_id, output_type, polarity, content, annotation, embedding, embedding_model, embedded_at)
             select $1, 'email', p, 'Bench example ' || ordinality, 'bench', v::vector, $4, now()
               from unnest($2::text[], $3::text[]) with ordinality as u(v, p)",
        )
        .bind(tenant)
        .bind(&vectors)
        .bind(&polarity)
        .bind(&model)
        .execute(&owner)
        .await?;
    }
    let loaded = started.elapsed();
    let started = Instant::now();
    sqlx::query("reindex index content_examples_embedding_idx")
        .execute(&owner)
        .await?;
    sqlx::query("analyze content_examples")
        .execute(&owner)
        .await?;
    let indexed = started.elapsed();
    // Queries: the other sentences (odd ones), never a centre itself.
    let queries: Vec<String> = (0..200).map(|i| sentence(i * 2 + 1)).collect();
    for q in queries.iter().take(10) {
        http.timed("find_similar_examples", &[("q", q)]).await?;
    }
    let (mut over_http, mut sql, mut exact_t) = (Vec::new(), Vec::new(), Vec::new());
    let mut recall = 0.0;
    for q in &queries {
        let started = Instant::now();
        let found: SimilarResult =
            serde_json::from_str(&http.call("find_similar_examples", &[("q", q)]).await?)?;
        over_http.push(started.elapsed());
        let (vectors, _) = embed(&app_state.ai, scope, std::slice::from_ref(q)).await?;
        let v = pgvector::Vector::from(vectors.into_iter().next().ok_or("no vector")?);
        let mut tx = tenancy::begin(&pool, scope).await?;
        let started = Instant::now();
        examples_db::similar(&mut tx, tenant, &v, &model, None, 10).await?;
        sql.push(started.elapsed());
        tx.commit().await?;
        let mut tx = tenancy::begin(&pool, scope).await?;
        sqlx::query("set local enable_indexscan = off")
            .execute(&mut *tx)
            .await?;
        sqlx::query("set local enable_bitmapscan = off")
            .execute(&mut *tx)
            .await?;
        let started = Instant::now();
        let exact = examples_db::similar(&mut tx, tenant, &v, &model, None, 10).await?;
        exact_t.push(started.elapsed());
        tx.commit().await?;
        let exact: HashSet<Uuid> = exact.iter().map(|e| e.id).collect();
        let hits = found.found.iter().filter(|e| exact.contains(&e.id)).count();
        recall += hits as f64 / exact.len().max(1) as f64;
    }
    let (h50, h99) = p50_p99(&mut over_http);
    let (s50, s99) = p50_p99(&mut sql);
    let (e50, e99) = p50_p99(&mut exact_t);
    println!(
        "| find similar over HTTP at {examples} examples (`find_similar_examples`: embed the text, then HNSW; 200 queries) | {} | {} | the SQL alone, HNSW: {} / {}; exact (full scan): {} / {} | {:.1}x the SQL; {:.2}x exact |",
        ms(h50), ms(h99), ms(s50), ms(s99), ms(e50), ms(e99), ratio(h50, s50), ratio(h50, e50)
    );
    println!(
        "\nrecall@10 of find similar (over HTTP) against exact search: {:.3} (200 queries); {examples} examples loaded in {:.1} s, HNSW index rebuilt in {:.1} s",
        recall / queries.len() as f64,
        loaded.as_secs_f64(),
        indexed.as_secs_f64()
    );
    Ok(())
}
