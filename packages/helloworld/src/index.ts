export type { CliIo } from "./cli-io.js";
export type { GreetingCallOptions, MetadataInit, StreamGreetingCallOptions } from "./client.js";
export {
  callGreeting,
  callStreamGreeting,
  createHelloClient,
  createWorldClient,
} from "./client.js";
export type { ClientCommandLine } from "./client-cli.js";
export {
  CLIENT_FLAGS,
  ClientUsageError,
  parseClientCommandLine,
  runClientCli,
} from "./client-cli.js";
export { formatGoDuration, GoDurationError, parseGoDuration } from "./go-duration.js";
export type {
  GoFlagDef,
  GoFlagErrorCode,
  GoFlagResult,
  GoFlagSpec,
  GoFlagType,
  GoFlagValueOf,
  GoFlagValues,
  ParseGoFlagsOptions,
} from "./go-flags.js";
export { formatGoFlagUsage, GoFlagError, parseGoFlags } from "./go-flags.js";
export type { GreeterOptions } from "./greeter.js";
export { Greeter, InjectedFailureError } from "./greeter.js";
export { STREAM_GREETING_COUNT, toServerError } from "./grpc-server.js";
export { httpGetTarget } from "./http-server.js";
export { copyL5dContext, copyL5dContextHeaders } from "./l5d-context.js";
export type { ListenAddress } from "./listen-address.js";
export { joinHostPort, ListenAddressError, parseListenAddress } from "./listen-address.js";
export type { LoadOptions, LoadSummary } from "./load.js";
export { formatLoadSummary, percentile, runLoad } from "./load.js";
export type { RpcStatusLike } from "./rpc-error.js";
export { formatRpcError, GRPC_CODE_NAMES, grpcCodeName, isRpcError } from "./rpc-error.js";
export type {
  HelloWorldProtocol,
  HelloWorldServer,
  HelloWorldServerOptions,
} from "./server.js";
export { startHelloWorldServer } from "./server.js";
export type { RunServerCliOptions, ServerCliOptions, ServerCliResult } from "./server-cli.js";
export {
  parseServerCommandLine,
  runServerCli,
  serverFlagSpec,
  UnsupportedProtocolError,
} from "./server-cli.js";
