//! The demo-data generator: realistic, varied customers, contacts, deals and activities for a
//! workspace, the same for the same seed (dates are relative to the moment it runs).
//!
//! Rows go in with `insert … select * from unnest(…)` in batches of 5,000 contacts, each batch
//! in its own tenant-scoped transaction like any other write, so row-level security checks them
//! too. A failure part-way leaves the batches before it; `generate-demo --replace` starts over.
use crate::ssr::tenancy::{self, Scope};
use rand::{seq::IndexedRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use sqlx::PgPool;
use std::collections::HashSet;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub seed: u64,
    pub contacts: usize,
    /// Average activities per contact (0 to twice this, uniformly).
    pub activities_per_contact: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub customers: usize,
    pub contacts: usize,
    pub deals: usize,
    pub activities: usize,
}

struct Industry {
    category: &'static str,
    subcategory: &'static str,
    names: (&'static [&'static str], &'static [&'static str]),
    description: &'static str,
    usps: &'static [&'static str],
    offerings: &'static [(&'static str, &'static str)],
    audience: &'static str,
    segments: &'static [&'static str],
    pains: &'static [&'static str],
    tone: &'static str,
    personality: &'static [&'static str],
    use_phrases: &'static [&'static str],
    avoid_phrases: &'static [&'static str],
    titles: &'static [&'static str],
    deal_names: &'static [&'static str],
    hours: &'static [(&'static str, &'static str)],
}

const WEEKDAYS_9_5: &[(&str, &str)] = &[
    ("Mon", "09:00-17:00"),
    ("Tue", "09:00-17:00"),
    ("Wed", "09:00-17:00"),
    ("Thu", "09:00-17:00"),
    ("Fri", "09:00-17:00"),
];

