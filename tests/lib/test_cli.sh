#!/bin/sh
# test_cli.sh: cli_parse through a tiny driver (tests/lib/cli_demo.c): --help,
# --version, mixed options and operands, usage errors and their exit code 2.
. "$OPSKIT_SOURCE/tests/tap.sh"
D="$OPSKIT_BUILD/tests/lib/cli_demo"

testcmd "help text" "$D --help" "usage: cli_demo [-v] [--size=N] FILE...

  -v, --verbose   print v
  -s, --size=N    print size=N (K/M/G suffixes)
      --help      print this help and exit
      --version   print the version and exit
" ""
testcmd "version" "$D --version" "cli_demo (opskit) 0.1.0
" ""
testcmd "options and operands mixed" "$D a -v --size=4K b -- -c" "v
size=4096
operand a
operand b
operand -c
" ""
testcmd "short option with argument" "$D -s 1M x" "size=1048576
operand x
" ""
testcmd_rc "unknown option exits 2" 2 "$D --bogus"
testcmd "unknown option message" "$D --bogus 2>&1" "cli_demo: unrecognized option '--bogus'
Try 'cli_demo --help' for more information.
" ""
testcmd "bad value message" "$D --size=12Q 2>&1" "cli_demo: invalid argument '12Q' for '--size'
Try 'cli_demo --help' for more information.
" ""
testcmd "missing argument" "$D --size 2>&1" "cli_demo: option '--size' requires an argument
Try 'cli_demo --help' for more information.
" ""
# glibc getopt's own wording for these (opterr on): "option '--verbose'
# doesn't allow an argument", "invalid option -- 'x'"
testcmd "flag given an argument" "$D --verbose=1 x 2>&1" "cli_demo: option '--verbose' doesn't allow an argument
Try 'cli_demo --help' for more information.
" ""
testcmd "--help given an argument" "$D --help=1 2>&1" "cli_demo: option '--help' doesn't allow an argument
Try 'cli_demo --help' for more information.
" ""
testcmd "unknown short option" "$D -x a 2>&1" "cli_demo: invalid option -- 'x'
Try 'cli_demo --help' for more information.
" ""
tap_done
