"""cpio_tamper.py IN OUT MODE NAME: edit the newc entry of NAME ("/data/x") in
the uncompressed payload of package IN, writing OUT. Header and digests are
left as they are, so rpm -K reports the payload digest BAD.
  mtime  one hex digit of the entry's cpio mtime (rpm takes the header's
         FILEMTIMES, so every file's content still matches FILEDIGESTS)
  size   the entry holds ten times the bytes FILESIZES says (the first
         bytes are the real content, then 'X's), re-padded to 4 bytes
"""
import re
import sys

src, dst, mode, name = sys.argv[1:5]
d = bytearray(open(src, 'rb').read())
m = re.search(rb'070701[0-9A-Fa-f]{104}\.' + re.escape(name.encode()) + rb'\0', d)
h = m.start()
p0 = re.search(rb'070701[0-9A-Fa-f]{104}', d).start()
if mode == 'mtime':  # one hex digit of the cpio mtime field (rpm takes the header's)
    k = h + 6 + 8 * 5 + 7
    d[k] = ord('0') if d[k] != ord('0') else ord('1')
elif mode == 'size':  # the cpio entry holds 10x the bytes the header says
    size = int(d[h + 54:h + 62], 16)
    ns = int(d[h + 94:h + 102], 16)
    ds = p0 + (h - p0 + 110 + ns + 3) // 4 * 4
    old = d[ds:ds + size]
    pad = lambda n: b'\0' * ((4 - n % 4) % 4)
    new = old + b'X' * (9 * size)
    d[h + 54:h + 62] = b'%08X' % len(new)
    d[ds:ds + size + len(pad(size))] = new + pad(len(new))
open(dst, 'wb').write(d)
