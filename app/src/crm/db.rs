//! SQL for CRM records. Every query runs in a tenant-scoped transaction and also names the
//! tenant, so row-level security is the second line of defence, not the only one.
use super::{Activity, Contact, ContactRow, ContactsPage, Customer, Deal, CONTACTS_PAGE_SIZE};
use crate::ssr::tenancy::Tx;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

/// Reads one JSON column into its type. A value that does not fit fails with an error that
/// names the column (sqlx's own decoding would name only its position).
pub fn json_column<T: serde::de::DeserializeOwned>(
    column: &str,
    value: serde_json::Value,
) -> Result<T, sqlx::Error> {
    serde_json::from_value(value).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

/// Builds the one `Customer` from a query record that selects the customer columns under
/// their own names. A malformed JSON value is an error naming its column; nothing is blanked.
macro_rules! customer_from_row {
    ($r:ident) => {{
        // `move` captures only the fields named (edition 2021), so the caller may take others.
        (move || -> Result<$crate::crm::Customer, sqlx::Error> {
            use $crate::crm::db::json_column;
            Ok($crate::crm::Customer {
                id: $r.id,
                name: $r.name,
                website: $r.website,
                industry_category: $r.industry_category,
                industry_subcategory: $r.industry_subcategory,
                business_description: $r.business_description,
                unique_selling_points: $r.unique_selling_points,
                products_services: json_column("products_services", $r.products_services)?,
                target_audience: json_column("target_audience", $r.target_audience)?,
                business_hours: json_column("business_hours", $r.business_hours)?,
                brand_voice: json_column("brand_voice", $r.brand_voice)?,
                content_preferences: json_column("content_preferences", $r.content_preferences)?,
                competitors: $r.competitors,
                compliance: json_column("compliance", $r.compliance)?,
                is_vip: $r.is_vip,
                updated_at: $r.updated_at,
            })
        })()
    }};
}
pub(crate) use customer_from_row;

/// A filter already checked by the server function.
pub struct ContactQuery<'a> {
    pub tsquery: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub owner: Option<Uuid>,
    pub archived: bool,
    pub after: Option<Uuid>,
}

/// One page of contacts ordered by name, after the contact `after` (keyset pagination).
///
/// Built per request with only the predicates in use, so each shape gets its own plan: a GIN
/// search when there is text, the name index otherwise.
#[tracing::instrument(skip_all)]
pub async fn list_contacts(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    q: &ContactQuery<'_>,
) -> Result<ContactsPage, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select c.id, c.first_name, c.last_name, c.email, c.title, c.lifecycle_stage, cu.name as company, \
         u.display_name as owner_name \
         from contacts c join customers cu on cu.id = c.customer_id \
         left join users u on u.id = c.owner_user_id where c.tenant_id = ",
    );
    sql.push_bind(tenant_id);
    sql.push(if q.archived {
        " and c.archived_at is not null"
    } else {
        " and c.archived_at is null"
    });
    if let Some(tsquery) = q.tsquery {
        sql.push(" and c.search @@ to_tsquery('simple', ")
            .push_bind(tsquery.to_owned())
            .push(")");
    }
    if let Some(stage) = q.stage {
        sql.push(" and c.lifecycle_stage = ")
            .push_bind(stage.to_owned());
    }
    if let Some(owner) = q.owner {
        sql.push(" and c.owner_user_id = ").push_bind(owner);
    }
    if let Some(after) = q.after {
        sql.push(" and (c.last_name, c.first_name, c.id) > (select a.last_name, a.first_name, a.id from contacts a where a.tenant_id = ")
            .push_bind(tenant_id)
            .push(" and a.id = ")
            .push_bind(after)
            .push(")");
    }
    sql.push(" order by c.last_name, c.first_name, c.id limit ")
        .push_bind(CONTACTS_PAGE_SIZE + 1);
    // Unnamed statement: planned for these very values every time. A cached generic plan cannot
    // tell a search term matching 10 contacts from one matching 10,000, and picks badly.
    let mut rows: Vec<ContactRow> = sql
        .build_query_as()
        .persistent(false)
        .fetch_all(conn)
        .await?;
    let more = rows.len() as i64 > CONTACTS_PAGE_SIZE;
    rows.truncate(CONTACTS_PAGE_SIZE as usize);
    let next_after = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(ContactsPage {
        rows,
        next_after,
        can_edit: false,
    })
}

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for ContactRow {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(ContactRow {
            id: row.try_get("id")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            email: row.try_get("email")?,
            title: row.try_get("title")?,
            lifecycle_stage: row.try_get("lifecycle_stage")?,
            company: row.try_get("company")?,
            owner_name: row.try_get("owner_name")?,
        })
    }
}

