/** The identity of a scheduler, as sensitivity profiles record it (`ProfileValidity.scheduler`). */
import { createHash } from "node:crypto";

/** Stable hash of a scheduler (class + config with sorted keys), used in ProfileValidity.scheduler. */
export function schedulerConfigHash(className: string, config: Readonly<Record<string, unknown>>): string {
  const stable = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(stable);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v as object)
          .filter((k) => !k.startsWith("_")) // diffusers' private bookkeeping (_class_name, _diffusers_version)
          .sort()
          .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash("sha256").update(JSON.stringify([className, stable(config)])).digest("hex").slice(0, 16);
}

/** The class and config hash of a scheduler spec (a load result's `scheduler`). */
export function schedulerIdentity(
  spec: { readonly className: string; readonly config: Readonly<Record<string, unknown>> },
): { className: string; configHash: string } {
  return { className: spec.className, configHash: schedulerConfigHash(spec.className, spec.config) };
}
