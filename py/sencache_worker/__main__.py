"""`python -m sencache_worker --endpoint ipc:///tmp/x.sock [--device cpu|cuda|auto] [--threads N]`; under
`torchrun --nproc_per_node N -m sencache_worker ...` one sample runs across the N ranks (see parallel.py)."""

import logging
import os
import sys

# Before torch is imported: busy-waiting OpenMP threads starve the other processes of a shared machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if __name__ == "__main__":
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # one rank of `torchrun -m sencache_worker`: context parallelism
        from .parallel import main
    else:
        from .cli import main
    code = main()
    # main() returns once the last reply is on the wire (the ROUTER's linger and the context's term waited
    # for it). Skip the interpreter's teardown of torch, diffusers and their threads, which takes ~2 s
    # and does nothing a worker needs: flush what is buffered and exit at once.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)
