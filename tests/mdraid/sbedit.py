#!/usr/bin/env python3
"""sbedit.py: change fields of an md v1.x superblock in place, for tests
that need states mdraid does not produce by itself (mid-reshape, corrupt
fields, foreign arrays). Offsets and the checksum are those of
the kernel's include/uapi/linux/raid/md_p.h (struct mdp_superblock_1).

  sbedit.py MEMBER [--keep-csum] FIELD=VALUE...
  FIELD: any name below, or role.N (dev_roles[N]), or byte.OFF (raw byte)
  VALUE: decimal or 0x hex (negative allowed for signed fields)
Without --keep-csum the checksum is recomputed afterwards."""
import os
import struct
import sys

FIELDS = {
    'magic': (0, '<I'), 'major_version': (4, '<I'), 'feature_map': (8, '<I'),
    'pad0': (12, '<I'), 'ctime': (64, '<Q'), 'level': (72, '<i'),
    'layout': (76, '<I'), 'size': (80, '<Q'), 'chunksize': (88, '<I'),
    'raid_disks': (92, '<I'), 'bitmap_offset': (96, '<i'),
    'new_level': (100, '<I'), 'reshape_position': (104, '<Q'),
    'delta_disks': (112, '<i'), 'new_layout': (116, '<I'),
    'new_chunk': (120, '<I'), 'new_offset': (124, '<i'),
    'data_offset': (128, '<Q'), 'data_size': (136, '<Q'),
    'super_offset': (144, '<Q'), 'recovery_offset': (152, '<Q'),
    'dev_number': (160, '<I'), 'devflags': (184, '<B'),
    'bblog_size': (186, '<H'), 'bblog_offset': (188, '<i'),
    'utime': (192, '<Q'), 'events': (200, '<Q'), 'resync_offset': (208, '<Q'),
    'sb_csum': (216, '<I'), 'max_dev': (220, '<I'),
}


def locate(f, size):
    for so in (8, 0, ((size // 512) - 16) & ~7):
        f.seek(so * 512)
        b = f.read(256)
        if struct.unpack_from('<I', b, 0)[0] == 0xa92b4efc and \
                struct.unpack_from('<Q', b, 144)[0] == so:
            return so
    raise SystemExit('no v1 superblock in ' + f.name)


def csum(b):
    max_dev = min(struct.unpack_from('<I', b, 220)[0], 1920)
    size = 256 + 2 * max_dev
    s = 0
    for i in range(0, size - size % 4, 4):
        if i != 216:
            s += struct.unpack_from('<I', b, i)[0]
    if size % 4 == 2:
        s += struct.unpack_from('<H', b, size - 2)[0]
    return ((s & 0xffffffff) + (s >> 32)) & 0xffffffff


def main():
    path, args = sys.argv[1], sys.argv[2:]
    keep = '--keep-csum' in args
    args = [a for a in args if a != '--keep-csum']
    with open(path, 'r+b') as f:
        so = locate(f, os.fstat(f.fileno()).st_size)
        f.seek(so * 512)
        b = bytearray(f.read(4096))
        for a in args:
            k, v = a.split('=', 1)
            v = int(v, 0)
            if k.startswith('role.'):
                struct.pack_into('<H', b, 256 + 2 * int(k[5:]), v)
            elif k.startswith('byte.'):
                b[int(k[5:])] = v
            else:
                off, fmt = FIELDS[k]
                if fmt[1].isupper() and v < 0:
                    v &= (1 << (8 * struct.calcsize(fmt))) - 1
                struct.pack_into(fmt, b, off, v)
        if not keep:
            struct.pack_into('<I', b, 216, csum(b))
        f.seek(so * 512)
        f.write(b)


if __name__ == '__main__':
    main()
