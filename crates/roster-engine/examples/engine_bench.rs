//! Measures the engine at DESIGN §8's scale: a synthetic image of 1,000,000 users with
//! skewed values (13 additional fields, 200 branches, 50 courses with about 5
//! enrollments per user) and 1,000 automatic groups with random rules over every
//! subject, `member_of` chains up to depth 3, most groups holding 0.1%–5% of users.
//! Prints the image build time, the whole evaluation time, per-user evaluation
//! percentiles and the peak resident memory.
//!
//! `cargo run --release -p roster-engine --example engine_bench [users] [groups]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use roster_domain::rule::compile_text;
use roster_domain::{Branch, Code, Course, EnrollmentStatus, FieldDef, FieldType, FieldValue, Name, UserStatus};
use roster_engine::{AutomaticGroup, Catalog, Engine, EnrollmentRecord, Evaluation, UserRecord};

/// SplitMix64: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Picks indexes with Zipf-like skew: index i with weight 1 / (i + 1)^s.
struct Skewed(Vec<f64>);

impl Skewed {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        Self(
            (0..n)
                .map(|i| {
                    total += 1.0 / ((i + 1) as f64).powf(s);
                    total
                })
                .collect(),
        )
    }

    /// The weight of index i.
    fn weight(&self, i: usize) -> f64 {
        self.0[i] - if i == 0 { 0.0 } else { self.0[i - 1] }
    }

    fn pick(&self, rng: &mut Rng) -> usize {
        let total = self.0.last().copied().unwrap_or(1.0);
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.0.partition_point(|&c| c < x).min(self.0.len() - 1)
    }
}

const TODAY: (i32, u32, u32) = (2025, 6, 30);
/// Users per `upsert_users` call while building.
const BATCH: usize = 10_000;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(TODAY.0, TODAY.1, TODAY.2).unwrap()
}

fn days_ago(n: usize) -> NaiveDate {
    today().checked_sub_days(Days::new(n as u64)).unwrap()
}

