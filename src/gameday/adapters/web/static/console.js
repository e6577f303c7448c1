// The gameday console: renders the state the server sends (server-sent events) and
// posts people's actions. Text from people and from the drill goes into the DOM with
// textContent only, never as markup.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
let me = JSON.parse(sessionStorage.getItem("gameday-me") || "null");
let clockBase = null; // {elapsed_s, at: performance.now()} from the last state
let lastState = null;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function fill(id, nodes) {
  const parent = document.getElementById(id);
  parent.replaceChildren(...nodes);
}

function seconds(value) {
  if (value === null || value === undefined) return "—";
  return value < 60 ? value.toFixed(1) + " s" : (value / 60).toFixed(1) + " min";
}

// A time from the fault, as the timeline says it: T+7.1 s, or T−2.6 s before it.
function fromFault(value) {
  return (value < 0 ? "T−" : "T+") + seconds(Math.abs(value));
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Gameday-Token": token },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = { message: response.statusText }; }
  return { ok: response.ok, status: response.status, data };
}

function answer(text, error) {
  const node = document.getElementById("answer");
  node.textContent = text;
  node.className = error ? "answer error" : "answer";
}

async function act(action, text) {
  if (!me) { answer("join first: a name and a role", true); return; }
  const { ok, data } = await post("api/action", { participant: me.id, action, text: text || "" });
  answer(data.message || (ok ? "done" : "refused"), !ok);
}

function showMe() {
  document.getElementById("me").textContent = me ? `you are ${me.name} (${me.role})` : "";
  const acting = me && me.role !== "observer";
  for (const button of document.querySelectorAll("#actions-panel button")) {
    button.disabled = !acting || !lastState || lastState.phase !== "live";
  }
}

function renderAlerts(drill) {
  const items = drill.alerts.map((a) => {
    const li = el("li");
    li.append(el("span", a.state.toUpperCase(), "state-" + a.state), " ", el("strong", a.name));
    li.append(` since ${fromFault(a.at_s)}${a.before_fault ? " (before the fault)" : ""}`);
    return li;
  });
  if (!items.length) items.push(el("li", "no alert pending or firing"));
  const expected = el("li", "expected: " + drill.expected_alerts.join(", "), "na");
  fill("alerts", [...items, expected]);
}

function renderLoad(drill) {
  const load = drill.load;
  if (!load) { fill("load", [el("dd", "this project runs no load")]); return; }
  fill("load", [
    el("dt", "requests"), el("dd", load.requests),
    el("dt", "error rate"), el("dd", (load.error_rate * 100).toFixed(1) + " %"),
    el("dt", "p95 latency"), el("dd", load.p95_ms === null ? "—" : load.p95_ms.toFixed(0) + " ms"),
  ]);
}

function renderPlaybook(drill) {
  const p = drill.playbook;
  const nodes = [el("h3", p.section + (p.details ? ` (${p.details})` : ""))];
  if (p.immediate_actions.length) {
    const ol = el("ol");
    for (const a of p.immediate_actions) ol.append(el("li", a));
    nodes.push(el("h4", "Immediate actions"), ol);
  }
  if (p.playbook_commands.length) {
    nodes.push(el("h4", "The playbook's commands (for production)"));
    nodes.push(el("pre", p.playbook_commands.join("\n")));
  }
  nodes.push(el("h4", "Commands for this replica"));
  for (const c of p.replica_commands) nodes.push(el("div", "# " + c.purpose), el("pre", c.command));
  if (p.recovery.length) {
    nodes.push(el("h4", "The playbook's recovery, for this replica"));
    for (const c of p.recovery) {
      const pre = el("pre", c.command, "recovery");
      pre.dataset.step = c.purpose;
      nodes.push(el("div", "# " + c.purpose), pre);
    }
  }
  fill("playbook", nodes);
}

function renderClocks(drill) {
  fill("clocks", drill.clocks.map((c) => {
    const li = el("li");
    li.append(el("strong", c.name), `: ${c.phrase} ${c.target}`);
    if (c.marks.length) li.append(el("span", " — done at " + c.marks.join(", "), "pass"));
    return li;
  }));
  if (!drill.clocks.length) fill("clocks", [el("li", "this project sets no clocks", "na")]);
  const buttons = document.getElementById("clock-buttons");
  const names = drill.clocks.map((c) => c.name).join(",");
  if (buttons.dataset.names !== names) {
    buttons.dataset.names = names;
    buttons.replaceChildren(...drill.clocks.map((c) => {
      const b = el("button", c.phrase);
      b.type = "button";
      b.dataset.clock = c.name;
      b.addEventListener("click", () => act("clock", c.name));
      return b;
    }));
  }
}

