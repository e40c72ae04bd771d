#!/usr/bin/env python3
"""sigblob.py: signature blobs of a package's signature header, for the
:pgpsig cases of test_pgpsig.sh (rpm 4.18 judges every result).

  sigblob.py mutate PKG TAG OUTDIR SEED N
      N copies of PKG, each with bytes of signature tag TAG's blob changed
      (a byte set to 0, 0xff, +1, or an algorithm/version byte set to a value
      rpm knows: 1 RSA, 17 DSA, 19 ECDSA, 22 EdDSA, 3/4/5/6), named
      OUTDIR/m00000.rpm ...; every byte position is hit in turn, then random
      ones (random.Random(SEED)).
  sigblob.py replace PKG TAG BLOBFILE OUT
      PKG with TAG's blob replaced by BLOBFILE's bytes (any length): the
      signature header is rebuilt (offsets, data length, 8-byte padding);
      the main header and payload are copied unchanged.
"""
import random
import struct
import sys

LEAD = 96


def read_sig(data):
    off = LEAD
    if data[off:off + 3] != b"\x8e\xad\xe8":
        sys.exit("sigblob: no signature header after the lead")
    il, dl = struct.unpack(">II", data[off + 8:off + 16])
    ents = [struct.unpack(">iIiI", data[off + 16 + 16 * i:off + 32 + 16 * i]) for i in range(il)]
    store = off + 16 + 16 * il
    end = store + dl
    return ents, store, dl, end + (-end % 8)


def entry_len(data, store, ent):
    # the exact data length of an entry, as rpm's header check counts it
    t, typ, o, c = ent
    size = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}
    if typ in size:
        return c * size[typ]
    p = store + o
    for _ in range(c if typ != 6 else 1):
        p = data.index(b"\0", p) + 1
    return p - store - o


def find(ents, tag):
    for i, e in enumerate(ents):
        if e[0] == tag:
            return i
    sys.exit("sigblob: tag %d not in the signature header" % tag)


def mutate(pkg, tag, outdir, seed, n):
    data = open(pkg, "rb").read()
    ents, store, dl, _ = read_sig(data)
    i = find(ents, tag)
    start, count = store + ents[i][2], ents[i][3]
    rnd = random.Random(seed)
    for k in range(n):
        m = bytearray(data)
        pos = k if k < count else rnd.randrange(count)
        how = rnd.randrange(6)
        if how == 0:
            m[start + pos] = 0
        elif how == 1:
            m[start + pos] = 0xFF
        elif how == 2:
            m[start + pos] = (m[start + pos] + 1) & 0xFF
        elif how == 3:
            m[start + pos] = rnd.choice([1, 17, 19, 22, 3, 4, 5, 6, 0x80, 0x89, 0xC2])
        else:
            m[start + pos] ^= 1 << rnd.randrange(8)
        open("%s/m%05d.rpm" % (outdir, k), "wb").write(m)


def replace(pkg, tag, blobfile, out):
    data = open(pkg, "rb").read()
    ents, store, dl, hend = read_sig(data)
    blob = open(blobfile, "rb").read()
    i = find(ents, tag)
    # entries in data order; each keeps its bytes except TAG's
    order = sorted(range(len(ents)), key=lambda j: ents[j][2])
    align = {3: 2, 4: 4, 5: 8}
    newdata = bytearray()
    newoff = {}
    region = None
    for j in order:
        t, typ, o, c = ents[j]
        if t == 62:
            region = j
            continue
        body = blob if j == i else data[store + o:store + o + entry_len(data, store, ents[j])]
        a = align.get(typ, 1)
        newdata += b"\0" * (-len(newdata) % a)
        newoff[j] = len(newdata)
        newdata += body
    if region is not None:
        t, typ, o, c = ents[region]
        newoff[region] = len(newdata)
        newdata += data[store + o:store + o + 16]
    idx = b""
    for j, (t, typ, o, c) in enumerate(ents):
        cnt = len(blob) if j == i else c
        idx += struct.pack(">iIiI", t, typ, newoff[j], cnt)
    hdr = data[LEAD:LEAD + 8] + struct.pack(">II", len(ents), len(newdata)) + idx + newdata
    hdr += b"\0" * (-(LEAD + len(hdr)) % 8)
    open(out, "wb").write(data[:LEAD] + hdr + data[hend:])


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "mutate":
        mutate(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif len(sys.argv) == 6 and sys.argv[1] == "replace":
        replace(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        sys.exit(__doc__)
