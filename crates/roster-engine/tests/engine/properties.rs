//! Properties over generated populations: random catalogs with fields of every type,
//! users with missing values, odd cases and accents, enrollments, manual groups and
//! acyclic `member_of` chains, include and exclude lists, suspended users, and random
//! checked rules over every subject and operator. The reference, the per-user engine
//! and the bitmap engine must agree for every user and group; and after any sequence
//! of incremental updates, the engine must equal one rebuilt from scratch.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use roster_domain::rule::{
    self, compile_tree, Comparison, Condition, CourseStatus, DateUnit, GroupRef, Op, RelativeDate, Rule, Subject, Value,
};
use roster_domain::{Branch, Course, EnrollmentStatus, FieldType, FieldValue, UserStatus};
use roster_engine::codec::{Reader, Writer};
use roster_engine::{AutomaticGroup, Catalog, Engine, EnrollmentRecord, UserChange, UserRecord};

use crate::fixture::{date, field};
use crate::model::{Group, Model};
use crate::reference;

const TEXTS: &[&str] = &[
    "",
    "a",
    "A",
    "ab",
    "Ab",
    "abc",
    "b",
    "émile",
    "Émile",
    "ÉMILE",
    "straße",
    "STRASSE",
    "x y",
    "İ",
    "i̇",
    "Σ",
    "σ",
    "ς",
    "ΑΣ",
    "@acme.com",
    "bob@acme.com",
    "Bob@ACME.com",
    "alice@other.org",
    "ﬃ",
    "Driver",
    "truck DRIVER",
];
const PATTERNS: &[&str] = &["^a", "b$", "^.$", "É", r"\d", r"^[a-z]+@acme\.com$", "^$", "σ", "İ", "(?-i)A", ".", "ß"];
const OPTIONS: &[&str] = &["Sales", "Marketing", "Émile", "R&D"];
const OPTION_SPELLINGS: &[&str] = &["Sales", "sales", "SALES", "marketing", "émile", "ÉMILE", "r&d"];
const NUMBERS: &[f64] = &[-1.5, -0.0, 0.0, 1.0, 2.0, 2.5, 10.0, 1e9];
const BRANCH_CODES: &[&str] = &["EMEA", "FR", "PAR", "AMER", "US", "NYC"];
const IDS: &[i64] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 65_535, 65_536, 4_294_967_295];
const MANUAL: &[i64] = &[1, 2];

fn dates() -> Vec<NaiveDate> {
    vec![
        date(2000, 1, 1),
        date(2020, 2, 29),
        date(2023, 12, 31),
        date(2024, 1, 31),
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
        date(2024, 3, 30),
        date(2024, 3, 31),
        date(2024, 4, 1),
    ]
}

fn todays() -> Vec<NaiveDate> {
    vec![date(2024, 3, 31), date(2024, 2, 29), date(2024, 1, 31), date(2025, 3, 1)]
}

/// The catalog's shape: field types, branch parents, course count.
#[derive(Debug, Clone)]
struct Shape {
    fields: Vec<FieldType>,
    parents: Vec<Option<usize>>,
    courses: usize,
}

fn shape() -> impl Strategy<Value = Shape> {
    let types = vec![FieldType::Text, FieldType::Number, FieldType::Date, FieldType::Dropdown, FieldType::YesNo];
    (vec(select(types), 1..7), vec((any::<bool>(), any::<Index>()), 1..=BRANCH_CODES.len()), 1..4usize).prop_map(
        |(fields, parents, courses)| Shape {
            fields,
            parents: parents.into_iter().enumerate().map(|(i, (has, p))| (has && i > 0).then(|| p.index(i))).collect(),
            courses,
        },
    )
}

fn course_code(i: usize) -> String {
    format!("C-{i}")
}

fn catalog(shape: &Shape) -> Catalog {
    Catalog {
        fields: shape
            .fields
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let options: &[&str] = if *t == FieldType::Dropdown { OPTIONS } else { &[] };
                field(&format!("f{i}"), &format!("Field {i}"), *t, options)
            })
            .collect(),
        branches: shape
            .parents
            .iter()
            .enumerate()
            .map(|(i, p)| Branch {
                id: i as i64 + 1,
                code: BRANCH_CODES[i].into(),
                name: BRANCH_CODES[i].into(),
                parent_id: p.map(|p| p as i64 + 1),
            })
            .collect(),
        courses: (0..shape.courses)
            .map(|i| Course { id: 100 + i as i64, code: course_code(i), name: course_code(i) })
            .collect(),
    }
}