const INDUSTRIES: &[Industry] = &[
    Industry {
        category: "Healthcare",
        subcategory: "Dental clinic",
        names: (&["Harbor", "Maple", "Bright", "Summit", "Riverside", "Oak Park", "Lakeview", "Cedar"], &["Dental Studio", "Family Dentistry", "Smile Center", "Dental Care"]),
        description: "A family dental practice offering preventive care, cosmetic dentistry and same-day emergency appointments.",
        usps: &["Same-day emergency appointments", "Evening and Saturday hours", "In-house 3D imaging", "Transparent pricing with no surprise bills"],
        offerings: &[("Cleanings and check-ups", "twice-yearly preventive care"), ("Invisalign", "clear aligner therapy"), ("Teeth whitening", "in-office and take-home"), ("Implants", "single and full-arch")],
        audience: "Local families and busy professionals within a 10-mile radius.",
        segments: &["families with children", "working professionals", "seniors"],
        pains: &["dental anxiety", "finding appointments outside work hours", "unclear insurance coverage"],
        tone: "warm and reassuring",
        personality: &["caring", "professional", "approachable"],
        use_phrases: &["gentle care", "your comfort comes first", "book in minutes"],
        avoid_phrases: &["painless", "cheap", "guaranteed results"],
        titles: &["Practice Manager", "Office Manager", "Lead Dentist", "Marketing Coordinator", "Owner"],
        deal_names: &["Patient recall campaign", "New patient acquisition", "Reputation management", "Website refresh"],
        hours: &[("Mon", "08:00-18:00"), ("Tue", "08:00-18:00"), ("Wed", "08:00-18:00"), ("Thu", "08:00-20:00"), ("Fri", "08:00-16:00"), ("Sat", "09:00-13:00")],
    },
    Industry {
        category: "Fitness",
        subcategory: "Boutique studio",
        names: (&["Iron", "Pulse", "Core", "Elevate", "Northside", "Flow", "Kinetic", "Anchor"], &["Fitness", "Strength Lab", "Studio", "Athletics"]),
        description: "A boutique fitness studio running small-group strength, HIIT and mobility classes with certified coaches.",
        usps: &["Classes capped at 12 people", "Free first class", "Coach-designed progressive programs", "Childcare during morning classes"],
        offerings: &[("Small-group training", "strength and conditioning"), ("HIIT classes", "45-minute sessions"), ("Personal training", "one-to-one coaching"), ("Nutrition coaching", "monthly check-ins")],
        audience: "Adults aged 25 to 50 who want coached workouts without a big-box gym.",
        segments: &["beginners", "returning athletes", "new parents"],
        pains: &["feeling lost in big gyms", "no time", "plateaued progress"],
        tone: "energetic and encouraging",
        personality: &["motivating", "friendly", "no-nonsense"],
        use_phrases: &["stronger every week", "your first class is on us", "coach-led"],
        avoid_phrases: &["no pain no gain", "bikini body", "quick fix"],
        titles: &["Studio Owner", "Head Coach", "Membership Director", "Marketing Lead", "General Manager"],
        deal_names: &["Member retention program", "January intake campaign", "Referral rewards", "Class pack promotion"],
        hours: &[("Mon", "06:00-21:00"), ("Tue", "06:00-21:00"), ("Wed", "06:00-21:00"), ("Thu", "06:00-21:00"), ("Fri", "06:00-19:00"), ("Sat", "08:00-14:00")],
    },
    Industry {
        category: "Software",
        subcategory: "B2B analytics SaaS",
        names: (&["Quanta", "Signal", "Lumen", "Vector", "Northwind", "Prism", "Atlas", "Beacon"], &["Analytics", "Data", "Insights", "Labs"]),
        description: "A SaaS platform that turns product and revenue data into dashboards and alerts for growing B2B teams.",
        usps: &["Set up in under an hour", "SOC 2 Type II certified", "Native warehouse connectors", "Per-seat pricing with unlimited viewers"],
        offerings: &[("Analytics platform", "dashboards and alerts"), ("Data connectors", "Snowflake, BigQuery, Postgres"), ("Onboarding package", "guided implementation"), ("Enterprise plan", "SSO, audit logs, SLA")],
        audience: "Heads of data and RevOps at B2B companies with 50 to 1,000 employees.",
        segments: &["RevOps teams", "product analytics", "finance teams"],
        pains: &["spreadsheet reporting", "slow BI tickets", "metrics nobody trusts"],
        tone: "confident and precise",
        personality: &["expert", "pragmatic", "clear"],
        use_phrases: &["one source of truth", "answers in minutes", "built for your warehouse"],
        avoid_phrases: &["revolutionary", "AI magic", "synergy"],
        titles: &["Head of Data", "VP Revenue Operations", "CTO", "Analytics Lead", "Director of Finance"],
        deal_names: &["Platform subscription", "Enterprise upgrade", "Annual renewal", "Connector expansion"],
        hours: WEEKDAYS_9_5,
    },
    Industry {
        category: "Home services",
        subcategory: "HVAC",
        names: (&["Comfort", "AllSeason", "Polar", "Keystone", "Blue Ridge", "TrueTemp", "Prairie", "Evergreen"], &["Heating & Air", "HVAC", "Climate Services", "Mechanical"]),
        description: "A licensed heating and cooling contractor doing installs, repairs and maintenance plans for homes and small businesses.",
        usps: &["24/7 emergency service", "Upfront flat-rate pricing", "10-year parts and labor warranty", "Financing from 0% APR"],
        offerings: &[("AC installation", "high-efficiency systems"), ("Furnace repair", "same-day service"), ("Maintenance plans", "two tune-ups a year"), ("Indoor air quality", "filters and purifiers")],
        audience: "Homeowners and small commercial property managers in the metro area.",
        segments: &["homeowners", "landlords", "small offices"],
        pains: &["breakdowns in peak season", "surprise repair costs", "high energy bills"],
        tone: "trustworthy and straightforward",
        personality: &["dependable", "local", "honest"],
        use_phrases: &["on time or the visit is free", "no surprises", "we'll keep you comfortable"],
        avoid_phrases: &["cheapest in town", "limited time only", "act now"],
        titles: &["Owner", "Operations Manager", "Service Manager", "Office Administrator", "Sales Manager"],
        deal_names: &["Maintenance plan drive", "Seasonal tune-up campaign", "Local SEO package", "Review generation"],
        hours: &[("Mon", "07:00-19:00"), ("Tue", "07:00-19:00"), ("Wed", "07:00-19:00"), ("Thu", "07:00-19:00"), ("Fri", "07:00-19:00"), ("Sat", "08:00-16:00")],
    },
    Industry {
        category: "Professional services",
        subcategory: "Law firm",
        names: (&["Whitaker", "Hale", "Morrison", "Castellano", "Brennan", "Okafor", "Lindqvist", "Patel"], &["Law Group", "& Partners", "Legal", "Law Offices"]),
        description: "A business law firm advising founders and small companies on formation, contracts, employment and disputes.",
        usps: &["Fixed-fee packages for startups", "Partners handle every matter", "Replies within one business day", "Plain-English contracts"],
        offerings: &[("Company formation", "entity setup and founder agreements"), ("Contract review", "fixed fee per agreement"), ("Employment law", "handbooks and disputes"), ("Outside general counsel", "monthly retainer")],
        audience: "Founders and owners of companies with 1 to 200 employees.",
        segments: &["startups", "family businesses", "professional practices"],
        pains: &["unpredictable legal bills", "slow responses", "jargon-heavy advice"],
        tone: "measured and authoritative",
        personality: &["precise", "discreet", "trustworthy"],
        use_phrases: &["clear advice", "fixed fees", "protect what you've built"],
        avoid_phrases: &["guaranteed win", "loophole", "cheap lawyer"],
        titles: &["Managing Partner", "Partner", "Office Manager", "Business Development Manager", "Paralegal"],
        deal_names: &["Thought leadership program", "Client newsletter", "Website and intake forms", "Referral partner outreach"],
        hours: WEEKDAYS_9_5,
    },
    Industry {
        category: "Food and beverage",
        subcategory: "Specialty coffee roaster",
        names: (&["Ember", "Highland", "Copper", "Wildflower", "Foundry", "Sparrow", "Tidewater", "Old Mill"], &["Coffee Roasters", "Coffee Co.", "Roastery", "Coffee"]),
        description: "A small-batch roaster selling direct-trade coffee online, to cafés and through its own two coffee bars.",
        usps: &["Roasted to order within 48 hours", "Direct-trade sourcing with named farms", "Subscription you can pause anytime", "Wholesale training for cafés"],
        offerings: &[("Coffee subscription", "weekly to monthly deliveries"), ("Wholesale beans", "for cafés and offices"), ("Barista training", "for wholesale partners"), ("Gift boxes", "seasonal selections")],
        audience: "Home coffee enthusiasts and independent cafés.",
        segments: &["subscribers", "independent cafés", "corporate offices"],
        pains: &["stale supermarket coffee", "inconsistent supply", "not knowing where beans come from"],
        tone: "warm, curious and craft-proud",
        personality: &["passionate", "transparent", "playful"],
        use_phrases: &["roasted to order", "meet the farmers", "your cup, your way"],
        avoid_phrases: &["best coffee in the world", "cheap", "instant"],
        titles: &["Founder", "Head Roaster", "Wholesale Manager", "E-commerce Manager", "Marketing Manager"],
        deal_names: &["Subscription growth campaign", "Holiday gift push", "Wholesale lead generation", "Email automation setup"],
        hours: &[("Mon", "07:00-15:00"), ("Tue", "07:00-15:00"), ("Wed", "07:00-15:00"), ("Thu", "07:00-15:00"), ("Fri", "07:00-15:00"), ("Sat", "08:00-14:00"), ("Sun", "08:00-14:00")],
    },
    Industry {
        category: "Real estate",
        subcategory: "Residential brokerage",
        names: (&["Keystone", "Hearth", "Cornerstone", "Bayside", "Parkway", "Willow", "Granite", "Meridian"], &["Realty", "Properties", "Real Estate", "Homes"]),
        description: "An independent residential brokerage helping buyers and sellers across the region, with an in-house staging team.",
        usps: &["Free professional staging for listings", "Average 12 days on market", "Local agents with 10+ years experience", "Weekly seller updates"],
        offerings: &[("Seller representation", "pricing, staging and marketing"), ("Buyer representation", "search and negotiation"), ("Home valuation", "free market analysis"), ("Relocation services", "for corporate moves")],
        audience: "Homeowners planning to sell within a year and first-time buyers.",
        segments: &["first-time buyers", "downsizers", "relocating families"],
        pains: &["not knowing what their home is worth", "stressful moves", "agents who go quiet"],
        tone: "friendly and knowledgeable",
        personality: &["local expert", "responsive", "upbeat"],
        use_phrases: &["know your home's worth", "we'll guide every step", "local market insight"],
        avoid_phrases: &["hot deal", "must sell", "dream home guaranteed"],
        titles: &["Broker Owner", "Managing Broker", "Listing Agent", "Marketing Director", "Operations Manager"],
        deal_names: &["Seller lead campaign", "Open house promotion", "Agent recruiting", "Market report newsletter"],
        hours: &[("Mon", "09:00-18:00"), ("Tue", "09:00-18:00"), ("Wed", "09:00-18:00"), ("Thu", "09:00-18:00"), ("Fri", "09:00-18:00"), ("Sat", "10:00-16:00")],
    },
    Industry {
        category: "Retail",
        subcategory: "Outdoor gear shop",
        names: (&["Trailhead", "Basecamp", "Ridgeline", "Switchback", "Cascade", "Timberline", "Fjord", "Alpine"], &["Outfitters", "Gear Co.", "Outdoor Supply", "Mountain Shop"]),
        description: "An independent outdoor retailer with a store and an online shop for hiking, climbing and camping gear, plus rentals and repairs.",
        usps: &["Gear rentals for first-timers", "In-house repair workshop", "Staff who guide trips themselves", "Free local trail clinics"],
        offerings: &[("Gear sales", "hiking, climbing, camping"), ("Rentals", "tents, packs, crampons"), ("Repairs", "resoling and fabric repair"), ("Trail clinics", "free monthly workshops")],
        audience: "Weekend hikers and climbers in the region, from beginners to experienced.",
        segments: &["beginners", "climbers", "families"],
        pains: &["expensive gear for a first trip", "online advice they can't trust", "gear that fails in the field"],
        tone: "adventurous and down-to-earth",
        personality: &["knowledgeable", "outdoorsy", "welcoming"],
        use_phrases: &["tested on our own trips", "rent before you buy", "see you on the trail"],
        avoid_phrases: &["extreme", "conquer nature", "limited stock, hurry"],
        titles: &["Store Owner", "Store Manager", "E-commerce Lead", "Buyer", "Community Manager"],
        deal_names: &["Spring season launch", "Loyalty program", "Rental bookings campaign", "Trail clinic promotion"],
        hours: &[("Mon", "10:00-19:00"), ("Tue", "10:00-19:00"), ("Wed", "10:00-19:00"), ("Thu", "10:00-20:00"), ("Fri", "10:00-20:00"), ("Sat", "09:00-18:00"), ("Sun", "10:00-17:00")],
    },
];

