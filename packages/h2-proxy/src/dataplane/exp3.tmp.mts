import { startH2Backend, startStaticProxy, h2Client, simpleRequest, grpcFrame } from "./test-support.ts";
const GRPC_POST = { ":method": "POST", ":path": "/x", "content-type": "application/grpc", te: "trailers" };
{
  const backend = await startH2Backend((stream) => { stream.respond({ ":status": 200 }); stream.write("partial"); setTimeout(() => stream.close(11), 20); });
  const proxy = await startStaticProxy(backend.endpoint);
  const session = h2Client(proxy.port);
  const res = await simpleRequest(session, { ":path": "/" });
  console.log("A", res.rstCode, res.body.toString(), res.headers[":status"]);
  session.destroy(); await proxy[Symbol.asyncDispose](); await backend.close();
}
{
  const backend = await startH2Backend((stream) => stream.close(8));
  const proxy = await startStaticProxy(backend.endpoint);
  const session = h2Client(proxy.port);
  const t = setTimeout(() => console.log("B stuck", proxy.server.streams), 2000);
  const res = await simpleRequest(session, GRPC_POST, grpcFrame(Buffer.alloc(3)));
  clearTimeout(t);
  console.log("B", res.rstCode, res.headers);
  session.destroy(); await proxy[Symbol.asyncDispose](); await backend.close();
}
