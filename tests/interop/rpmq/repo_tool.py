#!/usr/bin/env python3
"""repo_tool.py REPO ZREPO BAD: test_repo.sh's one Python run (Python starts
slowly on a loaded machine), reading createrepo_c's metadata with Python's
own XML and gzip code, an independent reader, not rpmq's.

  - prints primary.xml's <location href>s in document order
  - ZREPO: a copy of REPO whose primary and filelists are recompressed by the
    zstd program as .zst, repomd.xml updated (createrepo_c 0.17.3 in Debian
    12 is built without zstd)
  - BAD/<case>/repodata: damaged copies of REPO's metadata, one per case
    test_repo.sh checks (see CASES)
"""
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

NS = {"r": "http://linux.duke.edu/metadata/repo",
      "c": "http://linux.duke.edu/metadata/common"}


def data_href(d, typ):
    md = ET.parse(os.path.join(d, "repodata/repomd.xml")).getroot()
    for data in md.findall("r:data", NS):
        if data.get("type") == typ:
            return data.find("r:location", NS).get("href")
    raise SystemExit("no data type " + typ)


def set_field(d, typ, tag, value, attr=None):
    """Edit repomd.xml as text (ElementTree would rewrite namespaces)."""
    p = os.path.join(d, "repodata/repomd.xml")
    s = open(p).read()
    block = re.search(r'<data type="%s">.*?</data>' % typ, s, re.S).group(0)
    if attr:
        nb = re.sub(r'(<%s [^>]*%s=")[^"]*(")' % (tag, attr),
                    lambda x: x.group(1) + value + x.group(2), block, count=1)
    else:
        nb = re.sub(r'(<%s(?: [^>]*)?>)[^<]*(</%s>)' % (tag, tag),
                    lambda x: x.group(1) + value + x.group(2), block, count=1)
    open(p, "w").write(s.replace(block, nb))


def dump(d, typ):
    return gzip.open(os.path.join(d, data_href(d, typ))).read()


def rewrite(d, typ, raw, keep_open=False):
    """Replace <data type=typ>'s file with raw gzipped; repomd.xml's
    checksum and size follow (and open-*, unless keep_open)."""
    comp = gzip.compress(raw, mtime=0)
    open(os.path.join(d, data_href(d, typ)), "wb").write(comp)
    set_field(d, typ, "checksum", hashlib.sha256(comp).hexdigest())
    set_field(d, typ, "size", str(len(comp)))
    if not keep_open:
        set_field(d, typ, "open-checksum", hashlib.sha256(raw).hexdigest())
        set_field(d, typ, "open-size", str(len(raw)))


def zstd(d, typ):
    old = data_href(d, typ)
    raw = gzip.open(os.path.join(d, old)).read()
    comp = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE,
                          check=True).stdout
    new = old[:-3] + ".zst"
    open(os.path.join(d, new), "wb").write(comp)
    os.unlink(os.path.join(d, old))
    set_field(d, typ, "location", new, attr="href")
    set_field(d, typ, "checksum", hashlib.sha256(comp).hexdigest())
    set_field(d, typ, "size", str(len(comp)))


def flip(d):
    p = os.path.join(d, data_href(d, "primary"))
    b = bytearray(open(p, "rb").read())
    b[len(b) // 2] ^= 1
    open(p, "wb").write(b)


def bigsize(d):
    p = os.path.join(d, "repodata/repomd.xml")
    s = open(p).read()
    open(p, "w").write(re.sub(r"<size>(\d+)</size>", r"<size>1\1</size>", s, count=1))


def symlink(d, src):
    os.symlink(os.path.join(src, data_href(src, "primary")),
               os.path.join(d, "repodata/link.xml.gz"))
    set_field(d, "primary", "location", "repodata/link.xml.gz", attr="href")


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE metadata [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<metadata><package type="rpm"><name>&b;</name></package></metadata>
"""

# name: what to do to a copy of REPO's repodata
CASES = {
    "flip": lambda d, r: flip(d),
    "size": lambda d, r: bigsize(d),
    "open": lambda d, r: rewrite(d, "filelists",
                                 dump(r, "filelists").replace("grüße".encode(), b"gruesse"),
                                 keep_open=True),
    "dotdot": lambda d, r: set_field(d, "primary", "location",
                                     "../repo/" + data_href(r, "primary"), attr="href"),
    "symlink": symlink,
    "laughs": lambda d, r: rewrite(d, "primary", LAUGHS),
    "deep": lambda d, r: rewrite(d, "primary",
                                 b"<metadata>" + b"<a>" * 100 + b"</a>" * 100 + b"</metadata>\n"),
    "nofiles": lambda d, r: rewrite(d, "filelists", re.sub(
        rb"<package pkgid=.*?</package>", b"", dump(r, "filelists"), count=1, flags=re.S)),
    "noname": lambda d, r: rewrite(d, "primary", re.sub(
        rb"<name>[^<]*</name>", b"", dump(r, "primary"), count=1)),
}


def main():
    repo, zrepo, bad = sys.argv[1:4]
    root = ET.parse(gzip.open(os.path.join(repo, data_href(repo, "primary")))).getroot()
    for pkg in root.findall("c:package", NS):
        print(pkg.find("c:location", NS).get("href"))
    shutil.copytree(os.path.join(repo, "repodata"), os.path.join(zrepo, "repodata"))
    zstd(zrepo, "primary")
    zstd(zrepo, "filelists")
    for name, make in CASES.items():
        d = os.path.join(bad, name)
        shutil.copytree(os.path.join(repo, "repodata"), os.path.join(d, "repodata"))
        make(d, repo)


main()
