//! The demo generator: a realistic, deterministic learning platform — additional fields
//! with skewed values, a branch tree of regions, countries and sites, courses, users and
//! enrollments in every status. The same seed gives the same data. Fast enough to store a
//! million users on SQLite in well under a minute; the benchmark reuses it.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use roster_domain::{
    Code, Email, Enrollment, EnrollmentStatus, FieldDef, FieldType, FieldValue, Name, User, UserStatus, Username,
};
use std::collections::BTreeMap;

use crate::enrollment_rules::EnrollmentRuleInput;
use crate::groups::{AddMembers, NewGroup};
use crate::rules::RuleInput;
use crate::transaction::{Cause, LiveTx};
use crate::{Actor, App, AppResult};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    /// How many users.
    pub users: usize,
    /// How many courses (at least the named ones are made when this is larger).
    pub courses: usize,
    /// Average enrollments per user.
    pub enrollments_per_user: f64,
    /// How many branches, roughly (regions > countries > sites).
    pub branches: usize,
    /// The seed: same seed, same data.
    pub seed: u64,
    /// Whether to make the demo's groups (the benchmark makes its own).
    pub groups: bool,
}

impl Default for DemoSpec {
    fn default() -> Self {
        Self { users: 5000, courses: 30, enrollments_per_user: 3.0, branches: 46, seed: 42, groups: true }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    /// Users stored.
    pub users: usize,
    /// Enrollments stored.
    pub enrollments: usize,
    /// Branches stored.
    pub branches: usize,
    /// Courses stored.
    pub courses: usize,
    /// Groups made (automatic ones with their rules, and a manual one).
    pub groups: usize,
}

pub const FIRST: &[&str] = &[
    "James", "Maria", "Wei", "Fatima", "Olivia", "Liam", "Sofia", "Mohammed", "Emma", "Noah", "Zoë", "José", "Anna",
    "Lukas", "Chloé", "Hiroshi", "Priya", "Mateo", "Aisha", "Ethan", "Ingrid", "Kofi", "Elena", "Oscar", "Yuki",
    "Amara", "Léa", "Diego", "Hannah", "Raj", "Nora", "Björn", "Camille", "Tomasz", "Isabel", "Kenji",
];
pub const LAST: &[&str] = &[
    "Smith",
    "García",
    "Wang",
    "Müller",
    "Johnson",
    "Kowalski",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Patel",
    "Silva",
    "Nguyen",
    "Brown",
    "Martin",
    "Kim",
    "Jensen",
    "O'Brien",
    "Novák",
    "Schmidt",
    "López",
    "Andersson",
    "Okafor",
    "Fischer",
    "Moreau",
    "Ivanova",
    "Cohen",
    "Hernández",
    "Sato",
    "Lambert",
    "Costa",
    "Nowak",
    "Walker",
];
pub const DEPARTMENTS: &[&str] = &[
    "Operations",
    "Sales",
    "Logistics",
    "Customer Support",
    "Engineering",
    "Marketing",
    "Finance",
    "Human Resources",
    "Legal",
    "Facilities",
];
pub const JOB_TITLES: &[&str] = &[
    "Driver",
    "Warehouse Associate",
    "Sales Representative",
    "Customer Support Agent",
    "Senior Driver",
    "Software Engineer",
    "Account Manager",
    "Operations Manager",
    "Team Lead",
    "Driver Trainer",
    "Marketing Specialist",
    "Financial Analyst",
    "HR Specialist",
    "Forklift Operator",
    "Dispatcher",
    "Quality Inspector",
    "Regional Director",
    "Legal Counsel",
    "Facilities Technician",
    "Data Analyst",
];
pub const PRODUCTS: &[&str] = &["Freight", "Parcel", "Cold Chain", "Last Mile", "Consulting", "Retail"];
pub const EMPLOYEE_STATUS: &[&str] = &["Full-time", "Part-time", "Contractor", "Intern", "Seasonal"];
pub const ROLES: &[&str] = &["Employee", "Driver", "Manager", "Instructor", "Director"];
const STUDENT_OR_EMPLOYEE: &[&str] = &["Employee", "Student"];
pub const DOMAINS: &[&str] =
    &["acme.com", "acme.co.uk", "acme.de", "partners.acme-logistics.com", "gmail.com", "outlook.com"];

/// A country of the demo map: code, name, language, time zone, site cities.
type Country = (&'static str, &'static str, &'static str, &'static str, &'static [&'static str]);