const FIRST: &[&str] = &[
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Benjamin",
    "Harper",
    "Henry",
    "Evelyn",
    "Alexander",
    "Aisha",
    "Wei",
    "Priya",
    "Kenji",
    "Fatima",
    "Diego",
    "Ingrid",
    "Tomasz",
    "Chloe",
    "Omar",
    "Zoë",
    "Rafael",
    "Nadia",
    "Samuel",
    "Grace",
    "Daniel",
    "Hannah",
    "Yusuf",
    "Leila",
    "Marco",
    "Sienna",
    "Arjun",
    "Mei",
    "Jonas",
    "Camila",
    "Theo",
    "Ruth",
    "Kwame",
    "Elena",
    "Hugo",
    "Freya",
    "Andrés",
    "Niamh",
    "Sanjay",
    "Lucía",
    "Oscar",
    "Imani",
    "Felix",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Chen",
    "Kowalski",
    "Okafor",
    "Müller",
    "Rossi",
    "Singh",
    "Kim",
    "Tanaka",
    "Haddad",
    "Novak",
    "Dubois",
    "Andersen",
    "Murphy",
    "O'Brien",
    "Costa",
    "Ali",
];

const DOMAIN_SUFFIXES: &[&str] = &["com", "co", "io", "net", "us"];

