"""Reads generated dataset files with the libraries people use and compares them with the
configuration that produced them.

argv[1]: a JSON file holding a list of cases, each
  {"format", "dtype", "dims", "samples", "files": [paths], "datasets": k (hdf5)}.
Prints a JSON list: for each case, {"case": i, "files": n, "problems": [text, ...]}.
"""

import csv
import json
import math
import sys

import numpy as np


def expect(problems, what, found, wanted):
    if found != wanted:
        problems.append(f"{what}: found {found!r}, expected {wanted!r}")


def check_npz(case, path, problems):
    with np.load(path) as archive:
        expect(problems, "members", sorted(archive.files), ["x", "y"])
        x = archive["x"]
        expect(problems, "x shape", list(x.shape), case["dims"] + [case["samples"]])
        expect(problems, "x dtype", str(x.dtype), case["dtype"])
        expect(problems, "y shape", list(archive["y"].shape), [case["samples"]])


def check_npy(case, path, problems):
    x = np.load(path)
    expect(problems, "shape", list(x.shape), case["dims"] + [case["samples"]])
    expect(problems, "dtype", str(x.dtype), case["dtype"])


def check_hdf5(case, path, problems):
    import h5py

    k = case.get("datasets", 1)
    dims = list(case["dims"])
    dims[0] //= k
    if dims[0] == 1 and len(dims) > 1:
        dims = dims[1:]
    with h5py.File(path, "r") as f:
        expect(problems, "datasets", sorted(f.keys()),
               sorted([f"records_{i}" for i in range(k)] + ["labels"]))
        for i in range(k):
            records = f[f"records_{i}"]
            expect(problems, f"records_{i} shape", list(records.shape),
                   [case["samples"]] + dims)
            expect(problems, f"records_{i} dtype", str(records.dtype), case["dtype"])
            records[case["samples"] - 1]  # the last row decodes
        expect(problems, "labels shape", list(f["labels"].shape), [case["samples"]])
        expect(problems, "labels dtype", str(f["labels"].dtype), "int64")


def masked_crc(data):
    import crc32c

    c = crc32c.crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def check_tfrecord(case, path, problems):
    import struct

    from tfrecord.reader import tfrecord_loader

    # The framing first: every length and payload CRC, as TensorFlow checks them.
    data = open(path, "rb").read()
    pos = framed = 0
    while pos < len(data):
        length = struct.unpack("<Q", data[pos:pos + 8])[0]
        if struct.unpack("<I", data[pos + 8:pos + 12])[0] != masked_crc(data[pos:pos + 8]):
            problems.append(f"record {framed}: length CRC")
        payload = data[pos + 12:pos + 12 + length]
        if struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])[0] != masked_crc(payload):
            problems.append(f"record {framed}: payload CRC")
        pos += length + 16
        framed += 1
    expect(problems, "framed records", framed, case["samples"])
    itemsize = np.dtype(case["dtype"]).itemsize
    records = list(tfrecord_loader(path, None, {"image": "byte", "size": "int"}))
    expect(problems, "records", len(records), case["samples"])
    want = math.prod(case["dims"]) * itemsize
    expect(problems, "image bytes", sorted({len(r["image"]) for r in records}), [want])
    expect(problems, "size", sorted({int(r["size"][0]) for r in records}), [want])


def check_indexed(case, path, problems):
    itemsize = np.dtype(case["dtype"]).itemsize
    sample = math.prod(case["dims"]) * itemsize
    offsets = np.fromfile(path + ".off.idx", dtype=np.uint64).tolist()
    sizes = np.fromfile(path + ".sz.idx", dtype=np.uint64).tolist()
    expect(problems, "offsets", offsets, [i * sample for i in range(case["samples"])])
    expect(problems, "sizes", sizes, [sample] * case["samples"])
    data = np.fromfile(path, dtype=case["dtype"])
    expect(problems, "elements", data.size, math.prod(case["dims"]) * case["samples"])


def check_csv(case, path, problems):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    expect(problems, "rows", len(rows), case["samples"])
    expect(problems, "columns", sorted({len(r) for r in rows}), [math.prod(case["dims"])])
    kind = np.dtype(case["dtype"]).kind
    parse = float if kind == "f" else int
    values = np.array([parse(v) for r in rows for v in r], dtype=case["dtype"])
    expect(problems, "values", values.size, math.prod(case["dims"]) * case["samples"])
    expect(problems, "identical rows", len({tuple(r) for r in rows}), 1)


def check_image(case, path, problems):
    from PIL import Image

    with Image.open(path) as image:
        expect(problems, "size", list(image.size), [case["dims"][1], case["dims"][0]])
        expect(problems, "mode", image.mode, "L")
        expect(problems, "format", image.format, case["format"].upper())
        image.load()


CHECKS = {
    "npz": check_npz,
    "npy": check_npy,
    "hdf5": check_hdf5,
    "tfrecord": check_tfrecord,
    "indexed_binary": check_indexed,
    "mmap_indexed_binary": check_indexed,
    "csv": check_csv,
    "png": check_image,
    "jpeg": check_image,
}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    out = []
    for i, case in enumerate(cases):
        problems = []
        for path in case["files"]:
            found = []
            try:
                CHECKS[case["format"]](case, path, found)
            except Exception as err:  # a file the reader rejects is a finding, not a crash
                found.append(f"{type(err).__name__}: {err}")
            problems += [f"{path}: {p}" for p in found]
        out.append({"case": i, "files": len(case["files"]), "problems": problems})
    print(json.dumps(out))


main()
