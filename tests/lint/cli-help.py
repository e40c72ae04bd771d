#!/usr/bin/env python3
"""cli-help.py: each verb's --help against its option table (lib/cli.h).

For every verb below, the option table is read from the C source (an
independent reading of what the parser is given), and the verb is run:
  - every table option appears in `--help`, with a help line, and in the
    tool's man page (docs/TOOL.1);
  - every option --help lists is accepted (run with a foreign option after
    it: the error must name the foreign option, not this one);
  - a foreign option, and every option of the tool's other verbs that this
    verb does not take, is a usage error (exit 2, or the peer's code).
Nothing runs past option parsing: each run ends at the foreign option.

usage: cli-help.py SOURCE_ROOT BUILD_ROOT [TOOL...]   (TAP on stdout)
"""
import os
import re
import subprocess
import sys
import tempfile

# (tool, binary, verb argv, source file, table name, man page)
VERBS = [
    ("mdraid", "mdraid/mdraid", ["create"], "mdraid/main.c", "create_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["examine"], "mdraid/main.c", "examine_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["detail"], "mdraid/main.c", "detail_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["read"], "mdraid/main.c", "read_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["write"], "mdraid/main.c", "write_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["check"], "mdraid/main.c", "check_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["repair"], "mdraid/main.c", "check_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["rebuild"], "mdraid/main.c", "rebuild_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["grow"], "mdraid/grow.c", "grow_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["serve"], "mdraid/serve.c", "serve_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["stop"], "mdraid/serve.c", "stop_opts", "mdraid.1"),
    ("mdraid", "mdraid/mdraid", ["overlay"], "mdraid/serve.c", "overlay_opts", "mdraid.1"),
    ("lockstat", "lockstat/lockstat", [], "lockstat/main.c", "opts", "lockstat.1"),
    ("mmusim", "mmusim/mmusim", [], "mmusim/main.c", "opts", "mmusim.1"),
    ("rpmq", "rpmq/rpmq", [], "rpmq/main.c", "opts", "rpmq.1"),
    ("rpmq", "rpmq/rpmq-payload", [], "rpmq/main.c", "opts", "rpmq.1"),
    ("usbcopy", "usbcopy/usbcopy", [], "usbcopy/main.c", "opts", "usbcopy.1"),
    ("logsift", "logsift/logsift", [], "logsift/main.c", "opts", "logsift.1"),
    ("logsift", "logsift/logsift-ctl", [], "logsift/ctl.c", "opts", "logsift.1"),
]

FOREIGN = "--zz-no-such-option"
# A usage error exits 2, but where the peer has its own code (Solaris
# lockstat, rpm's popt, syslog-ng and syslog-ng-ctl: 1), as the man pages say.
USAGE_EXIT = {"lockstat/lockstat": 1, "rpmq/rpmq": 1, "rpmq/rpmq-payload": 1, "logsift/logsift": 1,
              "logsift/logsift-ctl": 1}
ENTRY = re.compile(r'\{\s*(NULL|0|"([^"]*)")\s*,\s*(0|\'(.)\')\s*,\s*(CLI_FLAG|CLI_ARG|CLI_OPTARG)')
MACRO = re.compile(r'#define\s+(\w+)\b(?:[^\n\\]|\\\n|\\.)*')


