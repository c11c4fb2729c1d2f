"""The wire codec on its own: round trips, every descriptor check, typed arguments, golden vectors."""

from __future__ import annotations

import base64
import json

import msgpack
import numpy as np
import pytest

from sencache_worker import protocol as P
from sencache_fixtures import vectors
from conftest import REPO


def pack(header) -> bytes:
    return msgpack.packb(header, use_bin_type=True)


def expect(code, frames, max_bytes=P.DEFAULT_MAX_MESSAGE_BYTES) -> P.ProtocolError:
    with pytest.raises(P.ProtocolError) as info:
        P.decode_request(frames, max_bytes)
    assert info.value.code == code, info.value.message
    assert info.value.message.endswith(".")
    return info.value


def test_request_round_trip_every_dtype():
    tensors = [
        P.tensor("a", np.arange(6, dtype=np.float32).reshape(2, 3)),
        P.tensor("b", np.array([1.5, -2.0])),
        P.tensor("c", np.array([0.5, 1.0], dtype=np.float16)),
        P.tensor("d", np.array([0x3F80, 0xC000], dtype=np.uint16), "bfloat16"),
        P.tensor("e", np.arange(3000, dtype=np.uint8).reshape(10, 300) % 251),
        P.tensor("f", np.array([-(2**62), 7], dtype=np.int64)),
        P.tensor("g", np.array(3.0, dtype=np.float32)),
        P.tensor("h", np.zeros((0, 4), dtype=np.float32)),
    ]
    req = P.request("echo", 7, tensors, note="x")
    back = P.decode_request([bytes(f) for f in P.encode_request(req)])
    assert (back.op, back.id, back.v, back.args) == ("echo", 7, 1, {"note": "x"})
    for sent, got in zip(tensors, back.tensors):
        assert (got.name, got.dtype, got.array.shape) == (sent.name, sent.dtype, sent.array.shape)
        np.testing.assert_array_equal(got.array, sent.array)


def test_header_is_plain_msgpack_with_snake_case_keys():
    frames = P.encode_request(P.request("ping", 3))
    assert msgpack.unpackb(frames[0], raw=False) == {"v": 1, "op": "ping", "id": 3}
    frames = P.encode_reply(P.reply_to("stats", 4, P.StatsResult(1, 2, 3, 4, 5, 6, 7, 0.5)))
    header = msgpack.unpackb(frames[0], raw=False)
    assert header["ok"] is True and header["result"]["denoise_requests"] == 2


def test_reply_round_trip_and_error_reply():
    out = np.ones((2, 4, 1, 2, 2), np.float32)
    rep = P.decode_reply([bytes(f) for f in P.encode_reply(P.reply_to("denoise", 9, P.DenoiseResult(2, out)))])
    assert rep.ok and rep.result == {"items": 2} and rep.get("out").array.shape == out.shape
    err = P.error_reply(P.ProtocolError(P.UNKNOWN_HANDLE, "Gone."), "denoise", 9)
    rep = P.decode_reply(P.encode_reply(err))
    assert not rep.ok and rep.error.code == P.UNKNOWN_HANDLE and rep.tensors == []


def test_large_aligned_frames_are_zero_copy_small_ones_copied():
    big = np.arange(1 << 16, dtype=np.float32)
    frame = bytearray(big.tobytes())
    req = P.decode_request([P.encode_request(P.request("echo", 1, [P.tensor("x", big)]))[0], frame])
    assert np.shares_memory(req.tensors[0].array, np.frombuffer(frame, np.uint8))
    small = bytearray(np.arange(4, dtype=np.float32).tobytes())
    req = P.decode_request([P.encode_request(P.request("echo", 1, [P.tensor("x", np.zeros(4, np.float32))]))[0], small])
    assert not np.shares_memory(req.tensors[0].array, np.frombuffer(small, np.uint8))


def test_ints_accepted_where_floats_are_expected():
    req = P.request("denoise", 1, [P.tensor("x", np.zeros((1, 4, 1, 2, 2), np.float32))], model="m",
                    items=[{"cond": "c", "t": 500, "branch": "cond"}])
    args = P.parse_args(P.decode_request(P.encode_request(req)))
    assert args.items[0].t == 500.0 and isinstance(args.items[0].t, float)


# -- every way a message can be unreadable --------------------------------------------------------------------


def test_garbage_header_is_bad_message_with_unknown_op_and_id_0():
    e = expect(P.BAD_MESSAGE, [b"\xc1\xff not msgpack"])
    assert (e.op, e.id) == ("unknown", 0)
    expect(P.BAD_MESSAGE, [pack([1, 2, 3])])
    expect(P.BAD_MESSAGE, [])


@pytest.mark.parametrize("header", [
    {"op": "ping", "id": 1},
    {"v": "1", "op": "ping", "id": 1},
    {"v": 1, "id": 1},
    {"v": 1, "op": "ping"},
    {"v": 1, "op": "ping", "id": -1},
    {"v": 1, "op": "ping", "id": 1, "args": [1]},
    {"v": 1, "op": "ping", "id": 1, "tensors": {"name": "x"}},
    {"v": 1, "op": "ping", "id": 1, "tensors": [{"dtype": "float32", "shape": [1]}]},
])
def test_missing_or_mistyped_keys_are_bad_message(header):
    expect(P.BAD_MESSAGE, [pack(header)])


