//! The pipeline worker. Runs inside the server (`SMARTCRM_WORKERS`, may be 0) and alone as
//! `smartcrm worker`; any number of them share the work through PostgreSQL:
//!
//! - `pipeline_claim` leases claimable tasks (`FOR UPDATE SKIP LOCKED`) and bumps their version;
//! - each step is a `db::transition` at the version it was decided on, so a worker that lost
//!   its lease (it stalled and another took over) fails its next move and stops;
//! - a worker renews its lease while the model writes; a crashed worker's lease expires and
//!   another resumes the task from `context_loading`;
//! - delivery is a transition plus the deliverable's `delivered_at`, unique per task: a task is
//!   never delivered twice.
use super::{
    db::{self, Changes, Move, MoveError},
    instructions::AiInstructions,
    prompt::{self, CustomerBrief, Example, Template},
    quality::{self, readability::Syllables, Customer, Similarities},
    report::QualityReport,
    rules::{Decision, DecisionRule, RuleAction, RuleCategory, RuleEngine},
    state::{Actor, TaskState},
};
use crate::{
    ai::{
        gateway::{CallMeta, ChatRequest, Gateway, GatewayEvent},
        prompts, AiFailure, TaskKind,
    },
    crm::{BrandVoice, ContentPreferences, Offering, TargetAudience},
    ssr::tenancy::{self, Scope, Tx},
};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tokio::sync::{watch, Semaphore};
use uuid::Uuid;

/// How many similar examples of each polarity the model sees.
const POSITIVE_EXAMPLES: i64 = 3;
const NEGATIVE_EXAMPLES: i64 = 2;
/// Examples embedded per pass when some have no vector yet.
const EMBED_BATCH: i64 = 32;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Unique per worker: recorded as the lease owner and in the history.
    pub name: String,
    pub lease: Duration,
    /// How long an idle worker waits before looking for work again.
    pub idle_poll: Duration,
    /// Tasks in progress at once in this worker.
    pub concurrency: usize,
}

impl WorkerSettings {
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(500),
            concurrency: 16,
        }
    }
}

/// What the workers share: the database, the AI gateway, compiled rules and the dictionary.
pub struct Pipeline {
    pool: PgPool,
    gateway: Arc<Gateway>,
    rules: RuleEngine,
    syllables: Arc<Syllables>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Claimed {
    pub tenant_id: Uuid,
    pub task_id: Uuid,
    pub state: TaskState,
    pub version: i32,
}

/// Why a task's processing stopped early. Only `Db` is unexpected: the others are the
/// pipeline working as designed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("lease lost: {0}")]
    LeaseLost(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Illegal(String),
}

impl From<MoveError> for StepError {
    fn from(e: MoveError) -> Self {
        match e {
            MoveError::Conflict { .. } => StepError::LeaseLost(e.to_string()),
            MoveError::Db(e) => StepError::Db(e),
            MoveError::Illegal(e) => StepError::Illegal(e.to_string()),
        }
    }
}

struct TaskRow {
    title: String,
    instructions: Value,
    attempts: i16,
    max_attempts: i16,
    retry_guidance: Option<String>,
    age_hours: f64,
    customer: CustomerBrief,
}

/// Everything one attempt is made from.
struct Draft {
    task: TaskRow,
    instructions: AiInstructions,
    template: Option<Template>,
    examples: Vec<Example>,
    examples_note: Option<String>,
    prompt: prompts::Prompt,
}

impl Pipeline {
    pub fn new(pool: PgPool, gateway: Arc<Gateway>, syllables: Arc<Syllables>) -> Arc<Self> {
        Arc::new(Self {
            pool,
            gateway,
            rules: RuleEngine::new(),
            syllables,
        })
    }

    pub fn rules(&self) -> &RuleEngine {
        &self.rules
    }

    pub fn syllables(&self) -> &Syllables {
        &self.syllables
    }

