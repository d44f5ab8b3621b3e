// Why an operator replica is not ready yet, in one sentence naming what it waits for: the
// informer caches still listing (with the last error each ran into) and the registry listing
// (with what the last attempt to reach etcd said).

export interface Pending {
  /** The resource, e.g. `secrets`. */
  readonly name: string;
  /** The last error of its list or watch, while it has not synced. */
  readonly lastError: string | undefined;
}

export interface RegistryProgress {
  readonly listed: boolean;
  /** What the last attempt to list the registry ran into (watcher status `failing`). */
  readonly failing: string | undefined;
}

const withError = (what: string, error: string | undefined): string =>
  error === undefined ? what : `${what} (last error: ${error})`;

/** The readiness message while something is pending; undefined when nothing is. */
export const waitingFor = (informers: readonly Pending[], registry: RegistryProgress): string | undefined => {
  const parts: string[] = [];
  if (informers.length > 0) {
    const names = informers.map((i) => withError(i.name, i.lastError));
    parts.push(`the informer caches of ${names.join(", ")} to sync`);
  }
  if (!registry.listed) parts.push(withError("the registry etcd to be listed", registry.failing));
  return parts.length === 0 ? undefined : `waiting for ${parts.join(" and ")}`;
};
