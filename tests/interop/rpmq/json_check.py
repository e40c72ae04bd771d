#!/usr/bin/env python3
"""json_check.py: rpmq --json over many packages, judged by rpm 4.18 and by
rpm 4.20's own expected output.

usage: json_check.py RPMQ RPM420_JSON RPM420_PKG PKG...   (TAP on stdout)

Checks:
  - `--json=lines` of RPM420_PKG is rpm 4.20's expected object (RPM420_JSON,
    from rpm's tests/rpmquery.at, see tests/rpmq/data/README) with its layout
    whitespace left out: Python's json.dumps(..., separators=(",", ":"),
    ensure_ascii=False) of that text, byte for byte.
  - `--json` over RPM420_PKG, every PKG and a copy of RPM420_PKG cut at
    4000 bytes is ONE JSON document, an array
    with one element per package rpm 4.18 reads (`rpm -qp` exit 0), in
    argument order; the RPM420_PKG element is rpm 4.20's object.
  - each element's keys, in order, are the tag names rpm 4.18's `--xml`
    prints for that package (`<rpmTag name="...">`, rpm's own %{*}
    iteration and tag naming; a tag 4.18 calls "(unknown)" is "[NUMBER]"
    as rpm 4.20's headerfmt.c tagName() names it, the number from rpm
    4.18's %{*:tagnum}), and it equals rpmq's single-package --json
    object; the NDJSON line of each package equals its element; `-j 2`
    prints the same bytes as one thread; `--json=array` of one package is a
    one-element array.
"""
import json
import re
import os
import subprocess
import sys
import tempfile

n = 0
failed = 0


def tap(ok, name, diag=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, name))
    if not ok:
        failed += 1
        for line in diag.splitlines()[:20]:
            print("# " + line)


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape")


def loads(text):
    return json.loads(text)


def main():
    rpmq, exp_path, hello = sys.argv[1:4]
    # a package cut short (rpm refuses it) among the others: left out of the
    # array, counted in the exit status
    tmp = tempfile.mkdtemp()
    cut = os.path.join(tmp, "cut.rpm")
    with open(hello, "rb") as f, open(cut, "wb") as o:
        o.write(f.read(4000))
    rest = sys.argv[4:]
    pkgs = [hello] + rest[:1] + [cut] + rest[1:]
    exp_text = open(exp_path, encoding="utf-8").read()
    exp = loads(exp_text)

    # NDJSON of the rpm 4.20 fixture's package
    rc, out = run([rpmq, "-qp", "--json=lines", hello])
    want = json.dumps(exp, separators=(",", ":"), ensure_ascii=False) + "\n"
    tap(rc == 0 and out == want, "--json=lines is rpm 4.20's object on one line",
        "want: %s\ngot:  %s" % (want[:300], out[:300]))

    # Which packages rpm 4.18 reads, and its --xml tag names for each
    readable = []
    names = {}
    for p in pkgs:
        rc, xml = run(["rpm", "-qp", "--nosignature", "--nodigest", "--xml", p])
        if rc == 0:
            readable.append(p)
            # rpm 4.18 calls a tag it does not know "(unknown)", rpm 4.20's
            # tagName() "[NUMBER]": the number from rpm 4.18's %{*:tagnum},
            # one line per value, in the same iteration order
            _, nums = run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", "[%{*:tagnum}\n]", p])
            seq = []
            for t in nums.split():
                if not seq or seq[-1] != t:
                    seq.append(t)
            xn = re.findall(r'<rpmTag name="([^"]*)">', xml)
            if len(seq) == len(xn):
                xn = ["[%s]" % t if x == "(unknown)" else x for x, t in zip(xn, seq)]
            names[p] = xn

    rc, out = run([rpmq, "-qp", "--json"] + pkgs)
    try:
        arr = loads(out)
        parse_err = ""
    except ValueError as e:
        arr, parse_err = None, str(e)
    tap(isinstance(arr, list), "--json over %d packages is one JSON array" % len(pkgs), parse_err)
    if not isinstance(arr, list):
        arr = []
    tap(len(arr) == len(readable),
        "one element per package rpm 4.18 reads (%d of %d)" % (len(readable), len(pkgs)),
        "elements: %d" % len(arr))
    tap(rc == len(pkgs) - len(readable), "exit status counts the failed packages as rpm",
        "exit %d, rpm failed on %d" % (rc, len(pkgs) - len(readable)))
    tap(len(arr) > 0 and arr[0] == exp, "first element is rpm 4.20's expected object")

    bad_keys, bad_single, bad_line = [], [], []
    for i, p in enumerate(readable):
        el = arr[i] if i < len(arr) else {}
        if list(el.keys()) != names[p]:
            bad_keys.append("%s: json %s\n  rpm --xml %s" % (p, list(el.keys())[:8], names[p][:8]))
        rc1, one = run([rpmq, "-qp", "--json", p])
        if rc1 != 0 or loads(one) != el:
            bad_single.append(p)
        rc1, line = run([rpmq, "-qp", "--json=lines", p])
        if rc1 != 0 or line.count("\n") != 1 or loads(line) != el:
            bad_line.append(p)
    tap(not bad_keys, "element keys are rpm 4.18's --xml tag names, in order (%d packages)" % len(readable),
        "\n".join(bad_keys))
    tap(not bad_single, "each element is that package's single --json object", " ".join(bad_single))
    tap(not bad_line, "each --json=lines line is that package's object", " ".join(bad_line))

    rc, lines = run([rpmq, "-qp", "--json=lines"] + pkgs)
    ls = lines.splitlines()
    tap(len(ls) == len(arr) and all(loads(a) == b for a, b in zip(ls, arr)),
        "--json=lines over every package: one line per element, in order")
    rc2, out2 = run([rpmq, "-qp", "-j", "2", "--json"] + pkgs)
    tap(out2 == out, "-j 2 --json prints the same bytes as one thread")
    rc2, out2 = run([rpmq, "-qp", "-j", "2", "--json=lines"] + pkgs)
    tap(out2 == lines, "-j 2 --json=lines prints the same bytes as one thread")
    rc, one = run([rpmq, "-qp", "--json=array", hello])
    tap(rc == 0 and loads(one) == [exp], "--json=array of one package: a one-element array")
    rc, none = run([rpmq, "-qp", "--json=array", "/dev/null"])
    tap(rc == 1 and loads(none) == [], "--json=array of no readable package: [] and exit 1")

    os.unlink(cut)
    os.rmdir(tmp)
    print("1..%d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
