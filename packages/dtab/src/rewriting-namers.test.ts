import { describe, expect, it } from "vitest";
import { Activity } from "./activity.js";
import { Dtab } from "./dtab.js";
import { parseJavaIPv4 } from "./inet.js";
import { createDefaultInterpreter } from "./interpreter.js";
import { NameTree } from "./name-tree.js";
import { Path } from "./path.js";
import { REWRITING_NAMERS } from "./rewriting-namers.js";

async function rewrite(cls: string, input: string): Promise<string> {
  const namer = REWRITING_NAMERS[cls]!;
  try {
    const t = await Activity.toPromise(namer.lookup(Path.read(input)), 1000);
    return NameTree.show(t as NameTree<Path>);
  } catch (e) {
    return `ERR ${(e as Error).message}`;
  }
}

describe("io.buoyant rewriting namers", () => {
  it("domainToPath[Pfx]", async () => {
    expect(await rewrite("io.buoyant.http.domainToPathPfx", "/pfx/foo.buoyant.io")).toBe(
      "/pfx/io/buoyant/foo",
    );
    expect(await rewrite("io.buoyant.http.domainToPathPfx", "/grpc/helloworld.Hello/x")).toBe(
      "/grpc/Hello/helloworld/x",
    );
    expect(await rewrite("io.buoyant.http.domainToPathPfx", "/pfx/foo.com:8080")).toBe(
      "/pfx/com:8080/foo",
    );
    expect(await rewrite("io.buoyant.http.domainToPath", "/foo./r")).toBe("/foo/r");
    expect(await rewrite("io.buoyant.http.domainToPath", "/.../r")).toBe("/r");
    expect(await rewrite("io.buoyant.http.domainToPath", "/a..b")).toBe("ERR requirement failed");
    expect(await rewrite("io.buoyant.http.domainToPathPfx", "/pfx")).toBe("~");
    expect(await rewrite("io.buoyant.http.domainToPath", "/")).toBe("~");
    expect(await rewrite("io.buoyant.http.domainToPath", "/a\\x20b")).toBe("~");
  });
  it("subdomainOf[Pfx]", async () => {
    expect(await rewrite("io.buoyant.http.subdomainOf", "/buoyant.io/foo.buoyant.io/r")).toBe(
      "/foo/r",
    );
    expect(await rewrite("io.buoyant.http.subdomainOf", "/a.b/x.y.a.b")).toBe("/x.y");
    expect(await rewrite("io.buoyant.http.subdomainOf", "/a.b/a.b")).toBe("~");
    expect(await rewrite("io.buoyant.http.subdomainOf", "/a.b/my_svc-1.a.b:9090")).toBe(
      "/my_svc-1",
    );
    expect(
      await rewrite("io.buoyant.http.subdomainOfPfx", "/buoyant.io/pfx/foo.buoyant.io/r"),
    ).toBe("/pfx/foo/r");
    expect(await rewrite("io.buoyant.http.subdomainOfPfx", "/buoyant.io/pfx/foo.other.io")).toBe(
      "~",
    );
  });
  it("anyMethod[Pfx] and anyHost[Pfx]", async () => {
    expect(await rewrite("io.buoyant.http.anyMethod", "/POST/svc/x")).toBe("/svc/x");
    expect(await rewrite("io.buoyant.http.anyMethod", "/post/svc")).toBe("~");
    expect(await rewrite("io.buoyant.http.anyMethodPfx", "/pfx/GET/svc")).toBe("/pfx/svc");
    expect(await rewrite("io.buoyant.http.anyHost", "/foo.buoyant.io/r/n")).toBe("/r/n");
    expect(await rewrite("io.buoyant.http.anyHostPfx", "/pfx/foo.io/r")).toBe("/pfx/r");
    expect(await rewrite("io.buoyant.http.anyHostPfx", "/pfx/fo\\x2fo/r")).toBe("~");
  });
  it("hostportPfx and porthostPfx", async () => {
    expect(await rewrite("io.buoyant.hostportPfx", "/pfx/host:8080/r")).toBe("/pfx/host/8080/r");
    expect(await rewrite("io.buoyant.porthostPfx", "/pfx/host:http/r")).toBe("/pfx/http/host/r");
    expect(await rewrite("io.buoyant.hostportPfx", "/pfx/host:HTTP")).toBe("~");
    expect(await rewrite("io.buoyant.hostportPfx", "/pfx/host:-80")).toBe("~");
    expect(await rewrite("io.buoyant.hostportPfx", "/pfx/a:b:c")).toBe("~");
    expect(await rewrite("io.buoyant.hostportPfx", "/pfx/host:")).toBe("~");
    expect(await rewrite("io.buoyant.hostportPfx", "/pfx/host:a-")).toBe("/pfx/host/a-");
    expect(await rewrite("io.buoyant.hostportPfx", "/pfx/:80")).toBe("ERR requirement failed");
    expect(await rewrite("io.buoyant.hostportPfx", `/pfx/h:${"a".repeat(64)}`)).toBe("~");
  });
  it("rinet binds like inet with the port first", async () => {
    const i = createDefaultInterpreter([]);
    const t = await Activity.toPromise(
      i.bind(Dtab.empty, Path.read("/$/io.buoyant.rinet/8080/127.0.0.1/x")),
    );
    expect(t.type).toBe("leaf");
    if (t.type === "leaf") {
      expect(t.value.id.show).toBe("/$/io.buoyant.rinet/8080/127.0.0.1");
      expect(t.value.residual.show).toBe("/x");
      expect(t.value.addr.sample()).toMatchObject({
        type: "bound",
        addrs: [{ host: "127.0.0.1", port: 8080 }],
      });
    }
  });
  it("rewritten paths are looked up again through the dtab", async () => {
    const i = createDefaultInterpreter([]);
    const dtab = Dtab.read(
      "/grpc/Hello=>/$/inet/127.0.0.1/7777;/svc=>/$/io.buoyant.http.domainToPathPfx/grpc",
    );
    const t = await Activity.toPromise(i.bind(dtab, Path.read("/svc/helloworld.Hello")));
    expect(NameTree.show(t)).toBe("/$/inet/127.0.0.1/7777");
    expect(t.type === "leaf" && t.value.residual.show).toBe("/helloworld");
  });
});

describe("Java IPv4 literal parsing", () => {
  it("accepts InetAddress short forms", () => {
    expect(parseJavaIPv4("127.1")).toBe("127.0.0.1");
    expect(parseJavaIPv4("10")).toBe("0.0.0.10");
    expect(parseJavaIPv4("10.1.2")).toBe("10.1.0.2");
    expect(parseJavaIPv4("1.2.3.4")).toBe("1.2.3.4");
    expect(parseJavaIPv4("256.1")).toBeUndefined();
    expect(parseJavaIPv4("1.2.3.4.5")).toBeUndefined();
    expect(parseJavaIPv4("localhost")).toBeUndefined();
  });
});
