#!/usr/bin/env python3
"""corrupt.py: one-byte damage to a package, for test_checksig.sh (rpm -K
judges every copy).

  corrupt.py PKG KIND OUT
      KIND payload: the middle byte of the payload, XORed with 0x01
      KIND header:  the middle byte of the main header's data store
      KIND sig:     the last byte of the header signature (RSAHEADER, else
                    DSAHEADER): inside its last MPI
      KIND sighash: the first byte of the header signature's hashed part
                    after the version (its signature type)
"""
import struct
import sys

from sigblob import read_sig


def main():
    pkg, kind, out = sys.argv[1:4]
    data = bytearray(open(pkg, "rb").read())
    ents, store, _dl, hdr = read_sig(data)
    il, dl = struct.unpack(">II", data[hdr + 8:hdr + 16])
    hstore = hdr + 16 + 16 * il
    payload = hstore + dl
    if kind == "payload":
        pos = payload + (len(data) - payload) // 2
    elif kind == "header":
        pos = hstore + dl // 2
    else:
        blob = [e for e in ents if e[0] == 268] or [e for e in ents if e[0] == 267]
        if not blob:
            sys.exit("corrupt.py: %s has no header signature" % pkg)
        _t, _typ, off, cnt = blob[0]
        if kind == "sig":
            pos = store + off + cnt - 1
        else:
            # the packet's tag byte, its length, then version and type
            b0 = data[store + off]
            if b0 & 0x40:
                b1 = data[store + off + 1]
                lenlen = 1 if b1 < 192 else 2 if b1 < 224 else 5
            else:
                lenlen = 1 << (b0 & 3)
            pos = store + off + 1 + lenlen + 1
    data[pos] ^= 0x01
    open(out, "wb").write(data)


main()
