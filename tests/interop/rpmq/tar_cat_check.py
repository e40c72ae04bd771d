#!/usr/bin/env python3
"""tar_cat_check.py: rpmq --tar and --cat of one package against rpm2archive.

usage: tar_cat_check.py RPMQ PKG REF.tar   (REF.tar: `rpm2archive -n - <PKG`)
Prints "ok - ..." / "not ok - ..." lines (and "# ..." details) for the
calling TAP script:
  - `rpmq --tar PKG` is REF.tar byte for byte; if not, the members are
    compared (name, type, mode, uid/gid and owner names, size, mtime, link
    target, content) to say where they differ;
  - `rpmq --cat PATH PKG` of up to four regular files (hard links first) is
    the content rpm2archive stored for it (a hard link's through the member
    holding the data);
  - `--cat` of all of them in one run is their contents in the archive's
    order (rpm2archive's order is the payload's, a hard-link set where its
    data is), each file once per time it is named.
"""
import io
import subprocess
import sys
import tarfile


def out(ok, name, diag=""):
    print(("ok - " if ok else "not ok - ") + name)
    if not ok:
        for line in diag.splitlines()[:15]:
            print("# " + line)


def members(data):
    tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    res = []
    for m in tf.getmembers():
        content = b""
        if m.isreg() or m.islnk():
            f = tf.extractfile(m)
            content = f.read() if f else b""
        res.append((m.name, m.type, m.mode, m.uid, m.gid, m.uname, m.gname, m.size, m.mtime,
                    m.linkname, content))
    return res, tf


def main():
    rpmq, pkg, ref_path = sys.argv[1:4]
    name = pkg.rsplit("/", 1)[-1]
    ref = open(ref_path, "rb").read()
    p = subprocess.run([rpmq, "--tar", pkg], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode == 0 and p.stdout == ref:
        out(True, "%s: --tar = rpm2archive -n, byte for byte (%d bytes)" % (name, len(ref)))
    else:
        diag = "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace"))
        try:
            a, _ = members(ref)
            b, _ = members(p.stdout)
            diag += "\n".join("rpm2archive %r\nrpmq        %r" % (x[:10], y[:10])
                              for x, y in zip(a, b) if x != y)
            if len(a) != len(b):
                diag += "\nmembers: rpm2archive %d, rpmq %d" % (len(a), len(b))
        except (tarfile.TarError, EOFError) as e:
            diag += "\nnot a tar: %s" % e
        out(False, "%s: --tar = rpm2archive -n" % name, diag)

    mem, tf = members(ref)
    regs = [m for m in mem if m[1] in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.LNKTYPE)]
    # one process per file for a few (the hard links among them: their
    # content is another member's); the one-run check below covers all
    few = [m for m in regs if m[1] == tarfile.LNKTYPE][:2]
    few += [m for m in regs if m[1] != tarfile.LNKTYPE][:4 - len(few)]
    bad = []
    for m in few:
        path = m[0][1:] if m[0].startswith("./") else m[0]
        q = subprocess.run([rpmq, "--cat", path, pkg], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if q.returncode != 0 or q.stdout != m[10]:
            bad.append("%s: exit %d, %d bytes, want %d: %s" % (path, q.returncode, len(q.stdout),
                                                               len(m[10]), q.stderr.decode(errors="replace")))
    out(not bad, "%s: --cat of %d of its %d regular files, one at a time = rpm2archive's content"
        % (name, len(few), len(regs)),
        "\n".join(bad))
    if regs:
        args = []
        for m in regs:
            args += ["--cat", m[0][1:]]
        q = subprocess.run([rpmq] + args + [pkg], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        want = b"".join(m[10] for m in regs)
        out(q.returncode == 0 and q.stdout == want,
            "%s: --cat of all %d in one run: their contents in payload order" % (name, len(regs)),
            "exit %d, %d bytes, want %d: %s" % (q.returncode, len(q.stdout), len(want),
                                               q.stderr.decode(errors="replace")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
