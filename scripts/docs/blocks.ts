// The shell blocks of the README and docs/, with what each is marked to be: every ```sh block is
// preceded, on the line right before its fence, by `<!-- doc-test: KIND … -->`:
//   safe                 runs as written, here, in the unit stage (scripts/docs.test.ts)
//   cluster              runs as written against a local control plane (scripts/docs.int.test.ts)
//   node                 runs as written on the local node (the node stage)
//   tested-by FILE       run as written by that test file (which must exist and contain the command)
//   not-here REASON      cannot run on this machine (Docker, kind, your own cluster): parsed only
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../e2e/tools.ts";

export type Mark =
  | { kind: "safe" | "cluster" | "node" }
  | { kind: "tested-by"; file: string }
  | { kind: "not-here"; reason: string };

export interface Block {
  /** Repository-relative file and 1-based line of the opening fence. */
  readonly file: string;
  readonly line: number;
  readonly code: string;
  /** undefined when the block is not marked, or the mark is malformed (then `problem` says why). */
  readonly mark: Mark | undefined;
  readonly problem?: string;
}

/** The markdown files whose shell blocks are checked. */
export const DOC_FILES = (): string[] => [
  "README.md",
  "examples/README.md",
  ...readdirSync(join(repoRoot, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];

const MARK = /^<!-- doc-test: (safe|cluster|node|tested-by|not-here)(?: (.+?))? -->$/;

const parseMark = (line: string | undefined): { mark?: Mark; problem?: string } => {
  const m = MARK.exec(line ?? "");
  if (!m) return { problem: "not marked: put <!-- doc-test: KIND --> on the line before the fence" };
  const [, kind, arg] = m;
  if (kind === "tested-by")
    return arg ? { mark: { kind, file: arg } } : { problem: "tested-by needs the test file" };
  if (kind === "not-here")
    return arg ? { mark: { kind, reason: arg } } : { problem: "not-here needs a reason" };
  if (kind === "safe" || kind === "cluster" || kind === "node") return { mark: { kind } };
  return { problem: `unknown kind ${kind}` };
};

/** Every ```sh block of `file`, with its mark. */
export const blocksOf = (file: string): Block[] => {
  const lines = readFileSync(join(repoRoot, file), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```sh") continue;
    const end = lines.indexOf("```", i + 1);
    const code = lines.slice(i + 1, end < 0 ? lines.length : end).join("\n");
    const { mark, problem } = parseMark(lines[i - 1]);
    blocks.push({ file, line: i + 1, code, mark, ...(problem ? { problem } : {}) });
    i = end < 0 ? lines.length : end;
  }
  return blocks;
};

/** Every shell block of the README and docs/. */
export const allBlocks = (): Block[] => DOC_FILES().flatMap(blocksOf);
