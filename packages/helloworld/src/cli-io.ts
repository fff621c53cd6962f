/** Where a CLI reads its inputs and writes its output; defaults are the real process's. */
export interface CliIo {
  /** Arguments after the program name. Default `process.argv.slice(2)`. */
  argv?: readonly string[];
  /** Environment. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Writes to stdout. Default `process.stdout.write`. */
  stdout?: (text: string) => void;
  /** Writes to stderr. Default `process.stderr.write`. */
  stderr?: (text: string) => void;
}

/** {@link CliIo} with every default applied. */
export type ResolvedCliIo = Required<CliIo>;

export function resolveCliIo(io: CliIo): ResolvedCliIo {
  return {
    argv: io.argv ?? process.argv.slice(2),
    env: io.env ?? process.env,
    stdout: io.stdout ?? ((t) => void process.stdout.write(t)),
    stderr: io.stderr ?? ((t) => void process.stderr.write(t)),
  };
}
