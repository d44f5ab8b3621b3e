// Writes crds/*.yaml from crds/schema.ts.
//
//   bash scripts/node24.sh crds/generate.ts           write the files
//   bash scripts/node24.sh crds/generate.ts --check   exit 1 naming stale files, write nothing
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { GENERATE_COMMAND, generated, stale } from "./render.ts";

const root = `${import.meta.dirname}/..`;

const main = (args: readonly string[]): number => {
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`unknown argument(s) ${unknown.join(" ")}; usage: ${GENERATE_COMMAND} [--check]`);
    return 2;
  }
  if (args.includes("--check")) {
    const files = stale().map((p) => relative(root, p));
    if (files.length === 0) return 0;
    console.error(`stale generated CRDs (run \`${GENERATE_COMMAND}\`):\n  ${files.join("\n  ")}`);
    return 1;
  }
  for (const { path, text } of generated()) {
    writeFileSync(path, text);
    process.stdout.write(`wrote ${relative(root, path)}\n`);
  }
  return 0;
};

process.exitCode = main(process.argv.slice(2));
