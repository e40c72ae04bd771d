#!/usr/bin/env python3
"""meter-run.py COLS -- CMD...: run CMD on a pseudo-terminal COLS columns wide
(TIOCSWINSZ), as on a user's terminal, and print each piece of what it drew
between carriage returns and newlines on its own line, trailing blanks cut.
Exits with CMD's exit status. A test then checks that no piece is wider than
the terminal (a meter line that wraps is redrawn as a new line each time)."""
import fcntl, os, pty, re, select, struct, sys, termios, time

cols = int(sys.argv[1])
cmd = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, cols, 0, 0))
    os.execvp(cmd[0], cmd)
out = b''
deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
for piece in re.split(rb'[\r\n]', out):
    piece = piece.rstrip()
    if piece:
        sys.stdout.write(piece.decode(errors='replace') + '\n')
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 99)
