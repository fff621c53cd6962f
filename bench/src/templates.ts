// Peer configs from ../shared/spec/reliability-and-perf.md ("Proxy configs used for the
// side-by-side baseline"), h2c on both sides, one worker/thread each; the TLS ones (the `-tls`
// cases: *_TLS_*); and the HTTP/1.1 ones (`bench --http1`, the *_H1 templates at the end):
// HTTP/1.1 with keep-alive on both sides.

/** Replaces every {{KEY}} with vars[KEY]; an unknown key is an error (typo guard). */
export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new TemplateError(`template variable ${key} not given`);
    return String(v);
  });
}

/** Raised when a template refers to a variable that was not supplied. */
export class TemplateError extends Error {
  override name = "TemplateError";
}

/** The most workers the harness asks a proxy for (l5d's `workers` key takes 1..64). */
export const MAX_WORKERS = 64;

function checkWorkers(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
    throw new TemplateError(`workers must be an integer between 1 and ${MAX_WORKERS}, not ${n}`);
}

/**
 * An l5d config (one of the L5D_* templates, rendered) with `n` processes serving its routers'
 * ports: the top-level `workers: n` key appended; n = 1 leaves the config as it is (the key's
 * default), so a one-worker case runs exactly the config every other mode runs.
 */
export function withL5dWorkers(yaml: string, n: number): string {
  checkWorkers(n);
  if (n === 1) return yaml;
  if (/^workers:/m.test(yaml)) throw new TemplateError("the l5d config already sets workers");
  return `${yaml.endsWith("\n") ? yaml : `${yaml}\n`}workers: ${n}\n`;
}

/**
 * An nghttpx config (one of the NGHTTPX_* templates, rendered) with `workers=n` in place of its
 * one `workers=` line (nghttpx runs its workers as threads of its one worker process).
 */
export function withNghttpxWorkers(conf: string, n: number): string {
  checkWorkers(n);
  const lines = conf.match(/^workers=\d+$/gm) ?? [];
  if (lines.length !== 1)
    throw new TemplateError(`the nghttpx config has ${lines.length} workers= lines, expected 1`);
  return conf.replace(/^workers=\d+$/m, `workers=${n}`);
}

export const NGINX_CONF = `# nginx grpc_pass, h2c (prior knowledge) on both sides. {{NAME}}
worker_processes 1;
daemon off;
user www-data;
pid {{RUNDIR}}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  error_log {{RUNDIR}}/error.log warn;
  client_max_body_size 16m;         # not in the spec's template: the default 1m rejects the 1 MiB case
  client_body_temp_path {{RUNDIR}}/body;
  upstream up {
    server {{UPSTREAM}};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen {{LISTEN}} http2;
    http2_max_concurrent_streams 1000;
    keepalive_requests 1000000;
    location / { grpc_pass grpc://up; }
  }
}
`;

export const HAPROXY_CFG = `# haproxy h2c <-> h2c. {{NAME}}
global
  nbthread 1
  maxconn 5000
defaults
  mode http
  timeout connect 5s
  timeout client  60s
  timeout server  60s
frontend fe
  bind {{LISTEN}} proto h2
  default_backend be
backend be
  http-reuse always
  server s1 {{UPSTREAM}} proto h2
`;

export const NGHTTPX_CONF = `# nghttpx h2c <-> h2c. {{NAME}}
frontend={{LISTEN_HOST}},{{LISTEN_PORT}};no-tls
backend={{UP_HOST}},{{UP_PORT}};;proto=h2;no-tls
workers=1
pid-file={{RUNDIR}}/nghttpx.pid
errorlog-file={{RUNDIR}}/error.log
frontend-http2-max-concurrent-streams=1000
`;

/** One l5d router: h2, header.token identifier, every /svc name to one inet address. */
export const L5D_YAML = `# l5d one hop ({{NAME}})
admin: {port: {{ADMIN_PORT}}, ip: 127.0.0.1}
routers:
- protocol: h2
  label: bench
  identifier: {kind: io.l5d.header.token}
  dtab: /svc/* => /$/inet/{{UP_HOST}}/{{UP_PORT}};
  servers: [{port: {{LISTEN_PORT}}, ip: {{LISTEN_HOST}}}]
`;

// ---- TLS (the `-tls` cases, issue #16): TLS with ALPN h2 from the client and to the backend's
// TLS port, one worker/thread each, the certificate checked against the run's CA and its name
// (UP_NAME) on the way to the backend. Both get the h2 templates' variables plus CA, CERT, KEY
// (absolute paths; the l5d template takes them JSON-quoted, YAML's double-quoted strings).

export const NGHTTPX_TLS_CONF = `# nghttpx TLS (ALPN h2) <-> TLS h2, the backend's certificate checked. {{NAME}}
frontend={{LISTEN_HOST}},{{LISTEN_PORT}}
backend={{UP_HOST}},{{UP_PORT}};;proto=h2;tls;sni={{UP_NAME}}
private-key-file={{KEY}}
certificate-file={{CERT}}
cacert={{CA}}
# the run's certificate has no OCSP responder: no fetch-ocsp-response child at start
no-ocsp=yes
workers=1
pid-file={{RUNDIR}}/nghttpx.pid
errorlog-file={{RUNDIR}}/error.log
frontend-http2-max-concurrent-streams=1000
`;

