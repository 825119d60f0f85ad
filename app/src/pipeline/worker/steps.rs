//! One task's way through an attempt, step by step: context, examples, generation, the draft,
//! its scores and the decision. Each step is its own transaction and a versioned move.
use super::{Pipeline, StepError, EMBED_BATCH};
use crate::{
    ai::{
        gateway::{CallMeta, ChatRequest, GatewayEvent, RouteQuery, Routed},
        local::embed::cosine,
        prompts::{self, Prompt},
        AiFailure, TaskKind,
    },
    crm::Customer,
    pipeline::{
        db::{
            self,
            work::{Claimed, NewDeliverable, Scores, TaskRow},
            Changes, Move,
        },
        decision::{self, TaskFacts},
        examples,
        instructions::AiInstructions,
        prompt::{self, DraftInputs, Example, ExampleSource, Template},
        quality::{self, BrandRules, Similarities},
        report::QualityReport,
        rulebook::{self, shadow::Shadowing},
        rules::{Decision, DecisionRule},
        state::{Actor, TaskState},
    },
    ssr::tenancy::{self, Scope},
};
use serde_json::{json, Value};
use uuid::Uuid;

/// Everything one attempt is made from.
struct Draft {
    task: TaskRow,
    instructions: AiInstructions,
    template: Option<Template>,
    examples: Vec<Example>,
    examples_note: Option<String>,
    prompt: Prompt,
    /// The model the resolution order chose, or why none could be.
    routed: Result<Routed, String>,
    rules: Vec<DecisionRule>,
    /// A draft rule set deciding beside the live one, without acting.
    shadow: Option<Shadowing>,
    attempt: i16,
}

/// A scored draft's decision, what it was decided on, and the shadow set's decision beside it.
struct Judged<'a> {
    deliverable_id: Uuid,
    report: &'a QualityReport,
    decision: &'a Decision,
    context: &'a Value,
    shadow: Option<(&'a Shadowing, (Decision, &'static str))>,
}

/// What the context step read, before the examples are found.
struct Loaded {
    task: TaskRow,
    instructions: AiInstructions,
    prompt: Prompt,
    routed: Result<Routed, String>,
    template: Option<Template>,
    rules: Vec<DecisionRule>,
    shadow: Option<Shadowing>,
}

/// One task as one worker holds it: the claim, the version it is at, and who the worker is.
pub(super) struct Held<'a> {
    pub(super) c: Claimed,
    pub(super) version: i32,
    pub(super) worker: &'a str,
}

impl Held<'_> {
    fn scope(&self) -> Scope {
        Scope {
            tenant_id: self.c.tenant_id,
            user_id: Uuid::nil(),
        }
    }

    fn step<'m>(&self, from: TaskState, to: TaskState, reason: &'m str) -> Move<'m>
    where
        Self: 'm,
    {
        Move::system(
            self.c.task_id,
            self.version,
            from,
            to,
            Some(self.worker),
            reason,
        )
    }
}

impl Pipeline {
    fn meta(c: &Claimed, prompt: Option<&Prompt>) -> CallMeta {
        CallMeta {
            scope: Scope {
                tenant_id: c.tenant_id,
                user_id: Uuid::nil(),
            },
            task: TaskKind::ContentGeneration,
            prompt_name: prompt.map(|p| p.name.clone()),
            prompt_version: prompt.map(|p| p.version),
            subject_id: Some(c.task_id),
            request_id: None,
            route: Default::default(),
        }
    }