fn text() -> impl Strategy<Value = String> {
    select(TEXTS).prop_map(String::from)
}

fn present_text() -> impl Strategy<Value = String> {
    select(&TEXTS[1..]).prop_map(String::from)
}

fn field_value(t: FieldType) -> BoxedStrategy<Option<FieldValue>> {
    let value = match t {
        FieldType::Text => text().prop_map(FieldValue::Text).boxed(),
        FieldType::Dropdown => prop_oneof![
            select(OPTIONS).prop_map(|o| FieldValue::Text(o.into())),
            Just(FieldValue::Text(String::new())),
        ]
        .boxed(),
        FieldType::Number => select(NUMBERS).prop_map(FieldValue::Number).boxed(),
        FieldType::Date => select(dates()).prop_map(FieldValue::Date).boxed(),
        FieldType::YesNo => any::<bool>().prop_map(FieldValue::YesNo).boxed(),
    };
    proptest::option::weighted(0.8, value).boxed()
}

fn user(shape: &Shape, id: i64) -> BoxedStrategy<UserRecord> {
    let codes: Vec<String> = (0..shape.fields.len()).map(|i| format!("f{i}")).collect();
    let fields: Vec<BoxedStrategy<Option<FieldValue>>> = shape.fields.iter().map(|t| field_value(*t)).collect();
    let branches = shape.parents.len();
    (
        (present_text(), present_text(), proptest::option::of(text()), proptest::option::of(text())),
        (proptest::option::of(text()), proptest::option::of(text())),
        proptest::bool::weighted(0.3),
        proptest::option::of(0..branches),
        (select(dates()), proptest::option::of(select(dates()))),
        fields,
    )
        .prop_map(
            move |(
                (username, email, first_name, last_name),
                (language, timezone),
                suspended,
                branch,
                (created_on, last_login_on),
                values,
            )| {
                UserRecord {
                    id,
                    username,
                    email,
                    first_name,
                    last_name,
                    status: if suspended { UserStatus::Suspended } else { UserStatus::Active },
                    language,
                    timezone,
                    branch_id: branch.map(|b| b as i64 + 1),
                    created_on,
                    last_login_on,
                    fields: codes.iter().zip(values).filter_map(|(code, v)| Some((code.clone(), v?))).collect(),
                }
            },
        )
        .boxed()
}

fn enrollment() -> impl Strategy<Value = Option<EnrollmentRecord>> {
    let statuses = EnrollmentStatus::ALL.to_vec();
    proptest::option::weighted(
        0.6,
        (select(statuses), select(dates()), proptest::option::of(select(dates())))
            .prop_map(|(status, enrolled_on, completed_on)| EnrollmentRecord { status, enrolled_on, completed_on }),
    )
}

fn date_value() -> impl Strategy<Value = Value> {
    let units = DateUnit::ALL.to_vec();
    prop_oneof![
        select(dates()).prop_map(Value::Date),
        (select(vec![-365, -90, -30, -1, 0, 1, 13]), select(units))
            .prop_map(|(offset, unit)| Value::Relative(RelativeDate { offset, unit })),
    ]
}

const TEXT_OPS: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Contains,
    Op::NotContains,
    Op::StartsWith,
    Op::NotStartsWith,
    Op::EndsWith,
    Op::NotEndsWith,
    Op::Matches,
    Op::NotMatches,
    Op::In,
    Op::NotIn,
    Op::IsEmpty,
    Op::IsNotEmpty,
];
/// The text operators that take any text, even on a dropdown field.
const FREE_TEXT_OPS: &[Op] = &[
    Op::Contains,
    Op::NotContains,
    Op::StartsWith,
    Op::NotStartsWith,
    Op::EndsWith,
    Op::NotEndsWith,
    Op::Matches,
    Op::NotMatches,
    Op::IsEmpty,
    Op::IsNotEmpty,
];
const NUMBER_OPS: &[Op] =
    &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::In, Op::NotIn, Op::Between, Op::IsEmpty, Op::IsNotEmpty];
const DATE_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Between, Op::IsEmpty, Op::IsNotEmpty];
const YES_NO_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::IsEmpty, Op::IsNotEmpty];
const LIST_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::In, Op::NotIn];
const BRANCH_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::In, Op::NotIn, Op::Under, Op::NotUnder, Op::IsEmpty, Op::IsNotEmpty];

/// How many values an operator takes (`None`: a list).
fn arity(op: Op) -> Option<usize> {
    match op.positive() {
        Op::IsEmpty => Some(0),
        Op::Between => Some(2),
        Op::In => None,
        _ => Some(1),
    }
}