fn words(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

const JOB_WORDS: &[&str] = &[
    "Driver",
    "Manager",
    "Engineer",
    "Sales",
    "Analyst",
    "Clerk",
    "Nurse",
    "Teacher",
    "Agent",
    "Technician",
    "Consultant",
    "Operator",
    "Assistant",
    "Director",
    "Designer",
];
const JOB_LEVELS: &[&str] = &["Junior", "Senior", "Lead", "Chief", "Trainee", "Principal"];
const FIRST: &[&str] = &[
    "Anna", "Ben", "Chloé", "David", "Émile", "Fatima", "George", "Hana", "Ivan", "Julia", "Karl", "Léa", "Mohamed",
    "Nina", "Oscar", "Paula", "Quentin", "Rosa", "Sven", "Tomás",
];
const LANGUAGES: &[&str] =
    &["en", "fr", "de", "es", "it", "pt-BR", "nl", "pl", "sv", "ja", "zh", "ko", "ar", "tr", "ru"];
const ZONES: &[&str] = &[
    "Europe/Paris",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
    "UTC",
];

/// Everything the generator draws values from.
struct World {
    departments: Vec<String>,
    locations: Vec<String>,
    products: Vec<String>,
    roles: Vec<String>,
    employee: Vec<String>,
    jobs: Vec<String>,
    domains: Vec<String>,
    managers: Vec<String>,
    last_names: Vec<String>,
    branch_codes: Vec<String>,
    leaf_branches: Vec<i64>,
    courses: Vec<String>,
    skew20: Skewed,
    skew50: Skewed,
    skew_jobs: Skewed,
    skew_domains: Skewed,
    skew_managers: Skewed,
    skew_names: Skewed,
    skew_leaves: Skewed,
    skew_courses: Skewed,
    skew_days: Skewed,
}

fn world() -> World {
    let jobs: Vec<String> = JOB_LEVELS
        .iter()
        .flat_map(|l| JOB_WORDS.iter().map(move |w| format!("{l} {w}")))
        .chain(JOB_WORDS.iter().map(|w| w.to_string()))
        .chain(words("Specialist ", 400))
        .collect();
    let mut branch_codes = Vec::new();
    let mut leaf_branches = Vec::new();
    for r in 0..5 {
        branch_codes.push(format!("R{r}"));
        for c in 0..7 {
            branch_codes.push(format!("R{r}-C{c}"));
            for s in 0..((r + c) % 3 + 4) {
                branch_codes.push(format!("R{r}-C{c}-S{s}"));
            }
        }
    }
    branch_codes.truncate(200);
    for (i, code) in branch_codes.iter().enumerate() {
        if code.matches('-').count() == 2 {
            leaf_branches.push(i as i64 + 1);
        }
    }
    let leaves = leaf_branches.len();
    World {
        departments: words("Department ", 20),
        locations: words("Location ", 50),
        products: words("Product ", 30),
        roles: words("Role ", 40),
        employee: vec!["Full time".into(), "Part time".into(), "Contractor".into(), "Intern".into()],
        skew_jobs: Skewed::new(jobs.len(), 1.0),
        jobs,
        domains: (0..50).map(|i| format!("company{i}.com")).collect(),
        managers: words("manager-", 20_000),
        last_names: words("Surname", 5_000),
        branch_codes,
        leaf_branches,
        courses: (0..50).map(|i| format!("C-{i:03}")).collect(),
        skew20: Skewed::new(20, 0.8),
        skew50: Skewed::new(50, 1.0),
        skew_domains: Skewed::new(50, 1.1),
        skew_managers: Skewed::new(20_000, 0.5),
        skew_names: Skewed::new(5_000, 0.7),
        skew_leaves: Skewed::new(leaves, 0.6),
        skew_courses: Skewed::new(50, 0.9),
        skew_days: Skewed::new(730, 0.6),
    }
}

fn def(code: &str, name: &str, field_type: FieldType, options: &[String]) -> FieldDef {
    FieldDef {
        code: Code::parse("code", code).unwrap(),
        name: Name::parse("name", name).unwrap(),
        field_type,
        options: options.to_vec(),
    }
}

fn catalog(w: &World) -> Catalog {
    let fields = vec![
        def("job_title", "Job Title", FieldType::Text, &[]),
        def("hire_date", "Hire Date", FieldType::Date, &[]),
        def("department", "Department", FieldType::Dropdown, &w.departments),
        def("location", "Location", FieldType::Dropdown, &w.locations),
        def("manager", "Manager", FieldType::Text, &[]),
        def("product", "Product", FieldType::Dropdown, &w.products),
        def("employee_status", "Employee Status", FieldType::Dropdown, &w.employee),
        def("institutional_id", "Institutional ID", FieldType::Text, &[]),
        def("role", "Role", FieldType::Dropdown, &w.roles),
        def("start_date", "Start Date", FieldType::Date, &[]),
        def("student_or_employee", "Student or Employee", FieldType::Dropdown, &["Student".into(), "Employee".into()]),
        def("supervisor", "Supervisor", FieldType::YesNo, &[]),
        def("seniority", "Seniority", FieldType::Number, &[]),
    ];
    let branches = w
        .branch_codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let parent = code
                .rsplit_once('-')
                .and_then(|(p, _)| w.branch_codes.iter().position(|c| c == p))
                .map(|p| p as i64 + 1);
            Branch { id: i as i64 + 1, code: code.clone(), name: code.clone(), parent_id: parent }
        })
        .collect();
    let courses = w
        .courses
        .iter()
        .enumerate()
        .map(|(i, code)| Course { id: i as i64 + 1, code: code.clone(), name: code.clone() })
        .collect();
    Catalog { fields, branches, courses }
}

