/**
 * What one wire op is (`OpSpec`): its wire name, thread, argument and result fields, tensors in and
 * out, and how its checked reply becomes its result; `op()` builds one for the table in `ops.ts`.
 */
import type { Camel, Fields, Infer, Simplify } from "./header-fields.js";
import type { DType, Tensor } from "./tensors.js";

/**
 * The tensors of a message, by wire name and dtype (or the dtypes it may travel in); `"any"`: whatever
 * tensors the caller sends (echo).
 */
export type TensorSpec = { readonly [name: string]: DType | readonly DType[] | TensorList } | "any";
/** A list of 1-D tensors named `<prefix>0`, `<prefix>1`, …: the caller passes their data arrays (read_media's files). */
export interface TensorList {
  readonly list: DType;
  readonly prefix: string;
}
type DataOf = { float32: Float32Array; float64: Float64Array; float16: Uint16Array; bfloat16: Uint16Array; uint8: Uint8Array; int64: BigInt64Array };
export type NamedTensor = Tensor & { readonly name: string };
export type TensorsOf<T> = T extends "any"
  ? { readonly tensors: readonly NamedTensor[] }
  : { readonly [K in keyof T & string as Camel<K>]: TensorOf<T[K]> };
type TensorOf<D> = D extends { readonly list: infer E }
  ? readonly DataOf[E & DType][]
  : D extends readonly (infer E)[] ? (E extends DType ? Tensor<DataOf[E]> : never) : D extends DType ? Tensor<DataOf[D]> : never;
export type RawResult<R extends Fields, TO extends TensorSpec> = Simplify<Infer<R> & TensorsOf<TO>>;

export function dtypesOf(spec: DType | readonly DType[] | TensorList): readonly DType[] {
  return typeof spec === "string" ? [spec] : "list" in spec ? [spec.list] : spec;
}

/**
 * One wire op: its wire name, its arguments and result (header fields) and its tensors in and out,
 * and whether the worker answers it on its I/O thread (`inline`: answered during a long forward too)
 * or queues it for the compute thread. Encoding, reply validation and the TypeScript types follow
 * from it; py/sencache_worker/protocol/ops.py has the same table for the worker.
 */
export interface OpSpec<
  A extends Fields = Fields,
  TI extends TensorSpec = TensorSpec,
  R extends Fields = Fields,
  TO extends TensorSpec = TensorSpec,
  F = unknown,
> {
  readonly wire: string;
  readonly inline: boolean;
  readonly args: A;
  readonly tensorsIn: TI;
  readonly result: R;
  readonly tensorsOut: TO;
  /** The typed result from the checked reply: fills what the reply may leave out, widens half-precision tensors. */
  finish(raw: RawResult<R, TO>): F;
}

export type None = Record<never, never>;

interface OpParts<A extends Fields, TI extends TensorSpec, R extends Fields, TO extends TensorSpec, F> {
  readonly inline?: boolean;
  readonly args?: A;
  readonly tensorsIn?: TI;
  readonly result?: R;
  readonly tensorsOut?: TO;
  finish?(raw: RawResult<R, TO>): F;
}

export function op<
  const A extends Fields = None,
  const TI extends TensorSpec = None,
  const R extends Fields = None,
  const TO extends TensorSpec = None,
  F = RawResult<R, TO>,
>(wire: string, spec: OpParts<A, TI, R, TO, F> = {}): OpSpec<A, TI, R, TO, F> {
  const none = {} as never;
  const finish = spec.finish ?? ((raw: RawResult<R, TO>) => raw as unknown as F);
  return {
    wire,
    inline: spec.inline ?? false,
    args: spec.args ?? none,
    tensorsIn: spec.tensorsIn ?? none,
    result: spec.result ?? none,
    tensorsOut: spec.tensorsOut ?? none,
    finish,
  };
}
