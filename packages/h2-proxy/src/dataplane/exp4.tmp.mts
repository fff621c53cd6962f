import { startH2Backend, h2Client, simpleRequest } from "./test-support.ts";
const backend = await startH2Backend((stream) => { stream.respond({ ":status": 200 }); stream.write("partial"); setTimeout(() => stream.close(11), 20); });
const session = h2Client(backend.port);
const res = await simpleRequest(session, { ":path": "/" });
console.log("direct GET", res.rstCode, res.body.toString());
const res2 = await simpleRequest(session, { ":path": "/", ":method": "POST" }, Buffer.from("x"));
console.log("direct POST", res2.rstCode, res2.body.toString());
session.destroy(); await backend.close();
