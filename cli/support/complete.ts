// Completion candidates for the words typed after `kubectl switchboard` (the last word is the one
// being completed, possibly empty). Used by the shell scripts of `completion bash|zsh` and by
// kubectl itself, which runs `kubectl_complete-switchboard ARGS...` (installed beside the plugin)
// for `kubectl switchboard <TAB>` and reads cobra's format: one candidate a line, then `:DIRECTIVE`.
import type { FlagSpec } from "./args.ts";

export interface Completable {
  readonly name: string;
  readonly flags: readonly FlagSpec[];
  /** Words the first positional can be. */
  readonly positionals?: readonly string[];
}

/** cobra's ShellCompDirectiveNoFileComp: do not fall back to file names. */
export const NO_FILE_COMPLETION = 4;

/** The candidates for the last of `words`. */
export const candidates = (commands: readonly Completable[], words: readonly string[]): string[] => {
  const current = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  const starts = (list: readonly string[]): string[] => list.filter((c) => c.startsWith(current));
  const command = commands.find((c) => c.name === before[0]);
  if (command === undefined) return before.length === 0 ? starts(commands.map((c) => c.name)) : [];
  const previous = before.at(-1) ?? "";
  const flag = command.flags.find(
    (f) => previous === `--${f.name}` || (f.short !== undefined && previous === `-${f.short}`),
  );
  if (flag?.value !== undefined && before.length > 1) return starts(flag.choices ?? []);
  if (current.startsWith("-")) return starts(command.flags.map((f) => `--${f.name}`));
  const positionals = before.slice(1).filter((w, i, all) => {
    if (w.startsWith("-")) return false;
    const prev = all[i - 1] ?? "";
    return !command.flags.some(
      (f) => f.value !== undefined && (prev === `--${f.name}` || prev === `-${f.short}`),
    );
  });
  return positionals.length === 0 ? starts(command.positionals ?? []) : [];
};

/** The bash completion script for `kubectl-switchboard` (and `kubectl switchboard` through kubectl's plugin completion). */
export const bashScript =
  (): string => `# bash completion for kubectl-switchboard; load with: source <(kubectl switchboard completion bash)
_kubectl_switchboard() {
  local IFS=$'\\n'
  COMPREPLY=($(kubectl-switchboard __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null | grep -v '^:'))
}
complete -o default -F _kubectl_switchboard kubectl-switchboard
`;

/** The zsh completion script. */
export const zshScript = (): string => `#compdef kubectl-switchboard
# zsh completion for kubectl-switchboard; load with: source <(kubectl switchboard completion zsh)
_kubectl_switchboard() {
  local -a candidates
  candidates=("\${(@f)$(kubectl-switchboard __complete "\${(@)words[2,CURRENT]}" 2>/dev/null | grep -v '^:')}")
  compadd -a candidates
}
compdef _kubectl_switchboard kubectl-switchboard
`;
