// Roster admin: the little the pages need that HTML alone does not do. Every page
// works without it except the pickers and the upload progress.
(function () {
  "use strict";

  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function humanSize(bytes) {
    if (bytes >= 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, "") + " MB";
    if (bytes >= 1024) return Math.ceil(bytes / 1024) + " KB";
    return bytes + " bytes";
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---------------------------------------------------------------- menus
  function initMenus() {
    const menus = $$("details.menu");
    document.addEventListener("click", (ev) => {
      menus.forEach((m) => { if (m.open && !m.contains(ev.target)) m.open = false; });
    });
    menus.forEach((m) => {
      m.addEventListener("toggle", () => {
        if (m.open) {
          menus.forEach((o) => { if (o !== m) o.open = false; });
          const first = $("[role=menuitem]", m);
          if (first) first.focus();
        }
      });
      m.addEventListener("keydown", (ev) => {
        const items = $$("[role=menuitem]", m);
        const i = items.indexOf(document.activeElement);
        if (ev.key === "Escape") { m.open = false; $("summary", m).focus(); }
        else if (ev.key === "ArrowDown" && items.length) { ev.preventDefault(); items[(i + 1) % items.length].focus(); }
        else if (ev.key === "ArrowUp" && items.length) { ev.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
      });
      $$("[role=menuitem]", m).forEach((item) => item.addEventListener("click", () => { m.open = false; }));
    });
  }

  // ---------------------------------------------------------------- right panels
  const FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
  let openPanel = null;
  let opener = null;

  function showPanel(panel, from) {
    if (openPanel && openPanel !== panel) hidePanel();
    openPanel = panel;
    opener = from || document.activeElement;
    panel.hidden = false;
    const backdrop = $(".backdrop");
    if (backdrop) backdrop.hidden = false;
    const first = $("input:not([type=hidden]):not(.visually-hidden-input), select, textarea", panel) || $("button", panel);
    if (first) first.focus();
  }

  function hidePanel() {
    if (!openPanel) return;
    openPanel.hidden = true;
    openPanel = null;
    const backdrop = $(".backdrop");
    if (backdrop) backdrop.hidden = true;
    if (opener && opener.focus) opener.focus();
  }

  function initPanels() {
    $$("[data-open-panel]").forEach((a) => a.addEventListener("click", (ev) => {
      const panel = document.getElementById(a.dataset.openPanel);
      if (!panel) return;
      ev.preventDefault();
      const menu = a.closest("details.menu");
      showPanel(panel, menu ? $("summary", menu) : a);
    }));
    $$("[data-close-panel]").forEach((a) => a.addEventListener("click", (ev) => { ev.preventDefault(); hidePanel(); }));
    const backdrop = $(".backdrop");
    if (backdrop) backdrop.addEventListener("click", hidePanel);
    document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && openPanel) hidePanel(); });
    // An open panel keeps the keyboard: Tab and Shift+Tab go round its own controls.
    document.addEventListener("keydown", (ev) => {
      if (ev.key !== "Tab" || !openPanel) return;
      const stops = $$(FOCUSABLE, openPanel).filter((e) => e.getClientRects().length || e.classList.contains("visually-hidden-input"));
      if (!stops.length) return;
      const first = stops[0], last = stops[stops.length - 1];
      const inside = openPanel.contains(document.activeElement);
      if (ev.shiftKey && (!inside || document.activeElement === first)) { ev.preventDefault(); last.focus(); }
      else if (!ev.shiftKey && (!inside || document.activeElement === last)) { ev.preventDefault(); first.focus(); }
    });
    document.addEventListener("focusin", (ev) => {
      if (openPanel && !openPanel.contains(ev.target)) { const stop = $(FOCUSABLE, openPanel); if (stop) stop.focus(); }
    });
    const open = $$(".panel").find((p) => !p.hidden);
    if (open) showPanel(open, null);
  }

  // ---------------------------------------------------------------- small behaviours
  function initForms() {
    $$("[data-autosubmit]").forEach((input) => input.addEventListener("change", () => {
      const form = input.form;
      if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
    }));
    $$("form[data-confirm]").forEach((form) => form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    }));
    $$("[data-confirm-click]").forEach((b) => b.addEventListener("click", (ev) => {
      if (!window.confirm(b.dataset.confirmClick)) ev.preventDefault();
    }));
    // Long actions: the button says the work is under way, and cannot be sent twice.
    $$("form[method=post]").forEach((form) => form.addEventListener("submit", (ev) => {
      if (ev.defaultPrevented || form.dataset.js) return;
      const button = ev.submitter || $("button[type=submit]", form);
      if (button) { setTimeout(() => { button.classList.add("busy"); button.disabled = true; }, 0); }
    }));
    // A part of a form that only one choice of a select needs (a dropdown's options).
    $$("select[data-toggles]").forEach((select) => {
      const part = document.getElementById(select.dataset.toggles);
      const sync = () => { if (part) part.hidden = select.value !== select.dataset.toggleValue; };
      select.addEventListener("change", sync);
      sync();
    });
    // "Select every member on this page" ticks the boxes of its list.
    $$("[data-select-all]").forEach((all) => {
      const boxes = () => $$("input[type=checkbox][name='" + all.dataset.selectAll + "']");
      all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
    });
    $$("form.bulk-bar").forEach((form) => form.addEventListener("submit", (ev) => {
      if (!$$("input[type=checkbox][form='" + form.id + "']:checked").length) {
        ev.preventDefault();
        ev.stopImmediatePropagation();
        window.alert("Tick the members to remove first.");
      }
    }, true));
    $$("[data-dismiss]").forEach((b) => b.addEventListener("click", () => { b.parentElement.hidden = true; }));
    // An error beside a field goes once the field is edited.
    $$(".field.invalid").forEach((field) => field.addEventListener("input", () => {
      field.classList.remove("invalid");
      $$("[aria-invalid]", field).forEach((i) => i.removeAttribute("aria-invalid"));
      $$(".field-error", field).forEach((e) => { e.hidden = true; });
    }, { once: true }));
  }

  // ---------------------------------------------------------------- search-as-you-type pickers
  function initPicker(root) {
    const kind = root.dataset.picker;
    const name = root.dataset.name;
    const single = root.hasAttribute("data-single");
    const exclude = root.dataset.exclude || "";
    const input = $("input[type=search]", root);
    const list = $(".picker-options", root);
    const chips = $(".chips", root);
    let options = [];
    let active = -1;
    let timer = null;
    let seq = 0;

    const selected = () => $$("input[type=hidden]", chips).map((h) => h.value);
    // Chips the page came with (a form shown again, a saved choice) can be removed too.
    $$("li button", chips).forEach((b) => b.addEventListener("click", () => { b.closest("li").remove(); input.focus(); }));

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(i) {
      active = i;
      $$("li", list).forEach((li, j) => li.setAttribute("aria-selected", j === i ? "true" : "false"));
      const li = $$("li", list)[i];
      if (li) { input.setAttribute("aria-activedescendant", li.id); li.scrollIntoView({ block: "nearest" }); }
    }

    function choose(option) {
      if (single) chips.innerHTML = "";
      if (selected().includes(String(option.id))) { input.value = ""; close(); return; }
      const chip = el("li");
      chip.append(el("span", {}, option.label));
      const hidden = el("input", { type: "hidden", name: name, value: option.id });
      const remove = el("button", { type: "button", "aria-label": "Remove " + option.label }, "×");
      remove.addEventListener("click", () => { chip.remove(); input.focus(); });
      chip.append(hidden, remove);
      chips.append(chip);
      input.value = "";
      close();
      input.focus();
    }

    function render() {
      list.innerHTML = "";
      const shown = options.filter((o) => String(o.id) !== exclude && !selected().includes(String(o.id)));
      if (!shown.length) {
        list.append(el("li", { class: "none", role: "option", "aria-disabled": "true" }, "No match"));
      }
      shown.forEach((o, i) => {
        const li = el("li", { role: "option", id: list.id + "-" + i, "aria-selected": "false" });
        li.append(el("span", { class: "label" }, o.label));
        if (o.detail) li.append(el("span", { class: "detail" }, o.detail));
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(o); });
        list.append(li);
      });
      options = shown;
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(shown.length ? 0 : -1);
    }

    async function search() {
      const q = input.value.trim();
      const mine = ++seq;
      try {
        const r = await fetch("/admin/json/" + kind + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } });
        if (mine !== seq) return;
        if (r.status === 401) { window.location.reload(); return; }
        options = r.ok ? await r.json() : [];
        render();
      } catch (_) { /* offline: leave the list as it is */ }
    }

    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 180); });
    input.addEventListener("focus", () => { if (!input.value) search(); });
    input.addEventListener("blur", () => setTimeout(close, 120));
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown") { ev.preventDefault(); if (list.hidden) search(); else highlight(Math.min(active + 1, options.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter") { if (!list.hidden && options[active]) { ev.preventDefault(); choose(options[active]); } }
      else if (ev.key === "Escape") { if (!list.hidden) { ev.stopPropagation(); close(); } }
    });
    const form = root.closest("form");
    if (form) form.addEventListener("submit", (ev) => {
      if (!selected().length && !root.hasAttribute("data-optional")) {
        ev.preventDefault();
        ev.stopImmediatePropagation();
        input.focus();
        input.setAttribute("aria-invalid", "true");
        let hint = $(".field-error", root);
        if (!hint) { hint = el("p", { class: "field-error", role: "alert" }); root.append(hint); }
        hint.textContent = "Pick " + (single ? "a" : "at least one") + " " + ({ groups: "group", courses: "course" }[kind] || "user") + " from the list.";
      }
    }, true);
  }

  // ---------------------------------------------------------------- branch tree picker
  // A <select data-tree-picker> of branches (options with data-name and data-depth)
  // becomes a search box over the org chart: matches are shown with the branches
  // above them, indented as in the tree. The select stays the form's value. A
  // <select multiple> shows its branches as chips under the box, each removable; a
  // branch is added by picking it. Every branch screen, form and the rule builder use
  // it (the builder through window.RosterTreePicker).
  function initTreePicker(select) {
    const multiple = select.multiple;
    const blank = !multiple && select.options[0] && !select.options[0].value ? select.options[0].textContent.trim() : null;
    const nodes = Array.from(select.options).filter((o) => o.value).map((o) => ({
      value: o.value, name: o.dataset.name || o.textContent.trim(), depth: Number(o.dataset.depth || 0), option: o,
    }));
    nodes.forEach((n, i) => { let j = i - 1; while (j >= 0 && nodes[j].depth >= n.depth) j--; n.parent = j; });
    const top = nodes.length ? Math.min(...nodes.map((n) => n.depth)) : 0;
    const hint = multiple ? "Type a branch's name or code to add it" : "Type a branch's name or code";
    const wrap = el("div", { class: "tree-picker" });
    const input = el("input", {
      type: "search", id: select.id + "-search", role: "combobox", "aria-autocomplete": "list",
      "aria-expanded": "false", "aria-controls": select.id + "-tree", autocomplete: "off", placeholder: hint,
    });
    const list = el("ul", { role: "listbox", id: select.id + "-tree", class: "tree-options", "aria-label": "Branches" });
    list.hidden = true;
    const label = select.id && document.querySelector("label[for='" + select.id + "']");
    if (label) label.htmlFor = input.id;
    else if (select.getAttribute("aria-label")) input.setAttribute("aria-label", select.getAttribute("aria-label"));
    if (select.getAttribute("aria-describedby")) input.setAttribute("aria-describedby", select.getAttribute("aria-describedby"));
    if (select.required) input.setAttribute("aria-required", "true");
    select.hidden = true;
    select.tabIndex = -1;
    select.after(wrap);
    wrap.append(input, list);
    const chips = multiple ? el("ul", { class: "chips", id: select.id + "-chosen", "aria-label": "Chosen branches" }) : null;
    if (chips) wrap.append(chips);
    let shown = [];
    let active = -1;

    const labelOf = (value) => {
      const n = nodes.find((x) => x.value === value);
      return n ? n.name + " (" + n.value + ")" : "";
    };
    const showValue = () => {
      if (multiple) { input.value = ""; return; }
      input.value = labelOf(select.value);
      input.placeholder = select.value ? hint : (blank || hint);
    };
    function showChips() {
      if (!chips) return;
      chips.innerHTML = "";
      nodes.filter((n) => n.option.selected).forEach((n) => {
        const chip = el("li");
        chip.append(el("span", {}, labelOf(n.value)));
        const remove = el("button", { type: "button", "aria-label": "Remove " + labelOf(n.value) }, "×");
        remove.addEventListener("click", () => { n.option.selected = false; changed(); input.focus(); });
        chip.append(remove);
        chips.append(chip);
      });
    }
    function changed() {
      select.dispatchEvent(new Event("change", { bubbles: true }));
      showChips();
    }
    showValue();
    showChips();

    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; }
    function highlight(i) {
      active = i;
      shown.forEach((s, j) => s.li.setAttribute("aria-selected", j === i ? "true" : "false"));
      if (shown[i]) { input.setAttribute("aria-activedescendant", shown[i].li.id); shown[i].li.scrollIntoView({ block: "nearest" }); }
    }
    function pick(value) {
      if (multiple) {
        const n = nodes.find((x) => x.value === value);
        if (n) n.option.selected = true;
      } else {
        select.value = value;
      }
      changed();
      showValue();
      close();
    }
    function render() {
      const needle = input.value.trim().toLowerCase();
      const current = multiple ? "" : labelOf(select.value).toLowerCase();
      const q = needle === current ? "" : needle;
      // A chosen branch of a multiple picker is not offered again, but still shows as
      // the context of the branches under it.
      const match = nodes.map((n) => (!multiple || !n.option.selected) && (!q || n.name.toLowerCase().includes(q) || n.value.toLowerCase().includes(q)));
      const keep = match.slice();
      match.forEach((m, i) => { if (m) { let p = nodes[i].parent; while (p >= 0 && !keep[p]) { keep[p] = true; p = nodes[p].parent; } } });
      list.innerHTML = "";
      shown = [];
      const add = (value, text, detail, depth, context) => {
        const li = el("li", { role: "option", id: list.id + "-" + shown.length, "aria-selected": "false", style: "--depth: " + depth });
        if (context) { li.classList.add("context"); li.setAttribute("aria-disabled", "true"); }
        li.append(el("span", { class: "label" }, text));
        if (detail) li.append(el("span", { class: "code" }, detail));
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); if (!(multiple && context)) pick(value); });
        list.append(li);
        shown.push({ li: li, value: value, match: !context });
      };
      if (blank && !q) add("", blank, "", 0, false);
      nodes.forEach((n, i) => { if (keep[i]) add(n.value, n.name, n.value, n.depth - top, !match[i]); });
      if (!shown.length) list.append(el("li", { class: "none", role: "option", "aria-disabled": "true" }, "No branch matches"));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(shown.findIndex((s) => s.match && (q || multiple || s.value === select.value)));
    }
    // In a multiple picker only a branch not yet chosen can be picked.
    const pickable = (i) => !multiple || (shown[i] && shown[i].match);
    function step(from, by) {
      let i = from + by;
      while (i >= 0 && i < shown.length && !pickable(i)) i += by;
      return i >= 0 && i < shown.length ? i : from;
    }
    input.addEventListener("input", render);
    input.addEventListener("focus", () => input.select());
    input.addEventListener("click", render);
    input.addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== input) { close(); showValue(); } }, 120));
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown") { ev.preventDefault(); if (list.hidden) render(); else highlight(step(active, 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(step(active, -1)); }
      // Enter picks; with the list open it never sends the form, even with nothing to pick.
      else if (ev.key === "Enter") { if (!list.hidden) { ev.preventDefault(); if (shown[active] && pickable(active)) pick(shown[active].value); } }
      else if (ev.key === "Escape") { if (!list.hidden) { ev.stopPropagation(); close(); showValue(); } }
    });
  }
  window.RosterTreePicker = initTreePicker;

  // ---------------------------------------------------------------- file drop zones
  function initDropzone(zone, input, onFile) {
    ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (ev) => { ev.preventDefault(); zone.classList.add("dragging"); }));
    ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("dragging")));
    zone.addEventListener("drop", (ev) => {
      ev.preventDefault();
      const file = ev.dataTransfer && ev.dataTransfer.files[0];
      if (file) onFile(file);
    });
    input.addEventListener("change", () => { if (input.files[0]) onFile(input.files[0]); });
  }

  function tooLarge(file, form) {
    const max = Number(form.dataset.maxBytes);
    if (file.size <= max) return null;
    return "The file is " + humanSize(file.size) + "; the limit is " + form.dataset.maxLabel + ". Split it into smaller files.";
  }

  // ---------------------------------------------------------------- group association by CSV
  function initCsv(form) {
    const input = $("#csv-file", form);
    const zone = $("#csv-dropzone", form);
    const error = $("#csv-file-error", form);
    const name = $("#csv-file-name", form);
    const progress = $("#csv-progress", form);
    const result = $("#csv-result", form);
    const button = $("#csv-upload", form);
    let file = null;
    form.dataset.js = "1";

    async function pick(f) {
      file = f;
      name.textContent = f.name + " · " + humanSize(f.size);
      let problem = tooLarge(f, form);
      if (!problem && f.size === 0) problem = "“" + f.name + "” is empty: it has no header row and no users.";
      if (!problem) problem = notText(f.name, new Uint8Array(await f.slice(0, 64 * 1024).arrayBuffer()));
      error.hidden = !problem;
      error.textContent = problem || "";
      zone.setAttribute("aria-invalid", problem ? "true" : "false");
      button.disabled = !!problem;
      result.innerHTML = "";
    }
    initDropzone(zone, input, pick);

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!file) { error.hidden = false; error.textContent = "Choose a CSV file first: drop it on the area above or click it."; return; }
      if (tooLarge(file, form)) return;
      const data = new FormData();
      data.append("csrf", csrf());
      $$("input[type=checkbox]:checked", form).forEach((c) => data.append(c.name, c.value));
      data.append("file", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("X-Fragment", "1");
      const bar = $("progress", progress);
      const label = $("span", progress);
      progress.hidden = false;
      bar.value = 0;
      label.textContent = "Uploading…";
      button.disabled = true;
      button.classList.add("busy");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.upload.addEventListener("load", () => { bar.removeAttribute("value"); label.textContent = "Checking the rows…"; });
      xhr.addEventListener("loadend", () => {
        progress.hidden = true;
        button.disabled = false;
        button.classList.remove("busy");
        if (xhr.status === 0) { result.innerHTML = ""; result.append(el("p", { class: "form-error", role: "alert" }, "The upload failed: the server could not be reached.")); return; }
        result.innerHTML = xhr.responseText;
        result.scrollIntoView({ block: "nearest" });
      });
      xhr.send(data);
    });
  }

  // ---------------------------------------------------------------- user import
  // Header names compared as the server compares them: lowercase, without spaces,
  // "-", "_", "." or a byte order mark, accents folded.
  const FOLDED = { "æ": "ae", "œ": "oe", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ı": "i" };
  function normalizeHeader(name) {
    return Array.from(name.toLowerCase())
      .filter((c) => !/\s/.test(c) && !"-_.\uFEFF".includes(c))
      .map((c) => FOLDED[c] || c.normalize("NFD").replace(/[\u0300-\u036f]/g, ""))
      .join("");
  }

  // Why a file is not a CSV text, or null. Looks at its first bytes only.
  function notText(name, bytes) {
    const starts = (...sig) => sig.every((b, i) => bytes[i] === b);
    if (starts(0x50, 0x4b, 0x03, 0x04)) return "“" + name + "” is a workbook or an archive, not a CSV file. In the spreadsheet, use Save as → CSV (UTF-8), then choose that file.";
    if (starts(0x25, 0x50, 0x44, 0x46)) return "“" + name + "” is a PDF document, not a CSV file. Choose a CSV file (text, one user a line).";
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
    if (utf16) return null;
    // Text has no NUL byte and hardly any control character; images and documents do.
    let control = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0) { control = bytes.length; break; }
      if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) control++;
    }
    if (control > 0 && control * 100 >= bytes.length) {
      return "“" + name + "” is not a CSV file: it holds binary data, as an image or a document does. Choose a CSV file (text, one user a line).";
    }
    return null;
  }

  function readHeader(file) {
    // The header row only: enough to resolve the mapping before anything is uploaded.
    return file.slice(0, 64 * 1024).arrayBuffer().then((buf) => {
      const bytes = new Uint8Array(buf);
      const refused = notText(file.name, bytes);
      if (refused) return { refused: refused };
      let encoding = "utf-8";
      if (bytes[0] === 0xff && bytes[1] === 0xfe) encoding = "utf-16le";
      else if (bytes[0] === 0xfe && bytes[1] === 0xff) encoding = "utf-16be";
      let text;
      try { text = new TextDecoder(encoding, { fatal: encoding === "utf-8" }).decode(bytes); }
      catch (_) { text = new TextDecoder("windows-1252").decode(bytes); }
      text = text.replace(/^\uFEFF/, "");
      const line = text.split(/\r\n|\n|\r/)[0] || "";
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(line)) {
        return { refused: "“" + file.name + "” is not a CSV file: its first line holds characters that no text has. Choose a CSV file (text, one user a line)." };
      }
      const counts = [",", ";", "\t"].map((d) => [d, line.split(d).length]);
      const delimiter = counts.sort((a, b) => b[1] - a[1])[0][0];
      const cells = [];
      let cell = "", quoted = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (quoted) {
          if (c === '"' && line[i + 1] === '"') { cell += '"'; i++; }
          else if (c === '"') quoted = false;
          else cell += c;
        } else if (c === '"') quoted = true;
        else if (c === delimiter) { cells.push(cell.trim()); cell = ""; }
        else cell += c;
      }
      cells.push(cell.trim());
      return { headers: cells.filter((c) => c.length) };
    });
  }

  // What each column fills, as the server will decide it: the choices made first, then
  // each other column by its header; two columns naming one field fill neither.
  // Returns [{target, by}] in column order; by is "chosen", "header", "ambiguous" or null.
  function resolveColumns(headers, choices, targets) {
    const out = headers.map((_, i) => choices[i] ? { target: choices[i], by: "chosen" } : { target: null, by: null });
    const taken = new Set(out.filter((c) => c.target && c.target !== "ignore").map((c) => c.target));
    const byTarget = new Map();
    headers.forEach((h, i) => {
      if (out[i].by) return;
      const n = normalizeHeader(h);
      const t = targets.find((t) => (t.headers || []).includes(n));
      if (!t || taken.has(t.value)) return;
      if (!byTarget.has(t.value)) byTarget.set(t.value, []);
      byTarget.get(t.value).push(i);
    });
    byTarget.forEach((columns, target) => {
      columns.forEach((i) => { out[i] = { target: target, by: columns.length === 1 ? "header" : "ambiguous" }; });
    });
    return out;
  }

  function initImport(form) {
    const targets = JSON.parse($("#import-targets").textContent);
    const labels = Object.fromEntries(targets.map((t) => [t.value, t.label]));
    const input = $("#import-file", form);
    const zone = $("#import-dropzone", form);
    const fileError = $("#import-file-error", form);
    const table = $("#mapping-table tbody", form);
    const unmappedNote = $("#mapping-unmapped", form);
    const check = $("#import-check", form);
    const run = $("#import-run", form);
    const progress = $("#import-progress", form);
    const bar = $("#import-progress-bar", form);
    const progressText = $("#import-progress-text", form);
    const error = $("#import-error", form);
    const result = $("#import-result", form);
    let file = null;
    let checkedOk = false;
    // Choices made by hand, by normalised header: they outlive the file they were made
    // for, so a corrected file chosen again keeps them.
    const manual = {};

    function reset() {
      checkedOk = false;
      run.disabled = true;
      result.hidden = true;
      error.hidden = true;
    }

    function showResolved() {
      const rows = $$("tr", table);
      const headers = rows.map((tr) => tr.dataset.header);
      const choices = rows.map((tr) => $("select", tr).value);
      const resolved = resolveColumns(headers, choices, targets);
      const skipped = [];
      rows.forEach((tr, i) => {
        const r = resolved[i];
        const cell = $(".resolved", tr);
        const auto = $("select option[value='']", tr);
        cell.innerHTML = "";
        tr.classList.toggle("unmapped", !r.target);
        if (r.by === "ambiguous") {
          auto.textContent = "Automatic: unclear";
          cell.append(el("span", { class: "badge warn" }, "Unclear"), document.createTextNode(" Another column could also be " + labels[r.target] + ": choose which one fills it."));
          skipped.push(headers[i]);
        } else if (!r.target) {
          auto.textContent = "Automatic: not matched";
          cell.append(el("span", { class: "badge warn" }, "Not imported"), document.createTextNode(" No field has this name: choose one, or “Do not import”."));
          skipped.push(headers[i]);
        } else if (r.target === "ignore") {
          cell.textContent = "Not imported, as you chose";
        } else {
          auto.textContent = "Automatic: " + labels[r.target];
          cell.textContent = labels[r.target] + (r.by === "chosen" ? ", as you chose" : ", from the header");
        }
      });
      unmappedNote.hidden = !skipped.length;
      unmappedNote.textContent = skipped.length === 1
        ? "1 column is not matched to any field and would not be imported: " + skipped[0] + "."
        : skipped.length + " columns are not matched to any field and would not be imported: " + skipped.join(", ") + ".";
      const has = (t) => resolved.some((r) => r.target === t);
      const missing = !has("username") ? "No column fills Username, which every import needs: choose one." : null;
      $("#mapping-missing", form).hidden = !missing;
      $("#mapping-missing", form).textContent = missing || "";
    }

    async function pick(f) {
      file = f;
      $("#import-file-name", form).textContent = f.name + " · " + humanSize(f.size);
      reset();
      const hide = () => { $("#step-mapping").hidden = true; $("#step-run").hidden = true; };
      let problem = tooLarge(f, form);
      if (!problem && f.size === 0) problem = "“" + f.name + "” is empty: it has no header row and no users.";
      const read = problem ? null : await readHeader(f);
      if (read && read.refused) problem = read.refused;
      fileError.hidden = !problem;
      fileError.textContent = problem || "";
      zone.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem) { file = null; hide(); return; }
      table.innerHTML = "";
      read.headers.forEach((h, i) => {
        const tr = el("tr", { "data-header": h });
        tr.append(el("th", { scope: "row" }, h));
        const td = el("td");
        const select = el("select", { "aria-label": "Field for the column " + h, id: "map-" + i, class: "map-select" });
        select.append(el("option", { value: "" }, "Automatic"));
        targets.forEach((t) => select.append(el("option", { value: t.value }, t.label)));
        select.append(el("option", { value: "ignore" }, "Do not import"));
        const kept = manual[normalizeHeader(h)];
        if (kept !== undefined) select.value = kept;
        select.addEventListener("change", () => { manual[normalizeHeader(h)] = select.value; reset(); showResolved(); });
        td.append(select);
        tr.append(td, el("td", { class: "resolved" }, "—"));
        table.append(tr);
      });
      showResolved();
      $("#step-mapping").hidden = false;
      $("#step-run").hidden = false;
    }
    initDropzone(zone, input, pick);
    $$("select", $("#step-file")).forEach((s) => s.addEventListener("change", reset));

    function query(dryRun) {
      const p = new URLSearchParams();
      p.append("mode", $("#import-mode").value);
      p.append("empty", $("#import-empty").value);
      if ($("#import-dates").value) p.append("date_order", $("#import-dates").value);
      $$("tr", table).forEach((tr) => {
        const target = $("select", tr).value;
        if (target) p.append("map", tr.dataset.header + "=" + target);
      });
      if (dryRun) p.append("dry_run", "true");
      return p.toString();
    }

    function setProgress(percent, text) {
      progress.hidden = false;
      if (percent === null) bar.removeAttribute("value"); else bar.value = percent;
      progressText.textContent = text;
    }

    const phases = { queued: "Waiting to start…", checking: "Checking the rows…", waiting: "Waiting for other changes to finish…", applying: "Importing the users…", evaluating: "Updating automatic groups…", done: "Done" };

    function show(job) {
      const resolved = {};
      (job.mapping || []).forEach((m) => {
        resolved[m.header] = m.target === "ignore" ? "Not imported, as you chose" : (labels[m.target] || m.target) + (m.by === "explicit" ? ", as you chose" : ", from the header");
      });
      $$("tr", table).forEach((tr) => { if (resolved[tr.dataset.header]) $(".resolved", tr).textContent = resolved[tr.dataset.header]; });
      const c = job.counts || {};
      ["rows", "created", "updated", "unchanged", "errors", "joined"].forEach((k) => { $("#import-" + k).textContent = c[k] || 0; });
      if (job.groups_not_computed) $("#import-joined").textContent = "not worked out";
      showGroups(job);
      const issues = $("#import-issues");
      const body = $("tbody", issues);
      body.innerHTML = "";
      (job.report || []).slice(0, 100).forEach((i) => {
        const tr = el("tr", { class: "row-error" });
        tr.append(el("td", { class: "num" }, String(i.row)), el("td", {}, i.column || ""), el("td", {}, i.value || ""), el("td", {}, i.message));
        body.append(tr);
      });
      issues.hidden = !(job.report || []).length;
      const report = $("#import-report");
      report.href = "/admin/imports/" + job.id + "/report.csv";
      report.hidden = !job.issues_total;
      let summary;
      if (job.state === "succeeded" && job.dry_run) summary = "The file is ready to import: " + (c.created || 0) + " to create, " + (c.updated || 0) + " to update.";
      else if (job.state === "succeeded") summary = "Imported: " + (c.created || 0) + " created, " + (c.updated || 0) + " updated.";
      else summary = (job.error && job.error.message) || "Nothing was imported.";
      $("#import-summary").textContent = summary;
      $("#import-summary").className = job.state === "succeeded" ? "strong success" : "strong form-error";
      result.hidden = false;
    }

    // What the file does (or, checked, would do) to each automatic group.
    function showGroups(job) {
      const box = $("#import-groups");
      const list = $("#import-groups-list");
      list.innerHTML = "";
      box.hidden = job.state !== "succeeded" || !job.groups;
      if (box.hidden) return;
      const users = (n) => n.toLocaleString("en-US") + (n === 1 ? " user" : " users");
      const dry = job.dry_run;
      job.groups.forEach((g) => {
        const li = el("li", { class: "group-effect" });
        const name = el("a", { href: "/admin/groups/" + g.id }, g.name);
        if (g.joins) li.append(document.createTextNode((dry ? "This file moves " : "This file moved ") + users(g.joins) + " into "), name.cloneNode(true));
        if (g.joins && g.leaves) li.append(document.createTextNode("; "));
        if (g.leaves) li.append(document.createTextNode((g.joins ? "it " : "This file ") + (dry ? "takes " : "took ") + users(g.leaves) + " out of "), g.joins ? document.createTextNode("it") : name);
        li.append(document.createTextNode("."));
        list.append(li);
      });
      const notComputed = job.groups_not_computed;
      // Not worked out (a large platform): say so, rather than "no group moves".
      if (notComputed) list.append(el("li", { class: "notice", id: "import-groups-not-computed" }, notComputed.message));
      else if (!job.groups.length) list.append(el("li", { class: "muted" }, dry ? "No automatic group would gain or lose anyone." : "No automatic group gained or lost anyone."));
    }

    async function poll(id) {
      for (;;) {
        const r = await fetch("/admin/json/imports/" + id, { headers: { Accept: "application/json" } });
        const job = await r.json();
        if (!r.ok) throw new Error((job.error && job.error.message) || "The import could not be followed.");
        setProgress(job.percent, (phases[job.phase] || job.phase) + " " + job.percent + "% · " + job.rows_read + " rows");
        if (["succeeded", "failed", "interrupted"].includes(job.state)) return job;
        await new Promise((res) => setTimeout(res, 250));
      }
    }

    function upload(dryRun) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", "/admin/json/imports?" + query(dryRun));
        xhr.setRequestHeader("X-CSRF-Token", csrf());
        xhr.setRequestHeader("Content-Type", "text/csv");
        xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) setProgress(Math.round((e.loaded / e.total) * 100), "Uploading… " + humanSize(e.loaded)); });
        xhr.addEventListener("loadend", () => {
          let body = null;
          try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
          if (xhr.status === 202 && body) resolve(body);
          else reject(new Error((body && body.error && body.error.message) || "The upload failed."));
        });
        xhr.send(file);
      });
    }

    async function go(dryRun) {
      if (!file) { fileError.hidden = false; fileError.textContent = "Choose a CSV file first."; return; }
      const button = dryRun ? check : run;
      error.hidden = true;
      result.hidden = true;
      check.disabled = run.disabled = true;
      button.classList.add("busy");
      try {
        const started = await upload(dryRun);
        const job = await poll(started.id);
        setProgress(100, dryRun ? "Check finished" : "Import finished");
        show(job);
        checkedOk = dryRun && job.state === "succeeded";
        if (!dryRun && job.state === "succeeded") { run.disabled = true; checkedOk = false; }
      } catch (e) {
        progress.hidden = true;
        error.hidden = false;
        error.textContent = e.message;
      } finally {
        button.classList.remove("busy");
        check.disabled = false;
        run.disabled = !checkedOk;
      }
    }

    check.addEventListener("click", () => go(true));
    run.addEventListener("click", () => go(false));
    form.addEventListener("submit", (ev) => ev.preventDefault());
  }

  document.addEventListener("DOMContentLoaded", () => {
    initMenus();
    initPanels();
    initForms();
    $$(".picker[data-picker]").forEach(initPicker);
    $$("select[data-tree-picker]").forEach(initTreePicker);
    const csv = $("#csv-form");
    if (csv) initCsv(csv);
    const imp = $("#import-form");
    if (imp) initImport(imp);
  });
})();
