/**
 * A policy spec resolved for one model. What a bare spec leaves out is taken from the model's own
 * calibration files beside its weights (`sensitivity.json` for a policy that takes a profile,
 * `magcache-ratios.json` for MagCache, both written by `sencache calibrate`), and a policy that falls
 * back on constants published for another model says so in a note.
 *
 *     const { policy, notes } = resolvePolicyForModel("sencache", { source: "models/tiny-wan-t2v" });
 */
import { existsSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { PolicyOptionsError } from "./errors.js";
import { canonicalKey, type OptionSchema } from "./options.js";
import { parseSpec } from "./spec.js";
import { defaultPolicyRegistry, type PolicyRegistry } from "./registry.js";
import type { CachePolicy } from "./types.js";

export interface ModelRef {
  /** The model as the user named it: a local folder or a hub id. */
  readonly source: string;
}

export interface ModelPolicyDefaults {
  /** Typed options to pass with the spec (`resolvePolicy(spec, overrides)`). */
  readonly overrides: Readonly<Record<string, unknown>>;
  /** One-line notes for the user: which model file was used, which constants are another model's. */
  readonly notes: readonly string[];
  /** The policy takes a sensitivity profile, the spec names none, and the model folder has none. */
  readonly missingProfile: boolean;
}

/** The file names `sencache calibrate` writes and this module looks for in a model folder. */
export const MODEL_PROFILE_FILE = "sensitivity.json";
export const MODEL_MAGCACHE_FILE = "magcache-ratios.json";

/** The model the published TeaCache / MagCache defaults were measured on. */
const PUBLISHED_FOR = "Wan 2.1 T2V 1.3B";

/** Canonical option names (aliases resolved) of the keys a spec sets; unknown keys are left to the registry. */
function namedOptions(schema: OptionSchema, keys: readonly string[]): Set<string> {
  return new Set(keys.map((key) => canonicalKey(schema, key)).filter((name): name is string => name !== undefined));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whether the model is the one the published constants were measured on (by its name). */
export function isPublishedConstantsModel(source: string): boolean {
  return /wan2\.1-t2v-1\.3b/i.test(basename(source.replace(/\/+$/, "")));
}

/** The options a bare spec gets from the model's own files, and the notes that go with them. */
export function modelPolicyDefaults(spec: string, model: ModelRef, registry: PolicyRegistry = defaultPolicyRegistry): ModelPolicyDefaults {
  const parsed = parseSpec(spec);
  const schema = registry.get(parsed.id).optionSchema;
  const named = namedOptions(schema, Object.keys(parsed.raw));
  const dir = isDirectory(model.source) ? model.source : undefined;
  const overrides: Record<string, unknown> = {};
  const notes: string[] = [];
  let missingProfile = false;

  if ("profile" in schema && !named.has("profile")) {
    const file = dir !== undefined ? join(dir, MODEL_PROFILE_FILE) : undefined;
    if (file !== undefined && existsSync(file)) {
      overrides["profile"] = file;
      notes.push(`${parsed.id}: using the model's own sensitivity profile ${file}`);
    } else {
      missingProfile = true;
    }
  }
  if (parsed.id === "magcache" && !["ratios", "ratiosFile", "model"].some((k) => named.has(k))) {
    const file = dir !== undefined ? join(dir, MODEL_MAGCACHE_FILE) : undefined;
    if (file !== undefined && existsSync(file)) {
      overrides["ratiosFile"] = file;
      notes.push(`magcache: using the model's own ratios ${file}`);
    } else if (!isPublishedConstantsModel(model.source)) {
      notes.push(
        `magcache: ${model.source} has no ${MODEL_MAGCACHE_FILE}, so the ratios published for ${PUBLISHED_FOR} are used on another model; measure its ` +
          `own with "sencache calibrate --kind magcache --model ${model.source} --out ${join(model.source, MODEL_MAGCACHE_FILE)}"`,
      );
    }
  }
  if (parsed.id === "teacache" && !named.has("model") && !named.has("coefficients") && !isPublishedConstantsModel(model.source)) {
    notes.push(
      `teacache: its coefficients were published for ${PUBLISHED_FOR}, not ${model.source}; δ may need re-tuning, or pass coefficients=[…] fitted on ` +
        `this model`,
    );
  }
  return { overrides, notes, missingProfile };
}

/** The sentence for a policy that needs a profile when neither the spec nor the model folder has one. */
export function missingProfileMessage(id: string, model: ModelRef): string {
  return (
    `The policy "${id}" needs a sensitivity profile and ${model.source} has no ${MODEL_PROFILE_FILE}; ` +
    `add profile=<file.json|file.npz> to the policy (e.g. "${id}:profile=profile.json"), or measure one with "sencache calibrate --model ${model.source} ` +
      `--out ${join(model.source, MODEL_PROFILE_FILE)}".`
  );
}

/** `resolvePolicy` for a given model: its own calibration files fill what the spec leaves out. */
export function resolvePolicyForModel(
  spec: string,
  model: ModelRef,
  registry: PolicyRegistry = defaultPolicyRegistry,
): { policy: CachePolicy; notes: readonly string[] } {
  const { overrides, notes, missingProfile } = modelPolicyDefaults(spec, model, registry);
  if (missingProfile) {
    const id = parseSpec(spec).id;
    throw new PolicyOptionsError("missing_profile", id, missingProfileMessage(id, model), "profile");
  }
  return { policy: registry.resolve(spec, overrides), notes };
}
