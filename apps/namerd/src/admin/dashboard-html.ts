/**
 * The namerd dashboard: every namespace with its dtab and version, an editor per namespace
 * whose Save does the versioned PUT (a concurrent change gives 412 and reloads), and a
 * delegator that explains a path against a namespace's dtab. Plain DOM, text nodes only (dtab
 * text never becomes markup).
 */
export function namerdDashboardHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>namerd</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#222}
header{background:#1d2b3a;color:#fff;padding:10px 20px;font-weight:600}
main{padding:16px 20px;display:grid;gap:16px;max-width:1100px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px}
h2{font-size:15px;margin:0 0 8px}
textarea{width:100%;min-height:110px;font:13px ui-monospace,monospace;box-sizing:border-box}
input{font:13px ui-monospace,monospace;padding:3px 6px}
.ver{color:#667;font-size:12px;margin-left:8px}
.msg{font-size:12px;margin-left:8px}
.err{color:#b00020}.ok{color:#137333}
pre{background:#f0f2f5;padding:8px;overflow:auto;max-height:420px;font-size:12px}
</style></head>
<body><header>namerd</header><main>
<section><h2>Interfaces</h2><div id="ifaces"></div></section>
<section id="dtabs"><h2>Namespaces</h2><div id="list">loading…</div></section>
<section><h2>Delegator</h2>
namespace <input id="dns" value="default" size="12"> path <input id="dpath" value="/svc/hello" size="30">
dtab <input id="ddtab" size="30" placeholder="extra dentries"> <button id="dgo">Delegate</button>
<pre id="dout"></pre></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
async function loadIfaces() {
  const r = await fetch("/interfaces.json"); const list = await r.json();
  $("ifaces").replaceChildren(...list.map((i) => el("div", i.kind + " on " + i.ip + ":" + i.port)));
}
async function loadDtabs() {
  const r = await fetch("/dtabs.json"); const list = await r.json();
  const out = list.map((d) => {
    const box = el("div"); box.dataset.namespace = d.namespace;
    const title = el("h2", d.namespace); title.append(el("span", "version " + d.version, "ver"));
    const ta = el("textarea"); ta.value = d.dtab.split(";").join(";\\n");
    const save = el("button", "Save"); const msg = el("span", "", "msg");
    save.onclick = async () => {
      const rsp = await fetch("/dtabs/" + encodeURIComponent(d.namespace), { method: "PUT", headers: { "if-match": d.version }, body: ta.value });
      if (rsp.status === 204) { msg.textContent = "saved"; msg.className = "msg ok"; setTimeout(loadDtabs, 300); }
      else { msg.textContent = rsp.status + ": " + (await rsp.text()); msg.className = "msg err"; if (rsp.status === 412) setTimeout(loadDtabs, 1500); }
    };
    box.append(title, ta, save, msg); return box;
  });
  $("list").replaceChildren(...(out.length ? out : [el("div", "no namespaces")]));
}
$("dgo").onclick = async () => {
  const q = new URLSearchParams({ namespace: $("dns").value, path: $("dpath").value, dtab: $("ddtab").value });
  const r = await fetch("/delegator.json?" + q); const t = await r.text();
  try { $("dout").textContent = JSON.stringify(JSON.parse(t), null, 2); } catch { $("dout").textContent = r.status + ": " + t; }
};
loadIfaces(); loadDtabs();
</script></body></html>`;
}
