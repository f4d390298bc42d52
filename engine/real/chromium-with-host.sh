#!/bin/sh
# Chromium for one session, killed by the kernel when the host process that started it dies, by SIGKILL too: a dead
# host leaves no browser running the session while another host takes its lease (engine/real/browser-processes.ts).
exec setpriv --pdeathsig KILL -- "$WA_CHROMIUM_BINARY" "$@"
