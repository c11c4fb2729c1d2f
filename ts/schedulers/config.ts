/** Reading a diffusers scheduler config (snake_case JSON, defaults included) with typed checks. */

import { UnsupportedSchedulerError } from "./errors.js";
import type { DiffusersSchedulerConfig } from "./types.js";

/** Typed accessors over one config; a missing or null key takes the diffusers default. */
export class ConfigReader {
  constructor(
    readonly className: string,
    private readonly config: DiffusersSchedulerConfig,
  ) {}

  private raw(key: string): unknown {
    const v = this.config[key];
    return v === null ? undefined : v;
  }

  private invalid(key: string, expected: string): never {
    throw new UnsupportedSchedulerError(
      "invalid_scheduler_config",
      `${this.className} config key "${key}" must be ${expected}, got ${JSON.stringify(this.config[key])}.`,
    );
  }

  number(key: string, fallback: number): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (v === "-Infinity" || v === "Infinity") return Number(v); // non-finite floats from JSON goldens
    if (typeof v !== "number" || !Number.isFinite(v)) this.invalid(key, "a finite number");
    return v;
  }

  optionalNumber(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) this.invalid(key, "a finite number or null");
    return v;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") this.invalid(key, "true or false");
    return v;
  }

  /** A string option restricted to the values sencache implements. */
  choice<T extends string>(key: string, fallback: T, supported: readonly T[]): T {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== "string" || !(supported as readonly string[]).includes(v)) {
      throw unsupportedOption(this.className, key, v, supported.map((s) => JSON.stringify(s)).join(", "));
    }
    return v as T;
  }

  /** Reject an option that is set to anything but its inert value(s). */
  requireInert(key: string, inert: readonly unknown[], supportedText: string): void {
    const v = this.raw(key);
    if (v === undefined || inert.includes(v)) return;
    throw unsupportedOption(this.className, key, v, supportedText);
  }
}

export function unsupportedOption(className: string, key: string, value: unknown, supported: string): UnsupportedSchedulerError {
  return new UnsupportedSchedulerError(
    "unsupported_scheduler_option",
    `${className} option ${key}=${JSON.stringify(value)} is not supported; supported: ${supported}.`,
  );
}
