export type {
  DeepPartial,
  Exact,
  HelloServer,
  MessageFns,
  WorldServer,
} from "./gen/helloworld.js";
export {
  HelloClient,
  HelloService,
  protobufFileName,
  protobufPackage,
  SvcRequest,
  SvcResponse,
  WorldClient,
  WorldService,
} from "./gen/helloworld.js";
export * as mesh from "./mesh.js";
