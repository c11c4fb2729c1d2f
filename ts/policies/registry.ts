/**
 * The policy registry: string ids → typed factories. A factory is a plain versioned object (id,
 * apiVersion, an option schema, `create`); user plugins are registered the same way as built-ins.
 *
 *     resolvePolicy("sencache:eps=0.1,n=2", { profile })   // spec string + typed overrides
 *     registerPolicy(myFactory)                            // a plugin written outside the package
 */

import { PolicyOptionsError, PolicyRegistryError } from "./errors.js";
import { coerceOptions, validateOptions } from "./options.js";
import { parseSpec } from "./spec.js";
import { POLICY_API_VERSION, type CachePolicy } from "./types.js";
import { definePolicy, type PolicyFactory } from "./define.js";
import { noneFactory } from "./none.js";
import { fixedIntervalFactory } from "./fixed-interval.js";
import { sencacheFactory } from "./sencache.js";
import { sencacheBudgetFactory } from "./sencache-budget.js";
import { teacacheFactory } from "./teacache.js";
import { magcacheFactory } from "./magcache.js";
import { easycacheFactory } from "./easycache.js";
import { staticOptimalFactory } from "./static-optimal.js";

export interface RegisterOptions {
  /** Replace an existing factory with the same id instead of failing. */
  readonly replace?: boolean;
}

export type PolicySpec = string | { readonly id: string; readonly options?: Readonly<Record<string, unknown>> };

export class PolicyRegistry {
  readonly #factories = new Map<string, PolicyFactory<unknown>>();

  register(factory: PolicyFactory<unknown>, options: RegisterOptions = {}): void {
    if (typeof factory !== "object" || factory === null || typeof factory.id !== "string" || typeof factory.create !== "function") {
      throw new PolicyRegistryError(
        "invalid_factory",
        String((factory as { id?: unknown } | null)?.id),
        "A policy factory must be an object with an id, apiVersion, optionSchema and create(); build it with definePolicy().",
      );
    }
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(factory.id)) {
      throw new PolicyRegistryError(
        "invalid_factory",
        factory.id,
        `The policy id "${factory.id}" is not valid; use lowercase letters, digits, ".", "_" or "-".`,
      );
    }
    if (factory.apiVersion !== POLICY_API_VERSION) {
      throw new PolicyRegistryError(
        "api_version_mismatch",
        factory.id,
        `The policy "${factory.id}" was written for policy API version ${String(factory.apiVersion)} but this sencache implements version ` +
          `${POLICY_API_VERSION}; update the plugin to the current CachePolicy contract.`,
      );
    }
    if (this.#factories.has(factory.id) && options.replace !== true) {
      throw new PolicyRegistryError(
        "duplicate_policy",
        factory.id,
        `A policy "${factory.id}" is already registered; pick another id or pass { replace: true }.`,
      );
    }
    this.#factories.set(factory.id, factory);
  }

  unregister(id: string): boolean {
    return this.#factories.delete(id);
  }

  has(id: string): boolean {
    return this.#factories.has(id);
  }

  ids(): string[] {
    return [...this.#factories.keys()].sort();
  }

  get(id: string): PolicyFactory<unknown> {
    const factory = this.#factories.get(id);
    if (factory === undefined) {
      const known = this.ids();
      throw new PolicyRegistryError(
        "unknown_policy",
        id,
        `There is no cache policy "${id}"; use one of: ${known.join(", ")}, or register it with registerPolicy().`,
        known,
      );
    }
    return factory;
  }

  /**
   * Build a policy from a spec string (`"id:key=value,…"`) or `{ id, options }`. `overrides` adds
   * typed options a string cannot carry (a profile object, ratio arrays) and wins over the string.
   */
  resolve(spec: PolicySpec, overrides: Readonly<Record<string, unknown>> = {}): CachePolicy {
    let id: string;
    let fromSpec: Record<string, unknown>;
    let factory: PolicyFactory<unknown>;
    if (typeof spec === "string") {
      const parsed = parseSpec(spec);
      id = parsed.id;
      factory = this.get(id);
      fromSpec = coerceOptions(id, factory.optionSchema, parsed.raw);
    } else {
      id = spec.id;
      factory = this.get(id);
      fromSpec = { ...(spec.options ?? {}) };
    }
    const merged = validateOptions(id, factory.optionSchema, { ...fromSpec, ...validateOptions(id, factory.optionSchema, overrides) });
    const policy = factory.create(merged);
    if (policy.apiVersion !== POLICY_API_VERSION) {
      throw new PolicyRegistryError(
        "api_version_mismatch",
        id,
        `The policy "${id}" built a plugin for policy API version ${String(policy.apiVersion)} but this sencache implements version ` +
          `${POLICY_API_VERSION}; update the plugin to the current CachePolicy contract.`,
      );
    }
    return policy;
  }
}

export const BUILTIN_POLICIES: readonly PolicyFactory<unknown>[] = [
  noneFactory,
  fixedIntervalFactory,
  sencacheFactory,
  sencacheBudgetFactory,
  teacacheFactory,
  magcacheFactory,
  easycacheFactory,
  staticOptimalFactory,
] as PolicyFactory<unknown>[];

/** A registry holding the built-in policies (a fresh one each call: handy for isolated tests). */
export function createPolicyRegistry(): PolicyRegistry {
  const registry = new PolicyRegistry();
  for (const factory of BUILTIN_POLICIES) registry.register(factory);
  return registry;
}

/** The process-wide registry used by resolvePolicy / registerPolicy and the CLI. */
export const defaultPolicyRegistry: PolicyRegistry = createPolicyRegistry();

export function registerPolicy(factory: PolicyFactory<unknown>, options: RegisterOptions = {}): void {
  defaultPolicyRegistry.register(factory, options);
}

export function resolvePolicy(spec: PolicySpec, overrides: Readonly<Record<string, unknown>> = {}): CachePolicy {
  return defaultPolicyRegistry.resolve(spec, overrides);
}

export function listPolicies(): { id: string; description: string }[] {
  return defaultPolicyRegistry.ids().map((id) => ({ id, description: defaultPolicyRegistry.get(id).description }));
}

export { PolicyOptionsError, PolicyRegistryError, definePolicy, type PolicyFactory };