/// Regions and their countries.
const REGIONS: &[(&str, &str, &[Country])] = &[
    (
        "EMEA",
        "Europe, Middle East & Africa",
        &[
            ("FR", "France", "fr", "Europe/Paris", &["Paris", "Lyon", "Marseille"]),
            ("DE", "Germany", "de", "Europe/Berlin", &["Berlin", "Hamburg", "Munich"]),
            ("GB", "United Kingdom", "en-GB", "Europe/London", &["London", "Manchester", "Leeds"]),
            ("ES", "Spain", "es", "Europe/Madrid", &["Madrid", "Barcelona"]),
            ("AE", "United Arab Emirates", "ar", "Asia/Dubai", &["Dubai"]),
        ],
    ),
    (
        "AMER",
        "Americas",
        &[
            ("US", "United States", "en-US", "America/Chicago", &["Chicago", "Dallas", "Atlanta", "Denver"]),
            ("CA", "Canada", "en-CA", "America/Toronto", &["Toronto", "Montreal"]),
            ("BR", "Brazil", "pt-BR", "America/Sao_Paulo", &["São Paulo", "Rio de Janeiro"]),
            ("MX", "Mexico", "es-MX", "America/Mexico_City", &["Mexico City", "Monterrey"]),
        ],
    ),
    (
        "APAC",
        "Asia Pacific",
        &[
            ("JP", "Japan", "ja", "Asia/Tokyo", &["Tokyo", "Osaka"]),
            ("IN", "India", "hi", "Asia/Kolkata", &["Mumbai", "Bengaluru", "Delhi"]),
            ("AU", "Australia", "en-AU", "Australia/Sydney", &["Sydney", "Melbourne"]),
            ("SG", "Singapore", "en-SG", "Asia/Singapore", &["Singapore"]),
        ],
    ),
];

pub(crate) const NAMED_COURSES: &[(&str, &str)] = &[
    ("DRV-101", "Driver Safety Fundamentals"),
    ("DRV-201", "Defensive Driving"),
    ("DRV-301", "Hazardous Materials Transport"),
    ("SAFE-1", "Workplace Safety Basics"),
    ("SAFE-2", "Annual Safety Refresher"),
    ("FORK-101", "Forklift Certification"),
    ("COC-100", "Code of Conduct"),
    ("PRIV-200", "Data Privacy and GDPR"),
    ("SEC-110", "Information Security Awareness"),
    ("HAR-100", "Preventing Harassment"),
    ("ONB-001", "New Hire Onboarding"),
    ("LEAD-300", "Leading Teams"),
    ("SALES-150", "Consultative Selling"),
    ("CS-120", "Customer Service Excellence"),
    ("FIN-210", "Budgeting for Managers"),
    ("ENG-101", "Secure Coding"),
    ("HR-220", "Interviewing Skills"),
    ("ENV-100", "Environmental Responsibility"),
    ("FIRST-AID", "First Aid at Work"),
    ("FIRE-100", "Fire Warden Training"),
    ("ANTI-BR", "Anti-Bribery and Corruption"),
    ("DEI-100", "Inclusion at Work"),
    ("COLD-200", "Cold Chain Handling"),
    ("DISP-110", "Dispatch Operations"),
    ("QA-130", "Quality Inspection Basics"),
    ("WH-101", "Warehouse Operations"),
    ("EXCEL-1", "Spreadsheets Essentials"),
    ("PM-200", "Project Management Basics"),
    ("WELL-100", "Wellbeing and Resilience"),
    ("LEGAL-300", "Contract Essentials"),
];