fn comparison(subject: Subject, op: Op, mut values: Vec<Value>) -> Rule {
    if let Some(n) = arity(op) {
        values.truncate(n);
    }
    if let [low, high] = values.as_mut_slice() {
        let reversed = match (&*low, &*high) {
            (Value::Number(a), Value::Number(b)) => a > b,
            (Value::Date(a), Value::Date(b)) => a > b,
            _ => false,
        };
        if reversed && op == Op::Between {
            std::mem::swap(low, high);
        }
    }
    Rule::Condition(Condition::Compare(Comparison { subject, op, values }))
}

/// Conditions on one subject: an operator its kind takes, and values of its kind.
fn on(
    subject: Subject,
    ops: &'static [Op],
    values: BoxedStrategy<Value>,
    special: Option<(Op, BoxedStrategy<Value>)>,
) -> BoxedStrategy<Rule> {
    let special_values = special.as_ref().map_or(Just(Value::YesNo(true)).boxed(), |(_, s)| s.clone());
    let special_op = special.map(|(op, _)| op);
    (select(ops), vec(values, 2..4), vec(special_values, 2..4))
        .prop_map(move |(op, values, specials)| {
            let values = match special_op {
                Some(s) if s == op.positive() => specials,
                _ => values,
            };
            comparison(subject.clone(), op, values)
        })
        .boxed()
}

fn text_values() -> BoxedStrategy<Value> {
    text().prop_map(Value::Text).boxed()
}

fn patterns() -> BoxedStrategy<Value> {
    select(PATTERNS).prop_map(|p| Value::Text(p.into())).boxed()
}

fn text_condition(subject: Subject, ops: &'static [Op]) -> BoxedStrategy<Rule> {
    prop_oneof![
        on(subject.clone(), ops, text_values(), Some((Op::Matches, patterns()))),
        on(subject, &[Op::Matches, Op::NotMatches], patterns(), None),
    ]
    .boxed()
}

/// Any condition the catalog allows, naming groups among `groups`.
fn condition(shape: &Shape, groups: Vec<(i64, String)>) -> BoxedStrategy<Rule> {
    let mut options: Vec<BoxedStrategy<Rule>> = [
        Subject::Username,
        Subject::Email,
        Subject::FirstName,
        Subject::LastName,
        Subject::Language,
        Subject::Timezone,
    ]
    .into_iter()
    .map(|s| text_condition(s, TEXT_OPS))
    .collect();
    let statuses = select(UserStatus::ALL.to_vec()).prop_map(Value::Status).boxed();
    options.push(on(Subject::Status, LIST_OPS, statuses, None));
    for subject in [Subject::CreatedAt, Subject::LastLoginAt] {
        options.push(on(subject, DATE_OPS, date_value().boxed(), None));
    }
    let codes: Vec<&str> = BRANCH_CODES[..shape.parents.len()].to_vec();
    let branch_codes =
        select(codes).prop_flat_map(|c| select(vec![c.to_owned(), c.to_lowercase()])).prop_map(Value::Text).boxed();
    options.push(on(Subject::Branch, BRANCH_OPS, branch_codes, None));
    for (i, t) in shape.fields.iter().enumerate() {
        let code = if i % 2 == 0 { format!("f{i}") } else { format!("Field {i}") };
        let subject = Subject::Field { field: code };
        options.push(match t {
            FieldType::Text => text_condition(subject, TEXT_OPS),
            FieldType::Dropdown => {
                let spellings = select(OPTION_SPELLINGS).prop_map(|o| Value::Text(o.into())).boxed();
                prop_oneof![
                    on(subject.clone(), &[Op::Eq, Op::Ne, Op::In, Op::NotIn], spellings, None),
                    text_condition(subject, FREE_TEXT_OPS),
                ]
                .boxed()
            }
            FieldType::Number => on(subject, NUMBER_OPS, select(NUMBERS).prop_map(Value::Number).boxed(), None),
            FieldType::Date => on(subject, DATE_OPS, date_value().boxed(), None),
            FieldType::YesNo => on(subject, YES_NO_OPS, any::<bool>().prop_map(Value::YesNo).boxed(), None),
        });
    }
    for c in 0..shape.courses {
        let code = course_code(c);
        let statuses = select(CourseStatus::ALL.to_vec()).prop_map(Value::CourseStatus).boxed();
        options.push(on(Subject::Course { course: code.to_lowercase() }, LIST_OPS, statuses, None));
        options.push(on(Subject::CourseEnrolledAt { course: code.clone() }, DATE_OPS, date_value().boxed(), None));
        options.push(on(Subject::CourseCompletedAt { course: code }, DATE_OPS, date_value().boxed(), None));
    }
    if !groups.is_empty() {
        let member_of = select(groups)
            .prop_map(|(id, name)| Rule::Condition(Condition::MemberOf(GroupRef { id: Some(id), name })))
            .boxed();
        // Weighted like several subjects: chains through member_of are what cascade.
        options.extend([member_of.clone(), member_of.clone(), member_of]);
    }
    proptest::strategy::Union::new(options).boxed()
}