    /// Leases up to `limit` claimable tasks of any workspace.
    pub async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Claimed>, sqlx::Error> {
        let mut tx = tenancy::begin_anonymous(&self.pool).await?;
        let rows = sqlx::query!(
            r#"select tenant_id as "tenant_id!", task_id as "task_id!", execution_state as "state!", version as "version!"
               from pipeline_claim($1, $2, $3)"#,
            worker,
            i32::try_from(lease.as_secs()).unwrap_or(3600).max(1),
            i32::try_from(limit).unwrap_or(100),
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                TaskState::parse(&r.state).map(|state| Claimed {
                    tenant_id: r.tenant_id,
                    task_id: r.task_id,
                    state,
                    version: r.version,
                })
            })
            .collect())
    }

    /// Works until `shutdown` turns true, then waits (up to one lease) for tasks in progress.
    /// Tasks still unfinished then keep their lease and another worker resumes them.
    pub async fn run(
        self: Arc<Self>,
        settings: WorkerSettings,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        let settings = Arc::new(settings);
        tracing::info!(worker = %settings.name, concurrency = settings.concurrency, "pipeline worker started");
        // A dropped sender counts as the signal to stop.
        while !*shutdown.borrow() && shutdown.has_changed().is_ok() {
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let claimed = match self.claim(&settings.name, settings.lease, free).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(worker = %settings.name, error = %e, "claiming tasks failed");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(settings.idle_poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            for c in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (me, settings) = (self.clone(), settings.clone());
                tokio::spawn(async move {
                    me.process(c, &settings).await;
                    drop(permit);
                });
            }
        }
        let all = u32::try_from(settings.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(settings.lease, slots.acquire_many(all)).await;
        tracing::info!(worker = %settings.name, "pipeline worker stopped");
    }

    /// Takes one claimed task as far as it goes now. Never panics; problems are logged, and a
    /// task whose worker gave up is resumed by another when the lease expires.
    pub async fn process(&self, c: Claimed, settings: &WorkerSettings) {
        use tracing::Instrument;
        let span = tracing::info_span!("pipeline_task", task_id = %c.task_id, tenant_id = %c.tenant_id, worker = %settings.name, from = %c.state);
        let result = async {
            match c.state {
                TaskState::Approved => self.deliver(c, &settings.name).await,
                s if s == TaskState::Pending
                    || s == TaskState::RetryScheduled
                    || s.is_in_flight() =>
                {
                    self.attempt(c, settings).await
                }
                other => Err(StepError::Illegal(format!(
                    "claimed a task in state {other}"
                ))),
            }
        }
        .instrument(span)
        .await;
        match result {
            Ok(()) => {}
            Err(StepError::LeaseLost(why)) => {
                tracing::info!(task_id = %c.task_id, why, "stopped: another worker has the task")
            }
            Err(e) => {
                tracing::warn!(task_id = %c.task_id, error = %e, "task step failed; it is resumed when the lease expires")
            }
        }
    }

    fn scope(c: &Claimed) -> Scope {
        Scope {
            tenant_id: c.tenant_id,
            user_id: Uuid::nil(),
        }
    }

    fn meta(c: &Claimed, prompt: Option<&prompts::Prompt>) -> CallMeta {
        CallMeta {
            scope: Self::scope(c),
            task: TaskKind::ContentGeneration,
            prompt_name: prompt.map(|p| p.name.clone()),
            prompt_version: prompt.map(|p| p.version),
            subject_id: Some(c.task_id),
            request_id: None,
        }
    }

    /// A person approved the task: deliver the approved content.
    async fn deliver(&self, c: Claimed, worker: &str) -> Result<(), StepError> {
        let mut tx = tenancy::begin(&self.pool, Self::scope(&c)).await?;
        let m = Move {
            task_id: c.task_id,
            version: c.version,
            from: TaskState::Approved,
            to: TaskState::Delivered,
            actor: Actor::System,
            user_id: None,
            worker: Some(worker),
            reason: "Delivered the approved content",
        };
        db::transition(
            &mut tx,
            &m,
            &Changes {
                release_lease: true,
                ..Default::default()
            },
        )
        .await?;
        mark_delivered(&mut tx, c.task_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One attempt: context, generation, evaluation, decision.
    async fn attempt(&self, c: Claimed, settings: &WorkerSettings) -> Result<(), StepError> {
        let worker = settings.name.as_str();
        let mut version = c.version;
        // 1. Claim: move to context_loading and read what the draft is made from.
        let mut tx = tenancy::begin(&self.pool, Self::scope(&c)).await?;
        let reason = match c.state {
            TaskState::Pending => format!("Claimed by {worker}"),
            TaskState::RetryScheduled => format!("Claimed again by {worker} for another attempt"),
            _ => format!("Resumed by {worker}: the previous worker's lease expired"),
        };
        version = db::transition(
            &mut tx,
            &Move {
                task_id: c.task_id,
                version,
                from: c.state,
                to: TaskState::ContextLoading,
                actor: Actor::System,
                user_id: None,
                worker: Some(worker),
                reason: &reason,
            },
            &Changes::default(),
        )
        .await?;
        let loaded = load_task(&mut tx, c.task_id).await?;
        let instructions =
            match serde_json::from_value::<AiInstructions>(loaded.instructions.clone()) {
                Ok(i) => i,
                Err(e) => {
                    let why = format!("The task's stored instructions are invalid: {e}");
                    fail(
                        &mut tx,
                        c.task_id,
                        version,
                        TaskState::ContextLoading,
                        worker,
                        &why,
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(());
                }
            };
        let Some(prompt) = prompts::active(&mut tx, c.tenant_id, "content_generation").await?
        else {
            fail(
                &mut tx,
                c.task_id,
                version,
                TaskState::ContextLoading,
                worker,
                "No active content_generation prompt",
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        };
        let template = best_template(
            &mut tx,
            &instructions.output_type,
            &loaded.customer.industry_category,
        )
        .await?;
        let unembedded = unembedded_examples(&mut tx).await?;
        let rules = load_rules(&mut tx).await?;
        tx.commit().await?;

        // 2. The brief's embedding, to find similar examples (examples still without one are
        //    embedded first).
        let meta = Self::meta(&c, Some(&prompt));
        let query = self
            .brief_embedding(&c, &meta, &instructions, unembedded)
            .await?;

        // 3. Similar examples, then generate.
        let attempt = loaded.attempts + 1;
        let mut tx = tenancy::begin(&self.pool, Self::scope(&c)).await?;
        let (examples, examples_note) = match query {
            Ok((vector, model)) => {
                let kind = &instructions.output_type;
                let mut found = nearest_examples(
                    &mut tx,
                    &vector,
                    &model,
                    "positive",
                    kind,
                    POSITIVE_EXAMPLES,
                )
                .await?;
                found.extend(
                    nearest_examples(
                        &mut tx,
                        &vector,
                        &model,
                        "negative",
                        kind,
                        NEGATIVE_EXAMPLES,
                    )
                    .await?,
                );
                let note = found
                    .is_empty()
                    .then(|| format!("No {kind} examples embedded with {model} yet."));
                (found, note)
            }
            Err(note) => (Vec::new(), Some(note)),
        };
        version = db::transition(
            &mut tx,
            &Move {
                task_id: c.task_id,
                version,
                from: TaskState::ContextLoading,
                to: TaskState::Generating,
                actor: Actor::System,
                user_id: None,
                worker: Some(worker),
                reason: &format!("Attempt {attempt} of {}", loaded.max_attempts),
            },
            &Changes {
                attempts: Some(attempt),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        let draft = Draft {
            task: loaded,
            instructions,
            template,
            examples,
            examples_note,
            prompt,
        };
        let request = match self.request(&draft, meta) {
            Ok(r) => r,
            Err(why) => {
                let mut tx = tenancy::begin(&self.pool, Self::scope(&c)).await?;
                fail(
                    &mut tx,
                    c.task_id,
                    version,
                    TaskState::Generating,
                    worker,
                    &why,
                )
                .await?;
                tx.commit().await?;
                return Ok(());
            }
        };
        let model_asked = request.model.clone();
        let generated = tokio::select! {
            g = self.generate(request) => g,
            lost = self.keep_lease(&c, worker, settings.lease) => return Err(lost),
        };
        let (content, model, provider) = match generated {
            Ok(g) => g,
            Err(failure) => {
                return self
                    .generation_failed(&c, version, attempt, &draft, worker, &failure)
                    .await
            }
        };

        // 4. Keep the draft, then evaluate it.
        let mut tx = tenancy::begin(&self.pool, Self::scope(&c)).await?;
        version = db::transition(
            &mut tx,
            &Move {
                task_id: c.task_id,
                version,
                from: TaskState::Generating,
                to: TaskState::Evaluating,
                actor: Actor::System,
                user_id: None,
                worker: Some(worker),
                reason: &format!("Draft {attempt} written by {model}"),
            },
            &Changes::default(),
        )
        .await?;
        let context_used = json!({
            "customer": draft.task.customer.name,
            "context_sources": draft.instructions.context_sources,
            "template": draft.template.as_ref().map(|t| json!({"id": t.id, "name": t.name})),
            "guidance": draft.task.retry_guidance,
            "examples_note": draft.examples_note,
            "model_requested": model_asked,
        });
        let deliverable_id = sqlx::query_scalar!(
            "insert into project_deliverables
               (tenant_id, task_id, attempt, content, model, provider, prompt_name, prompt_version, template_id, context_used, examples_used)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             returning id",
            c.tenant_id,
            c.task_id,
            attempt,
            content,
            model,
            provider,
            draft.prompt.name,
            draft.prompt.version,
            draft.template.as_ref().map(|t| t.id),
            context_used,
            serde_json::to_value(&draft.examples).unwrap_or(Value::Null),
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;

        let report = self.evaluate(&c, &draft, &content).await;
        let decision_context = decision_context(&draft, &report, attempt, &model);
        let decision = self.rules.decide_explained(&rules, &decision_context);
        self.settle(
            &c,
            version,
            attempt,
            &draft,
            deliverable_id,
            &report,
            &decision,
            worker,
        )
        .await
    }

    fn request(&self, d: &Draft, meta: CallMeta) -> Result<ChatRequest, String> {
        let model = self
            .gateway
            .route(TaskKind::ContentGeneration, Some(&d.prompt.ai_model))
            .map_err(|why| format!("Cannot choose a model: {why}"))?;
        let customer = prompt::customer_section(&d.task.customer, &d.instructions);
        let instructions =
            prompt::instructions_section(&d.instructions, &d.task.customer.competitors);
        let template = prompt::template_section(d.template.as_ref());
        let examples = prompt::examples_section(&d.examples, d.examples_note.as_deref());
        let guidance = prompt::guidance_section(d.task.retry_guidance.as_deref());
        let user = prompt::render(
            &d.prompt.template,
            &[
                ("customer_name", &d.task.customer.name),
                ("brief", &d.instructions.brief),
                ("customer", &customer),
                ("instructions", &instructions),
                ("template", &template),
                ("examples", &examples),
                ("guidance", &guidance),
            ],
        )
        .map_err(|why| format!("The {} prompt template is broken: {why}", d.prompt.name))?;
        Ok(ChatRequest {
            model,
            system: d.prompt.system_prompt.clone(),
            user,
            max_tokens: u32::try_from(d.prompt.max_tokens).unwrap_or(1200),
            temperature: d.prompt.temperature,
            meta,
        })
    }

    /// The whole answer, with the model and provider that gave it.
    async fn generate(&self, request: ChatRequest) -> Result<(String, String, String), AiFailure> {
        let mut rx = self.gateway.stream(request);
        let mut text = String::new();
        while let Some(event) = rx.recv().await {
            match event {
                GatewayEvent::Delta(d) => text.push_str(&d),
                GatewayEvent::Done(outcome) => {
                    return Ok((text.trim().to_owned(), outcome.model, outcome.provider))
                }
                GatewayEvent::Failed(f) => return Err(f),
                GatewayEvent::Attempt { .. } | GatewayEvent::Queued { .. } => {}
            }
        }
        Err(AiFailure {
            provider: String::new(),
            model: String::new(),
            message: "the AI gateway stopped without an answer".into(),
            after_ms: 0,
            attempts: 0,
        })
    }

    /// Renews the lease every third of its length; returns only when it was lost.
    async fn keep_lease(&self, c: &Claimed, worker: &str, lease: Duration) -> StepError {
        loop {
            tokio::time::sleep(lease / 3).await;
            let renewed = async {
                let mut tx = tenancy::begin(&self.pool, Self::scope(c)).await?;
                let n = sqlx::query!(
                    "update project_tasks set lease_expires_at = now() + make_interval(secs => $3)
                     where id = $1 and lease_owner = $2 and execution_state in ('context_loading', 'generating', 'evaluating')",
                    c.task_id,
                    worker,
                    lease.as_secs_f64(),
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok::<_, sqlx::Error>(n)
            }
            .await;
            match renewed {
                Ok(1) => {}
                Ok(_) => {
                    return StepError::LeaseLost(
                        "another worker took over while the model was writing".into(),
                    )
                }
                Err(e) => {
                    tracing::warn!(task_id = %c.task_id, error = %e, "renewing the lease failed; trying again")
                }
            }
        }
    }

    async fn generation_failed(
        &self,
        c: &Claimed,
        version: i32,
        attempt: i16,
        d: &Draft,
        worker: &str,
        failure: &AiFailure,
    ) -> Result<(), StepError> {
        let mut tx = tenancy::begin(&self.pool, Self::scope(c)).await?;
        let why = format!("The AI could not write the draft: {failure}");
        if attempt < d.task.max_attempts {
            let wait = 30.0 * f64::from(attempt);
            db::transition(
                &mut tx,
                &Move {
                    task_id: c.task_id,
                    version,
                    from: TaskState::Generating,
                    to: TaskState::RetryScheduled,
                    actor: Actor::System,
                    user_id: None,
                    worker: Some(worker),
                    reason: &format!("{why}; trying again in {wait:.0} s"),
                },
                &Changes {
                    status_reason: Some(Some(why.clone())),
                    run_after_secs: Some(wait),
                    release_lease: true,
                    ..Default::default()
                },
            )
            .await?;
        } else {
            fail(
                &mut tx,
                c.task_id,
                version,
                TaskState::Generating,
                worker,
                &why,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Embeds examples that have no vector yet, then the brief: the vector and its model, or
    /// why there is none (the draft is then written without examples, and says so).
    async fn brief_embedding(
        &self,
        c: &Claimed,
        meta: &CallMeta,
        instructions: &AiInstructions,
        unembedded: Vec<(Uuid, String)>,
    ) -> Result<Result<(pgvector::Vector, String), String>, StepError> {
        if !unembedded.is_empty() {
            let texts: Vec<String> = unembedded.iter().map(|(_, t)| t.clone()).collect();
            match self.gateway.embed(meta, &texts).await {
                Ok(made) => {
                    let mut tx = tenancy::begin(&self.pool, Self::scope(c)).await?;
                    for ((id, _), v) in unembedded.iter().zip(made.vectors) {
                        sqlx::query!(
                            "update content_examples set embedding = $2, embedding_model = $3 where id = $1 and embedding is null",
                            id,
                            pgvector::Vector::from(v) as pgvector::Vector,
                            made.model,
                        )
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                }
                Err(f) => {
                    tracing::warn!(error = %f, "embedding examples failed; continuing with those already embedded")
                }
            }
        }
        let query = format!(
            "{} ({})",
            instructions.brief,
            instructions.output_type.replace('_', " ")
        );
        Ok(match self.gateway.embed(meta, &[query]).await {
            Ok(made) => match made.vectors.into_iter().next() {
                Some(v) => Ok((pgvector::Vector::from(v), made.model)),
                None => Err("Examples unavailable: the embedding model returned no vector".into()),
            },
            Err(f) => Err(format!("Examples unavailable: the embedding failed ({f})")),
        })
    }

    /// Scores the draft; brand alignment uses embeddings when the model can give them.
    async fn evaluate(&self, c: &Claimed, d: &Draft, content: &str) -> QualityReport {
        let customer = &d.task.customer;
        let text = quality::visible_text(content, &d.instructions.output_format);
        let sims = match self
            .gateway
            .embed(&Self::meta(c, None), &[text, customer.voice_text()])
            .await
        {
            Ok(made) if made.vectors.len() == 2 => {
                let (draft, voice) = (&made.vectors[0], &made.vectors[1]);
                let best = |polarity: &str| {
                    d.examples
                        .iter()
                        .filter(|e| e.polarity == polarity && e.embedding.len() == draft.len())
                        .map(|e| cosine(draft, &e.embedding))
                        .fold(None, |m: Option<f32>, s| Some(m.map_or(s, |m| m.max(s))))
                };
                Some(Similarities {
                    model: made.model.clone(),
                    voice: Some(cosine(draft, voice)),
                    best_positive: best("positive"),
                    best_negative: best("negative"),
                })
            }
            Ok(_) => None,
            Err(f) => {
                tracing::warn!(error = %f, "brand alignment without embeddings: the embedding failed");
                None
            }
        };
        let brief = Customer {
            name: &customer.name,
            website: customer.website.as_deref(),
            competitors: &customer.competitors,
            phrases_to_use: &customer.brand_voice.phrases_to_use,
            phrases_to_avoid: &customer.brand_voice.phrases_to_avoid,
        };
        quality::score(
            content,
            &d.instructions,
            &brief,
            sims.as_ref(),
            &self.syllables,
        )
    }

    /// Stores the scores and the decision and moves the task where the decision says.
    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        c: &Claimed,
        version: i32,
        attempt: i16,
        d: &Draft,
        deliverable_id: Uuid,
        report: &QualityReport,
        decision: &Decision,
        worker: &str,
    ) -> Result<(), StepError> {
        let out_of_attempts = attempt >= d.task.max_attempts;
        let summary = decision.summary();
        let (to, changes, reason) = match &decision.action {
            RuleAction::Approve => (TaskState::Approved, Changes::default(), summary.clone()),
            RuleAction::Review { reason } => (
                TaskState::AwaitingReview,
                waiting(reason_or(reason, &summary)),
                summary.clone(),
            ),
            RuleAction::Reject { reason } => (
                TaskState::Rejected,
                waiting(reason.clone()),
                summary.clone(),
            ),
            RuleAction::Escalate { reason } => (
                TaskState::Escalated,
                waiting(reason.clone()),
                summary.clone(),
            ),
            RuleAction::Retry { guidance } if out_of_attempts => {
                let why = format!(
                    "Out of attempts: the rules asked for another ({guidance}) but all {} are used",
                    d.task.max_attempts
                );
                (
                    TaskState::Escalated,
                    waiting(why.clone()),
                    format!("{summary}; {why}"),
                )
            }
            RuleAction::Retry { guidance } => {
                let mut full = guidance.trim().to_owned();
                for f in &report.compliance.failures {
                    full.push_str(&format!("\n- {}", f.message));
                }
                let changes = Changes {
                    retry_guidance: Some(Some(full)),
                    status_reason: Some(Some(summary.clone())),
                    run_after_secs: Some(0.0),
                    release_lease: true,
                    ..Default::default()
                };
                (TaskState::RetryScheduled, changes, summary.clone())
            }
        };
        let evaluation = success_evaluation(d, report);
        let mut tx = tenancy::begin(&self.pool, Self::scope(c)).await?;
        let version = db::transition(
            &mut tx,
            &Move {
                task_id: c.task_id,
                version,
                from: TaskState::Evaluating,
                to,
                actor: Actor::Ai,
                user_id: None,
                worker: Some(worker),
                reason: &reason,
            },
            &changes,
        )
        .await?;
        sqlx::query!(
            "update project_deliverables
                set content_quality = $2, quality_score = $3, success_evaluation = $4, decision = $5, decision_trace = $6,
                    delivered_at = case when $7 then now() end
              where id = $1",
            deliverable_id,
            serde_json::to_value(report).unwrap_or(Value::Null),
            i16::from(report.overall),
            evaluation,
            action_name(&decision.action, out_of_attempts),
            serde_json::to_value(decision).unwrap_or(Value::Null),
            to == TaskState::Approved,
        )
        .execute(&mut *tx)
        .await?;
        if to == TaskState::Approved {
            db::transition(
                &mut tx,
                &Move {
                    task_id: c.task_id,
                    version,
                    from: TaskState::Approved,
                    to: TaskState::Delivered,
                    actor: Actor::System,
                    user_id: None,
                    worker: Some(worker),
                    reason: "Delivered the approved content",
                },
                &Changes {
                    release_lease: true,
                    ..Default::default()
                },
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(task_id = %c.task_id, attempt, quality = report.overall, decision = %summary, "draft settled");
        Ok(())
    }
}

fn reason_or(reason: &str, fallback: &str) -> String {
    if reason.trim().is_empty() {
        fallback.to_owned()
    } else {
        reason.to_owned()
    }
}

/// The task waits for a person (or is done): the worker lets go of it.
fn waiting(reason: String) -> Changes {
    Changes {
        status_reason: Some(Some(reason)),
        release_lease: true,
        ..Default::default()
    }
}

fn action_name(action: &RuleAction, out_of_attempts: bool) -> &'static str {
    match action {
        RuleAction::Approve => "approve",
        RuleAction::Review { .. } => "review",
        RuleAction::Reject { .. } => "reject",
        RuleAction::Retry { .. } if out_of_attempts => "escalate",
        RuleAction::Retry { .. } => "retry",
        RuleAction::Escalate { .. } => "escalate",
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Which of the task's success criteria the draft met.
fn success_evaluation(d: &Draft, r: &QualityReport) -> Value {
    let c = &d.instructions.success_criteria;
    json!({
        "readability_ok": c.readability_score_min.is_none_or(|m| r.readability.flesch_reading_ease >= m),
        "sentiment_ok": c.sentiment_target.as_deref().is_none_or(|t| t == r.sentiment.label),
        "cta_ok": !c.cta_present || r.compliance.cta_found,
        "compliance_passed": r.compliance.passed,
        "overall_ok": r.overall >= d.instructions.quality_thresholds.min_overall,
        "brand_ok": r.brand.score >= d.instructions.quality_thresholds.min_brand_alignment,
        "min_overall": d.instructions.quality_thresholds.min_overall,
    })
}

/// What the decision rules see: {task, customer, quality, attempt, deliverable}.
pub fn decision_context_of(
    task: Value,
    customer: &CustomerBrief,
    r: &QualityReport,
    attempt: i16,
    words: usize,
    model: &str,
) -> Value {
    json!({
        "task": task,
        "customer": {"name": customer.name, "industry": customer.industry_category, "is_vip": customer.is_vip},
        "quality": {
            "overall": r.overall,
            "readability": r.readability.score,
            "sentiment": r.sentiment.score,
            "brand": r.brand.score,
            "compliance": {
                "passed": r.compliance.passed,
                "failure_count": r.compliance.failures.len(),
                "failures": r.compliance.failures.iter().map(|f| f.code.clone()).collect::<Vec<_>>(),
            },
            "flesch_reading_ease": r.readability.flesch_reading_ease,
            "sentiment_label": r.sentiment.label,
        },
        "attempt": attempt,
        "deliverable": {"words": words, "model": model},
    })
}

fn decision_context(d: &Draft, r: &QualityReport, attempt: i16, model: &str) -> Value {
    let task = json!({
        "title": d.task.title,
        "output_type": d.instructions.output_type,
        "max_attempts": d.task.max_attempts,
        "min_overall": d.instructions.quality_thresholds.min_overall,
        "min_brand_alignment": d.instructions.quality_thresholds.min_brand_alignment,
        "age_hours": d.task.age_hours,
    });
    decision_context_of(
        task,
        &d.task.customer,
        r,
        attempt,
        r.compliance.word_count,
        model,
    )
}

async fn fail(
    tx: &mut Tx,
    task_id: Uuid,
    version: i32,
    from: TaskState,
    worker: &str,
    why: &str,
) -> Result<i32, StepError> {
    Ok(db::transition(
        tx,
        &Move {
            task_id,
            version,
            from,
            to: TaskState::Failed,
            actor: Actor::System,
            user_id: None,
            worker: Some(worker),
            reason: why,
        },
        &Changes {
            status_reason: Some(Some(why.to_owned())),
            release_lease: true,
            ..Default::default()
        },
    )
    .await?)
}

/// Marks the latest draft delivered (at most one per task: a unique index guards it).
async fn mark_delivered(tx: &mut Tx, task_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update project_deliverables set delivered_at = now()
          where id = (select id from project_deliverables where task_id = $1 order by attempt desc limit 1)",
        task_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn load_task(tx: &mut Tx, task_id: Uuid) -> Result<TaskRow, sqlx::Error> {
    let r = sqlx::query!(
        r#"select t.title, t.ai_instructions, t.attempts, t.max_attempts, t.retry_guidance,
                  extract(epoch from now() - t.created_at)::float8 / 3600 as "age_hours!",
                  c.id as customer_id, c.name, c.website, c.industry_category, c.industry_subcategory,
                  c.business_description, c.unique_selling_points, c.products_services, c.target_audience,
                  c.brand_voice, c.content_preferences, c.is_vip, c.competitors
             from project_tasks t join customers c on c.id = t.customer_id
            where t.id = $1"#,
        task_id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(TaskRow {
        title: r.title,
        instructions: r.ai_instructions,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        retry_guidance: r.retry_guidance,
        age_hours: r.age_hours,
        customer: CustomerBrief {
            id: r.customer_id,
            name: r.name,
            website: r.website,
            industry_category: r.industry_category,
            industry_subcategory: r.industry_subcategory,
            business_description: r.business_description,
            unique_selling_points: r.unique_selling_points,
            products_services: serde_json::from_value::<Vec<Offering>>(r.products_services)
                .unwrap_or_default(),
            target_audience: serde_json::from_value::<TargetAudience>(r.target_audience)
                .unwrap_or_default(),
            brand_voice: serde_json::from_value::<BrandVoice>(r.brand_voice).unwrap_or_default(),
            content_preferences: serde_json::from_value::<ContentPreferences>(
                r.content_preferences,
            )
            .unwrap_or_default(),
            is_vip: r.is_vip,
            competitors: r.competitors,
        },
    })
}

/// The template for this content type: the workspace's own before built-ins, the customer's
/// industry before any-industry ones.
async fn best_template(
    tx: &mut Tx,
    output_type: &str,
    industry: &str,
) -> Result<Option<Template>, sqlx::Error> {
    let row = sqlx::query!(
        "select id, name, body, guidelines from content_templates
          where active and output_type = $1 and (industry = '' or industry = $2)
          order by (industry = $2) desc, (tenant_id is not null) desc, created_at
          limit 1",
        output_type,
        industry
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| Template {
        id: r.id,
        name: r.name,
        body: r.body,
        guidelines: r.guidelines,
    }))
}

async fn unembedded_examples(tx: &mut Tx) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, content from content_examples where embedding is null limit $1",
        EMBED_BATCH
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.content)).collect())
}

/// The `k` examples of this polarity and content type closest to `vector`, among those embedded
/// by `model` (vectors of different models are never compared). HNSW (ef_search 100) with an
/// iterative scan, so the filters still leave `k` rows when there are that many.
pub async fn nearest_examples(
    tx: &mut Tx,
    vector: &pgvector::Vector,
    model: &str,
    polarity: &str,
    output_type: &str,
    k: i64,
) -> Result<Vec<Example>, sqlx::Error> {
    sqlx::query!(
        "select set_config('hnsw.iterative_scan', 'strict_order', true) as a, set_config('hnsw.ef_search', '100', true) as b"
    )
        .fetch_one(&mut **tx)
        .await?;
    let rows = sqlx::query!(
        r#"select id, polarity, content, annotation,
                  (1 - (embedding <=> $1))::float4 as "similarity!", embedding as "embedding!: pgvector::Vector"
           from content_examples
           where embedding_model = $2 and polarity = $3 and output_type = $4
           order by embedding <=> $1
           limit $5"#,
        vector as &pgvector::Vector,
        model,
        polarity,
        output_type,
        k,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Example {
            id: r.id,
            polarity: r.polarity,
            content: r.content,
            annotation: r.annotation,
            similarity: r.similarity,
            embedding: r.embedding.to_vec(),
        })
        .collect())
}

/// The rules in force: the workspace's own, and the built-ins it has not replaced by name.
pub async fn load_rules(tx: &mut Tx) -> Result<Vec<DecisionRule>, sqlx::Error> {
    let rows = sqlx::query!(
        "select distinct on (name) id, name, category, priority, condition, action, enabled, version
           from ai_decision_rules
          order by name, tenant_id nulls last"
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let category = RuleCategory::parse(&r.category)?;
            let action = match serde_json::from_value::<RuleAction>(r.action) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(rule = %r.name, error = %e, "skipping a rule whose action cannot be read");
                    return None;
                }
            };
            Some(DecisionRule {
                id: r.id,
                name: r.name,
                category,
                priority: r.priority,
                condition: r.condition,
                action,
                enabled: r.enabled,
                version: r.version,
            })
        })
        .collect())
}
