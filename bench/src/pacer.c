/*
 * pacer: an open-loop, evenly paced HTTP/2 (h2c prior knowledge) load generator for the
 * fixed-rate latency phase of the benchmark (issue #9). The Node generator (paced.ts) carries
 * its own garbage collector and timer jitter into every percentile (measured: ~3 ms of p99 even
 * against the bare backend); this one is a single C process with no allocation on the request
 * path, woken by ppoll() with nanosecond timeouts, so what it measures is the system under test.
 *
 * Request i is due at start + i/rate and goes out on connection i % connections. Each request
 * is a gRPC-shaped POST (fixed HPACK block of literal fields, then one DATA frame with the body
 * and END_STREAM). A stream is complete when a frame with END_STREAM arrives (DATA or the
 * trailers' HEADERS, after END_HEADERS); RST_STREAM or GOAWAY fail it. Latency is measured from
 * the request's scheduled time (no coordinated omission) and, separately, from the time it was
 * written. HPACK is never decoded: correctness is the harness's probe phase (a real client that
 * checks grpc-status), this tool only times.
 *
 * usage: pacer <port> <path> <rate> <duration_s> <connections> <body_hex> <drain_ms>
 * prints one JSON object: {"sent":N,"ok":N,"failed":N,"spanS":x,"latUs":[...],"lagUs":[...]}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64

typedef struct {
  int fd;
  int dead;
  uint32_t next_id;
  /* read buffer */
  unsigned char buf[1 << 16];
  size_t len;
  /* a header block in progress (HEADERS without END_HEADERS) */
  uint32_t block_id;
  int block_end_stream;
  uint64_t unacked_data;
} conn_t;

static conn_t conns[MAX_CONNS];
static int nconns;
static long total;
static int64_t *due_ns;  /* per request: scheduled time */
static int64_t *sent_ns; /* per request: write time */
static int32_t *state;   /* 0 pending, 1 in flight, 2 ok, 3 failed */
static long outstanding, okc, failc, sentc;
static int64_t last_end;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *m) {
  fprintf(stderr, "pacer: %s: %s\n", m, strerror(errno));
  exit(2);
}

