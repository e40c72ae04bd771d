#!/usr/bin/env python3
"""bmap-v1.py IMAGE BMAP_V2 MINOR: print BMAP_V2 (from `bmaptool create`)
rewritten in format 1.MINOR (1.2: sha1= range attributes, no file checksum;
1.3: sha1= and <BmapFileSHA1>), computing the SHA-1s from IMAGE, so the
interop test can feed the same old-format map to bmaptool and to usbcopy."""
import hashlib, re, sys

img, src, minor = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
data = open(img, 'rb').read()
bs = int(re.search(r'<BlockSize>\s*(\d+)', src).group(1))
out = ['<?xml version="1.0" ?>', '<bmap version="1.%d">' % minor]
for tag in ('ImageSize', 'BlockSize', 'BlocksCount'):
    out.append('    <%s> %s </%s>' % (tag, re.search(r'<%s>\s*(\d+)' % tag, src).group(1), tag))
if minor == 3:
    out.append('    <BmapFileSHA1> %s </BmapFileSHA1>' % ('0' * 40))
out.append('    <BlockMap>')
for m in re.finditer(r'<Range[^>]*>\s*([\d-]+)\s*</Range>', src):
    rng = m.group(1)
    a, _, b = rng.partition('-')
    a, b = int(a), int(b or a)
    s = hashlib.sha1(data[a * bs:(b + 1) * bs]).hexdigest()
    out.append('        <Range sha1="%s"> %s </Range>' % (s, rng))
out.append('    </BlockMap>')
out.append('    <MappedBlocksCount> %s </MappedBlocksCount>'
           % re.search(r'<MappedBlocksCount>\s*(\d+)', src).group(1))
out.append('</bmap>')
text = '\n'.join(out) + '\n'
if minor == 3:
    text = text.replace('0' * 40, hashlib.sha1(text.encode()).hexdigest(), 1)
sys.stdout.write(text)