fn rule(shape: &Shape, groups: Vec<(i64, String)>) -> BoxedStrategy<Rule> {
    condition(shape, groups)
        .prop_recursive(3, 10, 3, |inner| {
            prop_oneof![
                vec(inner.clone(), 2..4).prop_filter_map("an and", Rule::all),
                vec(inner.clone(), 2..4).prop_filter_map("an or", Rule::any),
                inner.prop_map(|r| Rule::Not(Box::new(r))),
            ]
        })
        .boxed()
}

fn group_name(id: i64) -> String {
    if MANUAL.contains(&id) {
        format!("Manual {id}")
    } else {
        format!("Auto {id}")
    }
}

/// A definition as generated: a rule, lists as masks over existing users, a flag.
#[derive(Debug, Clone)]
struct Draft {
    rule: Rule,
    include: u16,
    exclude: u16,
    allow_suspended: bool,
}

fn draft(shape: &Shape, id: i64) -> BoxedStrategy<Draft> {
    let named: Vec<(i64, String)> = MANUAL.iter().copied().chain(10..id).map(|g| (g, group_name(g))).collect();
    // Half the groups after the first name the one before: chains are what cascade.
    let previous = Rule::Condition(Condition::MemberOf(GroupRef { id: Some(id - 1), name: group_name(id - 1) }));
    let chained = id > 10;
    (rule(shape, named), 0..4u8, any::<u16>(), any::<u16>(), proptest::bool::weighted(0.3))
        .prop_map(move |(rule, chain, include, exclude, allow_suspended)| Draft {
            rule: match chain {
                0 if chained => Rule::all(vec![previous.clone(), rule]).unwrap_or_else(|| previous.clone()),
                1 if chained => {
                    Rule::any(vec![Rule::Not(Box::new(previous.clone())), rule]).unwrap_or_else(|| previous.clone())
                }
                _ => rule,
            },
            include: include & 0x0421,
            exclude: exclude & 0x1842,
            allow_suspended,
        })
        .boxed()
}

/// The users of `mask` among those that exist.
fn masked(model: &Model, mask: u16) -> Vec<i64> {
    model.users.keys().enumerate().filter(|(i, _)| *i < 16 && mask & (1 << i) != 0).map(|(_, &id)| id).collect()
}

/// The rule catalog of a model, independently of the engine.
fn rule_catalog(model: &Model) -> rule::Catalog {
    rule::Catalog {
        fields: model.catalog.fields.clone(),
        courses: model.catalog.courses.iter().map(|c| c.code.clone()).collect(),
        branches: model.catalog.branches.iter().map(|b| b.code.clone()).collect(),
        groups: MANUAL.iter().copied().chain(10..20).map(|g| (g, group_name(g))).collect(),
    }
}

fn definition(model: &Model, draft: &Draft) -> AutomaticGroup {
    let rule = compile_tree(&draft.rule, &rule_catalog(model)).unwrap_or_else(|e| panic!("{e}: {}", draft.rule));
    AutomaticGroup {
        rule,
        include: masked(model, draft.include),
        exclude: masked(model, draft.exclude),
        allow_suspended: draft.allow_suspended,
    }
}

/// A whole population: catalog, users, enrollments, groups, and a today.
#[derive(Debug, Clone)]
struct Scenario {
    shape: Shape,
    users: Vec<UserRecord>,
    enrollments: Vec<Vec<Option<EnrollmentRecord>>>,
    manual: Vec<u16>,
    drafts: Vec<Draft>,
    today: NaiveDate,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    shape().prop_flat_map(|shape| {
        let users = proptest::sample::subsequence(IDS.to_vec(), 0..=IDS.len()).prop_flat_map({
            let shape = shape.clone();
            move |ids| ids.into_iter().map(|id| user(&shape, id)).collect::<Vec<_>>()
        });
        let enrollments = vec(vec(enrollment(), shape.courses), IDS.len());
        let drafts: Vec<BoxedStrategy<Draft>> = (10..14).map(|id| draft(&shape, id)).collect();
        (Just(shape), users, enrollments, vec(any::<u16>(), MANUAL.len()), (1..=drafts.len(), drafts), select(todays()))
            .prop_map(|(shape, users, enrollments, manual, (n, mut drafts), today)| {
                drafts.truncate(n);
                Scenario { shape, users, enrollments, manual, drafts, today }
            })
    })
}

