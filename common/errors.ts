// One way to turn a caught value into text for a log line, a status message or a problem detail.

/** The message of `err` if it is an Error, else its string form. Never throws. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** `thrown` if it is an Error, else an Error whose message is its string form. Never throws. */
export const asError = (thrown: unknown): Error =>
  thrown instanceof Error ? thrown : new Error(String(thrown));
