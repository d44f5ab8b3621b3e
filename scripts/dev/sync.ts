// One pass of dev mode over the manifest directory: apply each object, delete the Switchboard
// objects whose files are gone, run the local functions the Functions need, wait for the
// operator's verdicts and the gateway, then say per object what happened and what to paste.
import { lookup } from "node:dns/promises";
import { errorMessage } from "../../common/errors.ts";
import type { Cluster } from "../../e2e/cluster.ts";
import type { GatewayProcess } from "../../e2e/gateway.ts";
import { type Applied, applyAll, deleteUndeclared, existingIds, idOf } from "./apply.ts";
import type { Verdict } from "./describe.ts";
import type { DevConfig } from "./flags.ts";
import type { LocalFunctions, ServiceWant } from "./local-functions.ts";
import {
  type Declared,
  label,
  readManifests,
  SWITCHBOARD_KINDS,
  serviceTarget,
  urlTarget,
} from "./manifests.ts";
import { gatewayCaughtUp, settle } from "./status.ts";
import { tryIt } from "./try-it.ts";

export interface DevRun {
  readonly cluster: Cluster;
  readonly config: DevConfig;
  readonly functions: LocalFunctions;
  readonly gateway: GatewayProcess;
  readonly print: (line: string) => void;
}

/** The Services that need a local function (targeted, no --service), with the port asked for. */
const wantedServices = (objects: readonly Declared[], config: DevConfig): Map<string, ServiceWant> => {
  const wanted = new Map<string, ServiceWant>();
  for (const o of objects) {
    const target = serviceTarget(o);
    if (!target || config.services.has(target.service) || wanted.has(target.service)) continue;
    wanted.set(target.service, { port: target.port });
  }
  return wanted;
};

/** A note when a Ready URL Function's host does not resolve here (e.g. a cluster DNS name). */
const unresolvable = async (o: Declared): Promise<string | undefined> => {
  const url = urlTarget(o);
  if (url === undefined) return undefined;
  const host = URL.canParse(url) ? new URL(url).hostname : "";
  if (host === "" || /^[\d.]+$|^\[/.test(host)) return undefined;
  try {
    await lookup(host);
    return undefined;
  } catch {
    return `host ${host} does not resolve on this machine: deliveries to it fail in dev mode`;
  }
};

const line = async (a: Applied, verdict: Verdict | undefined, existed: boolean): Promise<string> => {
  const name = label(a.object);
  if (!a.ok) {
    const before = existed
      ? ` (the version applied before stays in effect: ${verdict?.text ?? "unknown"})`
      : "";
    return `${name}: refused by ${a.by} — ${a.error}${before}`;
  }
  if (!SWITCHBOARD_KINDS[a.object.kind]) return `${name}: ${a.verb}`;
  const notes = [a.note, verdict?.state === "ready" ? await unresolvable(a.object) : undefined].filter(
    Boolean,
  );
  return `${name}: ${verdict?.text ?? "unknown"}${notes.map((n) => `; ${n}`).join("")}`;
};

/** Applies the directory and reports; never throws (every failure is a line of output). */
export const sync = async ({ cluster, config, functions, gateway, print }: DevRun): Promise<void> => {
  try {
    const { objects, problems } = readManifests(config.source);
    print(`dev: applying ${config.source} (${objects.length} objects)`);
    for (const p of problems) print(`  ${p}`);
    const before = await existingIds(cluster);
    const applied = await applyAll(cluster, objects, config.services);
    const deleted = problems.length === 0 ? await deleteUndeclared(cluster, objects, before) : [];
    if (problems.length > 0) print("  nothing deleted while a file cannot be read");
    const notes = await functions.reconcile(wantedServices(objects, config));
    const ids = applied
      .filter((a) => SWITCHBOARD_KINDS[a.object.kind] && (a.ok || before.has(idOf(a.object))))
      .map((a) => idOf(a.object));
    const verdicts = await settle(cluster, ids);
    for (const a of applied)
      print(`  ${await line(a, verdicts.get(idOf(a.object)), before.has(idOf(a.object)))}`);
    for (const d of deleted) print(`  ${d}`);
    for (const n of notes.values()) print(`  ${n}`);
    const ours = applied.filter((a) => SWITCHBOARD_KINDS[a.object.kind]);
    const ready = ours.filter((a) => a.ok && verdicts.get(idOf(a.object))?.state === "ready");
    const refused = applied.filter((a) => !a.ok).length;
    if (ready.length > 0)
      await gatewayCaughtUp(cluster.etcd, (name) => gateway.metric(name)).catch((err: unknown) =>
        print(`  the gateway has not loaded the latest registry writes: ${errorMessage(err)}`),
      );
    const all = ready.length === ours.length && refused === 0 && problems.length === 0;
    print(
      `dev: ${all ? "ready" : "NOT ready"} — ${ready.length} of ${ours.length} VPNs, Functions and Subscriptions Ready` +
        `${refused > 0 ? `, ${refused} object(s) refused` : ""}${problems.length > 0 ? `, ${problems.length} unreadable` : ""}`,
    );
    const isReady = (o: Declared): boolean => ready.some((a) => a.object === o);
    const commands = await tryIt(cluster, gateway, objects, isReady);
    if (commands.length > 0) {
      print("dev: try it (paste into another terminal):");
      for (const c of commands) print(`  ${c}`);
    }
  } catch (err) {
    print(`dev: this pass failed: ${errorMessage(err)}`);
  }
};
