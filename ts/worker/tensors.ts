/**
 * Tensors as they travel on the wire (proto/SPEC.md "Tensors"): the dtypes, their typed arrays and
 * sizes, and a checked float32 tensor.
 */
import { ProtocolError } from "../errors.js";

export type DType = "float32" | "float64" | "float16" | "bfloat16" | "uint8" | "int64";
export type TensorData = Float32Array | Float64Array | Uint16Array | Uint8Array | BigInt64Array;

export interface Tensor<D extends TensorData = TensorData> {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: D;
}

export const ITEM_SIZE: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  uint8: 1,
  int64: 8,
};

export function isDType(value: unknown): value is DType {
  return typeof value === "string" && Object.hasOwn(ITEM_SIZE, value);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function float32Tensor(data: Float32Array, shape: readonly number[]): Tensor<Float32Array> {
  if (numel(shape) !== data.length) {
    throw new ProtocolError(
      `A tensor of shape [${shape.join(", ")}] needs ${numel(shape)} values but ${data.length} were given; pass data that matches the shape.`,
    );
  }
  return { dtype: "float32", shape, data };
}
