// Roster admin: the rule editor of an automatic group. The builder (condition sets:
// every condition of a set holds; the group takes every set or any of them) and the text
// form are two views of one rule. Each edit is sent to /admin/json/rules/preview,
// which checks it, answers its canonical text and sets (so each view follows the
// other) and what saving it would do. The server decides what is valid; the tables
// below only choose which pickers to offer (they mirror roster-domain's checker).
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== undefined && v !== null) e.setAttribute(k, v); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function select(attrs, options, value) {
    const s = el("select", attrs);
    options.forEach(([v, label, group]) => {
      const o = el("option", { value: v }, label);
      if (String(v) === String(value)) o.selected = true;
      (group ? group : s).append(o);
    });
    return s;
  }

  // A search box over the courses or groups (kind), asked of the server as one types:
  // the builder never lists them all. `shown` is what the box says for the current
  // choice; onPick gets the chosen {id, label, detail}.
  function searchBox(id, label, kind, shown, onPick) {
    const wrap = el("div", { class: "picker rule-search" });
    const input = el("input", {
      type: "search", id: id, "aria-label": label, role: "combobox", "aria-expanded": "false",
      "aria-controls": id + "-options", "aria-autocomplete": "list", autocomplete: "off",
      placeholder: kind === "courses" ? "Type a course's name or code" : "Type a group's name",
    });
    input.value = shown;
    const list = el("ul", { class: "picker-options", id: id + "-options", role: "listbox" });
    list.hidden = true;
    let options = [];
    let active = -1;
    let seq = 0;
    let timer = null;
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; }
    function highlight(i) {
      active = i;
      $$("li", list).forEach((li, j) => li.setAttribute("aria-selected", j === i ? "true" : "false"));
      const li = $$("li", list)[i];
      if (li && li.id) input.setAttribute("aria-activedescendant", li.id);
    }
    function choose(o) {
      shown = kind === "courses" ? o.label + " (" + o.id + ")" : o.label;
      input.value = shown;
      close();
      onPick(o);
    }
    function render() {
      list.innerHTML = "";
      if (!options.length) list.append(el("li", { class: "none", role: "option", "aria-disabled": "true" }, "No match"));
      options.forEach((o, i) => {
        const li = el("li", { role: "option", id: id + "-option-" + i, "aria-selected": "false" });
        li.append(el("span", { class: "label" }, o.label));
        if (o.detail) li.append(el("span", { class: "detail" }, o.detail));
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(o); });
        list.append(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(options.length ? 0 : -1);
    }
    async function search() {
      const mine = ++seq;
      try {
        const r = await fetch("/admin/json/" + kind + "?q=" + encodeURIComponent(input.value.trim()), { headers: { Accept: "application/json" } });
        if (mine !== seq) return;
        options = r.ok ? await r.json() : [];
        if (kind === "groups") options = options.filter((o) => String(o.id) !== String(catalog.group));
        render();
      } catch (_) { /* offline: leave the list as it is */ }
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 180); });
    input.addEventListener("focus", () => input.select());
    input.addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== input) { close(); input.value = shown; } }, 120));
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown") { ev.preventDefault(); if (list.hidden) search(); else highlight(Math.min(active + 1, options.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter") { ev.preventDefault(); if (!list.hidden && options[active]) choose(options[active]); }
      else if (ev.key === "Escape") { if (!list.hidden) { ev.stopPropagation(); close(); input.value = shown; } }
    });
    wrap.append(input, list);
    return wrap;
  }

  // Which subjects and operators exist comes from the server (the rule checker's own
  // lists, in the catalog below); only their words are the builder's.
  const SUBJECT_LABEL = {
    username: "Username", email: "Email", first_name: "First name", last_name: "Last name", status: "Status",
    language: "Language", timezone: "Time zone", created_at: "Created", last_login_at: "Last login", branch: "Branch",
  };
  const OP_LABEL = {
    "=": "is", "!=": "is not", "<": "is less than", "<=": "is at most", ">": "is more than", ">=": "is at least",
    contains: "contains", not_contains: "does not contain", starts_with: "starts with", not_starts_with: "does not start with",
    ends_with: "ends with", not_ends_with: "does not end with", matches: "matches the pattern", not_matches: "does not match the pattern",
    in: "is one of", not_in: "is none of", between: "is between", is_empty: "is empty", is_not_empty: "is not empty",
    under: "is in or under", not_under: "is not in or under",
  };
  const DATE_LABEL = { "=": "is on", "!=": "is not on", "<": "is before", "<=": "is on or before", ">": "is after", ">=": "is on or after" };
  const COURSE_STATUSES = [["completed", "Completed"], ["in_progress", "In progress"], ["enrolled", "Enrolled"], ["failed", "Failed"], ["not_enrolled", "Not enrolled"]];
  const UNITS = [["day", "days"], ["week", "weeks"], ["month", "months"], ["year", "years"]];

  const catalog = JSON.parse($("#rule-catalog").textContent);
  const STANDARD = catalog.standard.map((s) => [s.name, SUBJECT_LABEL[s.name] || s.name, s.kind]);
  const OPS = catalog.operators;
  const initial = JSON.parse($("#rule-editor-state").textContent);
  const builderEl = $("#builder");
  const textEl = $("#rule-text");
  const errorEl = $("#rule-error");
  const form = $("#rule-form");

  let model = null;
  let mode = initial.mode === "text" ? "text" : "builder";
  let builderAvailable = true;
  let timer = null;
  let seq = 0;
  let lineErrors = {};

  // ---------------------------------------------------------------- the model
  function newLine() { return { negated: false, subject: "", op: "", values: [] }; }

  function fromSets(sets) {
    return {
      match: sets.match === "any" ? "any" : "all",
      sets: sets.sets.map((set) => set.map((sc) => {
        const c = sc.condition;
        if (c.member_of) return { negated: !!sc.negated, subject: "member_of", group: c.member_of, op: "", values: [] };
        return { negated: !!sc.negated, subject: c.subject, field: c.field, course: c.course, op: c.op, values: c.values || [] };
      })),
    };
  }

  function field(code) { return catalog.fields.find((f) => f.code.toLowerCase() === String(code || "").toLowerCase()); }

  function kindOf(line) {
    const std = STANDARD.find((s) => s[0] === line.subject);
    if (std) return std[2];
    switch (line.subject) {
      case "field": { const f = field(line.field); return f ? f.type : "text"; }
      case "course": return "course";
      case "course_enrolled_at": case "course_completed_at": return "date";
      case "member_of": return "member";
      default: return "";
    }
  }

  function arity(op) {
    if (op === "is_empty" || op === "is_not_empty") return 0;
    if (op === "between") return 2;
    if (op === "in" || op === "not_in") return -1;
    return 1;
  }

  function filled(v) {
    if (v === null || v === undefined || v === "") return false;
    if (typeof v === "number") return isFinite(v);
    if (typeof v === "object" && "date" in v) return /^\d{4}-\d{2}-\d{2}$/.test(v.date);
    if (typeof v === "object" && "today" in v) return Number.isInteger(v.today.offset);
    return true;
  }

  function complete(line) {
    if (!line.subject) return false;
    if (line.subject === "member_of") return !!(line.group && line.group.name);
    if (line.subject === "field" && !line.field) return false;
    if (line.subject.startsWith("course") && !line.course) return false;
    if (!line.op) return false;
    const n = arity(line.op);
    if (n >= 0 && line.values.length !== n) return false;
    if (n < 0 && line.values.length < 1) return false;
    return line.values.every(filled);
  }

  function toSets() {
    return {
      match: model.match,
      sets: model.sets.map((set) => set.map((line) => {
        if (line.subject === "member_of") {
          const g = { name: line.group.name };
          if (line.group.id !== undefined && line.group.id !== null && line.group.id !== "") g.id = Number(line.group.id);
          return { negated: line.negated, condition: { member_of: g } };
        }
        const c = { subject: line.subject };
        if (line.subject === "field") c.field = line.field;
        if (line.subject.startsWith("course")) c.course = line.course;
        c.op = line.op;
        if (line.values.length) c.values = line.values;
        return { negated: line.negated, condition: c };
      })),
    };
  }

  // The builder line an error path points at (see ConditionSets::to_rule's shape).
  function lineAt(path) {
    const all = [];
    model.sets.forEach((set, s) => set.forEach((_, l) => all.push([s, l])));
    if (model.match === "all" || model.sets.length === 1) {
      if (all.length === 1) return all[0];
      return path.length ? all[path[0]] : null;
    }
    if (!path.length) return null;
    const s = path[0];
    if (!model.sets[s]) return null;
    if (model.sets[s].length === 1) return [s, 0];
    return path.length > 1 ? [s, path[1]] : null;
  }

  // ---------------------------------------------------------------- value editors
  function defaultValue(kind, op) {
    if (kind === "yes_no") return true;
    if (kind === "status") return { status: "active" };
    if (kind === "course") return { course_status: "completed" };
    if (kind === "date") return { date: "" };
    return null;
  }

  function valueEditor(line, kind, i, id, onChange) {
    const v = line.values[i];
    const set = (value, rerender) => { line.values[i] = value; onChange(rerender); };
    const label = "Value " + (i + 1);
    switch (kind) {
      case "number": {
        const input = el("input", { type: "number", step: "any", id, "aria-label": label, value: typeof v === "number" ? v : "" });
        input.addEventListener("input", () => set(input.value === "" ? null : Number(input.value), false));
        return input;
      }
      case "yes_no": {
        const s = select({ id, "aria-label": label }, [["true", "Yes"], ["false", "No"]], String(v));
        s.addEventListener("change", () => set(s.value === "true", false));
        return s;
      }
      case "status": {
        const s = select({ id, "aria-label": label }, [["active", "Active"], ["suspended", "Suspended"]], v && v.status);
        s.addEventListener("change", () => set({ status: s.value }, false));
        return s;
      }
      case "course": {
        const s = select({ id, "aria-label": label }, [["", "Choose a status…"]].concat(COURSE_STATUSES), v ? v.course_status : "");
        s.addEventListener("change", () => set(s.value ? { course_status: s.value } : null, false));
        return s;
      }
      case "branch": {
        // The searchable tree picker every branch choice uses (admin.js); the select
        // under it holds the value, and is all there is should admin.js be missing.
        const options = [["", "Choose a branch…"]].concat(catalog.branches.map((b) => [b.code, "\u2003".repeat(b.depth) + b.name + " (" + b.code + ")"]));
        const s = select({ id, "aria-label": label }, options, v || "");
        catalog.branches.forEach((b, i) => { s.options[i + 1].dataset.name = b.name; s.options[i + 1].dataset.depth = b.depth; });
        s.addEventListener("change", () => set(s.value || null, false));
        const box = el("div", { class: "value-tree" });
        box.append(s);
        if (window.RosterTreePicker) window.RosterTreePicker(s);
        return box;
      }
      case "dropdown": {
        if (["=", "!=", "in", "not_in"].includes(line.op)) {
          const f = field(line.field);
          const options = [["", "Choose an option…"]].concat((f ? f.options : []).map((o) => [o, o]));
          const s = select({ id, "aria-label": label }, options, v || "");
          s.addEventListener("change", () => set(s.value || null, false));
          return s;
        }
        break;
      }
      case "date": {
        const wrap = el("span", { class: "value-row" });
        const relative = v && typeof v === "object" && "today" in v;
        const how = select({ "aria-label": label + ": a date or relative to today", id }, [["date", "the date"], ["relative", "relative to today"]], relative ? "relative" : "date");
        how.addEventListener("change", () => set(how.value === "relative" ? { today: { offset: 0, unit: "day" } } : { date: "" }, true));
        wrap.append(how);
        if (relative) {
          const amount = Math.abs(v.today.offset);
          const n = el("input", { type: "number", min: "0", step: "1", value: amount, "aria-label": label + ": how many", style: "max-width:6rem" });
          const unit = select({ "aria-label": label + ": unit" }, UNITS, v.today.unit);
          const dir = select({ "aria-label": label + ": before or after today" }, [["-1", "ago"], ["1", "from now"]], v.today.offset > 0 ? "1" : "-1");
          const update = () => {
            const k = parseInt(n.value, 10);
            set({ today: { offset: isNaN(k) ? NaN : k * Number(dir.value), unit: unit.value } }, false);
          };
          n.addEventListener("input", update);
          unit.addEventListener("change", update);
          dir.addEventListener("change", update);
          wrap.append(n, unit, dir);
        } else {
          const d = el("input", { type: "date", value: (v && v.date) || "", "aria-label": label + ": date" });
          d.addEventListener("input", () => set({ date: d.value }, false));
          d.addEventListener("change", () => set({ date: d.value }, false));
          wrap.append(d);
        }
        return wrap;
      }
      default:
        break;
    }
    const input = el("input", { type: "text", id, "aria-label": label, value: typeof v === "string" ? v : "", placeholder: line.op && line.op.includes("matches") ? "a regular expression" : "" });
    input.addEventListener("input", () => set(input.value, false));
    return input;
  }

  function valuesEditor(line, kind, key, onChange) {
    const box = el("div", { class: "values" });
    const n = arity(line.op);
    if (kind === "member" || n === 0 || !line.op) { box.append(el("span", { class: "muted small" }, "")); return box; }
    line.values.forEach((_, i) => {
      const row = el("div", { class: "value-row" });
      if (n === 2 && i === 1) row.append(el("span", { class: "muted" }, "and"));
      row.append(valueEditor(line, kind, i, key + "-v" + i, onChange));
      if (n < 0 && line.values.length > 1) {
        const rm = el("button", { type: "button", class: "button small", "aria-label": "Remove value " + (i + 1) }, "×");
        rm.addEventListener("click", () => { line.values.splice(i, 1); onChange(true); });
        row.append(rm);
      }
      box.append(row);
    });
    if (n < 0) {
      const add = el("button", { type: "button", class: "button small", id: key + "-add-value" }, "+ value");
      add.addEventListener("click", () => { line.values.push(defaultValue(kind, line.op)); onChange(true, key + "-v" + (line.values.length - 1)); });
      box.append(add);
    }
    return box;
  }

  // ---------------------------------------------------------------- rendering
  function subjectOptions() {
    const options = [["", "Choose what to test…"]];
    STANDARD.forEach(([v, l]) => options.push([v, l]));
    catalog.fields.forEach((f) => options.push(["field:" + f.code, f.name]));
    options.push(["course", "Course status"], ["course_enrolled_at", "Course enrollment date"], ["course_completed_at", "Course completion date"], ["member_of", "Member of a group"]);
    return options;
  }

  function subjectKey(line) { return line.subject === "field" ? "field:" + line.field : line.subject; }

  function renderLine(line, s, l) {
    const key = "c-" + s + "-" + l;
    const kind = kindOf(line);
    const div = el("div", { class: "condition", "data-set": s, "data-line": l, role: "group", "aria-label": "Condition " + (l + 1) + " of set " + (s + 1) });
    const changed = (rerender, focus) => { if (rerender) render(focus); schedule(); };

    if (kind === "member") {
      // "is a member of" / "is not a member of" says it in the operator.
      div.append(el("span", { class: "negate-placeholder", "aria-hidden": "true" }));
    } else {
      const negate = select(
        { id: key + "-negate", class: "negate", "aria-label": "Whether users must match condition " + (l + 1) + " of set " + (s + 1) },
        [["match", "Must match"], ["not", "Must not match"]],
        line.negated ? "not" : "match",
      );
      negate.addEventListener("change", () => { line.negated = negate.value === "not"; changed(true, key + "-negate"); });
      div.append(negate);
    }

    const subjectWrap = el("div", { class: "subject-wrap" });
    const subject = select({ id: key + "-subject", "aria-label": "Subject" }, subjectOptions(), subjectKey(line));
    subject.addEventListener("change", () => {
      const v = subject.value;
      line.subject = v.startsWith("field:") ? "field" : v;
      line.field = v.startsWith("field:") ? v.slice(6) : undefined;
      if (!line.subject.startsWith("course")) line.course = undefined;
      const k = kindOf(line);
      line.op = k && k !== "member" ? "=" : "";
      line.values = k && k !== "member" ? [defaultValue(k, "=")] : [];
      if (k === "member") line.group = null;
      changed(true, key + "-subject");
    });
    subjectWrap.append(subject);
    div.append(subjectWrap);
    if (line.subject && line.subject.startsWith("course")) {
      // On a line of its own under the condition, as wide as it: course names are long.
      const known = line.course && catalog.courses.find((c) => c.code.toLowerCase() === line.course.toLowerCase());
      const shown = line.course ? (known ? known.name + " (" + known.code + ")" : line.course) : "";
      const course = searchBox(key + "-course", "Course", "courses", shown, (o) => {
        line.course = o.id;
        if (!known || known.code !== o.id) catalog.courses.push({ code: o.id, name: o.label });
        changed(false);
      });
      course.classList.add("course-pick");
      div.classList.add("has-course");
      div.append(course);
    }

    if (kind === "member") {
      const op = select({ id: key + "-op", "aria-label": "Operator" }, [["in", "is a member of"], ["out", "is not a member of"]], line.negated ? "out" : "in");
      op.addEventListener("change", () => { line.negated = op.value === "out"; changed(false); });
      div.append(op);
      div.append(searchBox(key + "-group", "Group", "groups", line.group ? line.group.name : "", (o) => {
        line.group = { id: o.id, name: o.label };
        changed(false);
      }));
    } else {
      const ops = (OPS[kind] || []).map((o) => [o, (kind === "date" && DATE_LABEL[o]) || OP_LABEL[o]]);
      const op = select({ id: key + "-op", "aria-label": "Operator" }, ops.length ? ops : [["", "—"]], line.op);
      op.disabled = !ops.length;
      op.addEventListener("change", () => {
        const before = arity(line.op);
        line.op = op.value;
        const n = arity(line.op);
        if (n === 0) line.values = [];
        else if (n === 1 || (n < 0 && before === 0)) line.values = [line.values[0] !== undefined ? line.values[0] : defaultValue(kind, line.op)];
        else if (n === 2) line.values = [line.values[0] !== undefined ? line.values[0] : defaultValue(kind, line.op), defaultValue(kind, line.op)];
        changed(true, key + "-op");
      });
      div.append(op);
      div.append(valuesEditor(line, kind, key, changed));
    }

    const remove = el("button", { type: "button", class: "icon-button", "aria-label": "Remove condition " + (l + 1) + " of set " + (s + 1), title: "Remove this condition", id: key + "-remove" }, "×");
    remove.addEventListener("click", () => {
      model.sets[s].splice(l, 1);
      if (!model.sets[s].length) model.sets.splice(s, 1);
      if (!model.sets.length) model.sets.push([newLine()]);
      changed(true);
    });
    div.append(remove);

    const err = lineErrors[s + ":" + l];
    if (err) {
      div.classList.add(err.incomplete ? "incomplete" : "has-error");
      div.append(el("p", { class: "field-error cond-error", role: "alert" }, err.message));
    }
    return div;
  }

  function render(focusId) {
    builderEl.innerHTML = "";
    const several = model.sets.length > 1;
    const matchLine = el("div", { class: "match-line", id: "match-line" });
    if (several) {
      // How sets combine only means something once there are two.
      matchLine.append(el("span", {}, "Users who match"));
      const match = select({ id: "rule-match", "aria-label": "How the sets combine" }, [["all", "every set"], ["any", "at least one set"]], model.match);
      match.addEventListener("change", () => { model.match = match.value; lineErrors = {}; render("rule-match"); schedule(); });
      matchLine.append(match, el("span", {}, "below join the group."));
    } else {
      matchLine.append(el("span", {}, "Users who match all of these conditions join the group."));
    }
    builderEl.append(matchLine);
    model.sets.forEach((set, s) => {
      if (s > 0) builderEl.append(el("div", { class: "set-join", "aria-hidden": "true" }, model.match === "any" ? "OR" : "AND"));
      const box = el("div", { class: "rule-set", role: "group", "aria-label": several ? "Set " + (s + 1) : "Conditions" });
      const head = el("div", { class: "rule-set-head" });
      head.append(el("span", {}, several ? "Set " + (s + 1) + " · all of these conditions" : "Conditions"));
      if (model.sets.length > 1) {
        const rm = el("button", { type: "button", class: "button small", id: "set-" + s + "-remove" }, "Remove set");
        rm.addEventListener("click", () => { model.sets.splice(s, 1); lineErrors = {}; render(); schedule(); });
        head.append(rm);
      }
      box.append(head);
      set.forEach((line, l) => box.append(renderLine(line, s, l)));
      const add = el("button", { type: "button", class: "button small", id: "set-" + s + "-add" }, "+ Add condition");
      add.addEventListener("click", () => { set.push(newLine()); render("c-" + s + "-" + (set.length - 1) + "-subject"); });
      box.append(el("div", { class: "builder-actions" }, undefined));
      box.lastChild.append(add);
      builderEl.append(box);
    });
    const addSet = el("button", { type: "button", class: "button", id: "add-set" }, "+ Add another set of conditions");
    addSet.addEventListener("click", () => { model.sets.push([newLine()]); render("c-" + (model.sets.length - 1) + "-0-subject"); });
    const actions = el("div", { class: "builder-actions" });
    actions.append(addSet);
    builderEl.append(actions);
    // A select that became a tree picker is focused through its search box.
    if (focusId) { const f = document.getElementById(focusId + "-search") || document.getElementById(focusId); if (f) f.focus(); }
  }

  // ---------------------------------------------------------------- modes
  function setMode(next) {
    if (next === "builder" && !builderAvailable) return;
    mode = next;
    $("#mode-builder").setAttribute("aria-selected", String(mode === "builder"));
    $("#mode-text").setAttribute("aria-selected", String(mode === "text"));
    $("#builder-pane").hidden = mode !== "builder";
    $("#text-pane").hidden = mode !== "text";
    if (mode === "builder") render();
  }

  function setBuilderAvailable(yes) {
    builderAvailable = yes;
    $("#mode-builder").disabled = !yes;
    $("#builder-unavailable").hidden = yes;
    $("#mode-builder").title = yes ? "" : "This rule cannot be shown as condition sets";
  }

  // ---------------------------------------------------------------- errors and preview
  function showError(error) {
    lineErrors = {};
    errorEl.hidden = true;
    textEl.removeAttribute("aria-invalid");
    if (!error) return;
    const pos = error.position || {};
    if (mode === "builder" && Array.isArray(pos.path)) {
      const at = lineAt(pos.path);
      if (at) { lineErrors[at[0] + ":" + at[1]] = { message: error.message }; render(document.activeElement && document.activeElement.id); return; }
    }
    errorEl.hidden = false;
    errorEl.textContent = (pos.line ? "Line " + pos.line + ", column " + pos.column + ": " : "") + error.message;
    if (mode === "text") textEl.setAttribute("aria-invalid", "true");
  }

  function showPreview(p) {
    $("#preview-status").textContent = "If you save this rule:";
    $("#preview-body").hidden = false;
    $("#preview-members").textContent = p.member_count;
    $("#preview-join").textContent = "+" + p.join_count;
    $("#preview-leave").textContent = "−" + p.leave_count;
    [["#preview-join-samples", p.join_samples, p.join_count], ["#preview-leave-samples", p.leave_samples, p.leave_count]].forEach(([sel, samples, count]) => {
      const ul = $(sel);
      ul.innerHTML = "";
      if (!samples.length) ul.append(el("li", { class: "muted" }, "Nobody"));
      samples.forEach((u) => { const li = el("li"); li.append(el("a", { href: "/admin/users/" + u.id }, u.username)); ul.append(li); });
      if (count > samples.length) ul.append(el("li", { class: "muted" }, "and " + (count - samples.length) + " more"));
    });
  }

  function previewPending(message) {
    $("#preview-status").textContent = message;
    $("#preview-body").hidden = true;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  }

  async function check() {
    let body;
    if (mode === "builder") {
      const incomplete = model.sets.some((set) => set.some((line) => !complete(line)));
      if (incomplete) { showError(null); previewPending("Complete the conditions to see who would join."); return; }
      body = { group: catalog.group, sets: toSets() };
    } else {
      if (!textEl.value.trim()) { showError(null); previewPending("Write a rule to see who would join."); return; }
      body = { group: catalog.group, text: textEl.value };
    }
    const mine = ++seq;
    $("#preview").setAttribute("aria-busy", "true");
    try {
      const r = await fetch("/admin/json/rules/preview", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), Accept: "application/json" },
        body: JSON.stringify(body),
      });
      if (mine !== seq) return;
      if (r.status === 401) { window.location.reload(); return; }
      const answer = await r.json();
      if (!r.ok) { showError(answer.error); previewPending("Fix the rule to see who would join."); return; }
      showError(null);
      if (mode === "builder") {
        textEl.value = answer.text;
      } else {
        setBuilderAvailable(!!answer.sets);
        if (answer.sets) model = fromSets(answer.sets);
      }
      if (mode === "builder") render(document.activeElement && document.activeElement.id);
      showPreview(answer.preview);
    } catch (_) {
      if (mine === seq) previewPending("The preview is not available right now.");
    } finally {
      if (mine === seq) $("#preview").removeAttribute("aria-busy");
    }
  }

  // ---------------------------------------------------------------- start
  model = initial.sets ? fromSets(initial.sets) : { match: "all", sets: [[newLine()]] };
  setBuilderAvailable(!!initial.sets || !initial.text);
  if (!builderAvailable) mode = "text";
  $("#mode-builder").addEventListener("click", () => setMode("builder"));
  $("#mode-text").addEventListener("click", () => setMode("text"));
  textEl.addEventListener("input", schedule);
  setMode(mode);
  if (initial.error) showError(initial.error);
  if (initial.text || (initial.sets && !initial.error)) check();

  form.addEventListener("submit", (ev) => {
    $("#rule-mode").value = mode;
    if (mode !== "builder") return;
    const bad = {};
    model.sets.forEach((set, s) => set.forEach((line, l) => { if (!complete(line)) bad[s + ":" + l] = { incomplete: true, message: "Complete this condition, or remove it." }; }));
    if (Object.keys(bad).length) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      lineErrors = bad;
      render();
      const first = $(".condition.incomplete select", builderEl);
      if (first) first.focus();
      return;
    }
    $("#rule-sets").value = JSON.stringify(toSets());
  }, true);
})();
