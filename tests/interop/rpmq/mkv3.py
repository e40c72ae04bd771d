"""mkv3.py OUTDIR BINARY.rpm SOURCE.rpm: write old-style copies of two v4
packages to OUTDIR, each exercising one branch of the retrofits rpm 4.18
applies on load (lib/package.c applyRetrofits, lib/headerutil.c
compressFilelist and providePackageNVR). The main header is rebuilt from
its entries: without the HEADERIMMUTABLE region (a v3 header, as rpm < 4.0
wrote them) unless the name says "region", and with OLDFILENAMES instead
of BASENAMES/DIRNAMES/DIRINDEXES. Lead, signature header and payload are
kept (the digests go stale: read them with --nosignature --nodigest).
Prints the names written, one a line.
"""
import os
import struct
import sys

out, binary, source = sys.argv[1:4]
SIZE = {0: 0, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}
ALIGN = {3: 2, 4: 4, 5: 8}


def split(d):
    """lead+signature+padding bytes, main header entries {tag: (type, count,
    data)} in index order, payload bytes."""
    il, dl = struct.unpack('>II', d[104:112])
    off = 96 + 16 + 16 * il + dl
    off += (8 - off % 8) % 8
    il2, dl2 = struct.unpack('>II', d[off + 8:off + 16])
    ix, ds = off + 16, off + 16 + 16 * il2
    ents = {}
    for i in range(il2):
        tag, typ, eoff, cnt = struct.unpack('>IIiI', d[ix + 16 * i:ix + 16 * i + 16])
        if tag in (61, 62, 63):
            continue
        p = ds + eoff
        if typ in (6, 8, 9):
            q = p
            for _ in range(cnt if typ != 6 else 1):
                q = d.index(b'\0', q) + 1
            data = d[p:q]
        else:
            data = d[p:p + SIZE[typ] * cnt]
        ents[tag] = (typ, cnt, data)
    return d[:off], ents, d[ds + dl2:]


def build(ents, region):
    """A main header blob from {tag: (type, count, data)}, sorted by tag,
    integer data aligned; with region, a HEADERIMMUTABLE region covering
    every entry, as rpm >= 4.0 writes it."""
    tags = sorted(ents)
    index, data = b'', b''
    if region:
        index = struct.pack('>IIiI', 63, 7, 0, 16)  # offset patched below
    for t in tags:
        typ, cnt, blob = ents[t]
        a = ALIGN.get(typ, 1)
        data += b'\0' * ((a - len(data) % a) % a)
        index += struct.pack('>IIiI', t, typ, len(data), cnt)
        data += blob
    il = len(tags)
    if region:
        il += 1
        index = struct.pack('>IIiI', 63, 7, len(data), 16) + index[16:]
        data += struct.pack('>IIiI', 63, 7, -16 * il, 16)
    return b'\x8e\xad\xe8\x01\0\0\0\0' + struct.pack('>II', il, len(data)) + index + data


def strs(e):
    return e[2].split(b'\0')[:-1]


def sarr(lst):
    return (8, len(lst), b''.join(s + b'\0' for s in lst))


def i32(lst):
    return (4, len(lst), b''.join(struct.pack('>I', v) for v in lst))


def oldnames(ents, order=None):
    """Replace the compressed file list by OLDFILENAMES (in order, if
    given, a permutation of the file indexes)."""
    dn, bn = strs(ents.pop(1118)), strs(ents.pop(1117))
    di = struct.unpack('>%dI' % ents[1116][1], ents.pop(1116)[2])
    names = [dn[di[i]] + bn[i] for i in range(len(bn))]
    if order:
        names = [names[i] for i in order]
    ents[1027] = sarr(names)


def without_self(ents):
    """Drop the provide NAME = [E:]V-R that rpmbuild adds."""
    name = ents[1000][2].rstrip(b'\0')
    pn, pv = strs(ents[1047]), strs(ents[1113])
    pf = struct.unpack('>%dI' % ents[1112][1], ents[1112][2])
    keep = [i for i in range(len(pn)) if pn[i] != name]
    ents[1047] = sarr([pn[i] for i in keep])
    ents[1113] = sarr([pv[i] for i in keep])
    ents[1112] = i32([pf[i] for i in keep])


def write(name, pre, ents, payload, region=False):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(pre + build(ents, region) + payload)
    print(name)


bpre, bents, bpay = split(open(binary, 'rb').read())
spre, sents, spay = split(open(source, 'rb').read())

e = dict(bents); oldnames(e); without_self(e)
write('v3-bin.rpm', bpre, e, bpay)
n = len(strs(bents[1117]))
# unsorted: a doc file, the binary, the other doc files, the doc directory;
# rpm's bsearch then misses the first directory: DIRNAMES holds it twice
e = dict(bents); oldnames(e, [2, 0] + list(range(3, n)) + [1]); without_self(e)
write('v3-bin-unsorted.rpm', bpre, e, bpay)
e = dict(bents); oldnames(e); del e[1112]; del e[1113]
write('v3-bin-unversioned-provides.rpm', bpre, e, bpay)
e = dict(bents); oldnames(e); del e[1047]; del e[1112]; del e[1113]
write('v3-bin-no-provides.rpm', bpre, e, bpay)
e = dict(bents); oldnames(e)
write('v3-bin-self-provided.rpm', bpre, e, bpay)
e = dict(bents); oldnames(e); without_self(e); e[1003] = i32([7])
write('v3-bin-epoch.rpm', bpre, e, bpay)
e = dict(bents); oldnames(e); without_self(e); del e[1044]
write('v3-bin-no-sourcerpm.rpm', bpre, e, bpay)
e = dict(bents); oldnames(e); e[1113] = sarr(strs(e[1113])[:-1])
write('v3-bin-provide-counts-differ.rpm', bpre, e, bpay)
e = dict(bents); oldnames(e); without_self(e)
write('region-oldfilenames.rpm', bpre, e, bpay, region=True)  # --nodirtokens
e = dict(sents); oldnames(e); e.pop(1106, None)
write('v3-src.rpm', spre, e, spay)
e = dict(sents); oldnames(e); e.pop(1106, None)
e[1027] = sarr(strs(e[1027])[:1] + [b'sub/dir/' + s for s in strs(e[1027])[1:]])
write('v3-src-with-dirs.rpm', spre, e, spay)
e = dict(bents); oldnames(e); without_self(e)
e[1027] = sarr([b'noslash'] + strs(e[1027])[1:])
write('v3-bin-first-name-relative.rpm', bpre, e, bpay)
# hostile shapes a v3 header (no region: no type checks) allows
e = dict(bents); oldnames(e); e[1027] = i32([1] * n)
write('v3-bin-numeric-oldfilenames.rpm', bpre, e, bpay)
e = dict(bents); oldnames(e); e[1047] = i32([1])
write('v3-bin-numeric-providename.rpm', bpre, e, bpay)
