// The review page's behaviour: select a figure and see its evidence, act on it, add from a selection.
// Plain browser JavaScript, no build step. Everything from a paper or a record is written with
// textContent, never as HTML.
"use strict";

(function () {
  const token = document.querySelector('meta[name="review-token"]').content;
  const body = document.body;
  const text = document.getElementById("paper-text");
  const segs = text ? Array.from(text.querySelectorAll(".seg")) : [];
  const items = () => Array.from(document.querySelectorAll("li.item"));
  const TO_CHECK = ["c-conflict", "c-low", "c-extracted", "c-derived"];
  let current = null;
  let selection = null; // {start, end} of the text selected for adding a figure

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Review-Token": token},
      body: JSON.stringify(payload),
      credentials: "same-origin",
    }).then((r) => r.json().catch(() => ({ok: false, message: "the server sent no answer (" + r.status + ")"})));
  }

  function flash(message, details, kind) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = "";
    box.className = kind || "ok";
    const p = document.createElement("p");
    p.textContent = message;
    box.appendChild(p);
    if (details && details.length) {
      const ul = document.createElement("ul");
      for (const d of details) {
        const li = document.createElement("li");
        li.textContent = d;
        ul.appendChild(li);
      }
      box.appendChild(ul);
    }
    box.hidden = false;
  }

  // ---- selecting a figure marks its evidence, selecting a highlight shows its figure ----

  function spansOf(li) {
    return (li.dataset.spans || "").split(" ").filter(Boolean).map((s) => s.split("-").map(Number));
  }

  function segRange(seg) {
    const start = Number(seg.dataset.s);
    return [start, start + seg.textContent.length];
  }

  function mark(spans) {
    for (const seg of text ? text.querySelectorAll(".marked") : []) seg.classList.remove("marked");
    let first = null;
    for (const seg of segs) {
      const [a, b] = segRange(seg);
      if (spans.some(([s, e]) => s <= a && b <= e)) {
        seg.classList.add("marked");
        first = first || seg;
      }
    }
    return first;
  }

  function select(li, opts) {
    opts = opts || {};
    if (!li) return;
    if (current && current !== li) {
      current.classList.remove("selected");
      current.querySelector(".detail").hidden = true;
      closeEdit(current);
    }
    current = li;
    li.classList.add("selected");
    li.querySelector(".detail").hidden = false;
    const first = mark(spansOf(li));
    if (first && opts.scrollText !== false) first.scrollIntoView({block: "center"});
    if (opts.scrollList !== false) li.scrollIntoView({block: "nearest"});
    li.querySelector(".summary").focus({preventScroll: true});
    history.replaceState(null, "", "#" + encodeURIComponent(li.dataset.item));
  }

  function move(step, onlyToCheck) {
    const all = items().filter((li) => !onlyToCheck || TO_CHECK.some((c) => li.classList.contains(c)));
    if (!all.length) return;
    const i = all.indexOf(current);
    select(all[i < 0 ? 0 : (i + step + all.length) % all.length]);
  }

  for (const li of items()) {
    li.querySelector(".summary").addEventListener("click", () => select(li));
    for (const ev of li.querySelectorAll("ol.evidence li[data-span]")) {
      ev.addEventListener("click", () => {
        const first = mark([ev.dataset.span.split("-").map(Number)]);
        if (first) first.scrollIntoView({block: "center"});
      });
    }
  }

  if (text) {
    text.addEventListener("click", (event) => {
      const seg = event.target.closest(".seg.ev");
      if (!seg || String(window.getSelection()).length) return;
      const ids = seg.dataset.items.split(" ");
      const at = current ? ids.indexOf(current.dataset.item) : -1;
      const next = document.getElementById("item-" + ids[(at + 1) % ids.length]);
      select(next, {scrollText: false});
    });
  }

  // ---- actions ----

  function noteOf(li) {
    const area = li.querySelector("textarea[name=note]");
    return area && area.value !== area.defaultValue ? area.value : null;
  }

  function act(li, action, extra) {
    const payload = Object.assign({
      action: action, version: body.dataset.version, item: li.dataset.item, base: li.dataset.base,
      note: action === "note" ? li.querySelector("textarea[name=note]").value : noteOf(li),
    }, extra || {});
    return send(payload, li.dataset.item);
  }

  function send(payload, itemId) {
    const box = document.getElementById("flash");
    if (box) box.hidden = true;
    return post("/api/study/" + encodeURIComponent(body.dataset.study) + "/action", payload).then((res) => {
      if (!res.ok) {
        flash(res.message, res.details, "refused");
        return res;
      }
      sessionStorage.setItem("review-flash", JSON.stringify([res.message, res.warnings || []]));
      location.hash = "#" + encodeURIComponent(itemId || "");
      location.reload();
      return res;
    });
  }

  function openEdit(li) {
    const form = li.querySelector("form.edit");
    form.hidden = false;
    const first = form.querySelector("input, select");
    if (first) first.focus();
  }

  function closeEdit(li) {
    const form = li.querySelector("form.edit");
    if (form) form.hidden = true;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-act]");
    if (!button) return;
    const li = button.closest("li.item");
    const what = button.dataset.act;
    if (what === "edit-open") return openEdit(li);
    if (what === "edit-close") return closeEdit(li);
    if (what === "pick") return act(li, "pick", {side: Number(button.dataset.side)});
    act(li, what);
  });

  for (const form of document.querySelectorAll("form.edit")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const input of form.querySelectorAll("input, select")) values[input.name] = input.value;
      act(form.closest("li.item"), "edit", {values: values});
    });
  }

  // ---- adding a figure from selected text ----

  function offsetOf(node, offset) {
    const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    const seg = el.closest(".seg");
    if (seg) {
      if (node.nodeType === Node.TEXT_NODE) return Number(seg.dataset.s) + offset;
      return Number(seg.dataset.s) + (offset ? seg.textContent.length : 0);
    }
    if (el === text) {
      const child = text.childNodes[offset];
      if (child && child.dataset) return Number(child.dataset.s);
      const last = segs[segs.length - 1];
      return last ? segRange(last)[1] : 0;
    }
    return null;
  }

  const addForm = document.getElementById("add-form");

  function openAdd(sel) {
    if (!addForm) return;
    selection = sel;
    const quote = document.getElementById("add-quote");
    quote.textContent = sel ? sel.quote : "";
    quote.hidden = !sel;
    document.getElementById("add-none").hidden = !!sel;
    addForm.hidden = false;
    addForm.scrollIntoView({block: "nearest"});
    addForm.querySelector("select[name=field]").focus();
    syncAdd();
  }

  function syncAdd() {
    const row = addForm.querySelector("input[name=what]:checked").value === "row";
    addForm.querySelector(".add-figure").hidden = row;
    addForm.querySelector(".add-row").hidden = !row;
    const option = addForm.querySelector("select[name=field]").selectedOptions[0];
    const kind = option ? option.dataset.kind : "integer";
    addForm.querySelector(".stat").hidden = kind !== "stat";
    addForm.querySelector(".one").hidden = kind === "stat";
    addForm.querySelector("input[name=bone]").hidden = !option || option.value !== "site_";
  }

  if (addForm) {
    addForm.addEventListener("change", syncAdd);
    document.getElementById("add-open").addEventListener("click", () => openAdd(selection));
    document.getElementById("add-cancel").addEventListener("click", () => { addForm.hidden = true; });
    addForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const f = (name) => addForm.querySelector("[name=" + name + "]").value;
      const note = f("note") || null;
      const evidence = selection ? {start: selection.start, end: selection.end} : null;
      let payload;
      if (addForm.querySelector("input[name=what]:checked").value === "row") {
        payload = {action: "add_row", row: {drug: f("drug"), agent: f("agent"), outcome: f("outcome")},
                   values: {n_responded: f("n_responded"), n_treated: f("n_treated")}};
      } else {
        const option = addForm.querySelector("select[name=field]").selectedOptions[0];
        const field = option.value === "site_" ? "site_" + f("bone").trim().toLowerCase() : option.value;
        const values = option.dataset.kind === "stat"
          ? {stat: f("stat"), value: f("svalue"), min: f("min"), max: f("max"), unit: f("unit")}
          : {value: f("value")};
        payload = {action: "add_figure", field: field, values: values};
      }
      Object.assign(payload, {version: body.dataset.version, note: note, evidence: evidence});
      send(payload, "");
    });
  }

  const floater = document.createElement("button");
  floater.type = "button";
  floater.id = "add-from-selection";
  floater.textContent = "Add a figure from this text";
  floater.hidden = true;
  document.body.appendChild(floater);
  floater.addEventListener("mousedown", (event) => event.preventDefault());
  floater.addEventListener("click", () => { floater.hidden = true; openAdd(selection); });

  if (text) {
    text.addEventListener("mouseup", (event) => {
      const sel = window.getSelection();
      if (!sel.rangeCount || sel.isCollapsed) { floater.hidden = true; return; }
      const range = sel.getRangeAt(0);
      if (!text.contains(range.commonAncestorContainer)) return;
      const start = offsetOf(range.startContainer, range.startOffset);
      const end = offsetOf(range.endContainer, range.endOffset);
      if (start === null || end === null || end <= start) return;
      selection = {start: start, end: end, quote: String(sel)};
      floater.style.left = event.pageX + 8 + "px";
      floater.style.top = event.pageY + 8 + "px";
      floater.hidden = false;
    });
  }

  // ---- keyboard ----

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, textarea, select");
    if (event.key === "Escape") {
      if (addForm && !addForm.hidden) addForm.hidden = true;
      else if (current) closeEdit(current);
      if (typing) typing.blur();
      return;
    }
    if (typing) return;
    const key = event.key;
    if (key === "j" || key === "ArrowDown") move(1);
    else if (key === "k" || key === "ArrowUp") move(-1);
    else if (key === "t") move(1, true);
    else if (!current) return;
    else if (key === "a") act(current, "accept");
    else if (key === "r") act(current, "reject");
    else if (key === "e") openEdit(current);
    else if (key === "u" && current.dataset.suggestion === "1") act(current, "restore");
    else if (key === "n") current.querySelector("textarea[name=note]").focus();
    else if (/^[1-9]$/.test(key) && Number(key) <= Number(current.dataset.sides)) act(current, "pick", {side: Number(key) - 1});
    else return;
    event.preventDefault();
  });

  // ---- tables and pooling ----

  function showStatus(res) {
    if (!res || res.tables === undefined) return;
    document.getElementById("tables-state").textContent = res.tables;
    document.getElementById("pooling-state").textContent = res.pooling;
    const fresh = res.tables === "up to date" && res.pooling === "up to date";
    document.getElementById("rebuild").hidden = fresh || res.pooling === "updating";
    const status = document.getElementById("build-status");
    status.title = res.pooling_message || "";
    if (res.pooling === "updating") setTimeout(poll, 1000);
  }

  function poll() {
    fetch("/api/status", {credentials: "same-origin"}).then((r) => r.json()).then(showStatus);
  }

  const rebuild = document.getElementById("rebuild");
  if (rebuild) {
    rebuild.addEventListener("click", () => post("/api/rebuild", {}).then((res) => {
      if (!res.ok) flash(res.message, res.details, "refused");
      showStatus(res);
    }));
  }
  const status = document.getElementById("build-status");
  if (status && status.dataset.pooling === "updating") setTimeout(poll, 1000);

  // ---- after a reload: the message of the last action, and the figure it was on ----

  const saved = sessionStorage.getItem("review-flash");
  if (saved) {
    sessionStorage.removeItem("review-flash");
    const [message, warnings] = JSON.parse(saved);
    flash(message, warnings, warnings.length ? "warning" : "ok");
  }
  const wanted = decodeURIComponent(location.hash.slice(1));
  const start = wanted && document.getElementById("item-" + wanted);
  if (start) select(start);
  if (body.classList.contains("study-page")) poll();
})();
