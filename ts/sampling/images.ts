/**
 * Conditioning-image handles of one model (image-to-video): the `encodeImage` request behind every
 * handle in use, so that after a worker restart `resend` makes each image again on the new worker and
 * the old handles the callers hold are translated (`alias`).
 */
import type { WorkerLike } from "../worker/client.js";
import type { RequestOf } from "../worker/ops.js";

export class ImageHandles {
  /** Image handles in use → the request that made them (sent again after a restart). */
  private readonly requests = new Map<string, RequestOf<"encodeImage">>();
  /** An image handle given out before a restart → the current worker's handle. */
  private aliases = new Map<string, string>();

  /** Remember the request that made `handle`. */
  add(handle: string, request: RequestOf<"encodeImage">): void {
    this.requests.set(handle, request);
  }

  /** The current worker's handle for an image handle given out before a restart (undefined otherwise). */
  alias(handle: string): string | undefined {
    return this.aliases.get(handle);
  }

  /** The image handles among `handles`, no longer in use (their aliases stay until `unalias`). */
  take(handles: readonly string[]): string[] {
    return handles.filter((h) => this.requests.delete(h));
  }

  unalias(handles: readonly string[]): void {
    for (const h of handles) this.aliases.delete(h);
  }

  /** Every image in use made again for `model` on a fresh worker; the returned function makes those handles current. */
  async resend(fresh: WorkerLike, model: string): Promise<() => void> {
    const aliases = new Map<string, string>();
    for (const [handle, request] of this.requests) aliases.set(handle, (await fresh.request({ ...request, model })).image);
    return () => {
      this.aliases = aliases;
    };
  }
}
