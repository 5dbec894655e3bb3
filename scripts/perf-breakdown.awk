# Sorts the CPU samples of some processes into where the time goes, from
# the output of
#
#   perf record -a -g ... ; perf script -F comm,pid,tid,period,ip,sym,dso
#
# Usage: awk -v pids=PID,PID[,...] [-v top=N] -f scripts/perf-breakdown.awk
#
# Each sample counts its period towards one category, found by walking its
# call chain from the leaf towards the root and taking the first frame that
# names one (so a futex in the kernel under runtime.futexwakeup is
# scheduling, a sendmmsg under syscall.Syscall6 is a socket syscall, a
# memmove under package sctp is SCTP work):
#
#   allocation and GC   runtime.mallocgc and friends, the GC's workers,
#                       write barriers
#   scheduling          the Go scheduler and its wake-ups: park, ready,
#                       findRunnable, futex, netpoll, channels, select,
#                       runtime locks, entering and leaving syscalls
#   syscalls            package syscall, internal/poll, x/sys/unix, with the
#                       kernel work under them (UDP, TCP, Unix sockets)
#   SCTP work           packages sctp, assoc, chunk, udpencap, crc32c
#   QUIC and crypto     quic-go and Go's crypto (AES-GCM, TLS; in pgsctp only
#   work                the cookie HMAC)
#   relay and other Go  the rest of pgsctp (pgfront, cmd), relaypair, net,
#                       io, bufio
#   kernel, other       kernel-only stacks (interrupts, softirqs)
#   other               anything else
#
# It prints one line per category and process: pid, category, samples
# (periods), share of that pid; then the same over all pids; then, over all
# pids, the share of each system call (the innermost __x64_sys_* frame, so
# futex and epoll_wait show beside the socket calls, whatever their
# category) and the top leaf symbols.

BEGIN {
	n = split(pids, a, ",")
	for (i = 1; i <= n; i++) want[a[i]] = 1
	if (top == "") top = 15
	order[1] = "allocation and GC"; order[2] = "scheduling"; order[3] = "syscalls"
	order[4] = "SCTP work"; order[5] = "QUIC and crypto work"; order[6] = "relay and other Go"
	order[7] = "kernel, other"; order[8] = "other"
}

function classify(   i, s, allk) {
	allk = 1
	for (i = 1; i <= nf; i++) {
		s = frame[i]
		if (dso[i] !~ /kernel/) allk = 0
		if (s ~ /^runtime\.(mallocgc|newobject|makeslice|growslice|makemap|mapassign|gcBgMarkWorker|gcDrain|gcAssistAlloc|bgsweep|bgscavenge|scanobject|markroot|sweepone|gcWriteBarrier|wbBufFlush|deductAssistCredit|gcStart|gcMarkDone)/)
			return "allocation and GC"
		if (s ~ /^runtime\.(schedule|findRunnable|park_m|goready|ready|wakep|startm|stopm|mPark|notewakeup|notesleep|futex|netpoll|gopark|goparkunlock|mcall|chansend|chanrecv|selectgo|selectnb|closechan|newproc|goexit0|handoffp|exitsyscall|entersyscall|reentersyscall|semacquire|semrelease|runqgrab|runqsteal|stealWork|checkTimers|sysmon|usleep|osyield|lock2|unlock2|mstart)/)
			return "scheduling"
		if (s ~ /^(sync\.\(\*Cond\)|sync\.\(\*Mutex\)\.lockSlow|sync\.\(\*Mutex\)\.unlockSlow|internal\/sync\.)/)
			return "scheduling"
		if (s ~ /^(syscall\.|internal\/runtime\/syscall|golang\.org\/x\/sys\/unix\.|internal\/poll\.)/)
			return "syscalls"
		if (s ~ /^github\.com\/pgsctp\/pgsctp\/(sctp|assoc|chunk|udpencap|crc32c)\./)
			return "SCTP work"
		if (s ~ /^(github\.com\/quic-go\/|crypto\/|golang\.org\/x\/crypto\/|vendor\/golang\.org\/x\/crypto\/)/)
			return "QUIC and crypto work"
		if (s ~ /^(github\.com\/pgsctp\/pgsctp\/|main\.|net\.|net\/netip\.|io\.|bufio\.)/)
			return "relay and other Go"
	}
	return allk ? "kernel, other" : "other"
}

# syscallName: the system call a sample is in, "" if none. Kernels since
# 6.9 dispatch through x64_sys_call, into which the __x64_sys_* functions
# are inlined, so the name comes from the outermost frame below the entry
# (do_syscall_64) that identifies one.
function syscallName(   i, d, s) {
	d = 0
	for (i = 1; i <= nf; i++) if (frame[i] == "do_syscall_64") { d = i; break }
	if (d == 0) return ""
	for (i = d - 1; i >= 1; i--) {
		s = frame[i]
		if (s ~ /^(__x64_sys_|__ia32_sys_|__do_sys_|__se_sys_|__sys_)/) { sub(/^(__x64_sys_|__ia32_sys_|__do_sys_|__se_sys_|__sys_)/, "", s); return s }
		if (s ~ /^(ksys_read|vfs_read)$/) return "read"
		if (s ~ /^(ksys_write|vfs_write)$/) return "write"
		if (s == "do_epoll_wait" || s == "do_epoll_pwait") return "epoll_pwait"
		if (s == "do_futex") return "futex"
		if (s == "hrtimer_nanosleep" || s == "common_nsleep") return "nanosleep"
		if (s == "do_sched_yield") return "sched_yield"
	}
	return "unidentified"
}

function flush(   c, sc) {
	if (pid != "" && want[pid] && nf > 0) {
		c = classify()
		by[pid, c] += period
		tot[pid] += period
		all[c] += period
		total += period
		leaf[frame[1]] += period
		sc = syscallName()
		if (sc != "") sys[sc] += period
	}
	pid = ""; nf = 0
}

/^$/ { flush(); next }
/^[ \t]+[0-9a-f]+ / {
	nf++
	frame[nf] = $2
	dso[nf] = $NF
	next
}
{
	flush()
	for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, pt, "/"); pid = pt[1] }
	period = $NF + 0
	if (period == 0) period = 1
}
END {
	flush()
	for (p in tot)
		for (i = 1; i <= 8; i++)
			if (by[p, order[i]] > 0) printf "pid %s\t%s\t%.0f\t%.1f%%\n", p, order[i], by[p, order[i]], 100 * by[p, order[i]] / tot[p]
	for (i = 1; i <= 8; i++)
		if (all[order[i]] > 0) printf "all\t%s\t%.0f\t%.1f%%\n", order[i], all[order[i]], 100 * all[order[i]] / total
	for (s in sys) printf "syscall\t%s\t%.0f\t%.1f%%\n", s, sys[s], 100 * sys[s] / total | "sort -t '\t' -k3,3nr"
	close("sort -t '\t' -k3,3nr")
	k = 0
	for (s in leaf) { k++; ls[k] = s }
	# Selection of the top leaves, largest first (n is small).
	for (i = 1; i <= top && i <= k; i++) {
		m = i
		for (j = i + 1; j <= k; j++) if (leaf[ls[j]] > leaf[ls[m]]) m = j
		t = ls[i]; ls[i] = ls[m]; ls[m] = t
		printf "leaf\t%s\t%.0f\t%.1f%%\n", ls[i], leaf[ls[i]], 100 * leaf[ls[i]] / total
	}
}