#[tracing::instrument(skip_all)]
pub async fn contact(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Contact>, sqlx::Error> {
    sqlx::query_as!(
        Contact,
        r#"select c.id, c.customer_id, c.first_name, c.last_name, c.email, c.phone, c.title, c.lifecycle_stage,
                  c.owner_user_id, u.display_name as "owner_name?", c.updated_at, c.archived_at
           from contacts c left join users u on u.id = c.owner_user_id
           where c.tenant_id = $1 and c.id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The customer a contact belongs to, found from the contact id (so it can load in parallel
/// with the contact itself).
#[tracing::instrument(skip_all)]
pub async fn customer_of_contact(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    contact_id: Uuid,
) -> Result<Option<Customer>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select cu.id, cu.name, cu.website, cu.industry_category, cu.industry_subcategory, cu.business_description,
                  cu.unique_selling_points,
                  cu.products_services, cu.target_audience, cu.business_hours, cu.brand_voice,
                  cu.content_preferences,
                  cu.competitors, cu.compliance, cu.is_vip, cu.updated_at
           from customers cu
           where cu.tenant_id = $1
             and cu.id = (select c.customer_id from contacts c where c.tenant_id = $1 and c.id = $2)"#,
        tenant_id,
        contact_id
    )
    .fetch_optional(conn)
    .await?;
    row.map(|r| customer_from_row!(r)).transpose()
}

/// The contact's deals, open ones first, then by expected close.
#[tracing::instrument(skip_all)]
pub async fn deals_of_contact(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    contact_id: Uuid,
) -> Result<Vec<Deal>, sqlx::Error> {
    sqlx::query_as!(
        Deal,
        r#"select id, name, stage, amount_minor, currency, expected_close, stage_entered_at, updated_at
           from deals where tenant_id = $1 and contact_id = $2 and archived_at is null
           order by stage like 'closed_%', expected_close nulls last, id
           limit 50"#,
        tenant_id,
        contact_id
    )
    .fetch_all(conn)
    .await
}

/// Newest first, `limit` activities older than the activity `before` (keyset on time and id).
#[tracing::instrument(skip_all)]
pub async fn activities(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    contact_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Activity>, sqlx::Error> {
    sqlx::query_as!(
        Activity,
        r#"select a.id, a.kind, a.direction, a.occurred_at, a.summary, a.outcome
           from activities a
           where a.tenant_id = $1 and a.contact_id = $2
             and ($3::bigint is null
                  or (a.occurred_at, a.id) < (select b.occurred_at, b.id from activities b where b.tenant_id = $1 and b.id = $3))
           order by a.occurred_at desc, a.id desc
           limit $4"#,
        tenant_id,
        contact_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Counts behind the computed facts, relative to `now`.
pub struct ActivityStats {
    pub last_touch: Option<OffsetDateTime>,
    pub inbound_90d: i64,
    pub outbound_90d: i64,
    pub outbound_emails_90d: i64,
    pub replied_emails_90d: i64,
    pub last_30d: i64,
    pub prev_30d: i64,
}

#[tracing::instrument(skip_all)]
pub async fn activity_stats(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    contact_id: Uuid,
    now: OffsetDateTime,
) -> Result<ActivityStats, sqlx::Error> {
    let r = sqlx::query!(
        r#"select
             (select max(occurred_at) from activities where tenant_id = $1 and contact_id = $2 and occurred_at <= $3) as last_touch,
             count(*) filter (where direction = 'inbound') as "inbound!",
             count(*) filter (where direction = 'outbound') as "outbound!",
             count(*) filter (where kind = 'email' and direction = 'outbound') as "emails_out!",
             count(*) filter (where kind = 'email' and direction = 'outbound' and outcome = 'replied') as "emails_replied!",
             count(*) filter (where occurred_at > $3 - interval '30 days') as "last_30!",
             count(*) filter (where occurred_at <= $3 - interval '30 days' and occurred_at > $3 - interval '60 days') as "prev_30!"
           from activities
           where tenant_id = $1 and contact_id = $2 and occurred_at > $3 - interval '90 days' and occurred_at <= $3"#,
        tenant_id,
        contact_id,
        now
    )
    .fetch_one(conn)
    .await?;
    Ok(ActivityStats {
        last_touch: r.last_touch,
        inbound_90d: r.inbound,
        outbound_90d: r.outbound,
        outbound_emails_90d: r.emails_out,
        replied_emails_90d: r.emails_replied,
        last_30d: r.last_30,
        prev_30d: r.prev_30,
    })
}

/// The tenant's members who can own contacts, for the demo generator.
#[tracing::instrument(skip_all)]
pub async fn owner_candidates(tx: &mut Tx, tenant_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select user_id from memberships where tenant_id = $1 and role in ('rep', 'manager') order by user_id",
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// The workspace's companies by lower-cased name (a name two companies share maps to both),
/// for imports that name a company.
#[tracing::instrument(skip_all)]
pub async fn customers_by_name(
    tx: &mut Tx,
    tenant_id: Uuid,
) -> Result<std::collections::HashMap<String, Vec<Uuid>>, sqlx::Error> {
    let rows = sqlx::query!(
        "select lower(name) as \"name!\", id from customers where tenant_id = $1",
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut named = std::collections::HashMap::<String, Vec<Uuid>>::new();
    for r in rows {
        named.entry(r.name).or_default().push(r.id);
    }
    Ok(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::tenancy::{self, Scope};
    use sqlx::PgPool;

    const T: Uuid = Uuid::from_u128(0x81);

    async fn contacts(pool: &PgPool, people: &[(&str, &str, &str, &str)]) -> Tx {
        sqlx::query!(
            "insert into tenants (id, name, slug) values ($1, 'T', 't')",
            T
        )
        .execute(pool)
        .await
        .expect("tenant");
        let mut tx = tenancy::begin(
            pool,
            Scope {
                tenant_id: T,
                user_id: Uuid::nil(),
            },
        )
        .await
        .expect("tx");
        for (first, last, email, company) in people {
            let customer: Uuid = sqlx::query_scalar!(
                "insert into customers (tenant_id, name) values ($1, $2)
                 on conflict (tenant_id, name) do update set name = excluded.name returning id",
                T,
                company
            )
            .fetch_one(&mut *tx)
            .await
            .expect("customer");
            sqlx::query!(
                "insert into contacts (tenant_id, customer_id, first_name, last_name, email) values ($1, $2, $3, $4, $5)",
                T,
                customer,
                first,
                last,
                email
            )
            .execute(&mut *tx)
            .await
            .expect("contact");
        }
        tx
    }

    fn q<'a>(tsquery: Option<&'a str>, after: Option<Uuid>) -> ContactQuery<'a> {
        ContactQuery {
            tsquery,
            stage: None,
            owner: None,
            archived: false,
            after,
        }
    }

    fn names(page: &ContactsPage) -> Vec<String> {
        page.rows.iter().map(|r| r.full_name()).collect()
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn search_matches_name_email_and_company_prefixes(pool: PgPool) {
        let mut tx = contacts(
            &pool,
            &[
                ("Ann", "Lee", "ann.lee@harbor.test", "Harbor Dental"),
                ("Bob", "Annett", "bob@maple.test", "Maple Fitness"),
                ("Cy", "Diaz", "cy@quanta.test", "Quanta Analytics"),
            ],
        )
        .await;
        let search = |text: &str| {
            crate::crm::search::prefix_query(text)
                .expect("valid")
                .expect("terms")
        };
        let page = list_contacts(&mut tx, T, &q(Some(&search("ann")), None))
            .await
            .expect("list");
        assert_eq!(
            names(&page),
            ["Bob Annett", "Ann Lee"],
            "first and last name prefixes, ordered by last name"
        );
        let page = list_contacts(&mut tx, T, &q(Some(&search("quanta")), None))
            .await
            .expect("list");
        assert_eq!(names(&page), ["Cy Diaz"], "company name");
        let page = list_contacts(&mut tx, T, &q(Some(&search("ann harbor")), None))
            .await
            .expect("list");
        assert_eq!(names(&page), ["Ann Lee"], "name and company together");
        let page = list_contacts(&mut tx, T, &q(Some(&search("maple.test")), None))
            .await
            .expect("list");
        assert_eq!(names(&page), ["Bob Annett"], "email domain");
        // A renamed customer is found under its new name.
        sqlx::query!(
            "update customers set name = 'Lighthouse Dental' where name = 'Harbor Dental'"
        )
        .execute(&mut *tx)
        .await
        .expect("rename");
        let page = list_contacts(&mut tx, T, &q(Some(&search("lighthouse")), None))
            .await
            .expect("list");
        assert_eq!(names(&page), ["Ann Lee"]);
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn pages_follow_each_other_without_gaps_or_repeats(pool: PgPool) {
        let people: Vec<(String, String, String)> = (0..(CONTACTS_PAGE_SIZE * 2 + 3))
            .map(|i| {
                (
                    format!("P{i}"),
                    ["Smith", "Jones", "Brown"][i as usize % 3].to_owned(),
                    format!("p{i}@x.test"),
                )
            })
            .collect();
        let refs: Vec<(&str, &str, &str, &str)> = people
            .iter()
            .map(|(f, l, e)| (f.as_str(), l.as_str(), e.as_str(), "Acme"))
            .collect();
        let mut tx = contacts(&pool, &refs).await;
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = list_contacts(&mut tx, T, &q(None, after))
                .await
                .expect("list");
            seen.extend(page.rows.iter().map(|r| r.id));
            match page.next_after {
                Some(a) => after = Some(a),
                None => break,
            }
        }
        let unique: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!(seen.len(), people.len());
        assert_eq!(unique.len(), people.len());
    }
}
