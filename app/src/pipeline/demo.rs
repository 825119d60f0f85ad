//! Demo data for the pipeline: annotated examples every workspace starts with (embedded by the
//! workers when first needed), and a few tasks for the demo workspace to watch.
use crate::ssr::tenancy::Tx;
use serde_json::json;
use uuid::Uuid;

/// (output_type, industry, polarity, content, annotation). Each names its own business, so each
/// belongs to that business's industry ("": any), where the worker offers it first.
const EXAMPLES: &[(&str, &str, &str, &str, &str)] = &[
    ("email", "Retail", "positive",
     "Hi Jordan,\n\nThanks for stopping by the shop last week. The spring tune-up you asked about is back: a full check of brakes, gears and tyres for $49, done while you wait.\n\nBook a slot online or call us on 555-0142. We're open until 7pm on weekdays.\n\nSee you soon,\nThe team at Riverside Cycles",
     "Opens with a real shared moment, states one concrete offer with the price, makes booking easy with two routes, and ends warmly. Short paragraphs."),
    ("email", "Home services", "positive",
     "Hello Priya,\n\nYour annual HVAC check is due next month. A quick service now keeps your system efficient before the summer heat and catches small problems before they become expensive ones.\n\nReply to this email with a day that suits you, or book at comfortair.example/book.\n\nThanks for trusting us with your home,\nSam at Comfort Air",
     "Reminds the reader why it matters to them (comfort, cost), one clear action with two ways to take it, personal sign-off."),
    ("email", "Home services", "negative",
     "Dear Valued Customer,\n\nWe are the BEST cleaning company in the region and we GUARANTEE results that our competitors simply cannot match!!! Act now because this AMAZING offer will not last.\n\nRegards,\nManagement",
     "Generic greeting, shouting capitals, unverifiable superlatives and a guarantee we cannot keep, fake urgency, and no way to act (no link, no number)."),
    ("email", "", "negative",
     "Hi,\n\nJust checking in to see if you had any thoughts. Let me know.\n\nThanks",
     "Says nothing the reader can use: no reference to the last conversation, no value, no specific question or next step."),
    ("social_post", "Food and beverage", "positive",
     "Fresh sourdough is out of the oven at 7am every Saturday. Pre-order by Friday noon and we'll keep a loaf with your name on it. Link in bio.",
     "One concrete, sensory detail; one simple action with a clear deadline; fits the platform in under 40 words."),
    ("social_post", "Healthcare", "positive",
     "New this month: evening appointments until 8pm on Tuesdays and Thursdays, so check-ups fit around work and school. Book from our website in two minutes.",
     "Leads with the news, explains the benefit in the reader's terms, and tells them exactly how to act."),
    ("social_post", "", "negative",
     "🔥🔥🔥 HUGE NEWS 🔥🔥🔥 You won't BELIEVE what we have in store!!! Stay tuned!!! #amazing #best #wow #deal #sale #news",
     "Clickbait with no information, emoji and hashtag stuffing, nothing to do now."),
    ("blog_post", "Home services", "positive",
     "# Three signs your furnace needs attention before winter\n\nA furnace rarely fails without warning. Listen for new rattles, watch for a yellow pilot flame, and check whether some rooms stay colder than others. Each of these points to a small fix today that avoids a cold night later.\n\nIf you notice any of them, book a check-up and we'll tell you plainly what needs doing and what can wait.",
     "Teaches something useful in plain words, stays on one topic, and ends with a low-pressure call to action."),
    ("sms", "Healthcare", "positive",
     "Hi Alex, reminder: your dental check-up is tomorrow at 10:30. Reply C to confirm or R to reschedule. - Bright Smile Dental",
     "Names the person, the time and the business; one action with simple replies; well under 160 characters."),
    ("ad_copy", "Home services", "positive",
     "Leaky tap? Fixed today | Licensed local plumbers, upfront prices | Book online in 2 minutes",
     "Problem, proof and action in three short parts; concrete promise we can keep."),
];