/// The demo's additional fields, in display order.
pub fn field_defs() -> Vec<FieldDef> {
    let def = |code: &str, name: &str, t: FieldType, options: &[&str]| -> Option<FieldDef> {
        Some(FieldDef {
            code: Code::parse("code", code).ok()?,
            name: Name::parse("name", name).ok()?,
            field_type: t,
            options: options.iter().map(|s| (*s).to_owned()).collect(),
        })
    };
    [
        def("job_title", "Job Title", FieldType::Text, &[]),
        def("hire_date", "Hire Date", FieldType::Date, &[]),
        def("department", "Department", FieldType::Dropdown, DEPARTMENTS),
        def("location", "Location", FieldType::Text, &[]),
        def("manager", "Manager", FieldType::Text, &[]),
        def("product", "Product", FieldType::Dropdown, PRODUCTS),
        def("employee_status", "Employee Status", FieldType::Dropdown, EMPLOYEE_STATUS),
        def("institutional_id", "Institutional ID", FieldType::Text, &[]),
        def("role", "Role", FieldType::Dropdown, ROLES),
        def("start_date", "Start Date", FieldType::Date, &[]),
        def("student_or_employee", "Student or Employee", FieldType::Dropdown, STUDENT_OR_EMPLOYEE),
        def("supervisor", "Supervisor", FieldType::YesNo, &[]),
        def("years_experience", "Years of Experience", FieldType::Number, &[]),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Picks an index with Zipf-like skew: the first entries are much more common.
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    // Inverse-transform of a truncated power law; cheap and good enough for realism.
    let u: f64 = rng.random();
    ((n as f64 + 1.0).powf(u) - 1.0) as usize % n
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[skewed(rng, items.len())]
}

fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'é' | 'è' | 'ë' | 'É' => Some('e'),
            'á' | 'ã' => Some('a'),
            'ó' | 'ö' | 'ø' => Some('o'),
            'ü' | 'ú' => Some('u'),
            'í' => Some('i'),
            'ñ' => Some('n'),
            'ß' => Some('s'),
            _ => None,
        })
        .collect()
}

/// One generated site: its branch id, city, language and time zone.
#[derive(Debug, Clone)]
struct Site {
    branch_id: i64,
    city: &'static str,
    language: &'static str,
    timezone: &'static str,
}

const DAY_MS: i64 = 86_400_000;

impl App {
    /// Fills an empty database with demo data; `progress` hears how many users are stored.
    pub async fn generate_demo(&self, spec: &DemoSpec, mut progress: impl FnMut(usize)) -> AppResult<DemoSummary> {
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let now = self.now();
        let mut summary = DemoSummary::default();
        let cause = self.cause(&Actor::system("demo"), "demo data generated");
        let mut tx = self.begin().await?;
        for f in field_defs() {
            tx.insert_field(&f, &cause).await?;
        }
        let sites = demo_branches(&mut tx, spec.branches, &cause, &mut summary).await?;
        let mut course_ids = Vec::new();
        for i in 0..spec.courses.max(1) {
            let (code, name) = match NAMED_COURSES.get(i) {
                Some((c, n)) => ((*c).to_owned(), (*n).to_owned()),
                None => (format!("ELEC-{:03}", i + 1), format!("Elective Module {}", i + 1)),
            };
            course_ids.push(tx.insert_course(&code, &name, &cause).await?);
        }
        summary.courses = course_ids.len();
        tx.commit().await?;

        const CHUNK: usize = 20_000;
        let mut made = 0;
        while made < spec.users {
            let n = CHUNK.min(spec.users - made);
            let mut users: Vec<User> =
                (made..made + n).map(|i| demo_user(&mut rng, i, &sites, now)).collect::<Result<_, _>>()?;
            let mut tx = self.begin().await?;
            let saved = tx.save_users(&mut users, &[], None).await?;
            tx.load_users(saved).await?;
            let enrollments: Vec<Enrollment> = users
                .iter()
                .flat_map(|u| demo_enrollments(&mut rng, u.id, u, &course_ids, spec.enrollments_per_user, now))
                .collect();
            tx.insert_enrollments(&enrollments).await?;
            // Groups made before the data (there are none in a new database) follow it.
            tx.reevaluate_all(&cause).await?;
            tx.commit().await?;
            summary.enrollments += enrollments.len();
            made += n;
            progress(made);
        }
        summary.users = made;
        if spec.groups {
            summary.groups = self.demo_groups().await?;
        }
        Ok(summary)
    }

