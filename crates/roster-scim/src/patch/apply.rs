//! Applies PATCH operations to a resource's JSON, following RFC 7644 §3.5.2.1–3.
//!
//! Choices where the RFC leaves room:
//! - `add` or `replace` with a value filter that matches nothing creates the value when the
//!   filter is a conjunction of `eq` (`emails[type eq "work"].value` adds a work email): the
//!   target "does not exist", so the operation is an add (RFC 7644 §3.5.2.3), which is what
//!   Entra ID expects. Any other filter that matches nothing is `noTarget`.
//! - `remove` on a multi-valued attribute with a `value` removes just those values
//!   (`{"op": "remove", "path": "members", "value": [{"value": "id"}]}`, Entra ID's form).
//! - Values already present are not added twice: complex values are the same when their
//!   `value` sub-attribute is (and their `type`, when both have one); the new sub-attributes
//!   are merged into the existing value.
//! - Without a path, each key of the value is read as a path (`name.familyName`,
//!   `emails[type eq "work"].value`, an extension URN, a qualified attribute: Entra ID's
//!   older form) and applied as an operation with that path would be. ReadOnly attributes
//!   are ignored, as in a PUT; with a path, targeting one is `mutability`.
//! - An attribute the resource type does not have is `invalidPath`, with or without a path
//!   and inside an extension's object: a client must not believe a change was made that
//!   was not.
//! - A value made `primary` clears `primary` on the attribute's other values.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{in_operation, PatchOp, PatchOperation, PatchPath};
use crate::error::ScimError;
use crate::filter::eval::{self, Scope};
use crate::filter::{check, CompValue, CompareOp, Filter};
use crate::json::{field_ci, get_ci, is_empty, remove_ci, set_ci};
use crate::schema::{common, Attribute, Mutability, ResourceType, Schema};

/// What an operation acts on.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    /// A whole extension object.
    Extension(&'a Schema),
    /// An attribute, possibly a sub-attribute, possibly some values selected by a filter.
    Attribute {
        /// The extension holding the attribute; `None` at the top level.
        extension: Option<&'a Schema>,
        /// The attribute.
        attribute: &'a Attribute,
        /// The sub-attribute, for `a.b` or `a[filter].b`.
        sub: Option<&'a Attribute>,
        /// The value filter, for `a[filter]`.
        filter: Option<&'a Filter>,
    },
}

pub(super) fn apply(ops: &[PatchOperation], resource: &Value, rt: &ResourceType) -> Result<Value, ScimError> {
    let mut doc =
        resource.as_object().cloned().ok_or_else(|| ScimError::invalid_syntax("the resource must be a JSON object"))?;
    for (i, op) in ops.iter().enumerate() {
        apply_operation(&mut doc, op, rt).map_err(|e| in_operation(i, e))?;
    }
    finish(&mut doc, rt)?;
    Ok(Value::Object(doc))
}

fn apply_operation(doc: &mut Map<String, Value>, op: &PatchOperation, rt: &ResourceType) -> Result<(), ScimError> {
    let value = || {
        op.value.as_ref().ok_or_else(|| ScimError::invalid_value(format!("\"{}\" needs a \"value\"", op.op.as_str())))
    };
    match (&op.path, op.op) {
        (Some(path), verb) => {
            let target = resolve(path, rt)?;
            if is_read_only(&target) {
                return Err(ScimError::mutability(format!("\"{path}\" is read-only")));
            }
            match verb {
                PatchOp::Add => add(doc, &target, value()?),
                PatchOp::Replace => replace(doc, &target, value()?),
                PatchOp::Remove => remove(doc, &target, op.value.as_ref()),
            }
        }
        (None, PatchOp::Remove) => Err(ScimError::no_target("\"remove\" needs a \"path\"")),
        (None, verb) => {
            let object = value()?.as_object().ok_or_else(|| {
                ScimError::invalid_value("without a \"path\", the \"value\" must be an object of attributes")
            })?;
            for (key, v) in object {
                let path = PatchPath::parse(key)?;
                let target = resolve(&path, rt)?;
                if is_read_only(&target) {
                    continue;
                }
                if verb == PatchOp::Add {
                    add(doc, &target, v)?;
                } else {
                    replace(doc, &target, v)?;
                }
            }
            Ok(())
        }
    }
}

