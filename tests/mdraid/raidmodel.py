#!/usr/bin/env python3
"""raidmodel.py: an independent model of md RAID5/6 on-disk data, written
from the kernel's raid5.c raid5_compute_sector (the table of layouts and the Q slot
walk), not from mdraid's C code. The tests use it to check what mdraid wrote.

  raidmodel.py verify MEMBER...        check P (and Q) of every stripe; print
                                       "stripes N ok" or the first bad stripe
  raidmodel.py content MEMBER... > F   write the array content (data chunks in
                                       array order) to stdout
  raidmodel.py unsynced MEMBER...      every stripe whose P or Q disagrees,
                                       judged against each member's
                                       write-intent bitmap (md-bitmap.h's
                                       bitmap_super_t, bits little-endian
                                       from byte 256, one per chunksize of
                                       each member's data area): prints
                                       "bitmap M events E" per member, then
                                       "stripe S not covered by the bitmap of
                                       M" and "unsynced N uncovered U"

Members are given in slot order; the superblock of the first one gives the
geometry (v1.0/1.1/1.2 are all tried)."""
import struct
import sys


def read_sb(f, size):
    for so in (8, 0, ((size // 512) - 16) & ~7):
        f.seek(so * 512)
        b = f.read(4096)
        if len(b) >= 256 and struct.unpack_from('<I', b, 0)[0] == 0xa92b4efc \
                and struct.unpack_from('<Q', b, 144)[0] == so:
            return {
                'level': struct.unpack_from('<i', b, 72)[0],
                'layout': struct.unpack_from('<I', b, 76)[0],
                'size': struct.unpack_from('<Q', b, 80)[0],
                'chunk': struct.unpack_from('<I', b, 88)[0],
                'disks': struct.unpack_from('<I', b, 92)[0],
                'data_offset': struct.unpack_from('<Q', b, 128)[0],
                'feature_map': struct.unpack_from('<I', b, 8)[0],
                'bitmap_offset': struct.unpack_from('<i', b, 96)[0],
                'super_offset': so,
            }
    raise SystemExit('no v1 superblock')


def r5_place(layout, s, n):
    """RAID5 layouts on n disks: (P disk, [disk of data k])."""
    nd = n - 1
    if layout in (0, 2):        # left: P walks down from the last disk
        p = n - 1 - s % n
    elif layout in (1, 3):      # right: P walks up from disk 0
        p = s % n
    elif layout == 4:
        return 0, [k + 1 for k in range(nd)]
    else:
        return nd, list(range(nd))
    if layout in (0, 1):        # asymmetric: data in disk order, skipping P
        return p, [k if k < p else k + 1 for k in range(nd)]
    return p, [(p + 1 + k) % n for k in range(nd)]


def r6_place(layout, s, n):
    """RAID6 layouts (raid5.c's raid5_compute_sector): (P, Q, [disk of data k])."""
    nd = n - 2
    if layout in (0, 1):
        p = n - 1 - s % n if layout == 0 else s % n
        if p == n - 1:
            return p, 0, [k + 1 for k in range(nd)]
        return p, p + 1, [k if k < p else k + 2 for k in range(nd)]
    if layout in (2, 3):
        p = n - 1 - s % n if layout == 2 else s % n
        return p, (p + 1) % n, [(p + 2 + k) % n for k in range(nd)]
    if layout == 4:
        return 0, 1, [k + 2 for k in range(nd)]
    if layout == 5:
        return nd, nd + 1, list(range(nd))
    if layout in (16, 17, 18, 19):
        p, data = r5_place(layout - 16, s, n - 1)
        return p, n - 1, data
    if layout == 20:
        return 0, n - 1, [k + 1 for k in range(nd)]
    raise SystemExit('layout %d not modelled' % layout)


def qslots(p, q, n, data):
    """Slot of each data k: walk from Q+1 (0 if Q is last), skip P and Q."""
    start = 0 if q == n - 1 else q + 1
    order = [d for d in [(start + i) % n for i in range(n)] if d not in (p, q)]
    return [order.index(d) for d in data]


def gf_mul2(x, nbytes):
    hi = x & int.from_bytes(b'\x80' * nbytes, 'little')
    lo = x & int.from_bytes(b'\x7f' * nbytes, 'little')
    return (lo << 1) ^ ((hi >> 7) * 0x1d)


def read_bitmap(f, size):
    """(events, chunk sectors, bits as bytes) of a member's internal bitmap,
    or None when its superblock names none (feature_map bit 0)."""
    g = read_sb(f, size)
    if not g['feature_map'] & 1:
        return None
    f.seek((g['super_offset'] + g['bitmap_offset']) * 512)
    b = f.read(256 + 65536)
    if struct.unpack_from('<I', b, 0)[0] != 0x6d746962:
        raise SystemExit('bad bitmap magic')
    events = struct.unpack_from('<Q', b, 24)[0]
    chunk = struct.unpack_from('<I', b, 52)[0] // 512
    return events, chunk, b[256:]


def scan(paths, bitmaps=False):
    """Every stripe of the members (slot order): the content (data chunks in
    array order, bytes), the list of (stripe, 'P'|'Q') that disagree, the
    stripes some member's bitmap does not cover as (stripe, member), and
    each member's bitmap (events, chunk sectors, bits) or None, and the
    number of stripes."""
    import os
    files = [open(p, 'rb') for p in paths]
    g = read_sb(files[0], os.fstat(files[0].fileno()).st_size)
    bms = [read_bitmap(f, os.fstat(f.fileno()).st_size) for f in files] if bitmaps else []
    n, cs = g['disks'], g['chunk'] * 512
    assert n == len(files), 'give all members in slot order'
    content, bad, uncovered = [], [], []
    for s in range(g['size'] // g['chunk']):
        blocks = []
        for f in files:
            f.seek(g['data_offset'] * 512 + s * cs)
            blocks.append(f.read(cs))
        if g['level'] == 5:
            p, data = r5_place(g['layout'], s, n)
            q = None
        else:
            p, q, data = r6_place(g['layout'], s, n)
        content.extend(blocks[d] for d in data)
        ints = [int.from_bytes(b, 'little') for b in blocks]
        pp = 0
        for d in data:
            pp ^= ints[d]
        wrong = 'P' if pp != ints[p] else None
        if q is not None and not wrong:
            slot = qslots(p, q, n, data)
            by_slot = [0] * len(data)
            for k, d in enumerate(data):
                by_slot[slot[k]] = ints[d]
            qq = by_slot[-1]
            for z in range(len(data) - 2, -1, -1):
                qq = gf_mul2(qq, cs) ^ by_slot[z]
            wrong = 'Q' if qq != ints[q] else None
        if not wrong:
            continue
        bad.append((s, wrong))
        # every bit over the stripe's rows must be set on every member
        # (which member's bitmap md reads is not ours to pick)
        c = g['chunk']
        for i, bm in enumerate(bms):
            if bm:
                bits = range(s * c // bm[1], ((s + 1) * c - 1) // bm[1] + 1)
                if not all(bm[2][b // 8] >> (b % 8) & 1 for b in bits):
                    uncovered.append((s, i))
    for f in files:
        f.close()
    return b''.join(content), bad, uncovered, bms, g['size'] // g['chunk']


def main():
    cmd, paths = sys.argv[1], sys.argv[2:]
    content, bad, uncovered, bms, stripes = scan(paths, cmd == 'unsynced')
    if cmd == 'content':
        sys.stdout.buffer.write(content)
        return 0
    if cmd == 'unsynced':
        for i, bm in enumerate(bms):
            print('bitmap %d events %s' % (i, bm[0] if bm else 'none'))
        for s, i in uncovered:
            print('stripe %d not covered by the bitmap of %d' % (s, i))
        print('unsynced %d uncovered %d' % (len(bad), len(uncovered)))
        return 0
    if bad:
        print('stripe %d: %s differs' % bad[0])
        return 1
    print('stripes %d ok' % stripes)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