    /// A person approved the task: deliver the approved content.
    #[tracing::instrument(skip_all)]
    pub(super) async fn deliver(&self, h: &Held<'_>) -> Result<(), StepError> {
        let mut tx = tenancy::begin(&self.pool, h.scope()).await?;
        db::deliver(
            &mut tx,
            h.c.task_id,
            h.version,
            Some(h.worker),
            "Delivered the approved content",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives up on the task in its own transaction, saying why.
    async fn fail(&self, h: &Held<'_>, from: TaskState, why: &str) -> Result<(), StepError> {
        let mut tx = tenancy::begin(&self.pool, h.scope()).await?;
        db::fail(&mut tx, h.c.task_id, h.version, from, h.worker, why).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One attempt: context, examples, generation, evaluation, decision.
    #[tracing::instrument(skip_all)]
    pub(super) async fn attempt(&self, mut h: Held<'_>) -> Result<(), StepError> {
        let Some(loaded) = self.load(&mut h).await? else {
            return Ok(());
        };
        let mut meta = Self::meta(&h.c, Some(&loaded.prompt));
        if let Ok(r) = &loaded.routed {
            meta.route = r.tag.clone();
        }
        let query = self
            .brief_embedding(&h, &meta, &loaded.instructions)
            .await?;
        let draft = self.start_generation(&mut h, loaded, query).await?;
        let request = match self.request(&draft, meta) {
            Ok(r) => r,
            Err(why) => return self.fail(&h, TaskState::Generating, &why).await,
        };
        let model_asked = request.model.clone();
        let (content, model, provider) = match self.generate(request).await {
            Ok(g) => g,
            Err(failure) => return self.generation_failed(&h, &draft, &failure).await,
        };
        let deliverable_id = self
            .keep_draft(&mut h, &draft, &content, &model, &provider, &model_asked)
            .await?;
        let report = self
            .score_draft(
                h.scope(),
                Some(h.c.task_id),
                &draft.task.customer,
                &draft.instructions,
                &draft.examples,
                &content,
            )
            .await;
        let facts = TaskFacts {
            title: &draft.task.title,
            instructions: &draft.instructions,
            max_attempts: draft.task.max_attempts,
            age_hours: draft.task.age_hours,
        };
        let context =
            decision::context(&facts, &draft.task.customer, &report, draft.attempt, &model);
        let decision = self.rules.decide_explained(&draft.rules, &context);
        let shadow = draft
            .shadow
            .as_ref()
            .map(|s| (s, rulebook::shadow::decide(&self.rules, s, &context)));
        let judged = Judged {
            deliverable_id,
            report: &report,
            decision: &decision,
            context: &context,
            shadow,
        };
        self.settle(&h, &draft, judged).await
    }

    /// Step 1: move to `context_loading`, counting the attempt (a resumed task's too), and read
    /// what the draft is made from. `None` when the task could not be worked on and was failed,
    /// with the reason: its stored data is unreadable, or every attempt is used (a task whose
    /// workers keep dying mid-attempt does not loop, paying for a generation each time).
    async fn load(&self, h: &mut Held<'_>) -> Result<Option<Loaded>, StepError> {
        let mut tx = tenancy::begin(&self.pool, h.scope()).await?;
        let standing = db::work::standing(&mut tx, h.c.task_id).await?;
        let reason = match h.c.state {
            TaskState::Pending => format!("Claimed by {}", h.worker),
            TaskState::RetryScheduled => {
                format!("Claimed again by {} for another attempt", h.worker)
            }
            _ => format!(
                "Resumed by {}: the previous worker stopped or its lease expired",
                h.worker
            ),
        };
        let out_of_attempts = standing.attempts >= standing.max_attempts;
        let m = h.step(h.c.state, TaskState::ContextLoading, &reason);
        let changes = Changes {
            attempts: (!out_of_attempts).then_some(standing.attempts + 1),
            ..Default::default()
        };
        h.version = db::transition(&mut tx, &m, &changes).await?;
        let from = TaskState::ContextLoading;
        if out_of_attempts {
            let last = standing
                .status_reason
                .filter(|_| h.c.state.is_in_flight())
                .map_or_else(
                    || "the worker stopped before it finished".to_owned(),
                    |r| format!("the worker stopped before it finished (last: {r})"),
                );
            let why = format!(
                "Out of attempts: all {} were used and {last}",
                standing.max_attempts
            );
            db::fail(&mut tx, h.c.task_id, h.version, from, h.worker, &why).await?;
            tx.commit().await?;
            return Ok(None);
        }
        let task = match db::work::load_task(&mut tx, h.c.task_id).await {
            Ok(t) => t,
            Err(sqlx::Error::ColumnDecode { index, source }) => {
                let why = format!(
                    "The customer's stored {index} cannot be read ({source}); correct it on the customer's page"
                );
                db::fail(&mut tx, h.c.task_id, h.version, from, h.worker, &why).await?;
                tx.commit().await?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let instructions = match serde_json::from_value::<AiInstructions>(task.instructions.clone())
        {
            Ok(i) => i,
            Err(e) => {
                let why = format!("The task's stored instructions are invalid: {e}");
                db::fail(&mut tx, h.c.task_id, h.version, from, h.worker, &why).await?;
                tx.commit().await?;
                return Ok(None);
            }
        };
        let Some(prompt) = prompts::active(&mut tx, h.c.tenant_id, "content_generation").await?
        else {
            let why = "No active content_generation prompt";
            db::fail(&mut tx, h.c.task_id, h.version, from, h.worker, why).await?;
            tx.commit().await?;
            return Ok(None);
        };
        let template = db::work::best_template(
            &mut tx,
            &instructions.output_type,
            &task.customer.industry_category,
        )
        .await?;
        let query = RouteQuery {
            task: TaskKind::ContentGeneration,
            prompt: Some((&prompt.name, &prompt.ai_model)),
            subject: Some(task.customer.id),
        };
        let routed = self.gateway.resolve(&mut tx, h.scope(), query).await?;
        let rules = db::work::load_rules(&mut tx, h.c.tenant_id).await?;
        let shadow = rulebook::shadow::running(&mut tx, h.c.tenant_id, &rules).await?;
        tx.commit().await?;
        Ok(Some(Loaded {
            task,
            instructions,
            prompt,
            routed,
            template,
            rules,
            shadow,
        }))
    }

    /// Step 2: embeds examples that have no vector yet, then the brief: the vector and its
    /// model, or why there is none (the draft is then written without examples, and says so).
    async fn brief_embedding(
        &self,
        h: &Held<'_>,
        meta: &CallMeta,
        instructions: &AiInstructions,
    ) -> Result<Result<(pgvector::Vector, String), String>, StepError> {
        // Examples saved since the background pass last ran (or whose vector is another
        // model's) are embedded first, by the same code as that pass.
        let tenant = h.c.tenant_id;
        if let Err(e) =
            examples::service::embed_pending(&self.pool, &self.gateway, tenant, EMBED_BATCH).await
        {
            tracing::warn!(error = %e, "embedding examples failed; continuing with those already embedded");
        }
        let query = prompt::example_query(instructions);
        Ok(match self.gateway.embed(meta, &[query]).await {
            Ok(made) => match made.vectors.into_iter().next() {
                Some(v) => Ok((pgvector::Vector::from(v), made.model)),
                None => Err("Examples unavailable: the embedding model returned no vector".into()),
            },
            Err(f) => Err(format!("Examples unavailable: the embedding failed ({f})")),
        })
    }

    /// Step 3: finds the similar examples and moves to `generating`.
    async fn start_generation(
        &self,
        h: &mut Held<'_>,
        l: Loaded,
        query: Result<(pgvector::Vector, String), String>,
    ) -> Result<Draft, StepError> {
        let attempt = l.task.attempts;
        let mut tx = tenancy::begin(&self.pool, h.scope()).await?;
        let (examples, examples_note) = match query {
            Ok((vector, model)) => {
                let prefer = db::work::ExampleScope {
                    customer_id: l.task.customer.id,
                    industry: &l.task.customer.industry_category,
                };
                let kind = &l.instructions.output_type;
                db::work::draft_examples(&mut tx, &vector, &model, kind, prefer).await?
            }
            Err(note) => (Vec::new(), Some(note)),
        };
        let reason = format!("Attempt {attempt} of {}", l.task.max_attempts);
        let m = h.step(TaskState::ContextLoading, TaskState::Generating, &reason);
        h.version = db::transition(&mut tx, &m, &Changes::default()).await?;
        tx.commit().await?;
        Ok(Draft {
            task: l.task,
            instructions: l.instructions,
            template: l.template,
            examples,
            examples_note,
            prompt: l.prompt,
            routed: l.routed,
            rules: l.rules,
            shadow: l.shadow,
            attempt,
        })
    }

    fn request(&self, d: &Draft, meta: CallMeta) -> Result<ChatRequest, String> {
        let model = match &d.routed {
            Ok(r) => r.model.clone(),
            Err(why) => return Err(format!("Cannot choose a model: {why}")),
        };
        let inputs = DraftInputs {
            customer: &d.task.customer,
            instructions: &d.instructions,
            template: d.template.as_ref(),
            examples: &d.examples,
            examples_note: d.examples_note.as_deref(),
            guidance: d.task.retry_guidance.as_deref(),
        };
        let user = prompt::user_prompt(&d.prompt.template, &inputs)
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
                GatewayEvent::Restart { .. } => text.clear(),
                GatewayEvent::Done(outcome) if outcome.truncated => {
                    return Err(AiFailure {
                        message: format!(
                            "the answer was cut off at the token limit ({} tokens): raise the prompt's max tokens or shorten what it asks for",
                            outcome.completion_tokens.unwrap_or_default()
                        ),
                        provider: outcome.provider,
                        model: outcome.model,
                        after_ms: outcome.latency.as_millis() as u64,
                        attempts: outcome.attempts,
                    })
                }
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

    /// The model gave no draft: try again later while attempts remain, else fail the task.
    async fn generation_failed(
        &self,
        h: &Held<'_>,
        d: &Draft,
        failure: &AiFailure,
    ) -> Result<(), StepError> {
        let why = format!("The AI could not write the draft: {failure}");
        if d.attempt >= d.task.max_attempts {
            return self.fail(h, TaskState::Generating, &why).await;
        }
        let wait = 30.0 * f64::from(d.attempt);
        let reason = format!("{why}; trying again in {wait:.0} s");
        let m = h.step(TaskState::Generating, TaskState::RetryScheduled, &reason);
        let changes = Changes {
            status_reason: Some(Some(why.clone())),
            run_after_secs: Some(wait),
            release_lease: true,
            ..Default::default()
        };
        let mut tx = tenancy::begin(&self.pool, h.scope()).await?;
        db::transition(&mut tx, &m, &changes).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Step 4: keeps the draft and moves to `evaluating`.
    async fn keep_draft(
        &self,
        h: &mut Held<'_>,
        d: &Draft,
        content: &str,
        model: &str,
        provider: &str,
        model_asked: &str,
    ) -> Result<Uuid, StepError> {
        let mut tx = tenancy::begin(&self.pool, h.scope()).await?;
        let reason = format!("Draft {} written by {model}", d.attempt);
        let m = h.step(TaskState::Generating, TaskState::Evaluating, &reason);
        h.version = db::transition(&mut tx, &m, &Changes::default()).await?;
        let context_used = json!({
            "customer": d.task.customer.name,
            "context_sources": d.instructions.context_sources,
            "template": d.template.as_ref().map(|t| json!({"id": t.id, "name": t.name})),
            "guidance": d.task.retry_guidance,
            "examples_note": d.examples_note,
            // Whose examples the draft was shown: the customer's own first, then its industry's.
            "examples_from": ExampleSource::summary(&d.examples),
            "model_requested": model_asked,
        });
        let new = NewDeliverable {
            tenant_id: h.c.tenant_id,
            task_id: h.c.task_id,
            attempt: d.attempt,
            content,
            model,
            provider,
            prompt_name: &d.prompt.name,
            prompt_version: d.prompt.version,
            template_id: d.template.as_ref().map(|t| t.id),
            template_version: d.template.as_ref().map(|t| t.version),
            context_used,
            examples_used: serde_json::to_value(&d.examples).unwrap_or(Value::Null),
        };
        let id = db::work::insert_deliverable(&mut tx, new).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Scores the draft; brand alignment uses embeddings when the model can give them.
    #[tracing::instrument(skip_all)]
    /// Scores a draft: quality, compliance (with the workspace's other customers it names) and
    /// brand alignment against the voice and the examples it was given. The worker and the
    /// template's "generate a sample" both score through here.
    pub async fn score_draft(
        &self,
        scope: Scope,
        subject: Option<Uuid>,
        customer: &Customer,
        instructions: &AiInstructions,
        examples: &[Example],
        content: &str,
    ) -> QualityReport {
        let text = quality::visible_text(content, &instructions.output_format);
        let others = self.other_customers_named(scope, customer.id, &text).await;
        let meta = CallMeta {
            scope,
            task: TaskKind::ContentGeneration,
            prompt_name: None,
            prompt_version: None,
            subject_id: subject,
            request_id: None,
            route: Default::default(),
        };
        let sims = match self
            .gateway
            .embed(&meta, &[text, customer.voice_text()])
            .await
        {
            Ok(made) if made.vectors.len() == 2 => {
                let (draft, voice) = (&made.vectors[0], &made.vectors[1]);
                let best = |polarity: &str| {
                    examples
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
        let rules = BrandRules {
            other_businesses: &others,
            ..BrandRules::from(customer)
        };
        quality::score(
            content,
            instructions,
            &rules,
            sims.as_ref(),
            &self.syllables,
        )
    }

    /// The decision the rules take on a scored draft, with its trace in words.
    pub fn judge(
        &self,
        facts: &TaskFacts,
        customer: &Customer,
        report: &QualityReport,
        attempt: i16,
        model: &str,
        rules: &[DecisionRule],
    ) -> Decision {
        let context = decision::context(facts, customer, report, attempt, model);
        self.rules.decide_explained(rules, &context)
    }

    /// The workspace's other customers the draft names. A failed lookup is logged and scored
    /// as none: settling the draft needs the database next, and fails there if it is down.
    async fn other_customers_named(
        &self,
        scope: Scope,
        customer_id: Uuid,
        text: &str,
    ) -> Vec<String> {
        let found = async {
            let mut tx = tenancy::begin(&self.pool, scope).await?;
            let names = db::work::other_customers_named(&mut tx, customer_id, text).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(names)
        }
        .await;
        found.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "looking for other customers' names failed");
            Vec::new()
        })
    }

    /// Step 5: stores the scores and the decision and moves the task where the decision says
    /// (an approval is delivered in the same transaction).
    async fn settle(&self, h: &Held<'_>, d: &Draft, j: Judged<'_>) -> Result<(), StepError> {
        let Judged {
            deliverable_id,
            report,
            decision,
            context,
            shadow,
        } = j;
        let next = decision::next(decision, d.attempt, d.task.max_attempts, report);
        let scores = Scores {
            quality: serde_json::to_value(report).unwrap_or(Value::Null),
            overall: i16::from(report.overall),
            success_evaluation: decision::success_evaluation(&d.instructions, report),
            decision: next.action,
            decision_trace: serde_json::to_value(decision).unwrap_or(Value::Null),
            decision_context: context,
        };
        let mut tx = tenancy::begin(&self.pool, h.scope()).await?;
        let m = Move::by(
            Actor::Ai,
            h.c.task_id,
            h.version,
            TaskState::Evaluating,
            next.to,
            Some(h.worker),
            &next.reason,
        );
        let version = db::transition(&mut tx, &m, &next.changes).await?;
        db::work::store_scores(&mut tx, deliverable_id, scores).await?;
        if next.to == TaskState::Approved {
            db::deliver(
                &mut tx,
                h.c.task_id,
                version,
                Some(h.worker),
                "Delivered the approved content",
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(task_id = %h.c.task_id, attempt = d.attempt, quality = report.overall, decision = %next.reason, "draft settled");
        // The shadow set's decision is kept on its own: it never holds up or undoes the live one.
        if let Some((running, decided)) = &shadow {
            let live = (decision, next.action);
            let v = rulebook::shadow::verdict(running, h.c.task_id, deliverable_id, live, decided);
            let kept = async {
                let mut tx = tenancy::begin(&self.pool, h.scope()).await?;
                rulebook::db::record_shadow(&mut tx, h.c.tenant_id, &v).await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = kept {
                tracing::warn!(task_id = %h.c.task_id, error = %e, "the shadow rules' decision could not be kept");
            }
        }
        Ok(())
    }
}
