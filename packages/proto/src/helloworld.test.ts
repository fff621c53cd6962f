import { describe, expect, it } from "vitest";
import {
  HelloClient,
  HelloService,
  protobufPackage,
  SvcRequest,
  SvcResponse,
  WorldClient,
  WorldService,
} from "./index.js";

describe("generated helloworld contract", () => {
  it("keeps the original Go app's wire paths", () => {
    expect(protobufPackage).toBe("helloworld");
    expect(HelloService.greeting.path).toBe("/helloworld.Hello/Greeting");
    expect(HelloService.streamGreeting.path).toBe("/helloworld.Hello/StreamGreeting");
    expect(HelloService.streamGreeting.responseStream).toBe(true);
    expect(WorldService.greeting.path).toBe("/helloworld.World/Greeting");
    expect(Object.keys(WorldService)).toEqual(["greeting"]);
    expect(HelloClient.serviceName).toBe("helloworld.Hello");
    expect(WorldClient.serviceName).toBe("helloworld.World");
  });

  it("encodes SvcResponse.message as field 1 (tag 0x0a) and SvcRequest as empty", () => {
    expect(SvcRequest.encode({}).finish()).toEqual(new Uint8Array());
    const bytes = SvcResponse.encode({ message: "hi!" }).finish();
    expect(Array.from(bytes)).toEqual([0x0a, 3, 0x68, 0x69, 0x21]);
    expect(SvcResponse.decode(bytes)).toEqual({ message: "hi!" });
  });

  it("skips unknown fields when decoding (forward compatibility)", () => {
    // field 2 varint 7, then field 1 "ok"
    const bytes = Uint8Array.from([0x10, 7, 0x0a, 2, 0x6f, 0x6b]);
    expect(SvcResponse.decode(bytes)).toEqual({ message: "ok" });
    expect(SvcRequest.decode(bytes)).toEqual({});
  });
});