fn resolve<'a>(path: &'a PatchPath, rt: &'a ResourceType) -> Result<Target<'a>, ScimError> {
    if path.filter.is_none() {
        if let Some(ext) = rt.extension_named_by(&path.attr) {
            return Ok(Target::Extension(&ext.schema));
        }
    }
    let r = rt
        .resolve(&path.attr)
        .ok_or_else(|| ScimError::invalid_path(format!("\"{path}\": no such attribute on a {}", rt.name())))?;
    match &path.filter {
        Some(filter) => {
            if !(r.attribute.is_complex() && r.attribute.multi_valued) {
                return Err(ScimError::invalid_path(format!(
                    "\"{path}\": only multi-valued complex attributes take a filter"
                )));
            }
            check::check(filter, Scope::Element(r.attribute))
                .map_err(|e| ScimError::invalid_path(format!("\"{path}\": {}", e.detail())))?;
        }
        None if r.sub_attribute.is_some() && r.attribute.multi_valued => {
            return Err(ScimError::invalid_path(format!(
                "\"{path}\": select values of \"{}\" with a filter, e.g. {}[type eq \"work\"].{}",
                r.attribute.name,
                r.attribute.name,
                r.leaf().name
            )));
        }
        None => {}
    }
    Ok(Target::Attribute {
        extension: r.extension,
        attribute: r.attribute,
        sub: r.sub_attribute,
        filter: path.filter.as_ref(),
    })
}

fn is_read_only(target: &Target<'_>) -> bool {
    match target {
        Target::Extension(_) => false,
        Target::Attribute { attribute, sub, .. } => {
            attribute.mutability == Mutability::ReadOnly || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
        }
    }
}

/// Runs `f` on the object holding the attribute: the resource, or an extension object
/// (created when missing, dropped when left empty).
fn in_container<R>(
    doc: &mut Map<String, Value>,
    extension: Option<&Schema>,
    f: impl FnOnce(&mut Map<String, Value>) -> Result<R, ScimError>,
) -> Result<R, ScimError> {
    let Some(ext) = extension else { return f(doc) };
    let mut inner = match remove_ci(doc, &ext.id) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let result = f(&mut inner);
    if !inner.is_empty() {
        doc.insert(ext.id.clone(), Value::Object(inner));
    }
    result
}

fn take_array(container: &mut Map<String, Value>, attribute: &Attribute) -> Vec<Value> {
    match remove_ci(container, &attribute.name) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(single) => vec![single],
    }
}