/// Adds the starter examples to a workspace that has none.
pub async fn seed_examples(tx: &mut Tx, tenant_id: Uuid) -> Result<usize, sqlx::Error> {
    let has = sqlx::query_scalar!("select exists(select 1 from content_examples) as \"e!\"")
        .fetch_one(&mut **tx)
        .await?;
    if has {
        return Ok(0);
    }
    for (output_type, industry, polarity, content, annotation) in EXAMPLES {
        sqlx::query!(
            "insert into content_examples (tenant_id, output_type, industry, polarity, content, annotation) values ($1, $2, $3, $4, $5, $6)",
            tenant_id,
            output_type,
            industry,
            polarity,
            content,
            annotation
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(EXAMPLES.len())
}

/// A few tasks for a workspace without any, so the pipeline has something to show.
pub async fn seed_tasks(tx: &mut Tx, tenant_id: Uuid) -> Result<usize, sqlx::Error> {
    let has = sqlx::query_scalar!("select exists(select 1 from project_tasks) as \"e!\"")
        .fetch_one(&mut **tx)
        .await?;
    if has {
        return Ok(0);
    }
    let customers = sqlx::query!("select id, name from customers order by is_vip, name limit 3")
        .fetch_all(&mut **tx)
        .await?;
    let briefs = [
        ("Spring offer email", "email", "Invite past clients to book a spring service this month; mention the free safety check.", 90, 200),
        ("Evening hours post", "social_post", "Announce new evening opening hours on weekdays.", 20, 60),
        ("Welcome email", "email", "Welcome a new client after their first visit and invite them to leave a review.", 80, 180),
    ];
    let mut made = 0;
    for (c, (title, output_type, brief, min, max)) in customers.iter().zip(briefs) {
        let project = sqlx::query_scalar!(
            "insert into projects (tenant_id, customer_id, name) values ($1, $2, 'Demo campaign') returning id",
            tenant_id,
            c.id
        )
        .fetch_one(&mut **tx)
        .await?;
        let instructions = json!({
            "brief": brief,
            "output_type": output_type,
            "output_format": "plain_text",
            "output_length": {"min_words": min, "max_words": max},
            "must_include": ["business name", "CTA"],
            "must_not_include": ["competitor names", "guaranteed results"],
            "context_sources": [],
            "success_criteria": {"readability_score_min": 60.0, "sentiment_target": "positive", "cta_present": true},
            "quality_thresholds": {"min_overall": 80, "min_brand_alignment": 50}
        });
        sqlx::query!(
            "insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, max_attempts)
             values ($1, $2, $3, $4, $5, 2)",
            tenant_id,
            project,
            c.id,
            format!("{title} for {}", c.name),
            instructions
        )
        .execute(&mut **tx)
        .await?;
        made += 1;
    }
    if let Some(c) = customers.first() {
        seed_stuck_task(tx, tenant_id, c.id, &c.name).await?;
        made += 1;
    }
    Ok(made)
}

/// A task a worker took two hours ago and never finished (its process hung with the lease), so
/// the oversight pages have a stuck task to show: the detect-stuck-tasks job escalates it and
/// an alert opens.
async fn seed_stuck_task(
    tx: &mut Tx,
    tenant_id: Uuid,
    customer_id: Uuid,
    customer: &str,
) -> Result<(), sqlx::Error> {
    let instructions = json!({
        "brief": "Summarise this quarter's news for subscribers: the new evening hours and the spring offer.",
        "output_type": "email",
        "output_format": "plain_text",
        "output_length": {"min_words": 150, "max_words": 400},
        "must_include": ["business name"],
        "must_not_include": ["competitor names"],
        "context_sources": [],
        "success_criteria": {"readability_score_min": 60.0, "sentiment_target": "positive", "cta_present": true},
        "quality_thresholds": {"min_overall": 80, "min_brand_alignment": 50}
    });
    sqlx::query!(
        "with project as (
           insert into projects (tenant_id, customer_id, name) values ($1, $2, 'Quarterly newsletter') returning id
         ), task as (
           insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, execution_state,
                                      state_entered_at, attempts, lease_owner, lease_expires_at, version, created_at)
           select $1, project.id, $2, $3, $4, 'generating', now() - interval '2 hours', 1,
                  'demo-host-4242-w1', now() + interval '50 minutes', 3, now() - interval '2 hours 1 minute'
           from project returning id
         )
         insert into task_state_transitions (tenant_id, task_id, from_state, to_state, actor, worker, reason, at)
         select $1, task.id, s.f, s.t, 'system', 'demo-host-4242-w1', s.r, now() - s.ago
         from task, (values ('pending', 'context_loading', 'claimed', interval '2 hours 30 seconds'),
                            ('context_loading', 'generating', 'context loaded', interval '2 hours')) as s(f, t, r, ago)",
        tenant_id,
        customer_id,
        format!("Quarterly newsletter for {customer}"),
        instructions
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