    /// Groups that show what rules do, made through the same use cases as a client's.
    async fn demo_groups(&self) -> AppResult<usize> {
        let actor = Actor::system("demo");
        let mut rules: Vec<(String, String, &str)> = vec![
            (
                "Approved Drivers".into(),
                "Completed Driver Safety Fundamentals".into(),
                r#"course("DRV-101") = completed"#,
            ),
            ("Acme email".into(), "Everyone with an acme.com address".into(), r#"email ends with "@acme.com""#),
            ("EMEA staff".into(), "Users of the EMEA region and below".into(), r#"branch under "EMEA""#),
            ("New hires".into(), "Hired in the last 90 days".into(), r#"field("Hire Date") > today - 90d"#),
            ("Contractors".into(), "Employee status Contractor".into(), r#"field("Employee Status") = "Contractor""#),
            (
                "Safety refresher due".into(),
                "Active, and not completed the annual refresher in a year".into(),
                r#"status = active and not (course("SAFE-2") = completed and course("SAFE-2").completed_at >= today - 365d)"#,
            ),
            (
                "Enrolled in advanced driving".into(),
                "Enrolled in Defensive Driving and not started yet".into(),
                r#"course("DRV-201") = enrolled"#,
            ),
            (
                "Staff drivers".into(),
                "Approved drivers who are not contractors".into(),
                r#"member_of("Approved Drivers") and not member_of("Contractors")"#,
            ),
        ];
        let department_rules: Vec<String> =
            DEPARTMENTS.iter().map(|d| format!(r#"field("Department") = "{d}""#)).collect();
        for (d, rule) in DEPARTMENTS.iter().zip(&department_rules) {
            rules.push((format!("Department: {d}"), format!("Everyone in {d}"), rule));
        }
        for (name, description, text) in &rules {
            let group = self
                .create_group(
                    &actor,
                    NewGroup {
                        name: name.clone(),
                        description: Some(description.clone()),
                        policy: Some("automatic".into()),
                        scope: None,
                    },
                )
                .await?;
            self.set_rule(&actor, &group.id, RuleInput { text: Some((*text).to_owned()), ..RuleInput::default() })
                .await?;
        }
        // Approved drivers are enrolled in the advanced course, due in 30 days; one who
        // stops being approved before starting it is unenrolled.
        let approved = self.find_group(&actor, "Approved Drivers").await?;
        let advanced = EnrollmentRuleInput { course: "DRV-201".into(), due_days: Some(30), unenroll_on_leave: true };
        self.set_enrollment_rules(&actor, &approved.id, vec![advanced]).await?;
        let committee = self
            .create_group(
                &actor,
                NewGroup {
                    name: "Fleet Safety Committee".into(),
                    description: Some("Chosen by hand: the drivers of the Paris site".into()),
                    policy: None,
                    scope: None,
                },
            )
            .await?;
        let add = AddMembers {
            from_branch: Some("EMEA-FR-PAR".into()),
            include_descendants: Some(false),
            ..AddMembers::default()
        };
        self.add_members(&actor, &committee.id, add).await?;
        Ok(rules.len() + 1)
    }
}

/// The org chart: regions, countries and sites, repeated with numbered sites until
/// there are `target` branches; returns the sites users are placed in.
async fn demo_branches(
    tx: &mut LiveTx,
    target: usize,
    cause: &Cause,
    summary: &mut DemoSummary,
) -> AppResult<Vec<Site>> {
    let mut sites = Vec::new();
    let mut made = 0usize;
    // Repeat the map with numbered sites until the target size is reached.
    let mut round = 0;
    while made < target.max(1) {
        for (rcode, rname, countries) in REGIONS {
            let rcode = if round == 0 { (*rcode).to_owned() } else { format!("{rcode}{round}") };
            let rid = tx.insert_branch(&rcode, rname, None, cause).await?;
            made += 1;
            for (ccode, cname, lang, tz, cities) in *countries {
                let ccode = format!("{rcode}-{ccode}");
                let cid = tx.insert_branch(&ccode, cname, Some(rid), cause).await?;
                made += 1;
                for city in *cities {
                    let scode =
                        format!("{ccode}-{}", ascii_slug(city).chars().take(3).collect::<String>().to_uppercase());
                    let bid = tx.insert_branch(&scode, city, Some(cid), cause).await?;
                    made += 1;
                    sites.push(Site { branch_id: bid, city, language: lang, timezone: tz });
                }
            }
        }
        round += 1;
    }
    summary.branches = made;
    Ok(sites)
}

fn demo_user(rng: &mut StdRng, i: usize, sites: &[Site], now: i64) -> Result<User, roster_domain::DomainError> {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let username = format!("{}.{}{}", ascii_slug(first), ascii_slug(last), i + 1);
    let domain = pick(rng, DOMAINS);
    let site = sites.get(skewed(rng, sites.len().max(1))).cloned();
    let department = pick(rng, DEPARTMENTS);
    let job = match department {
        "Operations" | "Logistics" if rng.random_bool(0.55) => {
            pick(rng, &["Driver", "Senior Driver", "Driver Trainer", "Dispatcher"])
        }
        _ => pick(rng, JOB_TITLES),
    };
    let role = if job.contains("Driver") { "Driver" } else { pick(rng, ROLES) };
    let created_at = now - rng.random_range(0..5 * 365) * DAY_MS - rng.random_range(0..DAY_MS);
    let hire_days = (rng.random::<f64>().powi(2) * 15.0 * 365.0) as i64;
    let hire =
        chrono::DateTime::from_timestamp_millis(now - hire_days * DAY_MS).map(|d| d.date_naive()).unwrap_or_default();
    let start = hire + chrono::Duration::days(rng.random_range(0..30));
    let mut fields = BTreeMap::new();
    let mut put = |code: &str, v: FieldValue| {
        fields.insert(code.to_owned(), v.to_json());
    };
    put("job_title", FieldValue::Text(job.to_owned()));
    put("hire_date", FieldValue::Date(hire));
    put("department", FieldValue::Text(department.to_owned()));
    if let Some(s) = &site {
        put("location", FieldValue::Text(s.city.to_owned()));
    }
    if rng.random_bool(0.9) {
        put(
            "manager",
            FieldValue::Text(format!(
                "{} {}",
                FIRST[rng.random_range(0..FIRST.len())],
                LAST[rng.random_range(0..LAST.len())]
            )),
        );
    }
    put("product", FieldValue::Text(pick(rng, PRODUCTS).to_owned()));
    put("employee_status", FieldValue::Text(pick(rng, EMPLOYEE_STATUS).to_owned()));
    put("institutional_id", FieldValue::Text(format!("EMP-{:07}", i + 1)));
    put("role", FieldValue::Text(role.to_owned()));
    put("start_date", FieldValue::Date(start));
    put("student_or_employee", FieldValue::Text(if rng.random_bool(0.08) { "Student" } else { "Employee" }.to_owned()));
    put("supervisor", FieldValue::YesNo(rng.random_bool(0.12)));
    if rng.random_bool(0.85) {
        put("years_experience", FieldValue::Number(f64::from(rng.random_range(0..35u8))));
    }
    Ok(User {
        id: 0,
        email: Email::parse("email", &format!("{username}@{domain}"))?,
        username: Username::parse("username", &username)?,
        first_name: Some(first.to_owned()),
        last_name: Some(last.to_owned()),
        status: if rng.random_bool(0.05) { UserStatus::Suspended } else { UserStatus::Active },
        language: site.as_ref().map(|s| s.language.to_owned()),
        timezone: site.as_ref().map(|s| s.timezone.to_owned()),
        branch_id: if rng.random_bool(0.02) { None } else { site.map(|s| s.branch_id) },
        created_at,
        updated_at: created_at,
        last_login_at: rng
            .random_bool(0.85)
            .then(|| now - rng.random_range(0..180) * DAY_MS - rng.random_range(0..DAY_MS)),
        fields,
    })
}

fn demo_enrollments(
    rng: &mut StdRng,
    user_id: i64,
    user: &User,
    courses: &[i64],
    per_user: f64,
    now: i64,
) -> Vec<Enrollment> {
    let is_driver = user.fields.get("role").and_then(|v| v.as_str()) == Some("Driver");
    let n = rng.random_range(0.0..per_user * 2.0).round() as usize;
    let mut chosen: Vec<i64> = Vec::with_capacity(n + 1);
    if is_driver && rng.random_bool(0.9) {
        if let Some(drv) = courses.first() {
            chosen.push(*drv);
        }
    }
    for _ in 0..n {
        let c = courses[skewed(rng, courses.len())];
        if !chosen.contains(&c) {
            chosen.push(c);
        }
    }
    chosen
        .into_iter()
        .map(|course_id| {
            let enrolled_at = now - rng.random_range(1..3 * 365) * DAY_MS;
            let status = match rng.random_range(0..100) {
                0..=44 => EnrollmentStatus::Completed,
                45..=69 => EnrollmentStatus::InProgress,
                70..=89 => EnrollmentStatus::Enrolled,
                _ => EnrollmentStatus::Failed,
            };
            let completed_at = (status == EnrollmentStatus::Completed)
                .then(|| (enrolled_at + rng.random_range(1..120) * DAY_MS).min(now));
            Enrollment { user_id, course_id, status, enrolled_at, completed_at, due_at: None, made_by_group: None }
        })
        .collect()
}

/// Writes `count` new demo users (numbered from `first`, so their usernames are new) as a
/// user-import CSV file: the standard columns, then every demo field by name. Their sites
/// are the leaf branches already stored.
pub fn write_import_csv(
    out: &mut impl std::io::Write,
    branches: &[roster_domain::Branch],
    first: usize,
    count: usize,
    seed: u64,
    now: i64,
) -> std::io::Result<()> {
    let parents: std::collections::HashSet<i64> = branches.iter().filter_map(|b| b.parent_id).collect();
    let sites: Vec<Site> = branches
        .iter()
        .filter(|b| !parents.contains(&b.id))
        .map(|b| {
            let country = REGIONS
                .iter()
                .flat_map(|(_, _, countries)| countries.iter())
                .find(|(_, _, _, _, cities)| cities.contains(&b.name.as_str()));
            Site {
                branch_id: b.id,
                city: country.and_then(|c| c.4.iter().find(|city| **city == b.name)).copied().unwrap_or("Head Office"),
                language: country.map_or("en", |c| c.2),
                timezone: country.map_or("UTC", |c| c.3),
            }
        })
        .collect();
    let codes: std::collections::HashMap<i64, &str> = branches.iter().map(|b| (b.id, b.code.as_str())).collect();
    let defs = field_defs();
    let mut line = String::new();
    let header = ["username", "email", "first_name", "last_name", "status", "language", "timezone", "branch"]
        .into_iter()
        .map(str::to_owned)
        .chain(defs.iter().map(|d| d.name.as_str().to_owned()));
    roster_csv::encode_row(&mut line, header);
    line.push('\n');
    out.write_all(line.as_bytes())?;
    let mut rng = StdRng::seed_from_u64(seed);
    for i in first..first + count {
        let u = demo_user(&mut rng, i, &sites, now).map_err(|e| std::io::Error::other(e.message))?;
        line.clear();
        let standard = [
            u.username.as_str().to_owned(),
            u.email.as_str().to_owned(),
            u.first_name.clone().unwrap_or_default(),
            u.last_name.clone().unwrap_or_default(),
            u.status.as_str().to_owned(),
            u.language.clone().unwrap_or_default(),
            u.timezone.clone().unwrap_or_default(),
            u.branch_id.and_then(|b| codes.get(&b)).map(|c| (*c).to_owned()).unwrap_or_default(),
        ];
        let fields = defs.iter().map(|d| {
            u.fields.get(d.code.as_str()).and_then(|raw| d.from_stored(raw)).map(|v| v.display()).unwrap_or_default()
        });
        roster_csv::encode_row(&mut line, standard.into_iter().chain(fields));
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}