fn slug(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else {
                None
            }
        })
        .collect()
}

fn ascii_lower(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            'ë' | 'é' | 'è' => out.push('e'),
            'ü' | 'ú' => out.push('u'),
            'í' => out.push('i'),
            'á' => out.push('a'),
            'ó' | 'ö' => out.push('o'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

struct Customers {
    id: Vec<Uuid>,
    name: Vec<String>,
    website: Vec<String>,
    category: Vec<String>,
    subcategory: Vec<String>,
    description: Vec<String>,
    usps: Vec<String>, // text[] literals
    offerings: Vec<serde_json::Value>,
    audience: Vec<serde_json::Value>,
    hours: Vec<serde_json::Value>,
    voice: Vec<serde_json::Value>,
    prefs: Vec<serde_json::Value>,
    vip: Vec<bool>,
    industry: Vec<usize>,
    domain: Vec<String>,
}

fn pg_text_array(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

fn uuid_from(rng: &mut ChaCha8Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn make_customers(rng: &mut ChaCha8Rng, n: usize) -> Customers {
    let mut c = Customers {
        id: vec![],
        name: vec![],
        website: vec![],
        category: vec![],
        subcategory: vec![],
        description: vec![],
        usps: vec![],
        offerings: vec![],
        audience: vec![],
        hours: vec![],
        voice: vec![],
        prefs: vec![],
        vip: vec![],
        industry: vec![],
        domain: vec![],
    };
    let mut taken = HashSet::new();
    let timezones = [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "Europe/London",
    ];
    for i in 0..n {
        let ix = i % INDUSTRIES.len();
        let ind = &INDUSTRIES[ix];
        let base = format!(
            "{} {}",
            ind.names.0.choose(rng).unwrap_or(&"North"),
            ind.names.1.choose(rng).unwrap_or(&"Co")
        );
        let mut name = base.clone();
        let mut k = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base} {k}");
            k += 1;
        }
        let domain = format!(
            "{}.{}",
            slug(&name),
            DOMAIN_SUFFIXES.choose(rng).unwrap_or(&"com")
        );
        let usp_count = rng.random_range(2..=ind.usps.len());
        let offer_count = rng.random_range(2..=ind.offerings.len());
        c.id.push(uuid_from(rng));
        c.website.push(format!("https://{domain}"));
        c.domain.push(domain);
        c.name.push(name);
        c.category.push(ind.category.to_owned());
        c.subcategory.push(ind.subcategory.to_owned());
        c.description.push(ind.description.to_owned());
        c.usps.push(pg_text_array(&ind.usps[..usp_count]));
        c.offerings.push(json!(ind.offerings[..offer_count]
            .iter()
            .map(|(n, d)| json!({"name": n, "description": d}))
            .collect::<Vec<_>>()));
        c.audience.push(json!({"description": ind.audience, "segments": ind.segments, "pain_points": ind.pains}));
        c.hours.push(json!({"timezone": timezones.choose(rng).unwrap_or(&"America/Chicago"), "weekly": ind.hours}));
        c.voice.push(json!({"tone": ind.tone, "personality": ind.personality, "phrases_to_use": ind.use_phrases, "phrases_to_avoid": ind.avoid_phrases}));
        let formats: &[&str] = [
            &["email", "social posts"][..],
            &["email", "blog"],
            &["email", "SMS"],
            &["social posts", "video scripts"],
        ]
        .choose(rng)
        .copied()
        .unwrap_or(&["email"]);
        let length = ["short", "medium", "detailed"]
            .choose(rng)
            .copied()
            .unwrap_or("short");
        let cta = [
            "soft invitation",
            "direct booking link",
            "question to reply to",
        ]
        .choose(rng)
        .copied()
        .unwrap_or("soft invitation");
        let emoji = rng.random_bool(0.3);
        c.prefs
            .push(json!({"formats": formats, "length": length, "emoji": emoji, "cta_style": cta}));
        c.vip.push(rng.random_bool(0.12));
        c.industry.push(ix);
    }
    c
}

const EMAIL_OUT: &[&str] = &[
    "Sent a recap of our call with the proposed next steps",
    "Shared a case study from a similar business",
    "Followed up on the proposal sent last week",
    "Sent pricing options for the {deal}",
    "Checked in about timing for the {deal}",
    "Introduced our onboarding specialist",
    "Sent the monthly performance report",
    "Invited them to the customer webinar",
];
const EMAIL_IN: &[&str] = &[
    "Asked for a revised quote with fewer seats",
    "Replied that the budget is approved for next quarter",
    "Asked how we compare with their current provider",
    "Forwarded our proposal to their business partner",
    "Requested a call to discuss the {deal}",
    "Shared feedback on the last campaign: strong open rates",
    "Asked to move the meeting to next week",
];
const CALLS: &[&str] = &[
    "Discovery call about goals for next quarter",
    "Walked through the proposal line by line",
    "Quarterly check-in on results",
    "Discussed concerns about contract length",
    "Call about expanding to a second location",
    "Quick call to confirm the kickoff date",
];
const MEETINGS: &[&str] = &[
    "On-site visit with the owner and office manager",
    "Demo of the reporting dashboard",
    "Strategy workshop for the {deal}",
    "Lunch meeting to review the year",
    "Kickoff meeting with their team",
];
const NOTES: &[&str] = &[
    "Prefers email over phone; responds fastest in the morning",
    "Budget decisions go through their business partner",
    "Mentioned a competitor approached them last month",
    "Very happy with results so far; potential referral source",
    "Busy season starts next month; keep messages short",
    "Asked us to avoid contacting them on Fridays",
];

/// Generates demo data for `tenant_id` following `plan`.
pub async fn generate(
    pool: &PgPool,
    tenant_id: Uuid,
    plan: Plan,
) -> Result<Generated, sqlx::Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let scope = Scope {
        tenant_id,
        user_id: Uuid::nil(),
    };
    let mut tx = tenancy::begin(pool, scope).await?;
    let owners = super::db::owner_candidates(&mut tx, tenant_id).await?;
    let now = OffsetDateTime::now_utc();
    let n_customers = (plan.contacts / 8).clamp(usize::from(plan.contacts > 0), 20_000);
    let cu = make_customers(&mut rng, n_customers);
    sqlx::query(
        "insert into customers (id, tenant_id, name, website, industry_category, industry_subcategory, business_description,
                                unique_selling_points, products_services, target_audience, business_hours, brand_voice,
                                content_preferences, is_vip)
         select u.id, $1, u.name, u.website, u.cat, u.sub, u.descr, u.usps::text[], u.offer, u.aud, u.hours, u.voice, u.prefs, u.vip
         from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[],
                     $10::jsonb[], $11::jsonb[], $12::jsonb[], $13::jsonb[], $14::bool[])
              as u(id, name, website, cat, sub, descr, usps, offer, aud, hours, voice, prefs, vip)",
    )
    .bind(tenant_id)
    .bind(&cu.id)
    .bind(&cu.name)
    .bind(&cu.website)
    .bind(&cu.category)
    .bind(&cu.subcategory)
    .bind(&cu.description)
    .bind(&cu.usps)
    .bind(&cu.offerings)
    .bind(&cu.audience)
    .bind(&cu.hours)
    .bind(&cu.voice)
    .bind(&cu.prefs)
    .bind(&cu.vip)
    .execute(&mut *tx)
    .await?;

    // One transaction per batch: one transaction for everything slows down as it grows
    // (measured: a 5,000-contact batch went from 7 s to over 20 s by the middle of 100k).
    tx.commit().await?;
    let mut out = Generated {
        customers: n_customers,
        ..Generated::default()
    };
    let mut emails = HashSet::new();
    const BATCH: usize = 5_000;
    let mut start = 0;
    while start < plan.contacts {
        let end = (start + BATCH).min(plan.contacts);
        let mut tx = tenancy::begin(pool, scope).await?;
        let mut k = Contacts::default();
        let mut d = Deals::default();
        let mut a = Activities::default();
        for i in start..end {
            // Every customer gets contacts; the first ones get a few more.
            let ci = if i < n_customers {
                i
            } else {
                rng.random_range(0..n_customers)
            };
            let ind = &INDUSTRIES[cu.industry[ci]];
            let first = *FIRST.choose(&mut rng).unwrap_or(&"Alex");
            let last = *LAST.choose(&mut rng).unwrap_or(&"Smith");
            let base = format!("{}.{}", ascii_lower(first), ascii_lower(last));
            let mut email = format!("{base}@{}", cu.domain[ci]);
            let mut n = 2;
            while !emails.insert(email.clone()) {
                email = format!("{base}{n}@{}", cu.domain[ci]);
                n += 1;
            }
            let id = uuid_from(&mut rng);
            let stage = *[
                "lead", "lead", "prospect", "prospect", "customer", "customer", "customer",
                "churned",
            ]
            .choose(&mut rng)
            .unwrap_or(&"lead");
            k.id.push(id);
            k.customer.push(cu.id[ci]);
            k.owner.push(owners.choose(&mut rng).copied());
            k.first.push(first.to_owned());
            k.last.push(last.to_owned());
            k.email.push(email);
            k.phone.push(format!(
                "+1 555 {:03} {:04}",
                rng.random_range(100..1000),
                rng.random_range(0..10_000)
            ));
            k.title
                .push((*ind.titles.choose(&mut rng).unwrap_or(&"Owner")).to_owned());
            k.stage.push(stage.to_owned());

            let deal_name =
                (*ind.deal_names.choose(&mut rng).unwrap_or(&"Growth package")).to_owned();
            if rng.random_bool(0.4) {
                let dstage = *[
                    "qualification",
                    "discovery",
                    "proposal",
                    "negotiation",
                    "closed_won",
                    "closed_lost",
                ]
                .choose(&mut rng)
                .unwrap_or(&"discovery");
                d.id.push(uuid_from(&mut rng));
                d.customer.push(cu.id[ci]);
                d.contact.push(id);
                d.name.push(deal_name.clone());
                d.stage.push(dstage.to_owned());
                d.amount.push(rng.random_range(15..600) * 10_000);
                d.currency
                    .push(if rng.random_bool(0.9) { "USD" } else { "EUR" }.to_owned());
                d.close
                    .push((now + Duration::days(rng.random_range(-30..120))).date());
                d.entered.push(
                    now - Duration::days(rng.random_range(0..90))
                        - Duration::minutes(rng.random_range(0..1440)),
                );
            }
            let count = rng.random_range(0..=plan.activities_per_contact * 2);
            for _ in 0..count {
                let kind_roll = rng.random_range(0..100);
                let (kind, direction, summary, outcome): (&str, Option<&str>, &str, Option<&str>) =
                    match kind_roll {
                        0..=34 => (
                            "email",
                            Some("outbound"),
                            EMAIL_OUT.choose(&mut rng).unwrap_or(&""),
                            [
                                Some("replied"),
                                Some("no_reply"),
                                Some("no_reply"),
                                Some("bounced"),
                            ]
                            .choose(&mut rng)
                            .copied()
                            .flatten(),
                        ),
                        35..=54 => (
                            "email",
                            Some("inbound"),
                            EMAIL_IN.choose(&mut rng).unwrap_or(&""),
                            None,
                        ),
                        55..=74 => {
                            let dir = if rng.random_bool(0.7) {
                                "outbound"
                            } else {
                                "inbound"
                            };
                            (
                                "call",
                                Some(dir),
                                CALLS.choose(&mut rng).unwrap_or(&""),
                                [Some("connected"), Some("voicemail"), Some("no_answer")]
                                    .choose(&mut rng)
                                    .copied()
                                    .flatten(),
                            )
                        }
                        75..=87 => (
                            "meeting",
                            Some("outbound"),
                            MEETINGS.choose(&mut rng).unwrap_or(&""),
                            [
                                Some("held"),
                                Some("held"),
                                Some("no_show"),
                                Some("rescheduled"),
                            ]
                            .choose(&mut rng)
                            .copied()
                            .flatten(),
                        ),
                        _ => ("note", None, NOTES.choose(&mut rng).unwrap_or(&""), None),
                    };
                // Skewed towards recent days: the square of a uniform draw.
                let r: f64 = rng.random();
                let age_minutes = (r * r * 365.0 * 24.0 * 60.0) as i64;
                a.contact.push(id);
                a.kind.push(kind.to_owned());
                a.direction.push(direction.map(str::to_owned));
                a.at.push(now - Duration::minutes(age_minutes));
                a.summary
                    .push(summary.replace("{deal}", &deal_name.to_lowercase()));
                a.outcome.push(outcome.map(str::to_owned));
            }
        }
        out.contacts += k.id.len();
        out.deals += d.id.len();
        out.activities += a.contact.len();
        sqlx::query(
            "insert into contacts (id, tenant_id, customer_id, owner_user_id, first_name, last_name, email, phone, title, lifecycle_stage)
             select u.id, $1, u.cu, u.owner, u.first, u.last, u.email, u.phone, u.title, u.stage
             from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
                  as u(id, cu, owner, first, last, email, phone, title, stage)",
        )
        .bind(tenant_id)
        .bind(&k.id)
        .bind(&k.customer)
        .bind(&k.owner)
        .bind(&k.first)
        .bind(&k.last)
        .bind(&k.email)
        .bind(&k.phone)
        .bind(&k.title)
        .bind(&k.stage)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into deals (id, tenant_id, customer_id, contact_id, name, stage, amount_minor, currency, expected_close, stage_entered_at)
             select u.id, $1, u.cu, u.contact, u.name, u.stage, u.amount, u.currency, u.close, u.entered
             from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::int8[], $8::text[], $9::date[], $10::timestamptz[])
                  as u(id, cu, contact, name, stage, amount, currency, close, entered)",
        )
        .bind(tenant_id)
        .bind(&d.id)
        .bind(&d.customer)
        .bind(&d.contact)
        .bind(&d.name)
        .bind(&d.stage)
        .bind(&d.amount)
        .bind(&d.currency)
        .bind(&d.close)
        .bind(&d.entered)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into activities (tenant_id, contact_id, kind, direction, occurred_at, summary, outcome)
             select $1, u.contact, u.kind, u.direction, u.at, u.summary, u.outcome
             from unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])
                  as u(contact, kind, direction, at, summary, outcome)",
        )
        .bind(tenant_id)
        .bind(&a.contact)
        .bind(&a.kind)
        .bind(&a.direction)
        .bind(&a.at)
        .bind(&a.summary)
        .bind(&a.outcome)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        start = end;
    }
    Ok(out)
}

