"""The worker's ROUTER socket as its two threads share it, and frame-level send / receive.

pyzmq's send_multipart / recv_multipart cost more per message than the frames themselves at small sizes, so the
worker sends and receives frame by frame.
"""

from __future__ import annotations

import os
import threading

import zmq


# A frame below this many bytes is copied into its message: cheaper than pyzmq's zero-copy bookkeeping, which pays
# off for tensor frames above it.
ZERO_COPY_BYTES = 1 << 16
# Plain ints: pyzmq's Flag / PollEvent enums cost a Python-level enum operation per use.
_SNDMORE, _NOBLOCK, POLLIN = int(zmq.SNDMORE), int(zmq.NOBLOCK), int(zmq.POLLIN)


def send_frames(sock: zmq.Socket, frames) -> None:
    """One multipart message, frame by frame (pyzmq's send_multipart costs more per message than this)."""
    last = len(frames) - 1
    for i, frame in enumerate(frames):
        sock.send(frame, _SNDMORE if i < last else 0, copy=len(frame) < ZERO_COPY_BYTES)


def recv_frames(sock: zmq.Socket) -> list:
    """The next multipart message as zmq.Frames (raises zmq.Again when none waits); its parts arrive together."""
    frame = sock.recv(_NOBLOCK, copy=False)
    frames = [frame]
    while frame.more:
        frame = sock.recv(_NOBLOCK, copy=False)
        frames.append(frame)
    return frames


class HeldRouter:
    """The ROUTER as the I/O thread sends on it inside its receive loop, which holds SharedRouter's lock and checks
    ZMQ_EVENTS before it waits: no lock to take, nobody to wake."""

    def __init__(self, sock: zmq.Socket):
        self.sock = sock

    def send_multipart(self, frames) -> None:
        send_frames(self.sock, frames)


class SharedRouter:
    """The ROUTER, used by the I/O thread and the compute thread alike, every call under one lock.

    The compute thread sends its replies itself (no hop through the I/O thread). Nobody waits while holding the
    lock: the I/O thread waits on the socket's ZMQ_FD outside it. A send can consume libzmq's notice of a message
    that arrived meanwhile, so after each send through this class (the compute thread's) the sender checks
    ZMQ_EVENTS and wakes the I/O thread through a pipe. The I/O thread itself sends through HeldRouter.
    """

    def __init__(self, sock: zmq.Socket):
        self.sock = sock
        self.lock = threading.Lock()  # never taken twice by one thread: the I/O thread sends through HeldRouter
        self.fd = sock.getsockopt(zmq.FD)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def send_multipart(self, frames) -> None:
        with self.lock:
            send_frames(self.sock, frames)
            if self.sock.getsockopt(zmq.EVENTS) & POLLIN:
                self.wake()

    def wake(self) -> None:
        try:
            os.write(self.wake_w, b"x")
        except BlockingIOError:
            pass

    def drain_wake(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        os.close(self.wake_r)
        os.close(self.wake_w)
