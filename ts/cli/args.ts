/**
 * Checks of the CLI's arguments that run in yargs, before any worker is spawned: each bad value is
 * refused in one sentence that echoes what was typed (a number option given "abc" says "abc", not NaN).
 */
import { videoFormatOf } from "../media/video.js";
import { InvalidInputError } from "../errors.js";

export interface NumberRule {
  /** Whole numbers only. */
  readonly whole?: boolean;
  readonly min: number;
  /** `min` itself is not allowed (> min instead of ≥ min). */
  readonly exclusive?: boolean;
}

/** A count: 1, 2, 3, … */
export const COUNT: NumberRule = { whole: true, min: 1 };
/** A whole number ≥ 0 (seeds, restarts). */
export const WHOLE: NumberRule = { whole: true, min: 0 };
/** A finite number ≥ 0 (a guidance scale). */
export const NON_NEGATIVE: NumberRule = { min: 0 };
/** A finite number > 0 (seconds). */
export const POSITIVE: NumberRule = { min: 0, exclusive: true };

/** What the user typed for `--flag` (from `--flag value` or `--flag=value`), for error messages. */
export function typedValue(flag: string, argv: readonly string[] = process.argv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === `--${flag}`) return argv[i + 1];
    if (a.startsWith(`--${flag}=`)) return a.slice(flag.length + 3);
  }
  return undefined;
}

/** The sentence refusing `value` for `--flag`, or undefined when it is fine. */
export function numberProblem(flag: string, value: unknown, rule: NumberRule, argv: readonly string[] = process.argv): string | undefined {
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (v === undefined) continue;
    const ok = typeof v === "number" && Number.isFinite(v) && (!rule.whole || Number.isInteger(v)) && (rule.exclusive ? v > rule.min : v >= rule.min);
    if (ok) continue;
    const what = `${rule.whole ? "a whole number" : "a number"} ${rule.exclusive ? ">" : "≥"} ${rule.min}`;
    const typed = typeof v === "number" && !Number.isNaN(v) ? String(v) : `"${typedValue(flag, argv) ?? String(v)}"`;
    return `--${flag} must be ${what}, not ${typed}.`;
  }
  return undefined;
}

/** A yargs `check` that refuses any of the named number options breaking its rule. */
export function checkNumbers(rules: Readonly<Record<string, NumberRule>>): (argv: Record<string, unknown>) => true {
  return (argv) => {
    for (const [flag, rule] of Object.entries(rules)) {
      const problem = numberProblem(flag, argv[flag], rule);
      if (problem) throw new InvalidInputError(problem);
    }
    return true;
  };
}

/** Refuse an output name whose extension is not a format sencache writes (.mp4, .gif, .png; never GIF bytes under .mp4). */
export function checkVideoOut(flag: string, path: string): void {
  videoFormatOf(path, flag);
}