fn user(w: &World, rng: &mut Rng, id: i64) -> UserRecord {
    let first = rng.pick(FIRST).to_string();
    let last = w.last_names[w.skew_names.pick(rng)].clone();
    let domain = &w.domains[w.skew_domains.pick(rng)];
    let mut fields = BTreeMap::new();
    let mut text = |code: &str, value: String| {
        fields.insert(code.to_owned(), FieldValue::Text(value));
    };
    text("job_title", w.jobs[w.skew_jobs.pick(rng)].clone());
    text("department", w.departments[w.skew20.pick(rng)].clone());
    text("location", w.locations[w.skew50.pick(rng)].clone());
    text("manager", w.managers[w.skew_managers.pick(rng)].clone());
    text("product", w.products[w.skew20.pick(rng).min(29)].clone());
    text("employee_status", w.employee[rng.below(8).min(3)].clone());
    text("institutional_id", format!("A{:07}", id * 7 % 10_000_000));
    text("role", w.roles[w.skew50.pick(rng) % 40].clone());
    let student = if rng.chance(0.2) { "Student" } else { "Employee" };
    text("student_or_employee", student.to_owned());
    if rng.chance(0.95) {
        fields.insert("hire_date".into(), FieldValue::Date(days_ago(rng.below(5475))));
    }
    if rng.chance(0.6) {
        fields.insert("start_date".into(), FieldValue::Date(days_ago(rng.below(3000))));
    }
    if rng.chance(0.8) {
        fields.insert("supervisor".into(), FieldValue::YesNo(rng.chance(0.15)));
    }
    if rng.chance(0.9) {
        let seniority = (rng.below(41) * rng.below(41) / 40) as f64;
        fields.insert("seniority".into(), FieldValue::Number(seniority));
    }
    UserRecord {
        id,
        username: format!("user{id}"),
        email: format!("{}.{}{id}@{domain}", first.to_lowercase(), last.to_lowercase()),
        first_name: Some(first),
        last_name: Some(last),
        status: if rng.chance(0.03) { UserStatus::Suspended } else { UserStatus::Active },
        language: rng.chance(0.9).then(|| rng.pick(LANGUAGES).to_string()),
        timezone: rng.chance(0.8).then(|| rng.pick(ZONES).to_string()),
        branch_id: rng.chance(0.97).then(|| w.leaf_branches[w.skew_leaves.pick(rng)]),
        created_on: days_ago(rng.below(3650)),
        last_login_on: rng.chance(0.9).then(|| days_ago(w.skew_days.pick(rng))),
        fields,
    }
}

fn enrollment(rng: &mut Rng) -> EnrollmentRecord {
    let status = match rng.below(10) {
        0..=4 => EnrollmentStatus::Completed,
        5 | 6 => EnrollmentStatus::InProgress,
        7 | 8 => EnrollmentStatus::Enrolled,
        _ => EnrollmentStatus::Failed,
    };
    let enrolled = rng.below(1095) + 30;
    let completed = matches!(status, EnrollmentStatus::Completed | EnrollmentStatus::Failed)
        .then(|| days_ago(enrolled - rng.below(30).min(enrolled)));
    EnrollmentRecord { status, enrolled_on: days_ago(enrolled), completed_on: completed }
}