static void write_all(conn_t *c, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(c->fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pf = {c->fd, POLLOUT, 0};
        poll(&pf, 1, 100);
        continue;
      }
      c->dead = 1;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static void frame_header(unsigned char *h, uint32_t len, uint8_t type, uint8_t flags, uint32_t id) {
  h[0] = (unsigned char)(len >> 16);
  h[1] = (unsigned char)(len >> 8);
  h[2] = (unsigned char)len;
  h[3] = type;
  h[4] = flags;
  h[5] = (unsigned char)((id >> 24) & 0x7f);
  h[6] = (unsigned char)(id >> 16);
  h[7] = (unsigned char)(id >> 8);
  h[8] = (unsigned char)id;
}

/* the request template: HEADERS (END_HEADERS) + DATA (END_STREAM); stream ids patched per send */
static unsigned char tmpl[4096];
static size_t tmpl_len, data_hdr_off;

static size_t lit(unsigned char *p, int name_idx, const char *name, const char *value) {
  size_t n = 0;
  size_t vl = strlen(value);
  if (name_idx > 0) {
    /* literal without indexing, indexed name (4-bit prefix) */
    if (name_idx < 15) p[n++] = (unsigned char)name_idx;
    else {
      p[n++] = 0x0f;
      p[n++] = (unsigned char)(name_idx - 15);
    }
  } else {
    size_t nl = strlen(name);
    p[n++] = 0x00;
    p[n++] = (unsigned char)nl;
    memcpy(p + n, name, nl);
    n += nl;
  }
  if (vl < 127) p[n++] = (unsigned char)vl;
  else {
    p[n++] = 0x7f;
    size_t r = vl - 127;
    while (r >= 128) {
      p[n++] = (unsigned char)((r & 0x7f) | 0x80);
      r >>= 7;
    }
    p[n++] = (unsigned char)r;
  }
  memcpy(p + n, value, vl);
  return n + vl;
}

static void build_template(const char *path, const char *authority, const unsigned char *body, size_t blen) {
  unsigned char block[2048];
  size_t b = 0;
  block[b++] = 0x83; /* :method POST */
  block[b++] = 0x86; /* :scheme http */
  b += lit(block + b, 4, NULL, path);        /* :path */
  b += lit(block + b, 1, NULL, authority);   /* :authority */
  b += lit(block + b, 31, NULL, "application/grpc"); /* content-type */
  b += lit(block + b, 0, "te", "trailers");
  frame_header(tmpl, (uint32_t)b, 1, 0x4, 1);
  memcpy(tmpl + 9, block, b);
  data_hdr_off = 9 + b;
  frame_header(tmpl + data_hdr_off, (uint32_t)blen, 0, 0x1, 1);
  memcpy(tmpl + data_hdr_off + 9, body, blen);
  tmpl_len = data_hdr_off + 9 + blen;
}

static void set_id(unsigned char *h, uint32_t id) {
  h[5] = (unsigned char)((id >> 24) & 0x7f);
  h[6] = (unsigned char)(id >> 16);
  h[7] = (unsigned char)(id >> 8);
  h[8] = (unsigned char)id;
}

static void finish(long r, int ok) {
  if (r < 0 || state[r] != 1) return;
  state[r] = ok ? 2 : 3;
  outstanding--;
  if (ok) {
    okc++;
    last_end = now_ns();
    sent_ns[r] = last_end - sent_ns[r]; /* reused as latency from send */
    due_ns[r] = last_end - due_ns[r];   /* reused as latency from schedule */
  } else
    failc++;
}

static long req_for(int ci, uint32_t id) {
  /* stream ids are 1,3,5,... on each connection; request index = slot * nconns + ci */
  if (id == 0 || (id & 1) == 0) return -1;
  long slot = (long)(id >> 1);
  long r = slot * nconns + ci;
  if (r >= total) return -1;
  return r;
}

static void send_request(long r) {
  int ci = (int)(r % nconns);
  conn_t *c = &conns[ci];
  sentc++;
  state[r] = 1;
  outstanding++;
  if (c->dead) {
    finish(r, 0);
    return;
  }
  uint32_t id = (uint32_t)((r / nconns) * 2 + 1);
  set_id(tmpl, id);
  set_id(tmpl + data_hdr_off, id);
  sent_ns[r] = now_ns();
  write_all(c, tmpl, tmpl_len);
}

static void fail_conn(int ci, uint32_t above) {
  conn_t *c = &conns[ci];
  c->dead = 1;
  for (long r = ci; r < total; r += nconns) {
    uint32_t id = (uint32_t)((r / nconns) * 2 + 1);
    if (state[r] == 1 && id > above) finish(r, 0);
  }
}

static void on_frame(int ci, uint8_t type, uint8_t flags, uint32_t id, const unsigned char *p, uint32_t len) {
  conn_t *c = &conns[ci];
  unsigned char h[17];
  switch (type) {
    case 0: /* DATA */
      c->unacked_data += len;
      if (c->unacked_data > (1u << 20)) {
        frame_header(h, 4, 8, 0, 0);
        uint32_t inc = (uint32_t)c->unacked_data;
        h[9] = (unsigned char)(inc >> 24);
        h[10] = (unsigned char)(inc >> 16);
        h[11] = (unsigned char)(inc >> 8);
        h[12] = (unsigned char)inc;
        write_all(c, h, 13);
        c->unacked_data = 0;
      }
      if (flags & 0x1) finish(req_for(ci, id), 1);
      break;
    case 1: /* HEADERS */
      if (flags & 0x4) {
        if (flags & 0x1) finish(req_for(ci, id), 1);
      } else {
        c->block_id = id;
        c->block_end_stream = flags & 0x1;
      }
      break;
    case 9: /* CONTINUATION */
      if ((flags & 0x4) && id == c->block_id) {
        if (c->block_end_stream) finish(req_for(ci, id), 1);
        c->block_id = 0;
      }
      break;
    case 3: /* RST_STREAM */
      finish(req_for(ci, id), 0);
      break;
    case 4: /* SETTINGS */
      if (!(flags & 0x1)) {
        frame_header(h, 0, 4, 0x1, 0);
        write_all(c, h, 9);
      }
      break;
    case 6: /* PING */
      if (!(flags & 0x1) && len == 8) {
        frame_header(h, 8, 6, 0x1, 0);
        memcpy(h + 9, p, 8);
        write_all(c, h, 17);
      }
      break;
    case 7: /* GOAWAY */
      if (len >= 4) {
        uint32_t last = ((uint32_t)(p[0] & 0x7f) << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        fail_conn(ci, last);
      }
      break;
    default:
      break;
  }
}

static void on_readable(int ci) {
  conn_t *c = &conns[ci];
  ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    fail_conn(ci, 0);
    return;
  }
  c->len += (size_t)n;
  size_t off = 0;
  while (c->len - off >= 9) {
    unsigned char *f = c->buf + off;
    uint32_t len = ((uint32_t)f[0] << 16) | ((uint32_t)f[1] << 8) | f[2];
    if (len + 9 > sizeof(c->buf)) {
      fprintf(stderr, "pacer: frame of %u bytes is larger than the buffer\n", len);
      fail_conn(ci, 0);
      return;
    }
    if (c->len - off < 9 + len) break;
    uint32_t id = (((uint32_t)f[5] & 0x7f) << 24) | ((uint32_t)f[6] << 16) | ((uint32_t)f[7] << 8) | f[8];
    on_frame(ci, f[3], f[4], id, f + 9, len);
    off += 9 + len;
  }
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: pacer <port> <path> <rate> <duration_s> <connections> <body_hex> <drain_ms>\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int port = atoi(argv[1]);
  const char *path = argv[2];
  double rate = atof(argv[3]);
  double dur = atof(argv[4]);
  nconns = atoi(argv[5]);
  const char *hex = argv[6];
  long drain_ms = atol(argv[7]);
  if (port <= 0 || rate <= 0 || dur <= 0 || nconns < 1 || nconns > MAX_CONNS) {
    fprintf(stderr, "pacer: bad arguments\n");
    return 2;
  }
  size_t blen = strlen(hex) / 2;
  unsigned char body[1024];
  if (blen > sizeof(body)) {
    fprintf(stderr, "pacer: body too large\n");
    return 2;
  }
  for (size_t i = 0; i < blen; i++) sscanf(hex + 2 * i, "%2hhx", &body[i]);
  char authority[64];
  snprintf(authority, sizeof authority, "127.0.0.1:%d", port);
  build_template(path, authority, body, blen);

  total = (long)(rate * dur + 0.5);
  if (total < 1) total = 1;
  due_ns = calloc((size_t)total, sizeof(int64_t));
  sent_ns = calloc((size_t)total, sizeof(int64_t));
  state = calloc((size_t)total, sizeof(int32_t));
  if (!due_ns || !sent_ns || !state) die("calloc");

  static const unsigned char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) die("socket");
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(0x7f000001);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    unsigned char h[9 + 4 + 13];
    write_all(c, preface, 24);
    frame_header(h, 0, 4, 0, 0); /* empty SETTINGS */
    /* connection window: +1 GiB up front, topped up as DATA arrives */
    frame_header(h + 9, 4, 8, 0, 0);
    uint32_t inc = 1u << 30;
    h[18] = (unsigned char)(inc >> 24);
    h[19] = (unsigned char)(inc >> 16);
    h[20] = (unsigned char)(inc >> 8);
    h[21] = (unsigned char)inc;
    write_all(c, h, 22);
  }
  struct pollfd pfds[MAX_CONNS];
  for (int i = 0; i < nconns; i++) {
    pfds[i].fd = conns[i].fd;
    pfds[i].events = POLLIN;
  }
  /* let SETTINGS settle before the clock starts */
  {
    int64_t until = now_ns() + 50000000LL;
    while (now_ns() < until) {
      struct timespec ts = {0, 5000000};
      if (ppoll(pfds, (nfds_t)nconns, &ts, NULL) > 0)
        for (int i = 0; i < nconns; i++)
          if (pfds[i].revents) on_readable(i);
    }
  }
  int64_t start = now_ns();
  double step = 1e9 / rate;
  for (long i = 0; i < total; i++) due_ns[i] = start + (int64_t)(i * step + 0.5);
  long next = 0;
  int64_t drain_until = 0;
  for (;;) {
    int64_t t = now_ns();
    while (next < total && due_ns[next] <= t) send_request(next++);
    if (next >= total) {
      if (outstanding == 0) break;
      if (drain_until == 0) drain_until = t + drain_ms * 1000000LL;
      if (t >= drain_until) break;
    }
    int64_t wake = next < total ? due_ns[next] : drain_until;
    int64_t wait = wake - now_ns();
    if (wait < 0) wait = 0;
    struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
    int n = ppoll(pfds, (nfds_t)nconns, &ts, NULL);
    if (n < 0 && errno != EINTR) die("ppoll");
    if (n > 0)
      for (int i = 0; i < nconns; i++)
        if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) on_readable(i);
  }
  for (long r = 0; r < total; r++)
    if (state[r] == 1) finish(r, 0);
  double span = (double)((last_end > start ? last_end : now_ns()) - start) / 1e9;
  printf("{\"sent\":%ld,\"ok\":%ld,\"failed\":%ld,\"spanS\":%.6f,\"latUs\":[", sentc, okc, failc, span);
  int first = 1;
  for (long r = 0; r < total; r++)
    if (state[r] == 2) {
      printf(first ? "%.1f" : ",%.1f", (double)sent_ns[r] / 1000.0);
      first = 0;
    }
  printf("],\"schedUs\":[");
  first = 1;
  for (long r = 0; r < total; r++)
    if (state[r] == 2) {
      printf(first ? "%.1f" : ",%.1f", (double)due_ns[r] / 1000.0);
      first = 0;
    }
  printf("]}\n");
  for (int i = 0; i < nconns; i++) close(conns[i].fd);
  return 0;
}