def test_future_version_names_the_versions_spoken():
    e = expect(P.UNSUPPORTED_VERSION, [pack({"v": 2, "op": "ping", "id": 5})])
    assert "[1]" in e.message and (e.op, e.id) == ("ping", 5)


def test_unknown_op_keeps_the_id():
    e = expect(P.UNKNOWN_OP, [pack({"v": 1, "op": "fly", "id": 8})])
    assert (e.op, e.id) == ("fly", 8)


def _desc(dtype="float32", shape=(2, 2)):
    return {"v": 1, "op": "echo", "id": 1, "tensors": [{"name": "x", "dtype": dtype, "shape": list(shape)}]}


def test_truncated_extra_and_wrong_length_frames_are_bad_message():
    expect(P.BAD_MESSAGE, [pack(_desc())])  # descriptor without its frame
    expect(P.BAD_MESSAGE, [pack(_desc()), b"\0" * 16, b"\0" * 16])  # one frame too many
    expect(P.BAD_MESSAGE, [pack(_desc()), b"\0" * 15])  # one byte short
    expect(P.BAD_MESSAGE, [pack({"v": 1, "op": "ping", "id": 1}), b"stray"])


def test_descriptor_dtype_and_shape_are_checked_before_allocating():
    expect(P.BAD_DTYPE, [pack(_desc("complex64")), b"\0" * 32])
    expect(P.BAD_SHAPE, [pack(_desc(shape=[1] * 9)), b"\0" * 4])
    expect(P.BAD_SHAPE, [pack(_desc(shape=[2, -2])), b""])
    expect(P.BAD_SHAPE, [pack({**_desc(), "tensors": [{"name": "x", "dtype": "float32", "shape": "2x2"}]}), b""])
    expect(P.BAD_SHAPE, [pack(_desc(shape=[2.0, 2])), b"\0" * 16])


def test_too_large_by_frames_or_by_declared_shape():
    expect(P.TOO_LARGE, [pack(_desc(shape=(64,))), b"\0" * 256], max_bytes=100)
    # a declared shape far beyond the limit is refused without trusting the frame
    expect(P.TOO_LARGE, [pack(_desc(shape=(1 << 20, 1 << 20))), b"\0" * 16], max_bytes=1000)


# -- typed arguments ---------------------------------------------------------------------------------------------


def parse(op, tensors=(), **args):
    return P.parse_args(P.decode_request(P.encode_request(P.request(op, 1, list(tensors), **args))))


def expect_args(code, op, tensors=(), **args):
    with pytest.raises(P.ProtocolError) as info:
        parse(op, tensors, **args)
    assert info.value.code == code, info.value.message
    return info.value


def x(shape=(1, 4, 1, 2, 2), dtype=np.float32):
    return P.tensor("x", np.zeros(shape, dtype))


ITEM = {"cond": "c", "t": 1.0, "branch": "cond"}


def test_parse_args_typed_records():
    assert parse("load", source="/m") == P.LoadArgs("/m", "float32", None)  # GPU options default off
    assert parse("encode_prompt", model="m", text="hi").max_sequence_length is None
    assert parse("prepare_latents", model="m", seed=3, height=32, width=32, num_frames=5).seed == 3
    assert parse("time_embedding", model="m", timesteps=[999, 0.5]).timesteps == (999.0, 0.5)
    assert parse("release", handles=["a", "b"]).handles == ("a", "b")
    assert parse("hello", client="t", protocols=[1]).protocols == (1,)


@pytest.mark.parametrize("op,args", [
    ("load", {}),
    ("load", {"source": 3}),
    ("load", {"source": "/m", "dtype": "int8"}),
    ("encode_prompt", {"model": "m"}),
    ("encode_prompt", {"model": "m", "text": "t", "max_sequence_length": 0}),
    ("prepare_latents", {"model": "m", "seed": 1.5, "height": 32, "width": 32, "num_frames": 5}),
    ("time_embedding", {"model": "m", "timesteps": []}),
    ("time_embedding", {"model": "m", "timesteps": ["a"]}),
    ("release", {"handles": [1]}),
    ("denoise", {"model": "m", "items": []}),
    ("denoise", {"model": "m", "items": [{"t": 1.0}]}),
    ("denoise", {"model": "m", "items": [{"cond": "c", "t": "now"}]}),
    ("denoise", {"items": [ITEM]}),
])
def test_bad_args(op, args):
    tensors = [x()] if op == "denoise" else []
    expect_args(P.BAD_ARGS, op, tensors, **args)


def test_missing_tensor_is_bad_args():
    expect_args(P.BAD_ARGS, "denoise", [], model="m", items=[ITEM])


