/**
 * Listening helpers shared by namerd's TCP servers (the interfaces and the admin server):
 * listen with the bind error as a rejection, and close a server together with the connections
 * still open on it, since watches and long polls would otherwise hold `close()` forever.
 */
import type { AddressInfo, Server, Socket } from "node:net";

/** Listens on `ip:port` (port 0: any free port); rejects if the server cannot bind. */
export async function listenOn(server: Server, port: number, ip: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/** A listening server whose `close()` also destroys the connections still open on it. */
export interface TrackedServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** Listens on `ip:port`, tracking the server's connections so that closing it ends them. */
export async function listenTracked(
  server: Server,
  port: number,
  ip: string,
): Promise<TrackedServer> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const address = await listenOn(server, port, ip);
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