fn take_object(container: &mut Map<String, Value>, attribute: &Attribute) -> Map<String, Value> {
    match remove_ci(container, &attribute.name) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn put(container: &mut Map<String, Value>, attribute: &Attribute, value: Value) {
    set_ci(container, &attribute.name, value);
}

fn add(doc: &mut Map<String, Value>, target: &Target<'_>, value: &Value) -> Result<(), ScimError> {
    match *target {
        Target::Extension(schema) => each_extension_attribute(doc, schema, value, add_value),
        Target::Attribute { extension, attribute, sub: None, filter: None } => {
            in_container(doc, extension, |c| add_value(c, attribute, value))
        }
        Target::Attribute { extension, attribute, sub: Some(sub), filter: None } => {
            in_container(doc, extension, |c| set_sub_attribute(c, attribute, sub, value))
        }
        Target::Attribute { extension, attribute, sub, filter: Some(filter) } => {
            in_container(doc, extension, |c| update_matching(c, attribute, sub, filter, value, PatchOp::Add))
        }
    }
}

fn replace(doc: &mut Map<String, Value>, target: &Target<'_>, value: &Value) -> Result<(), ScimError> {
    match *target {
        Target::Extension(schema) => each_extension_attribute(doc, schema, value, replace_value),
        Target::Attribute { extension, attribute, sub: None, filter: None } => {
            in_container(doc, extension, |c| replace_value(c, attribute, value))
        }
        Target::Attribute { extension, attribute, sub: Some(sub), filter: None } => {
            in_container(doc, extension, |c| set_sub_attribute(c, attribute, sub, value))
        }
        Target::Attribute { extension, attribute, sub, filter: Some(filter) } => {
            in_container(doc, extension, |c| update_matching(c, attribute, sub, filter, value, PatchOp::Replace))
        }
    }
}

fn remove(doc: &mut Map<String, Value>, target: &Target<'_>, value: Option<&Value>) -> Result<(), ScimError> {
    match *target {
        Target::Extension(schema) => in_container(doc, Some(schema), |c| {
            for a in schema.attributes.iter().filter(|a| a.mutability != Mutability::ReadOnly) {
                remove_ci(c, &a.name);
            }
            Ok(())
        }),
        Target::Attribute { extension, attribute, sub: None, filter: None } => {
            in_container(doc, extension, |c| match value.filter(|v| attribute.multi_valued && !is_empty(v)) {
                Some(listed) => remove_listed_values(c, attribute, listed),
                None => {
                    remove_ci(c, &attribute.name);
                    Ok(())
                }
            })
        }
        Target::Attribute { extension, attribute, sub: Some(sub), filter: None } => in_container(doc, extension, |c| {
            let mut object = take_object(c, attribute);
            remove_ci(&mut object, &sub.name);
            put(c, attribute, Value::Object(object));
            Ok(())
        }),
        Target::Attribute { extension, attribute, sub, filter: Some(filter) } => in_container(doc, extension, |c| {
            let mut items = take_array(c, attribute);
            let hits = matching(attribute, &items, filter);
            if hits.is_empty() {
                put(c, attribute, Value::Array(items));
                return Err(no_match(attribute, filter));
            }
            match sub {
                Some(sub) if sub.mutability == Mutability::Immutable => {
                    return Err(ScimError::mutability(format!("\"{}.{}\" cannot be removed", attribute.name, sub.name)))
                }
                Some(sub) => {
                    for &i in &hits {
                        if let Some(element) = items[i].as_object_mut() {
                            remove_ci(element, &sub.name);
                        }
                    }
                }
                None => {
                    let mut i = 0;
                    items.retain(|_| {
                        i += 1;
                        !hits.contains(&(i - 1))
                    });
                }
            }
            put(c, attribute, Value::Array(items));
            Ok(())
        }),
    }
}

/// `add_value` or `replace_value`: an operation on one attribute of a container.
type AttributeOp = fn(&mut Map<String, Value>, &Attribute, &Value) -> Result<(), ScimError>;

/// Applies `op` to each attribute of an extension given as an object.
fn each_extension_attribute(
    doc: &mut Map<String, Value>,
    schema: &Schema,
    value: &Value,
    op: AttributeOp,
) -> Result<(), ScimError> {
    let object =
        value.as_object().ok_or_else(|| ScimError::invalid_value(format!("\"{}\" takes an object", schema.id)))?;
    in_container(doc, Some(schema), |c| {
        for (key, v) in object {
            let a = schema
                .attribute(key)
                .or_else(|| read_only_common(key))
                .ok_or_else(|| ScimError::invalid_path(format!("\"{}:{key}\": no such attribute", schema.id)))?;
            if a.mutability != Mutability::ReadOnly {
                op(c, a, v)?;
            }
        }
        Ok(())
    })
}

/// A readOnly common attribute (`schemas`, `id`, `meta`): clients that serialize an
/// extension as a resource of its own repeat them inside its object (scim2-client puts
/// `schemas` there), and they are ignored as at the top level.
fn read_only_common(name: &str) -> Option<&'static Attribute> {
    static COMMON: std::sync::LazyLock<Vec<Attribute>> = std::sync::LazyLock::new(common::attributes);
    COMMON.iter().find(|a| a.mutability == Mutability::ReadOnly && a.name.eq_ignore_ascii_case(name))
}

/// `add` on an attribute: append to a multi-valued one, merge into a complex one, set a simple one.
fn add_value(c: &mut Map<String, Value>, attribute: &Attribute, value: &Value) -> Result<(), ScimError> {
    let new = attribute.normalize(value)?;
    if new.is_null() {
        return Ok(());
    }
    if attribute.multi_valued {
        let mut items = take_array(c, attribute);
        let Value::Array(new_items) = new else { return Ok(()) };
        merge_values(attribute, &mut items, new_items);
        put(c, attribute, Value::Array(items));
    } else if attribute.is_complex() {
        let mut object = take_object(c, attribute);
        merge_object(&mut object, new);
        put(c, attribute, Value::Object(object));
    } else {
        put(c, attribute, new);
    }
    Ok(())
}

/// `replace` on an attribute: all values of a multi-valued one; the given sub-attributes
/// of a complex one (others are left unchanged, RFC 7644 §3.5.2.3); a simple one's value.
fn replace_value(c: &mut Map<String, Value>, attribute: &Attribute, value: &Value) -> Result<(), ScimError> {
    let new = attribute.normalize(value)?;
    if attribute.is_complex() && !attribute.multi_valued && !new.is_null() {
        let mut object = take_object(c, attribute);
        merge_object(&mut object, new);
        put(c, attribute, Value::Object(object));
    } else {
        put(c, attribute, new);
    }
    Ok(())
}

