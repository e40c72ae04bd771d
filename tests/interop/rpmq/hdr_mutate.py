"""hdr_mutate.py SEED COUNT OUTDIR PKG...: write COUNT mutated copies of the
given packages to OUTDIR (m00000.rpm, ...), one change each, chosen by a
random.Random(SEED): a field of one index entry of the main or signature
header (tag, type, offset, count) set to a boundary value or a neighbour's,
a byte of the index or the data store replaced, an early NUL in a string
(a hole in the data), or the intro's il/dl moved by one. The header digests
are left stale: the test reads with --nosignature --nodigest, so only the
structural checks decide. Prints one line per file: name, base, change.
"""
import os
import random
import struct
import sys

seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
bases = [(os.path.basename(p), open(p, 'rb').read()) for p in sys.argv[4:]]
rnd = random.Random(seed)


def headers(d):
    """(offset, il, dl) of the signature and the main header."""
    il, dl = struct.unpack('>II', d[104:112])
    sig = (96, il, dl)
    off = 96 + 16 + 16 * il + dl
    off += (8 - off % 8) % 8
    il2, dl2 = struct.unpack('>II', d[off + 8:off + 16])
    return [sig, (off, il2, dl2)]


BOUND = [0, 1, 2, 99, 100, 0x7fffffff, 0x80000000, 0x80000064, 0xffffffff, 0xfffff, 0x100000]
for n in range(count):
    name, src = rnd.choice(bases)
    d = bytearray(src)
    hs = headers(d)
    off, il, dl = hs[1] if rnd.random() < 0.8 else hs[0]
    ix = off + 16
    ds = ix + 16 * il
    kind = rnd.choice(['tag', 'type', 'offset', 'count', 'count', 'indexbyte', 'databyte',
                       'hole', 'hole', 'dup', 'intro'])
    i = rnd.randrange(il)
    e = ix + 16 * i
    tag, typ, eoff, cnt = struct.unpack('>IIiI', d[e:e + 16])
    if kind == 'tag':
        v = rnd.choice(BOUND + [tag + 1, tag - 1, 1083, 1116, 1000, 63, 62, 61])
        d[e:e + 4] = struct.pack('>I', v & 0xffffffff)
        what = 'tag[%d] %d -> %d' % (i, tag, v & 0xffffffff)
    elif kind == 'type':
        v = rnd.randrange(0, 11)
        d[e + 4:e + 8] = struct.pack('>I', v)
        what = 'type[%d] %d -> %d' % (i, typ, v)
    elif kind == 'offset':
        v = rnd.choice([0, -1, 1, 2, 4, dl, dl - 1, dl + 1, eoff + 1, eoff - 1, eoff + 4, eoff - 4,
                        0x7fffffff])
        d[e + 8:e + 12] = struct.pack('>i', v)
        what = 'offset[%d] %d -> %d' % (i, eoff, v)
    elif kind == 'count':
        v = rnd.choice(BOUND + [cnt - 1, cnt + 1, cnt * 2, dl, dl + 1]) & 0xffffffff
        d[e + 12:e + 16] = struct.pack('>I', v)
        what = 'count[%d] %d -> %d' % (i, cnt, v)
    elif kind == 'indexbyte':
        k = rnd.randrange(16 * il)
        d[ix + k] = rnd.randrange(256)
        what = 'index byte %d -> %d' % (k, d[ix + k])
    elif kind == 'databyte':
        k = rnd.randrange(dl)
        d[ds + k] = rnd.randrange(256)
        what = 'data byte %d -> %d' % (k, d[ds + k])
    elif kind == 'hole':
        # an early NUL inside a string entry's data
        strs = [j for j in range(il)
                if struct.unpack('>I', d[ix + 16 * j + 4:ix + 16 * j + 8])[0] in (6, 8, 9)]
        j = rnd.choice(strs) if strs else i
        so = struct.unpack('>i', d[ix + 16 * j + 8:ix + 16 * j + 12])[0]
        z = d.find(b'\0', ds + so)
        if z > ds + so:
            k = rnd.randrange(ds + so, z)
            d[k] = 0
        what = 'hole in entry %d at %d' % (j, so)
    elif kind == 'dup':
        # entry i takes the tag of another (a duplicate tag)
        j = rnd.randrange(il)
        d[e:e + 4] = d[ix + 16 * j:ix + 16 * j + 4]
        what = 'tag[%d] = tag[%d]' % (i, j)
    else:
        f = rnd.choice([8, 12])
        v = struct.unpack('>I', d[off + f:off + f + 4])[0] + rnd.choice([-1, 1])
        d[off + f:off + f + 4] = struct.pack('>I', v & 0xffffffff)
        what = '%s %d' % ('il' if f == 8 else 'dl', v)
    fn = os.path.join(out, 'm%05d.rpm' % n)
    open(fn, 'wb').write(d)
    print('m%05d.rpm %s %s' % (n, name, what))
