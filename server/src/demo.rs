//! The demo workspaces: one member per role in "Acme Growth", and "Globex Partners" with its
//! own admin to show tenant isolation. Seeded once; later runs leave them as they are.
use app::{
    crm::demo::{self, Plan},
    domain::Role,
    ssr::{password, tenancy},
};
use sqlx::PgPool;
use uuid::Uuid;

pub const PASSWORD: &str = "smartcrm-demo";

pub struct DemoTenant {
    pub id: Uuid,
    pub name: &'static str,
    pub slug: &'static str,
    pub members: &'static [(&'static str, &'static str, Role)],
    /// Generated CRM records: how many contacts, and the generator's seed.
    pub contacts: usize,
    pub seed: u64,
}

pub const TENANTS: &[DemoTenant] = &[
    DemoTenant {
        id: Uuid::from_u128(0x5e1d_0000_0000_0000_0000_0000_0000_0001),
        name: "Acme Growth",
        slug: "acme",
        members: &[
            ("admin@acme.test", "Avery Admin", Role::Admin),
            ("manager@acme.test", "Morgan Manager", Role::Manager),
            ("rep@acme.test", "Riley Rep", Role::Rep),
            ("qa@acme.test", "Quinn Tester", Role::Qa),
        ],
        contacts: 400,
        seed: 42,
    },
    DemoTenant {
        id: Uuid::from_u128(0x5e1d_0000_0000_0000_0000_0000_0000_0002),
        name: "Globex Partners",
        slug: "globex",
        members: &[("admin@globex.test", "Gale Globex", Role::Admin)],
        contacts: 40,
        seed: 7,
    },
];

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Password(#[from] password::PasswordError),
    #[error("no demo workspace {0:?}; choose one of: acme, globex")]
    UnknownWorkspace(String),
    #[error(
        "workspace {0:?} already has CRM records; pass --replace to delete them and generate anew"
    )]
    HasRecords(String),
    #[error("the demo email {0} already belongs to a user outside the demo workspaces")]
    EmailTaken(String),
}

/// Seeds each demo workspace that does not exist yet; returns how many it created.
pub async fn seed(pool: &PgPool) -> Result<usize, SeedError> {
    let mut created = 0;
    for tenant in TENANTS {
        let scope = tenancy::Scope {
            tenant_id: tenant.id,
            user_id: Uuid::nil(),
        };
        let mut tx = tenancy::begin(pool, scope).await?;
        // The first demo workspace is the operator's (it edits the shared model catalog), unless
        // SMARTCRM_CATALOG_WORKSPACE named another one already.
        let inserted = sqlx::query!(
            "insert into tenants (id, name, slug, operates_catalog)
             values ($1, $2, $3, $4 and not exists (select 1 from tenants where operates_catalog))
             on conflict do nothing",
            tenant.id,
            tenant.name,
            tenant.slug,
            tenant.id == TENANTS[0].id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            continue;
        }
        for (email, name, role) in tenant.members {
            let hash = password::hash(PASSWORD.to_owned()).await?;
            // The app role writes a user row only while acting as that user.
            let user_id = Uuid::new_v4();
            tenancy::act_as_user(&mut tx, user_id).await?;
            let inserted = sqlx::query!(
                r#"insert into users (id, email, display_name, password_hash) values ($1, $2, $3, $4)
                   on conflict (email) do nothing"#,
                user_id,
                email,
                name,
                hash
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(SeedError::EmailTaken(email.to_string()));
            }
            sqlx::query!(
                "insert into memberships (tenant_id, user_id, role) values ($1, $2, $3) on conflict do nothing",
                tenant.id,
                user_id,
                role.as_str()
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let plan = Plan {
            seed: tenant.seed,
            contacts: tenant.contacts,
            activities_per_contact: 10,
        };
        let made = demo::generate(pool, tenant.id, plan).await?;
        let mut tx = tenancy::begin(pool, scope).await?;
        app::pipeline::demo::seed_examples(&mut tx, tenant.id).await?;
        if tenant.id == TENANTS[1].id {
            app::models::demo::seed_legacy(&mut tx, tenant.id).await?;
        }
        tx.commit().await?;
        created += 1;
        tracing::info!(
            workspace = tenant.name,
            contacts = made.contacts,
            activities = made.activities,
            "seeded demo workspace"
        );
    }
    Ok(created)
}

/// Generates CRM records for a demo workspace (`smartcrm generate-demo`), seeding the
/// workspaces first if needed. With `replace`, the workspace's records are deleted first.
pub async fn generate_for(
    pool: &PgPool,
    slug: &str,
    plan: Plan,
    replace: bool,
) -> Result<demo::Generated, SeedError> {
    seed(pool).await?;
    let tenant = TENANTS
        .iter()
        .find(|t| t.slug == slug)
        .ok_or_else(|| SeedError::UnknownWorkspace(slug.to_owned()))?;
    let scope = tenancy::Scope {
        tenant_id: tenant.id,
        user_id: Uuid::nil(),
    };
    let mut tx = tenancy::begin(pool, scope).await?;
    let existing = sqlx::query_scalar!(
        r#"select count(*) as "n!" from customers where tenant_id = $1"#,
        tenant.id
    )
    .fetch_one(&mut *tx)
    .await?;
    if existing > 0 {
        if !replace {
            return Err(SeedError::HasRecords(slug.to_owned()));
        }
        sqlx::query!("delete from customers where tenant_id = $1", tenant.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(demo::generate(pool, tenant.id, plan).await?)
}

/// A few content tasks in the first demo workspace (when it has none), for `serve --seed-demo`:
/// the pipeline's workers draft them at once.
pub async fn seed_tasks(pool: &PgPool) -> Result<usize, SeedError> {
    let tenant = &TENANTS[0];
    let scope = tenancy::Scope {
        tenant_id: tenant.id,
        user_id: Uuid::nil(),
    };
    let mut tx = tenancy::begin(pool, scope).await?;
    let made = app::pipeline::demo::seed_tasks(&mut tx, tenant.id).await?;
    tx.commit().await?;
    Ok(made)
}
