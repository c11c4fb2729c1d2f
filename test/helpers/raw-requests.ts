/** Requests a well-behaved client never sends, for the worker's bad-input tests (not part of the public client). */
import { SEND_FRAMES, type RequestOptions, type WorkerClient } from "../../ts/worker/client.js";
import { encodeRequest, type EncodeOptions } from "../../ts/worker/codec.js";
import type { Op, Request, ResultOf } from "../../ts/worker/ops.js";

/** Send frames built by the caller (malformed on purpose); the reply is matched by id. */
export function requestRaw<O extends Op>(client: WorkerClient, op: O, build: (id: number) => Buffer[], options: RequestOptions = {}): Promise<ResultOf[O]> {
  return client[SEND_FRAMES](op, build, options);
}

/** A request in a dialect the caller chooses (a wrong protocol version, an unknown op name). */
export function requestWith<O extends Op>(
  client: WorkerClient,
  req: Extract<Request, { op: O }>,
  encode: EncodeOptions,
  options: RequestOptions = {},
): Promise<ResultOf[O]> {
  return client[SEND_FRAMES](req.op as O, (id) => encodeRequest(id, req, encode), options);
}