/** {@link L5D_YAML} with server TLS on its listener and client TLS to the backend. */
export const L5D_TLS_YAML = `# l5d one hop, TLS on both sides ({{NAME}})
admin: {port: {{ADMIN_PORT}}, ip: 127.0.0.1}
routers:
- protocol: h2
  label: bench-tls
  identifier: {kind: io.l5d.header.token}
  dtab: /svc/* => /$/inet/{{UP_HOST}}/{{UP_PORT}};
  servers:
  - port: {{LISTEN_PORT}}
    ip: {{LISTEN_HOST}}
    tls: {certPath: {{CERT}}, keyPath: {{KEY}}}
  client:
    tls: {commonName: {{UP_NAME}}, trustCerts: [{{CA}}]}
`;

// ---- HTTP/1.1 (`bench --http1`): HTTP/1.1 keep-alive on both sides, one worker/thread each.
// Each uses the same variables as its h2 counterpart above, so peers.ts starts both alike.

export const NGINX_H1_CONF = `# nginx proxy_pass, HTTP/1.1 keep-alive on both sides. {{NAME}}
worker_processes 1;
daemon off;
user www-data;
pid {{RUNDIR}}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  error_log {{RUNDIR}}/error.log warn;
  client_body_temp_path {{RUNDIR}}/body;
  proxy_temp_path {{RUNDIR}}/proxy;
  upstream up {
    server {{UPSTREAM}};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen {{LISTEN}};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;

export const HAPROXY_H1_CFG = `# haproxy HTTP/1.1 <-> HTTP/1.1. {{NAME}}
global
  nbthread 1
  maxconn 5000
defaults
  mode http
  timeout connect 5s
  timeout client  60s
  timeout server  60s
frontend fe
  bind {{LISTEN}}
  default_backend be
backend be
  http-reuse always
  server s1 {{UPSTREAM}}
`;

export const NGHTTPX_H1_CONF = `# nghttpx HTTP/1.1 <-> HTTP/1.1 (the cleartext frontend takes HTTP/1.1 and h2c). {{NAME}}
frontend={{LISTEN_HOST}},{{LISTEN_PORT}};no-tls
backend={{UP_HOST}},{{UP_PORT}};;proto=http/1.1
workers=1
pid-file={{RUNDIR}}/nghttpx.pid
errorlog-file={{RUNDIR}}/error.log
`;

/**
 * One l5d router: protocol http with Linkerd's default identifier (io.l5d.header.token on Host,
 * so /svc/<host:port>), every /svc name to one inet address.
 */
export const L5D_H1_YAML = `# l5d one hop, HTTP/1.1 ({{NAME}})
admin: {port: {{ADMIN_PORT}}, ip: 127.0.0.1}
routers:
- protocol: http
  label: bench-http1
  dtab: /svc/* => /$/inet/{{UP_HOST}}/{{UP_PORT}};
  servers: [{port: {{LISTEN_PORT}}, ip: {{LISTEN_HOST}}}]
`;

// ---- The whole mesh (`bench --mesh`): the tutorial's request path over two loopback "nodes".

/**
 * One h2 router of a mesh node's l5d (the tutorial's dtab and identifier): `label`, listening on
 * the template variable `portVar`, its interpreter's one transformer `transformer` (YAML lines
 * after `- kind: `).
 */
function l5dMeshRouter(label: string, portVar: string, transformer: string): string {
  return `- protocol: h2
  experimental: true
  label: ${label}
  dtab: |
{{DTAB}}
  identifier: {kind: io.l5d.header.path, segments: 1}
  interpreter:
    kind: default
    transformers:
    - kind: ${transformer}
  servers:
  - port: {{${portVar}}}
    ip: {{IP}}
`;
}

/**
 * One node's l5d: the tutorial's linkerd-grpc.yaml (its dtab, identifier, telemetry) with
 * io.l5d.fs over the run's disco directory in place of io.l5d.k8s, and the daemonset/localnode
 * transformers replaced as the fs demo does (deploy/local/fs-demo.mjs): the outgoing router sends
 * to the destination node's incoming router (io.l5d.port), the incoming router to this node's
 * instances only (io.l5d.specificHost). DISCO is JSON-quoted.
 */
export const L5D_MESH_YAML = `# l5d mesh node {{NAME}}
admin: {ip: {{IP}}, port: {{ADMIN_PORT}}}
namers:
- kind: io.l5d.fs
  rootDir: {{DISCO}}
telemetry:
- kind: io.l5d.prometheus
- kind: io.l5d.recentRequests
  sampleRate: 0.25
routers:
${l5dMeshRouter("outgoing", "OUTGOING_PORT", "io.l5d.port\n      port: {{INCOMING_PORT}}")}${l5dMeshRouter(
  "incoming",
  "INCOMING_PORT",
  "io.l5d.specificHost\n      host: {{IP}}",
)}`;

/**
 * One nghttpx of the mesh: h2c on both sides, one worker, static backends chosen by :path
 * prefix (BACKENDS: `backend=` lines, see mesh.ts's nghttpxMeshBackends).
 */
export const NGHTTPX_MESH_CONF = `# nghttpx mesh {{NAME}}: h2c <-> h2c, backends by :path
frontend={{LISTEN_HOST}},{{LISTEN_PORT}};no-tls
{{BACKENDS}}
workers=1
pid-file={{RUNDIR}}/nghttpx.pid
errorlog-file={{RUNDIR}}/error.log
frontend-http2-max-concurrent-streams=1000
`;