/// `a.b` on a single-valued complex attribute.
fn set_sub_attribute(
    c: &mut Map<String, Value>,
    attribute: &Attribute,
    sub: &Attribute,
    value: &Value,
) -> Result<(), ScimError> {
    let new = sub.normalize(value)?;
    let mut object = take_object(c, attribute);
    set_ci(&mut object, &sub.name, new);
    put(c, attribute, Value::Object(object));
    Ok(())
}

/// `a[filter]` and `a[filter].b` for add and replace.
fn update_matching(
    c: &mut Map<String, Value>,
    attribute: &Attribute,
    sub: Option<&Attribute>,
    filter: &Filter,
    value: &Value,
    op: PatchOp,
) -> Result<(), ScimError> {
    let mut items = take_array(c, attribute);
    let mut hits = matching(attribute, &items, filter);
    if hits.is_empty() {
        match seed(filter, attribute) {
            Some(element) => {
                items.push(Value::Object(element));
                hits.push(items.len() - 1);
            }
            None => {
                put(c, attribute, Value::Array(items));
                return Err(no_match(attribute, filter));
            }
        }
    }
    let new = match sub {
        Some(sub) => sub.normalize(value)?,
        None => attribute.normalize_single(value)?,
    };
    for &i in &hits {
        let Some(element) = items[i].as_object_mut() else { continue };
        match (sub, &new) {
            (Some(sub), _) => {
                if sub.mutability == Mutability::Immutable && element.get(&sub.name).is_some_and(|old| *old != new) {
                    return Err(ScimError::mutability(format!(
                        "\"{}.{}\" cannot be changed",
                        attribute.name, sub.name
                    )));
                }
                set_ci(element, &sub.name, new.clone());
            }
            (None, Value::Object(fields)) if op == PatchOp::Add => merge_object(element, Value::Object(fields.clone())),
            (None, Value::Object(fields)) => *element = fields.clone(),
            (None, _) => {
                return Err(ScimError::invalid_value(format!(
                    "\"{}\" values are objects of sub-attributes",
                    attribute.name
                )))
            }
        }
    }
    if let Some(&last) = hits.iter().rev().find(|&&i| is_primary(&items[i])) {
        clear_other_primaries(&mut items, last);
    }
    put(c, attribute, Value::Array(items));
    Ok(())
}

fn no_match(attribute: &Attribute, filter: &Filter) -> ScimError {
    ScimError::no_target(format!("no value of \"{}\" matches [{filter}]", attribute.name))
}

/// The indices of the values a filter selects.
fn matching(attribute: &Attribute, items: &[Value], filter: &Filter) -> Vec<usize> {
    (0..items.len()).filter(|&i| eval::matches(filter, Scope::Element(attribute), &items[i])).collect()
}

/// The value a filter of `eq` conjunctions describes: `type eq "work"` → `{"type": "work"}`.
fn seed(filter: &Filter, attribute: &Attribute) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value } if *value != CompValue::Null => {
            let sub = attribute.sub_attribute(&path.name)?;
            let v = sub.normalize(&value.to_json()).ok()?;
            Some(Map::from_iter([(sub.name.clone(), v)]))
        }
        Filter::And(l, r) => {
            let mut left = seed(l, attribute)?;
            for (k, v) in seed(r, attribute)? {
                if left.get(&k).is_some_and(|old| *old != v) {
                    return None;
                }
                left.insert(k, v);
            }
            Some(left)
        }
        _ => None,
    }
}

fn merge_object(into: &mut Map<String, Value>, from: Value) {
    if let Value::Object(fields) = from {
        for (k, v) in fields {
            set_ci(into, &k, v);
        }
    }
}