#[derive(Default)]
struct Contacts {
    id: Vec<Uuid>,
    customer: Vec<Uuid>,
    owner: Vec<Option<Uuid>>,
    first: Vec<String>,
    last: Vec<String>,
    email: Vec<String>,
    phone: Vec<String>,
    title: Vec<String>,
    stage: Vec<String>,
}

#[derive(Default)]
struct Deals {
    id: Vec<Uuid>,
    customer: Vec<Uuid>,
    contact: Vec<Uuid>,
    name: Vec<String>,
    stage: Vec<String>,
    amount: Vec<i64>,
    currency: Vec<String>,
    close: Vec<time::Date>,
    entered: Vec<OffsetDateTime>,
}

#[derive(Default)]
struct Activities {
    contact: Vec<Uuid>,
    kind: Vec<String>,
    direction: Vec<Option<String>>,
    at: Vec<OffsetDateTime>,
    summary: Vec<String>,
    outcome: Vec<Option<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_customers() {
        let a = make_customers(&mut ChaCha8Rng::seed_from_u64(7), 20);
        let b = make_customers(&mut ChaCha8Rng::seed_from_u64(7), 20);
        assert_eq!(a.name, b.name);
        assert_eq!(a.id, b.id);
        let c = make_customers(&mut ChaCha8Rng::seed_from_u64(8), 20);
        assert_ne!(a.name, c.name);
    }

    #[test]
    fn customer_names_are_unique_even_when_the_parts_repeat() {
        let c = make_customers(&mut ChaCha8Rng::seed_from_u64(1), 500);
        let unique: HashSet<_> = c.name.iter().collect();
        assert_eq!(unique.len(), 500);
    }

    #[test]
    fn text_arrays_are_quoted_for_postgres() {
        assert_eq!(pg_text_array(&["a \"b\"", "c,d"]), r#"{"a \"b\"","c,d"}"#);
    }
}
