// l5d-ts dtab playground: asks /delegator.json (Linkerd's delegation explanation, with the
// routed branches marked by `selected=true`) and draws the tree. Deep links:
// /delegator?router=<label>&path=<path>&dtab=<extra dtab>

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let routers = [];

  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children)
      if (c !== undefined && c !== null)
        e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };

  function addrText(addr) {
    if (!addr) return "";
    if (addr.type === "bound")
      return addr.addrs.length === 0
        ? "no addresses"
        : addr.addrs.map((a) => `${a.ip}:${a.port}`).join(", ");
    if (addr.type === "failed") return `address lookup failed: ${addr.cause ?? ""}`;
    return addr.type === "neg" ? "negative (no such name)" : addr.type;
  }

  function node(t, weight) {
    const cls = `node ${t.type}${t.selected ? " selected" : ""}`;
    const head = el(
      "span",
      { class: cls, "data-type": t.type, "data-path": t.path },
      weight !== undefined ? el("span", { class: "weight" }, `${weight} ×`) : null,
      el("span", { class: "kind" }, t.type),
      el("span", { class: "path" }, t.path),
      t.dentry
        ? el(
            "span",
            { class: "dentry", title: "the dentry that produced this path" },
            `(${t.dentry.prefix} => ${t.dentry.dst})`,
          )
        : null,
      t.type === "neg" ? el("span", { class: "negative" }, "no dentry or namer matched: ~") : null,
      t.type === "fail" ? el("span", { class: "negative" }, "failed: !") : null,
      t.type === "empty" ? el("span", { class: "negative" }, "empty: $") : null,
      t.type === "exception" ? el("span", { class: "negative" }, t.message) : null,
      t.bound
        ? el(
            "span",
            { class: "bound" },
            `→ ${t.bound.id}${t.bound.path && t.bound.path !== "/" ? ` residual ${t.bound.path}` : ""}`,
          )
        : null,
      t.bound ? el("span", { class: "addrs" }, addrText(t.bound.addr)) : null,
      t.type === "transformation" ? el("span", { class: "dentry" }, t.name) : null,
      t.selected ? el("span", { class: "routed" }, "✓ routed") : null,
    );
    const li = el("li", {}, head);
    const kids = [];
    if (t.delegate) kids.push([t.delegate]);
    if (t.tree) kids.push([t.tree]);
    if (t.alt) for (const a of t.alt) kids.push([a]);
    if (t.union) for (const u of t.union) kids.push([u.tree, u.weight]);
    if (kids.length > 0) li.append(el("ul", {}, ...kids.map(([k, w]) => node(k, w))));
    return li;
  }

  function routedLeaves(t, out) {
    if (!t?.selected) return out;
    if (t.type === "leaf") out.push(t);
    else if (t.type === "neg" || t.type === "fail" || t.type === "empty" || t.type === "exception")
      out.push(t);
    for (const c of [t.delegate, t.tree, ...(t.alt || []), ...(t.union || []).map((u) => u.tree)])
      routedLeaves(c, out);
    return out;
  }

  function routingSummary(tree) {
    const ends = routedLeaves(tree, []);
    if (ends.length === 0)
      return el("span", { class: "bad" }, "no route: the name is negative (~)");
    const box = el("div", {});
    for (const e of ends) {
      if (e.type === "leaf")
        box.append(
          el(
            "div",
            { class: "routed-leaf", "data-id": e.bound.id },
            `${e.bound.id} → ${addrText(e.bound.addr)}`,
          ),
        );
      else
        box.append(
          el(
            "div",
            { class: "bad" },
            e.type === "exception" ? `fails: ${e.message}` : `no route: ${e.type}`,
          ),
        );
    }
    return box;
  }

  function fullDtab() {
    const base = $("base").value.trim();
    const extra = $("extra").value.trim();
    if (!extra) return base;
    if (!base) return extra;
    return `${base.replace(/;\s*$/, "")};${extra}`;
  }

  async function go(ev) {
    if (ev) ev.preventDefault();
    const router = $("router").value;
    const path = $("path").value.trim();
    $("error").replaceChildren();
    if (!path) return;
    const q = new URLSearchParams({ namespace: router, path, dtab: fullDtab(), selected: "true" });
    const link = new URLSearchParams({ router, path });
    if ($("extra").value.trim()) link.set("dtab", $("extra").value.trim());
    history.replaceState(null, "", `/delegator?${link}`);
    $("status").textContent = "delegating…";
    try {
      const res = await fetch(`/delegator.json?${q}`, { cache: "no-store" });
      const text = await res.text();
      if (!res.ok) throw new Error(`${res.status}: ${text}`);
      const tree = JSON.parse(text);
      $("tree").replaceChildren(el("ul", { class: "tree" }, node(tree)));
      $("routing").replaceChildren(routingSummary(tree));
      $("raw").textContent = JSON.stringify(tree, null, 2);
      $("result").classList.remove("hidden");
      $("status").textContent = `delegated ${path}`;
      document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
    } catch (e) {
      $("result").classList.add("hidden");
      $("error").replaceChildren(el("div", { class: "error-box" }, e.message));
      $("status").textContent = "error";
      document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
    }
  }

  function showRouter() {
    const r = routers.find((x) => x.label === $("router").value);
    const dentries = r ? r.dtab.split(";").map((d) => d.trim().replace(/\s*=>\s*/, " => ")) : [];
    $("base").value = dentries.filter(Boolean).join(";\n");
    if (r && !$("path").value) $("path").value = `${r.dstPrefix}/`;
  }

  async function init() {
    const res = await fetch("/routers.json", { cache: "no-store" });
    routers = await res.json();
    for (const r of routers) $("router").append(el("option", { value: r.label }, r.label));
    if (params.get("router")) $("router").value = params.get("router");
    if (params.get("path")) $("path").value = params.get("path");
    if (params.get("dtab")) $("extra").value = params.get("dtab");
    showRouter();
    $("router").addEventListener("change", () => {
      $("path").value = "";
      showRouter();
    });
    $("form").addEventListener("submit", go);
    document.body.dataset.ready = "true";
    if (params.get("path")) await go();
  }

  init().catch((e) => {
    $("error").replaceChildren(
      el("div", { class: "error-box" }, `cannot load routers: ${e.message}`),
    );
  });
})();