/// A random condition, in rule text.
fn condition(w: &World, rng: &mut Rng) -> String {
    let opt = |rng: &mut Rng, list: &[String], skew: &Skewed| list[skew.pick(rng) % list.len()].clone();
    let course = |rng: &mut Rng| w.courses[w.skew_courses.pick(rng)].clone();
    match rng.below(100) {
        0..=9 => format!(r#"field("department") = "{}""#, opt(rng, &w.departments, &w.skew20)),
        10..=13 => format!(
            r#"field("location") in ("{}", "{}")"#,
            opt(rng, &w.locations, &w.skew50),
            opt(rng, &w.locations, &w.skew50)
        ),
        14..=16 => format!(r#"field("product") = "{}""#, opt(rng, &w.products, &w.skew20)),
        17..=19 => format!(r#"field("role") != "{}""#, opt(rng, &w.roles, &w.skew50)),
        20..=21 => format!(r#"field("employee_status") = "{}""#, rng.pick(&w.employee)),
        22 => r#"field("student_or_employee") = "student""#.to_owned(),
        23..=26 => format!(r#"field("job_title") contains "{}""#, rng.pick(JOB_WORDS).to_lowercase()),
        27..=28 => format!(r#"field("job_title") starts with "{}""#, rng.pick(JOB_LEVELS)),
        29..=31 => format!(r#"email ends with "@{}""#, w.domains[w.skew_domains.pick(rng)]),
        32 => format!(r#"email contains "company{}""#, rng.below(10)),
        33 => format!(r#"field("manager") = "{}""#, w.managers[rng.below(200)]),
        34 => format!(r#"username matches "^user{}[0-9]*7$""#, rng.below(10)),
        35 => format!(r#"first_name in ("{}", "{}")"#, rng.pick(FIRST), rng.pick(FIRST)),
        36 => format!(r#"last_name starts with "surname{}""#, rng.below(10)),
        37..=38 => format!(r#"language = "{}""#, rng.pick(LANGUAGES)),
        39 => r#"timezone starts with "Europe/""#.to_owned(),
        40..=42 => "status = active".to_owned(),
        43..=45 => format!("created_at >= today - {}d", 30 * (rng.below(36) + 1)),
        46 => "created_at between 2020-01-01 and 2022-12-31".to_owned(),
        47..=49 => format!("last_login_at < today - {}d", 30 * (rng.below(12) + 1)),
        50 => "last_login_at is empty".to_owned(),
        51..=54 => format!(r#"field("hire_date") < today - {}m"#, rng.below(120) + 1),
        55..=56 => {
            format!(r#"field("hire_date") between today - {}y and today - {}m"#, rng.below(10) + 2, rng.below(12) + 1)
        }
        57 => r#"field("start_date") is empty"#.to_owned(),
        58..=60 => format!(r#"field("seniority") > {}"#, rng.below(25)),
        61 => format!(r#"field("seniority") between {} and {}"#, rng.below(5), rng.below(10) + 5),
        62 => r#"field("supervisor") = yes"#.to_owned(),
        63..=67 => format!(r#"branch under "{}""#, rng.pick(&w.branch_codes)),
        68..=69 => format!(r#"branch in ("{}", "{}")"#, rng.pick(&w.branch_codes), rng.pick(&w.branch_codes)),
        70..=77 => format!(r#"course("{}") = completed"#, course(rng)),
        78..=80 => format!(r#"course("{}") in (enrolled, in_progress)"#, course(rng)),
        81..=82 => format!(r#"course("{}") = not_enrolled"#, course(rng)),
        83 => format!(r#"course("{}") != failed"#, course(rng)),
        84..=87 => format!(r#"course("{}").completed_at >= today - {}d"#, course(rng), 30 * (rng.below(24) + 1)),
        88..=89 => format!(r#"course("{}").enrolled_at < 2024-01-01"#, course(rng)),
        90 => format!(r#"field("institutional_id") starts with "A{}""#, rng.below(90) + 10),
        91..=92 => r#"field("supervisor") is not empty"#.to_owned(),
        93..=95 => format!(
            r#"field("department") in ("{}", "{}", "{}")"#,
            opt(rng, &w.departments, &w.skew20),
            opt(rng, &w.departments, &w.skew20),
            opt(rng, &w.departments, &w.skew20)
        ),
        96..=97 => format!(r#"field("job_title") not contains "{}""#, rng.pick(JOB_WORDS).to_lowercase()),
        _ => format!(r#"field("location") = "{}""#, opt(rng, &w.locations, &w.skew50)),
    }
}

/// A random rule: mostly two or three conditions; when `chained`, `member_of` an
/// earlier group whose chain is shorter than 3, kept about as large as that group.
fn rule(w: &World, rng: &mut Rng, groups: &[(i64, String, usize)], chained: bool) -> (String, usize) {
    let mut c = || condition(w, rng);
    let (a, b, d) = (c(), c(), c());
    let shallow: Vec<&(i64, String, usize)> = groups.iter().filter(|g| g.2 < 3).collect();
    if chained && !shallow.is_empty() {
        let (_, name, depth) = shallow[rng.below(shallow.len())];
        let text = match rng.below(3) {
            0 => format!(r#"member_of("{name}") or {a} and {b}"#),
            1 => format!(r#"member_of("{name}") and not {a}"#),
            _ => format!(r#"(member_of("{name}") or {a}) and not {b}"#),
        };
        return (text, depth + 1);
    }
    let text = match rng.below(20) {
        0..=8 => format!("{a} and {b}"),
        9..=12 => format!("{a} and {b} and {d}"),
        13..=14 => format!("({a} or {b}) and {d}"),
        15..=16 => a,
        17 => format!("{a} and not {b}"),
        _ => format!("{a} or {b}"),
    };
    (text, 0)
}

/// The process's CPU time so far, in ticks of 10 ms (what other processes on the
/// machine do not inflate, unlike wall time).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    tick(11) + tick(12)
}

/// A hash of every group's members once `evaluation` is committed, to compare
/// evaluations across versions of the engine.
fn fingerprint(engine: &Engine, evaluation: &Evaluation) -> u64 {
    let mut hasher = DefaultHasher::new();
    for g in &evaluation.groups {
        let members = engine.members_after(evaluation, g.group).unwrap_or_default();
        g.group.hash(&mut hasher);
        members.len().hash(&mut hasher);
        members.iter().for_each(|u| u.hash(&mut hasher));
    }
    hasher.finish()
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let users = args.first().copied().unwrap_or(1_000_000);
    let group_count = args.get(1).copied().unwrap_or(1_000);
    let today = today();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{} core(s); load average at start: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load.trim()
    );
    let w = world();
    let mut rng = Rng(42);
    let mut engine = Engine::new();

    let started = Instant::now();
    let mut in_engine = Duration::ZERO;
    let catalog = catalog(&w);
    let t = Instant::now();
    engine.set_catalog(&catalog).unwrap();
    in_engine += t.elapsed();
    for first in (1..=users as i64).step_by(BATCH) {
        let last = (first + BATCH as i64 - 1).min(users as i64);
        let batch: Vec<UserRecord> = (first..=last).map(|id| user(&w, &mut rng, id)).collect();
        let t = Instant::now();
        engine.upsert_users(&batch).unwrap();
        in_engine += t.elapsed();
    }
    let users_built = started.elapsed();
    // Course by course, as the database's (course_id, user_id) index reads them.
    let t = Instant::now();
    let total: f64 = (0..w.courses.len()).map(|c| w.skew_courses.weight(c)).sum();
    let mut enrollments = 0usize;
    for c in 0..w.courses.len() {
        let p = (5.0 * w.skew_courses.weight(c) / total).min(0.95);
        for id in 1..=users as i64 {
            let mut r = Rng((id as u64) << 8 | c as u64);
            if r.chance(p) {
                let e = enrollment(&mut r);
                engine.set_enrollment(id, c as i64 + 1, &e).unwrap();
                enrollments += 1;
            }
        }
    }
    let enrollments_built = t.elapsed();
    in_engine += enrollments_built;
    println!(
        "image: {users} users in batches of {BATCH}, {enrollments} enrollments: built in {} (engine calls {}: users {}, enrollments {}); {}",
        ms(started.elapsed()),
        ms(in_engine),
        ms(users_built),
        ms(enrollments_built),
        peak_rss()
    );

    let started = Instant::now();
    let mut compile = Duration::ZERO;
    let mut groups: Vec<(i64, String, usize)> = Vec::new();
    let mut sizes = Vec::new();
    let mut depth_counts = [0usize; 4];
    for g in 1..=group_count as i64 {
        let name = format!("Group {g}");
        let broad = g % 40 == 0;
        let (lo, hi) = if broad { (0.05, 0.30) } else { (0.001, 0.05) };
        let chained = rng.chance(0.15);
        let mut chosen = None;
        for attempt in 0..12 {
            let (text, depth) = rule(&w, &mut rng, &groups, chained);
            let Ok(checked) = compile_text(&text, engine.rule_catalog()) else {
                continue;
            };
            let definition = AutomaticGroup { rule: checked, include: vec![], exclude: vec![], allow_suspended: false };
            let preview = engine.preview(&definition, None, today, 0).unwrap();
            let share = preview.member_count as f64 / users as f64;
            if (lo..=hi).contains(&share) || attempt == 11 {
                chosen = Some((definition, depth, preview.member_count));
                break;
            }
        }
        let (definition, depth, size) = chosen.expect("a rule");
        let t = Instant::now();
        engine.set_automatic_group(g, &name, &definition).unwrap();
        compile += t.elapsed();
        // Committed, so that later previews see this group's members through member_of.
        let evaluation = engine.evaluate_groups(&[g], today).unwrap();
        engine.commit(&evaluation);
        depth_counts[depth.min(3)] += 1;
        sizes.push(size);
        groups.push((g, name, depth));
    }
    sizes.sort_unstable();
    let share = |n: u64| format!("{:.2}%", n as f64 * 100.0 / users as f64);
    println!(
        "groups: {group_count} rules chosen in {} (compiling them: {}); sizes p10 {} p50 {} p90 {} max {}; member_of depth 0/1/2/3: {:?}",
        ms(started.elapsed()),
        ms(compile),
        share(sizes[sizes.len() / 10]),
        share(sizes[sizes.len() / 2]),
        share(sizes[sizes.len() * 9 / 10]),
        share(*sizes.last().unwrap()),
        depth_counts
    );

    // Measured from nothing committed: every member a join, as at a first start.
    for &g in engine.automatic_groups().to_vec().iter() {
        engine.load_members(g, &[]).unwrap();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let mut first = None;
    for threads in [1, cores] {
        engine.set_threads(threads);
        let mut runs = Vec::new();
        let cpu_before = cpu_ticks();
        for _ in 0..5 {
            let t = Instant::now();
            let evaluation = engine.evaluate_all(today);
            runs.push(t.elapsed());
            first.get_or_insert(evaluation);
        }
        let cpu = (cpu_ticks() - cpu_before) * 10 / 5;
        runs.sort_unstable();
        println!(
            "whole evaluation, {group_count} groups over {users} users (with diffs), {threads} thread(s): min {}, median {}, max {}; CPU time {cpu} ms per evaluation (all threads)",
            ms(runs[0]),
            ms(runs[runs.len() / 2]),
            ms(runs[runs.len() - 1])
        );
    }
    let evaluation = first.unwrap();
    let joined: u64 = evaluation.groups.iter().map(|g| g.joined.len()).sum();
    println!("memberships: {joined}; fingerprint {:016x}; {}", fingerprint(&engine, &evaluation), peak_rss());
    let t = Instant::now();
    engine.commit(&evaluation);
    println!("commit: {}", ms(t.elapsed()));
    let t = Instant::now();
    let again = engine.evaluate_all(today);
    println!("evaluation after commit: {} (unchanged: {})", ms(t.elapsed()), again.is_unchanged());
    drop(again);

    // Every automatic group for one user, against the committed memberships.
    let mut per_user = Vec::new();
    for _ in 0..1_000 {
        let id = rng.below(users) as i64 + 1;
        let t = Instant::now();
        let e = engine.evaluate_user(id, today).unwrap();
        per_user.push(t.elapsed());
        assert!(e.changes.is_empty(), "no drift");
    }
    // Writes as the app makes them: the write, the evaluation of what it changed, the
    // commit. First a whole new record, then one attribute or one enrollment.
    let mut rewrites = Vec::new();
    let mut records = Vec::new();
    for _ in 0..1_000 {
        let id = rng.below(users) as i64 + 1;
        let record = user(&w, &mut rng, id);
        let t = Instant::now();
        let change = engine.upsert_user(&record).unwrap();
        let e = engine.evaluate_change(&change, today).unwrap();
        engine.commit_user(&e);
        rewrites.push(t.elapsed());
        records.push(record);
    }
    let mut writes = Vec::new();
    for (i, mut record) in records.into_iter().enumerate() {
        let t = Instant::now();
        let change = match i % 4 {
            0 => {
                record.last_login_on = Some(today);
                engine.upsert_user(&record).unwrap()
            }
            1 => {
                let department = FieldValue::Text(w.departments[w.skew20.pick(&mut rng)].clone());
                record.fields.insert("department".into(), department);
                engine.upsert_user(&record).unwrap()
            }
            2 => {
                engine.set_enrollment(record.id, rng.below(w.courses.len()) as i64 + 1, &enrollment(&mut rng)).unwrap()
            }
            _ => {
                record.branch_id = Some(w.leaf_branches[w.skew_leaves.pick(&mut rng)]);
                engine.upsert_user(&record).unwrap()
            }
        };
        let e = engine.evaluate_change(&change, today).unwrap();
        engine.commit_user(&e);
        writes.push(t.elapsed());
    }
    for times in [&mut per_user, &mut rewrites, &mut writes] {
        times.sort_unstable();
    }
    let us = |times: &[Duration], p: f64| format!("{:.1} µs", percentile(times, p).as_secs_f64() * 1e6);
    println!(
        "one user, all {group_count} groups: p50 {}, p99 {}; write of a whole new record + evaluation of the change + commit: p50 {}, p99 {}; write of one attribute or enrollment + evaluation + commit: p50 {}, p99 {}",
        us(&per_user, 0.5),
        us(&per_user, 0.99),
        us(&rewrites, 0.5),
        us(&rewrites, 0.99),
        us(&writes, 0.5),
        us(&writes, 0.99),
    );
    let t = Instant::now();
    let after = engine.evaluate_all(today);
    println!(
        "whole evaluation after 1,000 writes: {}, {} memberships changed; {}",
        ms(t.elapsed()),
        after.groups.iter().map(|g| g.joined.len() + g.left.len()).sum::<u64>(),
        peak_rss()
    );
}
