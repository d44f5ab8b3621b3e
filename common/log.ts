// Structured JSON-line logs with a level, on pino. One root logger per program, created in main
// and passed down; components take a child with their own fields.
import { destination, type Logger, pino } from "pino";

export type { Logger };

export type LogLevel = "debug" | "info" | "warn" | "error";

/** A JSON-lines logger writing to stderr (fd 2) at `level`. */
export const createLogger = (name: string, level: LogLevel = "info"): Logger =>
  pino(
    {
      // `program` names the program; pino's own `name` option is not used, because a line's
      // fields often hold an object's `name`, and pino would then write the key twice.
      level,
      base: { program: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination(2),
  );

/** A logger that discards everything, for tests. */
export const silentLogger = (): Logger => pino({ level: "silent" });