function renderTimeline(drill) {
  fill("timeline", drill.timeline.map((e) => {
    const li = el("li");
    li.dataset.kind = e.kind;
    li.append(el("span", fromFault(e.t_s), "t"));
    li.append(el("span", e.kind.replace(/_/g, " "), "kind"));
    if (e.subject) li.append(el("span", "[" + e.subject + "] "));
    li.append(el("span", e.detail, "detail"));
    return li;
  }));
}

function renderScoreboard(board) {
  const panel = document.getElementById("scoreboard-panel");
  panel.hidden = !board;
  if (!board) return;
  const nodes = [el("p", `run ${board.run_id}: ${board.verdict.toUpperCase()}`, "verdict")];
  const links = el("p");
  if (board.report) {
    const a = el("a", "the report");
    a.href = board.report;
    links.append(a);
  }
  for (const pm of board.postmortems) {
    const a = el("a", pm.replace("report/", ""));
    a.href = pm;
    links.append(" · ", a);
  }
  nodes.push(links);
  for (const d of board.drills) {
    nodes.push(el("h3", `${d.title}: ${d.verdict}`));
    const kpis = el("div", null, "kpis");
    for (const [name, key] of [["MTTD", "mttd_s"], ["MTTA", "mtta_s"], ["MTTR", "mttr_s"]]) {
      const target = d.targets[key];
      kpis.append(el("div", `${name} ${seconds(d[key])}` + (target ? ` (≤ ${seconds(target)})` : "")));
    }
    nodes.push(kpis);
    const table = el("table");
    const head = el("tr");
    for (const h of ["check", "measured", "target", "result", "reason"]) head.append(el("th", h));
    table.append(head);
    for (const c of d.checks) {
      const tr = el("tr");
      tr.dataset.check = c.id;
      const result = c.passed === null ? ["n/a", "na"] : c.passed ? ["passed", "pass"] : ["FAILED", "fail"];
      tr.append(el("td", c.label || c.id), el("td", c.measured), el("td", c.target),
        el("td", result[0], result[1]), el("td", c.reason));
      table.append(tr);
    }
    nodes.push(table);
    for (const r of d.inconclusive) nodes.push(el("p", "inconclusive: " + r, "na"));
  }
  fill("scoreboard", nodes);
}

function render(state) {
  lastState = state;
  const phase = document.getElementById("phase");
  phase.textContent = {
    waiting: "waiting for the fault", live: "LIVE: respond",
    recovering: "responders done: waiting for the steady state", ended: "drill over",
  }[state.phase] || state.phase;
  phase.className = "phase " + state.phase;
  const roles = document.getElementById("join-role");
  if (!roles.options.length) {
    for (const r of state.roles) { const o = el("option", r); o.value = r; roles.append(o); }
  }
  fill("people", state.people.map((p) => el("li", `${p.name} (${p.role})`)));
  fill("said", state.said.map((s) => el("li", s)));
  const drill = state.drill;
  if (drill) {
    document.getElementById("title").textContent = drill.title;
    fill("faults", drill.faults.map((f) => el("li", f)));
    clockBase = state.phase === "live" ? { elapsed: drill.elapsed_s, at: performance.now() } : null;
    if (!clockBase) document.getElementById("clock").textContent = "T+" + seconds(drill.elapsed_s);
    renderAlerts(drill); renderLoad(drill); renderPlaybook(drill); renderClocks(drill); renderTimeline(drill);
  }
  renderScoreboard(state.scoreboard);
  showMe();
}

function tick() {
  if (clockBase) {
    const s = clockBase.elapsed + (performance.now() - clockBase.at) / 1000;
    document.getElementById("clock").textContent = "T+" + seconds(s);
  }
}

function connect() {
  const source = new EventSource("api/events?token=" + encodeURIComponent(token));
  source.addEventListener("state", (event) => {
    const state = JSON.parse(event.data);
    render(state);
    if (state.phase === "ended") source.close();
  });
  source.onerror = () => {
    if (lastState && lastState.phase === "ended") return;
    source.close();
    setTimeout(connect, 1000);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("join").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = document.getElementById("join-name").value;
    const role = document.getElementById("join-role").value;
    const { ok, data } = await post("api/join", { name, role });
    if (!ok) { answer(data.message, true); return; }
    me = data;
    sessionStorage.setItem("gameday-me", JSON.stringify(me));
    answer(`joined as ${me.name} (${me.role})`, false);
    showMe();
  });
  document.getElementById("ack").addEventListener("click", () => act("acknowledge"));
  document.getElementById("mitigate").addEventListener("click", () => act("mitigate"));
  document.getElementById("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("note");
    if (input.value.trim()) act("note", input.value).then(() => { input.value = ""; });
  });
  showMe();
  setInterval(tick, 200);
  connect();
});