def table(src, name):
    """The (long name or None, letter or None, kind) entries of table `name`,
    with the file's #define'd entry macros expanded."""
    text = open(src).read()
    macros = {}
    for m in MACRO.finditer(text):
        e = ENTRY.search(m.group(0))
        if e:
            macros[m.group(1)] = e
    m = re.search(r"struct cli_opt\s+" + re.escape(name) + r"\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    if not m:
        return None
    body = m.group(1)
    out = []
    pos = 0
    tokens = re.compile(r'\{\s*(?:NULL|0|")|\b([A-Z_][A-Z0-9_]*)\s*(?:\(|,|\n)')
    while True:
        t = tokens.search(body, pos)
        if not t:
            break
        if t.group(1):
            e = macros.get(t.group(1))
            pos = t.end()
            if not e:
                continue
        else:
            e = ENTRY.match(body, t.start())
            if not e:
                pos = t.end()
                continue
            pos = e.end()
        name_, letter = e.group(2), e.group(4)
        if name_ or letter:
            out.append((name_, letter, e.group(5)))
    return out


def spellings(entry):
    name, letter, _ = entry
    return [s for s in (("--" + name) if name else None, ("-" + letter) if letter else None) if s]


def help_options(text):
    """Options listed in --help (entry lines as cli_print_help makes them:
    '  -x, --name=ARG  help', '      --name  help', '  -x ARG  help'), each
    with whether a description follows (same line or the next, indented)."""
    lines = text.split("\n")
    found = {}
    for i, line in enumerate(lines):
        m = re.match(r"  (?:(-\w)(?:, (--[\w-]+))?|    (--[\w-]+))(.*)$", line)
        if not m:
            continue
        desc = re.search(r"\S\s{2,}\S", "x" + m.group(4)) is not None or (
            i + 1 < len(lines) and re.match(r"\s{8,}\S", lines[i + 1]) is not None)
        for s in m.group(1, 2, 3):
            if s:
                found[s] = desc
    return found


def run(argv, cwd):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def rejected(stderr, spelling):
    if spelling.startswith("--"):
        return "unrecognized option '" + spelling in stderr
    return "invalid option -- '" + spelling[1] + "'" in stderr


def main():
    src, build = sys.argv[1], sys.argv[2]
    tools = set(sys.argv[3:])
    n = 0
    failed = 0

    def tap(ok, name, detail=""):
        nonlocal n, failed
        n += 1
        failed += not ok
        print(("ok" if ok else "not ok") + " %d - %s" % (n, name))
        if not ok and detail:
            print("\n".join("# " + l for l in detail.rstrip().split("\n")))

    tables = {}
    for tool, binary, verb, file_, tab, man in VERBS:
        tables[(binary, tuple(verb))] = table(os.path.join(src, file_), tab)
    cwd = tempfile.mkdtemp(prefix="opskit-cli-help.")
    for tool, binary, verb, file_, tab, man in VERBS:
        if tools and tool not in tools:
            continue
        what = " ".join([os.path.basename(binary)] + verb)
        exe = os.path.join(build, binary)
        entries = tables[(binary, tuple(verb))]
        if entries is None:
            tap(False, "%s: table %s found in %s" % (what, tab, file_))
            continue
        rc, out, err = run([exe] + verb + ["--help"], cwd)
        tap(rc == 0 and out, "%s --help exits 0" % what, err)
        listed = help_options(out)
        manpage = open(os.path.join(src, "docs", man)).read()
        missing, nohelp, noman = [], [], []
        for e in entries:
            for s in spellings(e):
                if s not in listed:
                    missing.append(s)
                elif not listed[s]:
                    nohelp.append(s)
                fl = "Fl " + s[1:]
                if not re.search(re.escape(fl) + r"(\b|$)", manpage):
                    noman.append(s)
        tap(not missing, "%s: every table option is in --help" % what, " ".join(missing))
        tap(not nohelp, "%s: every table option has a help line" % what, " ".join(nohelp))
        tap(not noman, "%s: every table option is in %s" % (what, man), " ".join(noman))
        known = {s for e in entries for s in spellings(e)} | {"--help", "--version"}
        extra = [s for s in listed if s not in known]
        tap(not extra, "%s: --help lists only table options" % what, " ".join(extra))
        # The listed options in one command line, the foreign one last: when
        # the error names the foreign option, all before it were accepted.
        # The parser stops at the first option it rejects, or whose (dummy)
        # value the tool refuses, which may not name it (a conflict between
        # options): then the two halves are tried apart. A few runs per verb
        # instead of one per option.
        kinds = {s: e[2] for e in entries for s in spellings(e)}
        bad = []

        def accepted(todo):
            while todo:
                args = []
                for s in todo:
                    if kinds.get(s) == "CLI_ARG":
                        args += [s + "=1"] if s.startswith("--") else [s, "1"]
                    else:
                        args.append(s)
                _, _, err = run([exe] + verb + args + [FOREIGN], cwd)
                if rejected(err, FOREIGN):
                    return
                named = [i for i, s in enumerate(todo) if rejected(err, s) or "'" + s + "'" in err]
                if named:
                    if rejected(err, todo[named[0]]):
                        bad.append("%s: %s" % (todo[named[0]], err.strip()))
                    todo = todo[named[0] + 1:]
                    continue
                if len(todo) == 1:
                    return  # its value or its company refused, the option known
                half = len(todo) // 2
                accepted(todo[:half])
                todo = todo[half:]

        accepted([s for s in listed if s not in ("--help", "--version")])
        tap(not bad, "%s: every option in --help is accepted" % what, "\n".join(bad))
        rc, _, err = run([exe] + verb + [FOREIGN], cwd)
        usage = USAGE_EXIT.get(binary, 2)
        tap(rc == usage and rejected(err, FOREIGN),
            "%s %s: exit %d, named" % (what, FOREIGN, usage),
            "exit %d: %s" % (rc, err))
        # The same tool's other verbs' options are foreign here too.
        others = set()
        for (b, v), t in tables.items():
            if b == binary and t:
                others |= {(s, e[2]) for e in t for s in spellings(e)}
        wrong = []
        # A sample of them (the tables themselves are compared above): the
        # first three long options this verb does not take.
        sample = [(s, k) for s, k in sorted(others) if s not in known and s.startswith("--")][:3]
        for s, kind in sample:
            args = [s]
            if kind == "CLI_ARG":
                args = [s + "=1"] if s.startswith("--") else [s, "1"]
            rc, _, err = run([exe] + verb + args, cwd)
            if rc != usage or not rejected(err, s):
                wrong.append("%s: exit %d %s" % (" ".join(args), rc, err.strip()))
        if sample:
            tap(not wrong, "%s: other verbs' options are usage errors" % what, "\n".join(wrong))
    os.rmdir(cwd)
    print("1..%d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
