// Which file a test runs for a program: its TypeScript source (Node strips the types), or the
// compiled JavaScript the image ships (`npm run build`), run as the image runs it.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ENTRYPOINT, ENV, GATEWAY_NODE_FLAGS, PROGRAMS } from "../scripts/image/spec.ts";
import { repoRoot } from "./tools.ts";

export type Program = keyof typeof PROGRAMS;

/** Whether tests run the compiled programs unless told: SWITCHBOARD_E2E_PROGRAMS=dist. */
export const compiledByDefault = (env: NodeJS.ProcessEnv = process.env): boolean =>
  env.SWITCHBOARD_E2E_PROGRAMS === "dist";

/**
 * The Node arguments that start `program` (before its flags), with `nodeFlags` after the image's
 * (so that they can override one: --no-FLAG). Throws naming `npm run build` when the compiled one
 * is missing.
 */
export const programArgs = (
  program: Program,
  compiled = compiledByDefault(),
  nodeFlags: readonly string[] = [],
): string[] => {
  const { path, source } = PROGRAMS[program];
  // The image's Node flags (source maps, V8's heap sized from the container's memory) and the
  // gateway's own, as its containers add them, hold for the sources too.
  const flags = [...ENTRYPOINT.slice(1), ...(program === "gateway" ? GATEWAY_NODE_FLAGS : []), ...nodeFlags];
  if (!compiled) return [...flags, join(repoRoot, source)];
  const file = join(repoRoot, path);
  if (!existsSync(file)) throw new Error(`${path} is not built: run npm run build`);
  return [...flags, file];
};

/** The environment a program runs with: this process's, plus the image's (scripts/image/spec.ts ENV). */
export const programEnv = (env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => ({ ...env, ...ENV });
