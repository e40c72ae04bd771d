#!/usr/bin/env python3
"""test_overlay_commit.py: `mdraid overlay commit` killed after each of its
writes, every state judged by the rules mdadm 4.2 and the kernel's md apply
at the next assembly, then the commit re-run (issue 19). TAP output.

A RAID6 of 4 image members (64 KiB chunks, internal bitmap with 64 KiB
bitmap chunks, one bit per stripe, as mdadm --bitmap-chunk=64K makes it: the
chunksize field of each member's bitmap super is set so) full of random
bytes gets an overlay of 5 writes (overlay_cut write). The commit
(overlay_cut commit K: the library calls `mdraid overlay commit` makes) is
cut after its first K pwrite/fdatasync calls; what was written stays. The
run's calls (header; bitmap events and superblocks active; per window bitmap
bits, then data; members synced; bitmap cleared, superblocks clean) give one
state per pwrite (an fdatasync changes no content in this model). Every
superblock, bitmap and header write is a case; data writes by a fixed
sample (all with MDRAID_EXHAUSTIVE=1). One Python process judges them all
(an interpreter start costs seconds on a loaded machine); overlay_cut
counts fdatasyncs without making them (nothing is lost in this model).

The rules, derived by hand from md.c super_1_validate (a member one event
behind the freshest is taken as in sync at assembly, ++ev1), mdadm's
Assemble.c (event margin 1), md.c's resync decision (resync_offset of the
freshest superblock: MaxSector = clean) and md-bitmap.c (a dirty array with
a bitmap resyncs the regions of its set bits; a bitmap older than the
superblocks forces a full resync):
  1. mdadm --examine: every member within one event of the freshest, so the
     array assembles whole (no member kicked as stale);
  2. freshest clean: every stripe's P and Q agree (raidmodel.py, an
     independent model) and the content is the old one or the overlay's
     whole, never a mix;
  3. freshest active: every stripe whose P or Q disagrees lies in set bits
     of every member's bitmap (md resyncs it; which member's bitmap md
     reads is its choice);
  4. the commit run again (`mdraid overlay commit` for every 6th case and
     with MDRAID_EXHAUSTIVE=1, else overlay_cut's same library calls) exits 0, the content is then the
     overlay's, the file gone, every member at one event count, and either
     all clean (rule 2) or, when the cut had left the array active, still
     active with rule 3 holding: the re-run's read-modify-writes keep parity
     that disagreed, so md's resync at assembly (the bitmap's regions) makes
     the stripes agree.
Discard: it makes no write call at all (a kill leaves the file whole or
gone, the members untouched) and refuses an overlay whose commit began.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import raidmodel  # noqa: E402

BUILD = os.environ['OPSKIT_BUILD']
M = os.path.join(BUILD, 'mdraid', 'mdraid')
CUT = os.path.join(BUILD, 'tests', 'mdraid', 'overlay_cut')
MDADM = shutil.which('mdadm') or next(
    (p for p in ('/sbin/mdadm', '/usr/sbin/mdadm') if os.access(p, os.X_OK)), None)
n_tap = 0
failed = 0


def tap(ok, name, detail=''):
    global n_tap, failed
    n_tap += 1
    failed += not ok
    print('%s %d - %s' % ('ok' if ok else 'not ok', n_tap, name))
    for line in ('' if ok else detail).splitlines()[:8]:
        print('# ' + line)
    sys.stdout.flush()


def done():
    print('1..%d' % n_tap)
    sys.exit(0)


def run(*args, env=None, check=True):
    r = subprocess.run(args, capture_output=True, env=env)
    if check and r.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(args[:3]), r.returncode,
                                                r.stderr.decode(errors='replace')[:300]))
    return r


def examine(mem):
    """(events, state) of each member, as mdadm --examine prints them."""
    out = []
    for f in mem:
        t = run(MDADM, '--examine', f, check=False).stdout.decode()
        ev = re.search(r'^ *Events : (\d+)', t, re.M)
        st = re.search(r'^ *State : (\w+)', t, re.M)
        out.append((int(ev.group(1)) if ev else -1, st.group(1) if st else '?'))
    return out


def judge(mem, old, view):
    """Rules 1-3 on the members as they are: (True, what) or (False, why)."""
    ex = examine(mem)
    evs = [e for e, _ in ex]
    if max(evs) - min(evs) > 1:
        return False, 'events %s: a member would be kicked as stale' % evs
    fresh = [s for e, s in ex if e == max(evs)]
    content, bad, uncovered, _, _ = raidmodel.scan(mem, bitmaps=True)
    if 'active' in fresh:
        if uncovered:
            return False, 'active (events %s), stripes no bitmap covers: %s' % (evs, uncovered[:4])
        return True, 'active, %d unsynced stripes all in set bitmap bits' % len(bad)
    if bad:
        return False, 'clean (events %s) with unsynced stripes %s' % (evs, bad[:4])
    if content == old:
        return True, 'clean, the old content'
    if content == view:
        return True, "clean, the overlay's content"
    return False, "clean (events %s), content neither old nor the overlay's" % evs


def rerun(mem, ovdir, view, real):
    """Rule 4: (True, what) or (False, why). real: by `mdraid overlay
    commit`, else by overlay_cut commit -1 (the same library calls, its
    fdatasyncs counted but not made)."""
    if real:
        r = run(M, 'overlay', 'commit', '--no-direct', ovdir, *mem, check=False)
    else:
        r = run(CUT, 'commit', '-1', ovdir, *mem, check=False)
    if r.returncode != 0:
        return False, 're-run exit %d: %s' % (r.returncode, r.stderr.decode()[:200])
    content, bad, _, _, _ = raidmodel.scan(mem)
    if content != view:
        return False, "re-run: content is not the overlay's"
    if os.path.exists(os.path.join(ovdir, 'mdraid-overlay.cow')):
        return False, 're-run: the overlay file is still there'
    ex = examine(mem)
    if len({e for e, _ in ex}) != 1:
        return False, 're-run: events %s' % ex
    states = {s for _, s in ex}
    if states == {'clean'}:
        return (not bad), 'all clean' if not bad else 'clean with unsynced %s' % bad[:4]
    if states != {'active'}:
        return False, 're-run: states %s' % ex
    ok, why = judge(mem, b'', view)
    return ok and why.startswith('active'), \
        'leaves it active for md to resync' if ok else 're-run: ' + why


def main():
    if not MDADM:
        tap(True, 'overlay commit cut at every write # SKIP mdadm not installed '
            '(the judge reads superblocks with it)')
        done()
    tmp = tempfile.mkdtemp(prefix='opskit-ovc.', dir=os.environ.get('TMPDIR') or '/tmp')
    try:
        cases(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    done()


def cases(T):
    mem = [os.path.join(T, 'm%d.img' % i) for i in range(4)]
    for f in mem:
        with open(f, 'wb') as fh:
            fh.truncate(4 << 20)
    run(M, 'create', '--level=6', '--raid-devices=4', '--chunk=64K', '--bitmap=internal',
        '--homehost=testhost', *mem)
    for f in mem:
        # bitmap super at super_offset 8 + bitmap_offset 8 sectors: chunksize at 52
        with open(f, 'r+b') as fh:
            fh.seek(16 * 512 + 52)
            fh.write((65536).to_bytes(4, 'little'))
    src = os.urandom(6 << 20)
    r = subprocess.run([M, 'write', '--no-direct', '--offset=0', *mem], input=src,
                       capture_output=True)
    if r.returncode != 0:
        raise RuntimeError('mdraid write: ' + r.stderr.decode())
    old = raidmodel.scan(mem)[0]
    ovdir = os.path.join(T, 'ov')
    cow = os.path.join(ovdir, 'mdraid-overlay.cow')
    os.mkdir(ovdir)
    run(CUT, 'write', ovdir, *mem)
    view = run(CUT, 'view', ovdir, *mem).stdout
    for f in mem + [cow]:
        shutil.copyfile(f, f + '.orig')

    def restore():
        for f in mem + [cow]:
            shutil.copyfile(f + '.orig', f)

    # the whole run, traced
    trace = os.path.join(T, 'trace')
    env = dict(os.environ, OVERLAY_CUT_TRACE=trace)
    total = int(run(CUT, 'commit', '-1', ovdir, *mem, env=env).stdout)
    tap(raidmodel.scan(mem)[0] == view and view != old and not os.path.exists(cow),
        'uncut commit: %d calls, the members hold what the overlay showed, file gone' % total)

    # the cases: K = i + 1 for every pwrite i (the state after it), and K = 0
    ddo = int(re.search(r'Data Offset : (\d+) sectors',
                        run(MDADM, '--examine', mem[0]).stdout.decode()).group(1))
    calls = [line.split() for line in open(trace)]
    # the call after the last data write: the clean rounds follow it
    calls_data_end = max(int(c[0]) for c in calls
                         if c[1] == 'pwrite' and not c[2].endswith('.cow') and int(c[3]) >= ddo * 512)
    sampled = set()

    def seen_round(r):
        if r in sampled:
            return True
        sampled.add(r)
        return False
    todo = [(0, 'start', '')]
    exhaustive = os.environ.get('MDRAID_EXHAUSTIVE') == '1'
    nd = 0
    rounds = 0  # metadata rounds: runs of metadata writes between data writes
    in_round = False
    for k, kind, path, off, _ in calls:
        if kind != 'pwrite':
            continue
        what = '%s at %s' % (os.path.basename(path), off)
        if path.endswith('mdraid-overlay.cow') or int(off) < ddo * 512:
            rounds += not in_round
            in_round = True
            # every write of the header, of the rounds that mark the array
            # active (the first data write's bitmap round with them) and of
            # the clean rounds; one per later window's bitmap round
            if exhaustive or rounds <= 1 or int(k) >= calls_data_end or not seen_round(rounds):
                todo.append((int(k) + 1, 'metadata', what))
        else:
            in_round = False
            if exhaustive or nd % 4 == 0:
                todo.append((int(k) + 1, 'data', what))
            nd += 1
    for i, (k, kind, what) in enumerate(todo):
        restore()
        run(CUT, 'commit', str(k), ovdir, *mem)
        name = 'commit cut after %d of %d calls%s' % (
            k, total, ' (last: %s write of %s)' % (kind, what) if what else '')
        try:
            ok, j = judge(mem, old, view)
            real = exhaustive or i % 6 == 0
            ok2, r = rerun(mem, ovdir, view, real) if ok else (False, '')
            r = ('mdraid overlay commit' if real else 'overlay_cut commit') + ' re-run: ' + r
        except (RuntimeError, OSError) as ex:
            ok, ok2, j, r = False, False, str(ex), ''
        tap(ok and ok2, '%s: %s; %s' % (name, j, r) if ok and ok2 else name,
            '' if ok and ok2 else j + '\n' + r)

    # discard
    restore()
    before = [open(f, 'rb').read() for f in mem]
    dtrace = os.path.join(T, 'dtrace')
    n = run(CUT, 'discard', ovdir, *mem,
            env=dict(os.environ, OVERLAY_CUT_TRACE=dtrace), check=False).stdout.strip()
    after = [open(f, 'rb').read() for f in mem]
    tap(n == b'0' and not os.path.exists(cow) and before == after,
        'discard: no write call (a kill leaves the file whole or gone), members unchanged',
        'calls %r, file there: %s' % (n, os.path.exists(cow)))
    restore()
    run(CUT, 'commit', '2', ovdir, *mem)  # the header says: commit began
    r = run(M, 'overlay', 'discard', ovdir, check=False)
    err = r.stderr.decode()
    tap(r.returncode != 0 and os.path.exists(cow) and re.search('commit .* again', err),
        'discard refuses an overlay whose commit began (exit %d, file kept)' % r.returncode, err)


if __name__ == '__main__':
    main()