/// The identity of a value for de-duplication: a complex value's `value` sub-attribute,
/// or a simple value itself, folded when not caseExact.
fn identity(attribute: &Attribute, element: &Value) -> Option<String> {
    let (definition, v) = if attribute.is_complex() {
        (attribute.sub_attribute("value")?, get_ci(element, "value")?)
    } else {
        (attribute, element)
    };
    Some(match v {
        Value::String(s) if !definition.case_exact => s.to_lowercase(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Two values with the same identity are the same unless both have a different `type`.
fn same_type(a: &Value, b: &Value) -> bool {
    match (get_ci(a, "type").and_then(Value::as_str), get_ci(b, "type").and_then(Value::as_str)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => true,
    }
}

/// Finds values by identity in O(1) (large groups have many members).
struct ValueIndex {
    by_identity: HashMap<String, Vec<usize>>,
}

impl ValueIndex {
    fn new(attribute: &Attribute, items: &[Value]) -> Self {
        let mut by_identity: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(id) = identity(attribute, item) {
                by_identity.entry(id).or_default().push(i);
            }
        }
        Self { by_identity }
    }

    fn find(&self, attribute: &Attribute, items: &[Value], value: &Value) -> Vec<usize> {
        match identity(attribute, value) {
            Some(id) => self
                .by_identity
                .get(&id)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&i| same_type(&items[i], value))
                .collect(),
            None => (0..items.len()).filter(|&i| items[i] == *value).collect(),
        }
    }
}

/// Appends new values, merging those already present.
fn merge_values(attribute: &Attribute, items: &mut Vec<Value>, new_items: Vec<Value>) {
    let mut index = ValueIndex::new(attribute, items);
    let mut primary = None;
    for new in new_items {
        let at = match index.find(attribute, items, &new).first() {
            Some(&i) => {
                if let Some(existing) = items[i].as_object_mut() {
                    merge_object(existing, new);
                }
                i
            }
            None => {
                if let Some(id) = identity(attribute, &new) {
                    index.by_identity.entry(id).or_default().push(items.len());
                }
                items.push(new);
                items.len() - 1
            }
        };
        if is_primary(&items[at]) {
            primary = Some(at);
        }
    }
    if let Some(p) = primary {
        clear_other_primaries(items, p);
    }
}

/// Removes the listed values (Entra ID's `remove` with a `value`).
fn remove_listed_values(c: &mut Map<String, Value>, attribute: &Attribute, listed: &Value) -> Result<(), ScimError> {
    let Value::Array(listed) = attribute.normalize(listed)? else { return Ok(()) };
    let mut items = take_array(c, attribute);
    let index = ValueIndex::new(attribute, &items);
    let mut gone = vec![false; items.len()];
    for value in &listed {
        for i in index.find(attribute, &items, value) {
            gone[i] = true;
        }
    }
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        !gone[i - 1]
    });
    put(c, attribute, Value::Array(items));
    Ok(())
}

fn is_primary(value: &Value) -> bool {
    get_ci(value, "primary").and_then(Value::as_bool) == Some(true)
}

fn clear_other_primaries(items: &mut [Value], keep: usize) {
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep {
            if let Some(object) = item.as_object_mut() {
                remove_ci(object, "primary");
            }
        }
    }
}

/// Drops unassigned values, lists the extensions present in `schemas`, and checks what
/// the schema requires: required attributes present, at most one primary value.
fn finish(doc: &mut Map<String, Value>, rt: &ResourceType) -> Result<(), ScimError> {
    doc.retain(|_, v| !is_empty(v));
    for ext in &rt.extensions {
        if let Some(Value::Object(inner)) = field_ci(doc, &ext.schema.id).cloned() {
            let kept: Map<String, Value> = inner.into_iter().filter(|(_, v)| !is_empty(v)).collect();
            set_ci(doc, &ext.schema.id, Value::Object(kept));
        }
    }
    let schemas: Vec<Value> = rt
        .schema_ids()
        .filter(|id| *id == rt.schema.id || field_ci(doc, id).is_some())
        .map(|id| Value::String(id.to_owned()))
        .collect();
    set_ci(doc, "schemas", Value::Array(schemas));
    for a in rt.schema.attributes.iter().filter(|a| a.required) {
        if field_ci(doc, &a.name).is_none_or(is_empty) {
            return Err(ScimError::invalid_value(format!("\"{}\" is required and cannot be removed", a.name)));
        }
    }
    for a in rt.schema.attributes.iter().filter(|a| a.multi_valued && a.sub_attribute("primary").is_some()) {
        let primaries = field_ci(doc, &a.name)
            .and_then(Value::as_array)
            .map_or(0, |items| items.iter().filter(|v| is_primary(v)).count());
        if primaries > 1 {
            return Err(ScimError::invalid_value(format!("at most one of \"{}\" may be primary", a.name)));
        }
    }
    Ok(())
}
