/**
 * Certificate rotation without a restart (issue #16 item 4): the files of a `tls` config are
 * polled (a Kubernetes Secret update swaps a symlink: polling sees it where an inotify watch on
 * the old inode would not), and when any of them changes the config is loaded again. A good new
 * set of credentials is handed to `apply` (new handshakes use it, established connections keep
 * theirs); a bad one (unreadable, key not matching, expired) keeps the old credentials and is
 * reported with the reason.
 */
import { type StatWatcher, unwatchFile, watchFile } from "node:fs";

export interface TlsReloader {
  close(): void;
}

/** How often the files are looked at (ms). */
export const TLS_POLL_MS = 1_000;

/**
 * Watches `paths`; on a change calls `load` (which throws on bad files), then `apply` with its
 * result, or `onError` with why the old credentials stay.
 */
export function watchTlsFiles<T>(
  paths: readonly string[],
  load: () => T,
  apply: (loaded: T) => void,
  onError: (why: string) => void,
  intervalMs = TLS_POLL_MS,
): TlsReloader {
  let pending: NodeJS.Timeout | undefined;
  const changed = (): void => {
    // a Secret update rewrites several files: load once they have all landed
    clearTimeout(pending);
    pending = setTimeout(() => {
      pending = undefined;
      let loaded: T;
      try {
        loaded = load();
      } catch (e) {
        onError((e as Error).message);
        return;
      }
      apply(loaded);
    }, intervalMs / 4);
    pending.unref();
  };
  const listeners = new Map<
    string,
    (curr: { mtimeMs: number }, prev: { mtimeMs: number }) => void
  >();
  for (const p of new Set(paths)) {
    const l = (
      curr: { mtimeMs: number; ino?: number },
      prev: { mtimeMs: number; ino?: number },
    ) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino) changed();
    };
    listeners.set(p, l);
    const w: StatWatcher = watchFile(p, { interval: intervalMs, persistent: false }, l);
    w.unref?.();
  }
  return {
    close() {
      clearTimeout(pending);
      for (const [p, l] of listeners) unwatchFile(p, l);
    },
  };
}