fn build(s: &Scenario) -> Model {
    let mut model = Model {
        catalog: catalog(&s.shape),
        users: s.users.iter().map(|u| (u.id, u.clone())).collect(),
        ..Model::default()
    };
    for (u, per_course) in s.users.iter().zip(&s.enrollments) {
        for (c, e) in per_course.iter().enumerate() {
            if let Some(e) = e {
                model.enrollments.insert((u.id, 100 + c as i64), *e);
            }
        }
    }
    for (&id, &mask) in MANUAL.iter().zip(&s.manual) {
        let members: BTreeSet<i64> = masked(&model, mask).into_iter().collect();
        model.groups.insert(id, Group::Manual { name: group_name(id), members });
    }
    for (i, d) in s.drafts.iter().enumerate() {
        let id = 10 + i as i64;
        let definition = definition(&model, d);
        model.groups.insert(id, Group::Automatic { name: group_name(id), definition });
    }
    model
}

/// The reference members of every automatic group.
fn expected(model: &Model, today: NaiveDate) -> BTreeMap<i64, Vec<u32>> {
    model
        .automatic()
        .into_iter()
        .map(|g| {
            let members =
                model.users.keys().filter(|&&u| reference::is_member(model, u, g, today)).map(|&u| u as u32).collect();
            (g, members)
        })
        .collect()
}