def test_tensor_dtype_shape_and_finiteness():
    expect_args(P.BAD_DTYPE, "denoise", [x(dtype=np.float64)], model="m", items=[ITEM])
    expect_args(P.BAD_SHAPE, "denoise", [x((1, 4, 2, 2))], model="m", items=[ITEM])
    expect_args(P.BAD_SHAPE, "denoise", [x((2, 4, 1, 2, 2))], model="m", items=[ITEM])
    bad = np.zeros((1, 4, 1, 2, 2), np.float32)
    bad[0, 1, 0, 1, 1] = np.nan
    expect_args(P.NON_FINITE, "denoise", [P.tensor("x", bad)], model="m", items=[ITEM])
    bad[0, 1, 0, 1, 1] = -np.inf
    expect_args(P.NON_FINITE, "decode", [P.tensor("latents", bad)], model="m")
    expect_args(P.BAD_DTYPE, "encode_media", [P.tensor("video", np.zeros((1, 8, 8, 3), np.float32))], model="m")
    expect_args(P.BAD_SHAPE, "encode_media", [P.tensor("video", np.zeros((1, 8, 8, 4), np.uint8))], model="m")


# -- golden vectors ------------------------------------------------------------------------------------------------


def _check_vector(path, decode):
    vec = json.loads(path.read_text())
    frames = [base64.b64decode(f) for f in vec["frames"]]
    msg = decode(frames)
    assert P.header_of(frames) == vec["header"], path.name
    assert len(msg.tensors) == len(vec["tensors"]), path.name
    for got, want in zip(msg.tensors, vec["tensors"]):
        assert (got.name, got.dtype, list(got.array.shape)) == (want["name"], want["dtype"], want["shape"])
        arr = got.array.view("<u2") if got.dtype in ("float16", "bfloat16") else got.array
        np.testing.assert_array_equal(arr.reshape(-1), np.asarray(want["values"], dtype=arr.dtype).reshape(-1))
    return msg


def test_request_vectors_from_the_typescript_codec_decode():
    files = sorted((REPO / "proto" / "vectors" / "requests").glob("*.json"))
    for path in files:
        req = _check_vector(path, P.decode_request)
        P.parse_args(req)  # and their arguments are what the worker expects


def test_every_op_of_the_table_has_a_request_and_a_reply_vector():
    for name in P.OPS:
        assert (REPO / "proto" / "vectors" / "requests" / f"{name}.json").is_file(), name
        assert (REPO / "proto" / "vectors" / "replies" / f"{name}.json").is_file(), name


def test_ops_describes_what_the_typescript_request_vectors_send():
    """`ops` (describe) against the requests codec.ts wrote: every argument key and tensor is one it lists."""
    import fnmatch

    for path in sorted((REPO / "proto" / "vectors" / "requests").glob("*.json")):
        header = json.loads(path.read_text())["header"]
        d = P.describe(P.OPS[header["op"]])
        assert set(header.get("args", {})) <= set(d.args), path.name
        assert set(header.get("args", {})) >= {k for k, kind in d.args.items() if not kind.endswith("?")}, path.name
        for t in header.get("tensors", []):
            patterns = [p for p in d.tensors_in if fnmatch.fnmatchcase(t["name"], p)]
            assert patterns, (path.name, t["name"])
            assert not d.tensors_in[patterns[0]] or t["dtype"] in d.tensors_in[patterns[0]], (path.name, t)
    assert [d.name for d in (P.describe(s) for s in P.OPS.values())] == list(P.OPS)


def test_error_codes_are_snake_case_and_the_spec_lists_exactly_them():
    import re

    spec = (REPO / "proto" / "SPEC.md").read_text()
    table = spec[spec.index("## Errors"):spec.index("## Lifecycle")]
    listed = re.findall(r"^\| `([^`]+)` \|", table, re.M)
    assert listed == list(P.ERROR_CODES)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in P.ERROR_CODES), P.ERROR_CODES
    with pytest.raises(AssertionError):
        P.ProtocolError("not-listed", "no")  # the worker can only send a listed code


def test_reply_vectors_are_up_to_date():
    assert vectors.main(["--check"]) == 0, "run: .venv/bin/python -m sencache_fixtures.vectors"


def test_reply_vectors_decode():
    files = sorted((REPO / "proto" / "vectors" / "replies").glob("*.json"))
    assert len(files) >= 10
    for path in files:
        _check_vector(path, P.decode_reply)


def test_parsing_many_files_is_linear_in_their_count():
    """Regression (fuzz): each file of read_media was looked up by a scan of all tensors, so one 1 MB message of 24,000
    one-byte files held the I/O thread (and every heartbeat) for 20 s before max_media_files refused it; now ~0.1 s."""
    import time

    n = 16_000
    req = P.decode_request(P.encode_request(P.request("read_media", 1, [P.tensor(f"file{i}", np.zeros(1, np.uint8)) for i in range(n)],
                                                      names=["a.png"] * n, height=8, width=8, num_frames=1)))
    t0 = time.perf_counter()
    assert len(P.parse_args(req).files) == n
    assert time.perf_counter() - t0 < 2.0  # was ~9 s at this count
