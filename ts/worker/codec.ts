/**
 * The TypeScript codec of wire protocol v1 (proto/SPEC.md): a request into frames by its op's entry in
 * `ops.ts`, and a reply's frames back into the typed result of its op, checked against the same entry.
 * With `ops.ts`, `op-spec.ts`, `header-fields.ts`, `frames.ts` and `tensors.ts` these are the only
 * TypeScript files that know wire keys: everything else sees camelCase requests and typed results.
 */
import { InvalidInputError, ProtocolError } from "../errors.js";
import { decodeFrames, packFrames, type WireMessage } from "./frames.js";
import { camel, lacks, readFields, writeFields } from "./header-fields.js";
import { dtypesOf, type NamedTensor, type OpSpec } from "./op-spec.js";
import { OPS, PROTOCOL_VERSION, type Op, type Request, type ResultOf } from "./ops.js";
import type { Tensor, TensorData } from "./tensors.js";

const OP_OF_WIRE = new Map(Object.entries(OPS).map(([name, spec]) => [spec.wire, name as Op]));

/** Options for tests that must speak a wrong dialect on purpose. */
export interface EncodeOptions {
  readonly version?: number;
  readonly wireOp?: string;
}

/** Encode a request with its id into frames. */
export function encodeRequest(id: number, req: Request, options: EncodeOptions = {}): Buffer[] {
  const spec: OpSpec = OPS[req.op];
  const value = req as unknown as Record<string, unknown>;
  const args = writeFields(spec.args, value, req.op);
  let tensors: NamedTensor[];
  if (spec.tensorsIn === "any") tensors = [...(value["tensors"] as readonly NamedTensor[])];
  else {
    // The dtype is the worker's to check (bad_dtype): a test sends a wrong one on purpose.
    tensors = Object.entries(spec.tensorsIn).flatMap(([name, dtype]) => {
      if (typeof dtype === "object" && "list" in dtype) {
        const items = (value[camel(name)] ?? []) as readonly TensorData[];
        return items.map((data, i) => ({ name: `${dtype.prefix}${i}`, dtype: dtype.list, shape: [data.length], data }));
      }
      const t = value[camel(name)] as Tensor | undefined;
      if (t === undefined) throw new InvalidInputError(`A "${req.op}" request needs the ${dtypesOf(dtype).join(" or ")} tensor "${camel(name)}"; pass one.`);
      return [{ name, dtype: t.dtype, shape: t.shape, data: t.data }];
    });
  }
  const header: Record<string, unknown> = { v: options.version ?? PROTOCOL_VERSION, op: options.wireOp ?? spec.wire, id };
  if (Object.keys(args).length) header["args"] = args;
  return packFrames(header, tensors);
}

// ---------------------------------------------------------------- replies

export type Reply =
  | { readonly id: number; readonly op: Op | "unknown"; readonly ok: true; readonly result: Record<string, unknown>; readonly tensors: WireMessage["tensors"] }
  | { readonly id: number; readonly op: Op | "unknown"; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

const NOT_SPEC = "the worker does not follow proto/SPEC.md.";

/** Decode the frames of a reply (header + tensors); the result stays untyped until `parseResult`. */
export function decodeReply(frames: readonly Buffer[], maxBytes?: number): Reply {
  const { header: h, tensors } = decodeFrames(frames, maxBytes);
  const id = h["id"];
  const wireOp = h["op"];
  if (h["v"] !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      `The worker speaks protocol version ${String(h["v"])} but this client speaks ${PROTOCOL_VERSION}; install matching versions of the SDK and the worker.`,
    );
  }
  if (typeof id !== "number" || typeof wireOp !== "string") throw new ProtocolError(`A reply lacks its id or op; ${NOT_SPEC}`);
  const op = OP_OF_WIRE.get(wireOp) ?? "unknown";
  if (h["ok"] === true) {
    const result = h["result"] ?? {};
    if (typeof result !== "object" || result === null) throw new ProtocolError(`A reply's result is not a map; ${NOT_SPEC}`);
    return { id, op, ok: true, result: result as Record<string, unknown>, tensors };
  }
  const error = h["error"] as Record<string, unknown> | undefined;
  const code = error?.["code"];
  const message = error?.["message"];
  if (typeof code !== "string" || typeof message !== "string") throw new ProtocolError(`An error reply lacks its code or message; ${NOT_SPEC}`);
  return { id, op, ok: false, error: { code, message } };
}

/** Turn a successful reply into the typed result of its op, checking it against the op's table entry. */
export function parseResult<O extends Op>(op: O, result: Record<string, unknown>, tensors: WireMessage["tensors"]): ResultOf[O] {
  const spec: OpSpec = OPS[op];
  const out = readFields(spec.result, result, op);
  if (spec.tensorsOut === "any") out["tensors"] = tensors;
  else {
    for (const [name, dtype] of Object.entries(spec.tensorsOut)) {
      const dtypes = dtypesOf(dtype);
      const t = tensors.find((x) => x.name === name);
      if (t === undefined || !dtypes.includes(t.dtype)) throw lacks(op, `the ${dtypes.join(" or ")} tensor`, name);
      out[camel(name)] = { dtype: t.dtype, shape: t.shape, data: t.data };
    }
  }
  return spec.finish(out as never) as ResultOf[O];
}
