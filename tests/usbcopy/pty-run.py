#!/usr/bin/env python3
"""pty-run.py ANSWERS -- CMD...: run CMD on a pseudo-terminal, as a user at a
terminal would: each time the output ends in a prompt (": " or "(y/n) "),
type the next line of ANSWERS ('|' separates lines). Prints the terminal
transcript (CR-LF turned into LF) and exits with CMD's exit status.
With PTY_COLS=N in the environment the terminal is N columns wide
(TIOCSWINSZ), for tests of what a program draws to fit it."""
import fcntl, os, pty, struct, sys, select, termios, time

answers = sys.argv[1].split('|')
cmd = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    if os.environ.get('PTY_COLS'):
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, int(os.environ['PTY_COLS']), 0, 0))
    os.execvp(cmd[0], cmd)
out = b''
answered = 0
deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
        continue
    # quiet for 0.2 s: answer a prompt if one is showing
    if (out.endswith(b': ') or out.endswith(b'(y/n) ')) and answered < len(answers) \
            and out.count(b': ') + out.count(b'(y/n) ') > 0:
        os.write(fd, answers[answered].encode() + b'\n')
        answered += 1
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.replace(b'\r\n', b'\n').decode(errors='replace'))
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 99)
