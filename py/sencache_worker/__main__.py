"""`python -m sencache_worker --endpoint ipc:///tmp/x.sock [--device cpu|cuda|auto] [--threads N]`."""

import os
import sys

# Before torch is imported: busy-waiting OpenMP threads starve on shared machines (FACTS.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