/// The reference, the bitmap engine, the per-user engine and the explanations agree.
fn assert_agrees(model: &Model, engine: &Engine, today: NaiveDate) {
    let expected = expected(model, today);
    let evaluation = engine.evaluate_all(today);
    for (g, members) in &expected {
        let moved = evaluation.get(*g).unwrap();
        let before = engine.members(*g).unwrap();
        assert!(moved.joined.is_disjoint(before), "group {g}: a join of a member");
        assert!(moved.left.is_subset(before), "group {g}: a leave of a non-member");
        let got: Vec<u32> = engine.members_after(&evaluation, *g).unwrap().iter().collect();
        assert_eq!(&got, members, "bitmaps, group {g}");
        assert_eq!(moved.member_count, members.len() as u64, "member count, group {g}");
    }
    for &u in model.users.keys() {
        let changes = engine.evaluate_user(u, today).unwrap().changes;
        for (g, members) in &expected {
            let now = members.contains(&(u as u32));
            let was = engine.members(*g).unwrap().contains(u as u32);
            let changed = changes.iter().any(|d| d.group == *g);
            assert_eq!(changed, now != was, "per user, user {u}, group {g}");
            let why = engine.explain(*g, u, today).unwrap();
            assert_eq!(why.member, now, "explain, user {u}, group {g}");
            let Some(Group::Automatic { definition, .. }) = model.groups.get(g) else { unreachable!() };
            assert_eq!(
                why.rule_holds,
                reference::rule_holds(model, u, &definition.rule, today),
                "explain, user {u}, group {g}"
            );
            for (c, condition) in why.conditions.iter().zip(definition.rule.conditions()) {
                assert_eq!(condition.to_string(), c.condition);
                assert_eq!(
                    c.holds,
                    reference::condition_holds(model, u, condition, today),
                    "user {u}, {}",
                    c.condition
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn reference_per_user_and_bitmaps_agree(s in scenario()) {
        let model = build(&s);
        let mut engine = model.engine();
        assert_agrees(&model, &engine, s.today);
        let evaluation = engine.evaluate_all(s.today);
        engine.commit(&evaluation);
        prop_assert!(engine.evaluate_all(s.today).is_unchanged());
        assert_agrees(&model, &engine, s.today);
        assert_restores(&model, &engine, s.today);
    }
}

/// Saved and read back (a start-up from a saved image), the engine is the same engine:
/// its records are the model's users as held, and an engine rebuilt from them and its
/// groups has the same members, evaluations and explanations.
fn assert_restores(model: &Model, engine: &Engine, today: NaiveDate) {
    let saved: BTreeMap<i64, (UserRecord, Vec<(i64, EnrollmentRecord)>)> =
        engine.records().map(|(r, e)| (r.id, (r, e))).collect();
    assert_eq!(saved.len(), model.users.len());
    for (id, user) in &model.users {
        let (record, enrollments) = &saved[id];
        assert_eq!(record, &as_held(user));
        let stored: Vec<(i64, EnrollmentRecord)> =
            model.enrollments.range((*id, i64::MIN)..=(*id, i64::MAX)).map(|(&(_, c), e)| (c, *e)).collect();
        assert_eq!(enrollments, &stored);
    }
    for restored in [restored(engine, &model.catalog), from_population(engine, &model.catalog)] {
        assert!(restored.evaluate_all(today).is_unchanged());
        assert_eq!(engine.automatic_groups(), restored.automatic_groups());
        assert_eq!(engine.users(), restored.users());
        for g in model.groups.keys() {
            assert_eq!(engine.members(*g), restored.members(*g), "group {g}");
            assert_eq!(engine.enrollment_rules(*g), restored.enrollment_rules(*g));
        }
        for &u in model.users.keys() {
            for &g in engine.automatic_groups() {
                assert_eq!(engine.explain(g, u, today).unwrap(), restored.explain(g, u, today).unwrap());
            }
        }
        assert_eq!(engine.records().collect::<Vec<_>>(), restored.records().collect::<Vec<_>>());
    }
}

/// A user as the engine holds it: an empty text is a missing value.
fn as_held(user: &UserRecord) -> UserRecord {
    let present = |t: &Option<String>| t.clone().filter(|t| !t.is_empty());
    UserRecord {
        first_name: present(&user.first_name),
        last_name: present(&user.last_name),
        language: present(&user.language),
        timezone: present(&user.timezone),
        fields: user
            .fields
            .iter()
            .filter(|(_, v)| !matches!(v, FieldValue::Text(t) if t.is_empty()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..user.clone()
    }
}

/// An engine made from another's records and groups, as a start-up from a saved image.
fn restored(engine: &Engine, catalog: &Catalog) -> Engine {
    let mut restored = Engine::new();
    restored.set_catalog(catalog).unwrap();
    let (records, enrollments): (Vec<UserRecord>, Vec<Vec<(i64, EnrollmentRecord)>>) = engine.records().unzip();
    {
        let mut load = restored.bulk_load();
        load.upsert_users(&records).unwrap();
        for (record, enrollments) in records.iter().zip(&enrollments) {
            for (course, e) in enrollments {
                load.set_enrollment(record.id, *course, e).unwrap();
            }
        }
    }
    with_groups_of(engine, restored)
}

/// An engine made from another's population as it holds it (written and read back, as
/// the saved image does) and its groups.
fn from_population(engine: &Engine, catalog: &Catalog) -> Engine {
    let mut written = Writer(Vec::new());
    engine.write_population(&mut written).unwrap();
    let mut restored = Engine::new();
    restored.set_catalog(catalog).unwrap();
    restored.read_population(&mut Reader(&written.0[..])).unwrap();
    with_groups_of(engine, restored)
}

/// `restored` given `engine`'s groups, definitions and members.
fn with_groups_of(engine: &Engine, mut restored: Engine) -> Engine {
    for g in engine.group_images() {
        match &g.automatic {
            Some(definition) => restored.set_automatic_group(g.id, g.name, definition).unwrap(),
            None => restored.set_manual_group(g.id, g.name, &[]).unwrap(),
        }
        restored.load_member_set(g.id, g.members.clone()).unwrap();
        restored.set_enrollment_rules(g.id, g.enrollment_rules.to_vec());
    }
    restored
}

/// One change, as the app would make it.
#[derive(Debug, Clone)]
enum Change {
    Upsert(UserRecord),
    /// Several users written at once, as an import's batch (each once).
    Batch(Vec<UserRecord>),
    /// One attribute of an existing user, taken from a random record.
    Tweak(u8, UserRecord),
    Remove(i64),
    Enroll(i64, usize, Option<EnrollmentRecord>),
    Member(i64, i64, bool),
    Define(i64, Draft),
}

fn change(shape: &Shape) -> BoxedStrategy<Change> {
    let s = shape.clone();
    let courses = shape.courses;
    let drafts: Vec<BoxedStrategy<Change>> =
        (10..14).map(|id| draft(shape, id).prop_map(move |d| Change::Define(id, d)).boxed()).collect();
    prop_oneof![
        2 => select(IDS).prop_flat_map({ let s = s.clone(); move |id| user(&s, id) }).prop_map(Change::Upsert),
        1 => vec(select(IDS).prop_flat_map({ let s = s.clone(); move |id| user(&s, id) }), 2..8).prop_map(Change::Batch),
        4 => (any::<u8>(), select(IDS).prop_flat_map(move |id| user(&s, id))).prop_map(|(which, u)| Change::Tweak(which, u)),
        1 => select(IDS).prop_map(Change::Remove),
        3 => (select(IDS), 0..courses, enrollment()).prop_map(|(u, c, e)| Change::Enroll(u, c, e)),
        2 => (select(MANUAL), select(IDS), any::<bool>()).prop_map(|(g, u, add)| Change::Member(g, u, add)),
        1 => proptest::strategy::Union::new(drafts),
    ]
    .boxed()
}

/// Evaluates what a write changed for a user, checks it against a full evaluation of
/// the user, and commits it, as the app does.
fn commit_change(engine: &mut Engine, change: &UserChange, today: NaiveDate) {
    let scoped = engine.evaluate_change(change, today).unwrap();
    let full = engine.evaluate_user(change.user(), today).unwrap();
    assert_eq!(scoped, full, "{change:?}");
    engine.commit_user(&scoped);
}

/// Applies a change to the model and the engine, evaluating and committing as the app
/// does.
fn apply(model: &mut Model, engine: &mut Engine, change: &Change, today: NaiveDate) {
    match change {
        Change::Upsert(user) => {
            model.users.insert(user.id, user.clone());
            let change = engine.upsert_user(user).unwrap();
            commit_change(engine, &change, today);
        }
        Change::Batch(drawn) => {
            // An import refuses a user named twice; the last of each is kept.
            let mut users: Vec<UserRecord> = Vec::new();
            for user in drawn.iter().rev() {
                if users.iter().all(|u| u.id != user.id) {
                    users.push(user.clone());
                }
            }
            for user in &users {
                model.users.insert(user.id, user.clone());
            }
            for change in engine.upsert_users(&users).unwrap() {
                commit_change(engine, &change, today);
            }
        }
        Change::Tweak(which, template) => {
            let Some(old) = model.users.get(&template.id) else {
                return;
            };
            let mut user = old.clone();
            match which % 8 {
                0 => user.status = template.status,
                1 => user.email.clone_from(&template.email),
                2 => user.branch_id = template.branch_id,
                3 => user.last_login_on = template.last_login_on,
                4 => user.first_name.clone_from(&template.first_name),
                _ => {
                    let code = format!("f{}", usize::from(*which) % model.catalog.fields.len());
                    match template.fields.get(&code) {
                        Some(v) => user.fields.insert(code, v.clone()),
                        None => user.fields.remove(&code),
                    };
                }
            }
            model.users.insert(user.id, user.clone());
            let change = engine.upsert_user(&user).unwrap();
            commit_change(engine, &change, today);
        }
        Change::Remove(id) => {
            let known = model.users.remove(id).is_some();
            assert_eq!(engine.remove_user(*id).is_ok(), known);
            model.enrollments.retain(|(u, _), _| u != id);
            for g in model.groups.values_mut() {
                match g {
                    Group::Manual { members, .. } => {
                        members.remove(id);
                    }
                    Group::Automatic { definition, .. } => {
                        definition.include.retain(|u| u != id);
                        definition.exclude.retain(|u| u != id);
                    }
                }
            }
        }
        Change::Enroll(user, course, record) => {
            if !model.users.contains_key(user) {
                return;
            }
            let course = 100 + *course as i64;
            let change = match record {
                Some(r) => {
                    model.enrollments.insert((*user, course), *r);
                    engine.set_enrollment(*user, course, r).unwrap()
                }
                None => {
                    model.enrollments.remove(&(*user, course));
                    engine.clear_enrollment(*user, course).unwrap()
                }
            };
            commit_change(engine, &change, today);
        }
        Change::Member(group, user, add) => {
            if !model.users.contains_key(user) {
                return;
            }
            if let Some(Group::Manual { members, .. }) = model.groups.get_mut(group) {
                let changes = if *add {
                    members.insert(*user);
                    engine.add_members(*group, &[*user]).unwrap()
                } else {
                    members.remove(user);
                    engine.remove_members(*group, &[*user]).unwrap()
                };
                for change in &changes {
                    commit_change(engine, change, today);
                }
            }
        }
        Change::Define(id, draft) => {
            let definition = definition(model, draft);
            let references_missing = definition.rule.referenced_groups().iter().any(|g| !model.groups.contains_key(g));
            if references_missing {
                return;
            }
            engine.set_automatic_group(*id, &group_name(*id), &definition).unwrap();
            model.groups.insert(*id, Group::Automatic { name: group_name(*id), definition });
            let e = engine.evaluate_groups(&[*id], today).unwrap();
            engine.commit(&e);
        }
    }
}

/// A scenario, changes applied first, and changes applied after.
fn before_and_after() -> impl Strategy<Value = (Scenario, Vec<Change>, Vec<Change>)> {
    scenario().prop_flat_map(|s| {
        let before = vec(change(&s.shape), 0..12);
        let after = vec(change(&s.shape), 1..16);
        (Just(s), before, after)
    })
}

/// The scenario's model and engine, everyone evaluated and committed, then `changes`
/// applied to both.
fn committed_after(s: &Scenario, changes: &[Change]) -> (Model, Engine) {
    let mut model = build(s);
    let mut engine = model.engine();
    let first = engine.evaluate_all(s.today);
    engine.commit(&first);
    for c in changes {
        apply(&mut model, &mut engine, c, s.today);
    }
    (model, engine)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_updates_equal_a_rebuild(
        (s, changes) in scenario().prop_flat_map(|s| {
            let changes = vec(change(&s.shape), 0..24);
            (Just(s), changes)
        })
    ) {
        let mut model = build(&s);
        let mut engine = model.engine();
        let first = engine.evaluate_all(s.today);
        engine.commit(&first);
        for c in &changes {
            apply(&mut model, &mut engine, c, s.today);
        }
        prop_assert!(engine.evaluate_all(s.today).is_unchanged(), "drift after {changes:?}");
        let mut rebuilt = model.engine();
        let evaluation = rebuilt.evaluate_all(s.today);
        rebuilt.commit(&evaluation);
        prop_assert_eq!(engine.automatic_groups(), rebuilt.automatic_groups());
        for g in model.groups.keys() {
            prop_assert_eq!(engine.members(*g), rebuilt.members(*g), "group {}", g);
        }
        prop_assert_eq!(engine.users(), rebuilt.users());
        for &u in model.users.keys() {
            for &g in engine.automatic_groups() {
                prop_assert_eq!(
                    engine.explain(g, u, s.today).unwrap(),
                    rebuilt.explain(g, u, s.today).unwrap()
                );
            }
        }
        assert_agrees(&model, &engine, s.today);
        assert_restores(&model, &engine, s.today);
    }

    /// An engine read back from its population goes on as the one that wrote it: the
    /// changes after the read end where the reference says.
    #[test]
    fn a_read_back_population_takes_further_changes(
        (s, before, after) in before_and_after()
    ) {
        let (mut model, engine) = committed_after(&s, &before);
        let mut engine = from_population(&engine, &model.catalog);
        for c in &after {
            apply(&mut model, &mut engine, c, s.today);
        }
        prop_assert!(engine.evaluate_all(s.today).is_unchanged(), "drift after {before:?} then {after:?}");
        assert_agrees(&model, &engine, s.today);
    }

    /// A clone of the engine takes changes while the original stays as it was (the
    /// image readers hold while a writer works on its copy), and each goes on to take
    /// further changes of its own.
    #[test]
    fn a_written_clone_leaves_the_original_as_it_was(
        (s, before, after) in before_and_after()
    ) {
        let (mut model, mut engine) = committed_after(&s, &before);
        let committed: BTreeMap<i64, Option<Vec<u32>>> =
            model.groups.keys().map(|&g| (g, engine.members(g).map(|m| m.iter().collect()))).collect();
        let original_model = model.clone();
        let mut copy = engine.clone();
        for c in &after {
            apply(&mut model, &mut copy, c, s.today);
        }
        prop_assert!(copy.evaluate_all(s.today).is_unchanged(), "the copy drifted after {after:?}");
        assert_agrees(&model, &copy, s.today);
        for (g, members) in &committed {
            prop_assert_eq!(&engine.members(*g).map(|m| m.iter().collect::<Vec<_>>()), members, "group {}", g);
        }
        prop_assert!(engine.evaluate_all(s.today).is_unchanged(), "the original moved with its copy: {after:?}");
        assert_agrees(&original_model, &engine, s.today);
        drop(copy);
        let mut model = original_model;
        for c in &after {
            apply(&mut model, &mut engine, c, s.today);
        }
        assert_agrees(&model, &engine, s.today);
    }
}
