/** The factory type every policy (built-in or plugin) is registered as. */

import type { OptionSchema } from "./options.js";
import { POLICY_API_VERSION, type CachePolicy } from "./types.js";

export interface PolicyFactory<Options = unknown> {
  /** Registry id (lowercase, `[a-z0-9._-]`), e.g. "sencache". */
  readonly id: string;
  /** The plugin API version the factory was written for; must equal POLICY_API_VERSION. */
  readonly apiVersion: number;
  /** One line for listings. */
  readonly description: string;
  /** The options a spec string may set; `create` receives them validated against this schema. */
  readonly optionSchema: OptionSchema;
  /** Build a fresh policy (own state) from validated options. Throws PolicyOptionsError. */
  create(options: Readonly<Record<string, unknown>>): CachePolicy<Options>;
}

/** Identity helper that keeps a factory's option type (for plugin authors, who set apiVersion themselves). */
export function definePolicy<Options>(factory: PolicyFactory<Options>): PolicyFactory<Options> {
  return factory;
}

/** For the built-ins: a factory at the current API version. */
export function definePolicyFactory<Options>(factory: Omit<PolicyFactory<Options>, "apiVersion">): PolicyFactory<Options> {
  return { ...factory, apiVersion: POLICY_API_VERSION };
}
