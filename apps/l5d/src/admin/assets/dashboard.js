// l5d-ts dashboard: polls /admin/metrics.json and renders, per router, request rate, success
// rate, latency percentiles and connections for each server, service (logical name) and client
// (bound id), and each client's endpoints with their failure-accrual state (alive, dead, probing)
// and why, from /routers.json. Rates come from the difference of two polls. No external resources.

(() => {
  const params = new URLSearchParams(location.search);
  const INTERVAL_MS = Math.max(250, Number(params.get("interval")) || 2000);
  const HISTORY = 60;
  const STATS = [
    "requests",
    "success",
    "failures",
    "connections",
    "streams",
    "inflight",
    "endpoints",
  ];
  const LATENCY = "request_latency_ms.";
  const REMOVED = "failure_accrual/removed";
  const KINDS = ["server", "service", "client"];

  /**
   * @type {Array<{label: string, dtab: string, servers: Array<{ip: string, port: number}>,
   *   clients: Array<{id: string, endpoints: Array<object>}>}>}
   */
  let routers = [];
  let prev = null;
  let prevAt = 0;
  const history = new Map(); // router label -> rps history

  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };

  /** Splits `rt/<router>/<kind>/<name...>/<stat>` using the router labels we know. */
  function parse(metrics) {
    const out = new Map();
    for (const r of routers) {
      out.set(r.label, { server: new Map(), service: new Map(), client: new Map() });
    }
    for (const [key, value] of Object.entries(metrics)) {
      if (!key.startsWith("rt/")) continue;
      for (const r of routers) {
        const pre = `rt/${r.label}/`;
        if (!key.startsWith(pre)) continue;
        const rest = key.slice(pre.length);
        const slash = rest.indexOf("/");
        const kind = rest.slice(0, slash);
        if (!KINDS.includes(kind)) continue;
        const tail = rest.slice(slash + 1);
        let name;
        let stat;
        const li = tail.lastIndexOf(`/${LATENCY}`);
        if (li >= 0) {
          name = tail.slice(0, li);
          stat = tail.slice(li + 1);
        } else if (kind === "client" && tail.endsWith(`/${REMOVED}`)) {
          name = tail.slice(0, -REMOVED.length - 1);
          stat = "removed";
        } else {
          const si = tail.lastIndexOf("/");
          name = tail.slice(0, si);
          stat = tail.slice(si + 1);
          if (!STATS.includes(stat)) continue;
        }
        const scope = out.get(r.label)[kind];
        if (!scope.has(name)) scope.set(name, {});
        scope.get(name)[stat] = value;
      }
    }
    return out;
  }

  const fmtRate = (v) => (v === undefined ? "–" : v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const fmtMs = (v) => (v === undefined ? "–" : v >= 100 ? v.toFixed(0) : v.toFixed(2));
  function fmtSr(sr, lifetime) {
    if (sr === undefined) return { text: "–", cls: "muted" };
    const pct = sr * 100;
    const cls = lifetime ? "muted" : pct >= 99 ? "good" : pct >= 95 ? "warn" : "bad";
    return { text: `${pct.toFixed(pct === 100 ? 0 : 2)}%`, cls };
  }

  /** Rates between this poll and the previous one. */
  function rates(cur, old, dt) {
    const d = (k) =>
      old && cur[k] !== undefined && old[k] !== undefined
        ? Math.max(0, cur[k] - old[k])
        : undefined;
    const req = d("requests");
    const ok = d("success");
    const ko = d("failures");
    let sr;
    let lifetime = false;
    const total = (cur.success || 0) + (cur.failures || 0);
    if (ok !== undefined && ko !== undefined && ok + ko > 0) sr = ok / (ok + ko);
    else if (total > 0) {
      // nothing finished since the last poll: the success rate since start, greyed
      sr = (cur.success || 0) / total;
      lifetime = true;
    }
    return { rps: req === undefined || dt <= 0 ? undefined : req / dt, sr, lifetime };
  }

  function table(kind, scope, oldScope, dt) {
    const names = [...scope.keys()].sort();
    if (names.length === 0) return el("p", { class: "muted" }, `no ${kind}s yet`);
    const extra =
      kind === "server"
        ? ["connections"]
        : kind === "client"
          ? ["endpoints", "removed", "inflight"]
          : [];
    const head = el(
      "tr",
      {},
      el(
        "th",
        {},
        kind === "server"
          ? "server"
          : kind === "service"
            ? "service (logical name)"
            : "client (bound id)",
      ),
      el("th", {}, "req/s"),
      el("th", {}, "success"),
      el("th", {}, "p50 ms"),
      el("th", {}, "p95 ms"),
      el("th", {}, "p99 ms"),
      ...extra.map((x) => el("th", {}, x)),
      el("th", {}, "requests"),
      el("th", {}, "failures"),
    );
    const t = el("table", { class: `${kind}s`, "data-kind": kind }, head);
    for (const name of names) {
      const m = scope.get(name);
      const r = rates(m, oldScope?.get(name), dt);
      const sr = fmtSr(r.sr, r.lifetime);
      const shown = kind === "server" ? name.replace(/\/(\d+)$/, ":$1") : `/${name}`;
      t.append(
        el(
          "tr",
          { "data-name": shown },
          el("td", {}, shown),
          el("td", { class: "rps" }, fmtRate(r.rps)),
          el("td", { class: `sr ${sr.cls}` }, sr.text),
          el("td", {}, fmtMs(m[`${LATENCY}p50`])),
          el("td", {}, fmtMs(m[`${LATENCY}p95`])),
          el("td", {}, fmtMs(m[`${LATENCY}p99`])),
          ...extra.map((x) => el("td", { class: x }, m[x] === undefined ? "–" : String(m[x]))),
          el("td", { class: "requests" }, String(m.requests ?? 0)),
          el("td", {}, String(m.failures ?? 0)),
        ),
      );
    }
    return t;
  }

  const STATE_CLASS = { alive: "good", probing: "warn", dead: "bad" };

  function fmtAge(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
  }

  /** Each client's endpoints: failure-accrual state (alive, dead, probing), since when, why. */
  function endpointsTable(clients) {
    const rows = [];
    for (const c of [...(clients || [])].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      for (const e of c.endpoints) rows.push({ client: c.id, e });
    }
    if (rows.length === 0) return el("p", { class: "muted" }, "no endpoints yet");
    const t = el(
      "table",
      { class: "endpoints" },
      el(
        "tr",
        {},
        el("th", {}, "client (bound id)"),
        el("th", {}, "endpoint"),
        el("th", {}, "state"),
        el("th", {}, "for"),
        el("th", {}, "why"),
        el("th", {}, "requests"),
        el("th", {}, "inflight"),
      ),
    );
    const now = Date.now();
    for (const { client, e } of rows) {
      const acc = e.accrual || { state: e.state || "alive" };
      let why = acc.reason || "";
      if (acc.state === "dead" && acc.backoffMs) why += ` (marked dead for ${acc.backoffMs} ms)`;
      if (acc.state === "probing")
        why += acc.probeInFlight ? " (probe in flight)" : " (next request probes)";
      t.append(
        el(
          "tr",
          { "data-client": client, "data-endpoint": e.key, "data-state": acc.state },
          el("td", {}, client),
          el("td", {}, e.key),
          el("td", { class: `state ${STATE_CLASS[acc.state] || ""}` }, acc.state),
          el("td", { class: "since" }, acc.since ? fmtAge(now - acc.since) : "–"),
          el("td", { class: "reason" }, why.trim() || "–"),
          el("td", { class: "requests" }, String(e.requests ?? 0)),
          el("td", { class: "inflight" }, String(e.inflight ?? 0)),
        ),
      );
    }
    return t;
  }

  function sparkline(values) {
    const w = 180;
    const h = 36;
    const max = Math.max(1, ...values);
    const step = w / Math.max(1, HISTORY - 1);
    const pts = values
      .map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`)
      .join(" ");
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", String(w));
    svg.setAttribute("height", String(h));
    svg.setAttribute("aria-label", "request rate history");
    svg.setAttribute("data-values", values.map((v) => v.toFixed(2)).join(","));
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts);
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#2c6fbb");
    line.setAttribute("stroke-width", "1.5");
    svg.append(line);
    return svg;
  }

  function stat(label, value, cls) {
    return el(
      "div",
      { class: "stat" },
      el("div", { class: "label" }, label),
      el("div", { class: `value ${cls || ""}` }, value),
    );
  }

  function render(parsed, oldParsed, dt) {
    const main = document.getElementById("routers");
    const frag = document.createDocumentFragment();
    for (const r of routers) {
      const cur = parsed.get(r.label);
      const old = oldParsed?.get(r.label);
      // router totals: sum over its servers
      const tot = { requests: 0, success: 0, failures: 0, connections: 0 };
      const oldTot = { requests: 0, success: 0, failures: 0 };
      let p = {};
      for (const [name, m] of cur.server) {
        for (const k of Object.keys(tot)) tot[k] += m[k] || 0;
        const o = old?.server.get(name);
        if (o) for (const k of Object.keys(oldTot)) oldTot[k] += o[k] || 0;
        if ((m[`${LATENCY}count`] || 0) >= (p[`${LATENCY}count`] || 0)) p = m;
      }
      const rr = rates(tot, old ? oldTot : undefined, dt);
      const hist = history.get(r.label) || [];
      if (rr.rps !== undefined) hist.push(rr.rps);
      while (hist.length > HISTORY) hist.shift();
      history.set(r.label, hist);
      const sr = fmtSr(rr.sr, rr.lifetime);
      const sec = el(
        "section",
        { class: "router", "data-router": r.label },
        el(
          "h2",
          {},
          r.label,
          el("small", {}, r.servers.map((s) => `${s.ip}:${s.port}`).join(", ")),
        ),
        el(
          "div",
          { class: "summary" },
          stat("requests/s", fmtRate(rr.rps)),
          stat("success rate", sr.text, sr.cls),
          stat("p50 ms", fmtMs(p[`${LATENCY}p50`])),
          stat("p95 ms", fmtMs(p[`${LATENCY}p95`])),
          stat("p99 ms", fmtMs(p[`${LATENCY}p99`])),
          stat("connections", String(tot.connections)),
          stat("requests", String(tot.requests)),
          el("div", { class: "spark" }, sparkline(hist)),
        ),
        el("h3", {}, "Servers"),
        table("server", cur.server, old?.server, dt),
        el("h3", {}, "Services"),
        table("service", cur.service, old?.service, dt),
        el("h3", {}, "Clients"),
        table("client", cur.client, old?.client, dt),
        el("h3", {}, "Endpoints"),
        endpointsTable(r.clients),
      );
      frag.append(sec);
    }
    if (routers.length === 0) frag.append(el("p", { class: "muted" }, "no routers configured"));
    main.replaceChildren(frag);
  }

  let polls = 0;
  async function poll() {
    const status = document.getElementById("status");
    try {
      // every poll: the clients' endpoints and their accrual state change
      const rres = await fetch("/routers.json", { cache: "no-store" });
      routers = (await rres.json()).map((r) => ({
        label: r.label,
        dtab: r.dtab,
        servers: r.servers,
        clients: r.clients,
      }));
      const res = await fetch("/admin/metrics.json", { cache: "no-store" });
      const metrics = await res.json();
      const now = performance.now();
      const parsed = parse(metrics);
      render(parsed, prev, prev ? (now - prevAt) / 1000 : 0);
      prev = parsed;
      prevAt = now;
      polls++;
      status.textContent = `updated ${new Date().toLocaleTimeString()} · every ${INTERVAL_MS / 1000}s`;
      document.body.dataset.polls = String(polls);
    } catch (e) {
      status.textContent = `cannot reach the admin server: ${e.message}`;
    }
  }

  poll();
  setInterval(poll, INTERVAL_MS);
})();
