/*
 * peer: the Linux kernel's SCTP as an interop peer for pgsctp's tests.
 *
 * Built with gcc -static by package internal/kernelsctp and run inside a
 * qemu guest whose kernel has SCTP; everything goes over UDP (RFC 6951):
 * net.sctp.udp_port makes the kernel listen on UDP, and the socket option
 * SCTP_REMOTE_UDP_ENCAPS_PORT makes it send to the peer's UDP port.
 *
 *   peer echo PORT ENCAP [HB_MS]
 *       Listen on SCTP port PORT, accept one association and send every
 *       message back on its stream, with its PPID, unordered if it came
 *       unordered, until the peer shuts down; then close (the kernel
 *       answers with SHUTDOWN ACK). HB_MS > 0 sets the heartbeat interval.
 *   peer send ADDR PORT ENCAP COUNT SEED
 *       Connect to ADDR:PORT, send COUNT messages (sizes from 1 byte to
 *       65,000, streams 0-4, every third one unordered, PPID = index,
 *       contents from pattern(SEED + index)), read the same messages back
 *       (the peer echoes) and check them byte for byte, then close, which
 *       starts the kernel's graceful SHUTDOWN.
 *
 *   peer ctl listen PORT ENCAP LADDRS FIFO
 *   peer ctl connect PORT ENCAP LADDRS FIFO PADDRS
 *       Multihoming and ASCONF. Bind to the comma-separated IPv4 addresses
 *       LADDRS (sctp_bindx), then accept one association on PORT, or
 *       connect to port PORT at the addresses PADDRS (sctp_connectx).
 *       Every message that comes is echoed as in echo mode, except ticks
 *       (PPID >= TICK_PPID), whose arrival gaps are measured. Commands
 *       come one per line from the named pipe FIFO, each with an ID, and
 *       are answered with lines "rID ..." ending in "rID done" or
 *       "rID error ...":
 *         ID paths        the peer's addresses and their states
 *                         ("rID path ADDR STATE [primary]")
 *         ID laddrs       the association's local addresses
 *         ID add ADDR     sctp_bindx(SCTP_BINDX_ADD_ADDR): ASCONF Add IP
 *         ID rem ADDR     sctp_bindx(SCTP_BINDX_REM_ADDR): ASCONF Delete IP
 *         ID tick N MS    send N ticks of 100 bytes, one every MS ms,
 *                         in the background ("rID done" once started)
 *         ID gaps FROM    the largest gap between the arrivals of two
 *                         ticks received since the last "gaps", the
 *                         later one numbered FROM or more, in
 *                         microseconds ("rID gap MAX_US before tick K of
 *                         N"), and starts anew
 *       The program ends when the peer shuts down.
 *
 * Output lines (the test reads them): "listening", "connected",
 * "echo done msgs=N bytes=B", "send ok msgs=N bytes=B", and lines starting
 * with "error" or "FAIL". Exit status 0 on success.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sctp.h>

#define MAXMSG 65536
#define NSTREAMS 5

/* The message sizes of send mode, cycled: around the MTU and the
 * fragmentation points, and up to 65,000 bytes. pgsctp's tests use the
 * same list (kernelsctp.SendSizes). */
static const int sizes[] = {1, 2, 100, 1000, 1199, 1200, 1452, 3000, 9000, 20000, 65000};
#define NSIZES (int)(sizeof sizes / sizeof sizes[0])

/* pattern fills b with bytes that differ between messages and along each
 * message (xorshift32), the seed in the first four bytes; the Go side has
 * the same function (kernelsctp.Pattern). */
static void pattern(unsigned char *b, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 12345u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	if (n >= 4) {
		b[0] = seed >> 24;
		b[1] = seed >> 16;
		b[2] = seed >> 8;
		b[3] = seed;
	}
}

static void die(const char *what)
{
	printf("error %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static int new_socket(int encap)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	if (fd < 0)
		die("socket");
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
		die("SO_REUSEADDR");
	if (setsockopt(fd, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on) < 0)
		die("SCTP_RECVRCVINFO");
	int buf = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	struct sctp_initmsg im = {.sinit_num_ostreams = 16, .sinit_max_instreams = 16};
	if (setsockopt(fd, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof im) < 0)
		die("SCTP_INITMSG");
	/* The peer's UDP port for every association of this socket (the
	 * address is the wildcard: all peers). */
	struct sctp_udpencaps ue;
	memset(&ue, 0, sizeof ue);
	ue.sue_assoc_id = SCTP_FUTURE_ASSOC;
	ue.sue_address.ss_family = AF_INET;
	ue.sue_port = htons(encap);
	if (setsockopt(fd, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &ue, sizeof ue) < 0)
		die("SCTP_REMOTE_UDP_ENCAPS_PORT");
	return fd;
}

/* recv_msg reads one whole message into b (at most MAXMSG bytes). It
 * returns its length, 0 when the peer has shut down, and fills info. */
static ssize_t recv_msg(int fd, unsigned char *b, struct sctp_rcvinfo *info)
{
	size_t len = 0;
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(struct sctp_rcvinfo))];
		struct iovec iov = {.iov_base = b + len, .iov_len = MAXMSG - len};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
		ssize_t n = recvmsg(fd, &mh, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvmsg");
		}
		if (n == 0 && len == 0)
			return 0;
		if (mh.msg_flags & MSG_NOTIFICATION)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_SCTP && c->cmsg_type == SCTP_RCVINFO)
				memcpy(info, CMSG_DATA(c), sizeof *info);
		len += n;
		if (mh.msg_flags & MSG_EOR)
			return len;
		if (len == MAXMSG) {
			errno = EMSGSIZE;
			die("message too long");
		}
	}
}

static void send_msg(int fd, const unsigned char *b, size_t n, uint16_t sid, uint32_t ppid, int unordered)
{
	char cbuf[CMSG_SPACE(sizeof(struct sctp_sndinfo))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = {.iov_base = (void *)b, .iov_len = n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = IPPROTO_SCTP;
	c->cmsg_type = SCTP_SNDINFO;
	c->cmsg_len = CMSG_LEN(sizeof(struct sctp_sndinfo));
	struct sctp_sndinfo si = {.snd_sid = sid, .snd_ppid = htonl(ppid), .snd_flags = unordered ? SCTP_UNORDERED : 0};
	memcpy(CMSG_DATA(c), &si, sizeof si);
	for (;;) {
		ssize_t w = sendmsg(fd, &mh, 0);
		if (w >= 0)
			return;
		if (errno != EINTR)
			die("sendmsg");
	}
}

static int echo_mode(int port, int encap, int hb)
{
	int l = new_socket(encap);
	if (hb > 0) {
		struct sctp_paddrparams pp;
		memset(&pp, 0, sizeof pp);
		pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
		pp.spp_hbinterval = hb;
		pp.spp_flags = SPP_HB_ENABLE;
		if (setsockopt(l, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp) < 0)
			die("SCTP_PEER_ADDR_PARAMS");
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind");
	if (listen(l, 1) < 0)
		die("listen");
	printf("listening\n");
	fflush(stdout);
	int fd = accept(l, NULL, NULL);
	if (fd < 0)
		die("accept");
	printf("accepted\n");
	fflush(stdout);
	static unsigned char b[MAXMSG];
	long msgs = 0, bytes = 0;
	for (;;) {
		struct sctp_rcvinfo ri;
		memset(&ri, 0, sizeof ri);
		ssize_t n = recv_msg(fd, b, &ri);
		if (n == 0)
			break;
		send_msg(fd, b, n, ri.rcv_sid, ntohl(ri.rcv_ppid), ri.rcv_flags & SCTP_UNORDERED);
		msgs++;
		bytes += n;
	}
	close(fd);
	close(l);
	printf("echo done msgs=%ld bytes=%ld\n", msgs, bytes);
	fflush(stdout);
	return 0;
}

struct sender {
	int fd, count;
	uint32_t seed;
};

/* send_all runs in its own thread so that reading the echoes never waits
 * for sending to finish (both directions' windows would fill). */
static void *send_all(void *arg)
{
	struct sender *s = arg;
	static unsigned char b[MAXMSG];
	for (int i = 0; i < s->count; i++) {
		int n = sizes[i % NSIZES];
		pattern(b, n, s->seed + i);
		send_msg(s->fd, b, n, i % NSTREAMS, i, i % 3 == 2);
	}
	return NULL;
}

static int send_mode(const char *addr, int port, int encap, int count, uint32_t seed)
{
	int fd = new_socket(encap);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		printf("error bad address %s\n", addr);
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect");
	printf("connected\n");
	fflush(stdout);
	struct sender s = {.fd = fd, .count = count, .seed = seed};
	pthread_t th;
	if (pthread_create(&th, NULL, send_all, &s) != 0)
		die("pthread_create");
	static unsigned char got[MAXMSG], want[MAXMSG];
	int bad = 0;
	long bytes = 0;
	int last[NSTREAMS];
	for (int i = 0; i < NSTREAMS; i++)
		last[i] = -1;
	for (int k = 0; k < count; k++) {
		struct sctp_rcvinfo ri;
		memset(&ri, 0, sizeof ri);
		ssize_t n = recv_msg(fd, got, &ri);
		if (n == 0) {
			printf("FAIL peer shut down after %d of %d echoes\n", k, count);
			return 1;
		}
		uint32_t i = ntohl(ri.rcv_ppid);
		int unordered = (ri.rcv_flags & SCTP_UNORDERED) != 0;
		if (i >= (uint32_t)count) {
			printf("FAIL echo with PPID %u\n", i);
			bad++;
			continue;
		}
		int size = sizes[i % NSIZES];
		pattern(want, size, seed + i);
		if (n != size || memcmp(got, want, size) != 0 || ri.rcv_sid != i % NSTREAMS || unordered != (i % 3 == 2)) {
			printf("FAIL echo %u: %zd bytes on stream %u unordered %d; want %d bytes on stream %u unordered %d, contents equal %d\n",
			       i, n, ri.rcv_sid, unordered, size, i % NSTREAMS, i % 3 == 2, n == size && memcmp(got, want, size) == 0);
			bad++;
		}
		/* Ordered messages of a stream arrive in the order sent (6.6). */
		if (!unordered) {
			if ((int)i < last[i % NSTREAMS]) {
				printf("FAIL ordered echo %u after %d on stream %u\n", i, last[i % NSTREAMS], i % NSTREAMS);
				bad++;
			}
			last[i % NSTREAMS] = i;
		}
		bytes += n;
	}
	pthread_join(th, NULL);
	close(fd);
	if (bad) {
		printf("FAIL %d bad echoes\n", bad);
		return 1;
	}
	printf("send ok msgs=%d bytes=%ld\n", count, bytes);
	fflush(stdout);
	return 0;
}

/* Ticks: messages whose PPID is at least TICK_PPID measure failover (the
 * gap between arrivals); they are not echoed. */
#define TICK_PPID 0x40000000u

#define MAXTICKS 100000
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long long tick_at_us[MAXTICKS]; /* arrival times, in order of arrival */
static unsigned tick_id[MAXTICKS];     /* their tick numbers */
static unsigned ticks_seen;

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* parse_addrs fills out with the comma-separated IPv4 addresses of list,
 * each with port, packed as sctp_bindx and sctp_connectx want them. */
static int parse_addrs(const char *list, int port, struct sockaddr_in *out, int max)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	int n = 0;
	for (char *save, *a = strtok_r(buf, ",", &save); a && n < max; a = strtok_r(NULL, ",", &save)) {
		memset(&out[n], 0, sizeof out[n]);
		out[n].sin_family = AF_INET;
		out[n].sin_port = htons(port);
		if (inet_pton(AF_INET, a, &out[n].sin_addr) != 1) {
			printf("error bad address %s\n", a);
			exit(1);
		}
		n++;
	}
	return n;
}

/* bindx is sctp_bindx (libsctp's, which a static build does not have):
 * the socket option with the packed addresses. */
static int bindx(int fd, struct sockaddr_in *a, int n, int opt)
{
	return setsockopt(fd, IPPROTO_SCTP, opt, a, n * sizeof *a);
}

/* echo_loop echoes every message but ticks until the peer shuts down. */
static void *echo_loop(void *arg)
{
	int fd = *(int *)arg;
	static unsigned char b[MAXMSG];
	long msgs = 0, bytes = 0;
	for (;;) {
		struct sctp_rcvinfo ri;
		memset(&ri, 0, sizeof ri);
		ssize_t n = recv_msg(fd, b, &ri);
		if (n == 0)
			break;
		uint32_t ppid = ntohl(ri.rcv_ppid);
		if (ppid >= TICK_PPID) {
			long long t = now_us();
			pthread_mutex_lock(&mu);
			if (ticks_seen < MAXTICKS) {
				tick_at_us[ticks_seen] = t;
				tick_id[ticks_seen] = ppid - TICK_PPID;
				ticks_seen++;
			}
			pthread_mutex_unlock(&mu);
			continue;
		}
		send_msg(fd, b, n, ri.rcv_sid, ppid, ri.rcv_flags & SCTP_UNORDERED);
		msgs++;
		bytes += n;
	}
	printf("echo done msgs=%ld bytes=%ld\n", msgs, bytes);
	fflush(stdout);
	exit(0);
	return NULL;
}

struct ticker {
	int fd, n, ms;
};

static void *tick_loop(void *arg)
{
	struct ticker *tk = arg;
	unsigned char b[100];
	for (int i = 0; i < tk->n; i++) {
		pattern(b, sizeof b, TICK_PPID + i);
		send_msg(tk->fd, b, sizeof b, 1, TICK_PPID + i, 0);
		struct timespec ts = {.tv_sec = tk->ms / 1000, .tv_nsec = (tk->ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	free(tk);
	return NULL;
}

static const char *state_name(int s)
{
	switch (s) {
	case SCTP_INACTIVE:
		return "inactive";
	case SCTP_PF:
		return "potentially-failed";
	case SCTP_ACTIVE:
		return "active";
	case SCTP_UNCONFIRMED:
		return "unconfirmed";
	}
	return "unknown";
}

/* print_addrs answers "paths" (opt SCTP_GET_PEER_ADDRS, with each
 * address's state) and "laddrs" (SCTP_GET_LOCAL_ADDRS). */
static int print_addrs(int fd, const char *id, int opt)
{
	union {
		struct sctp_getaddrs ga;
		unsigned char b[4096];
	} u;
	memset(&u, 0, sizeof u);
	socklen_t len = sizeof u;
	if (getsockopt(fd, IPPROTO_SCTP, opt, &u, &len) < 0)
		return -1;
	struct sctp_prim prim;
	memset(&prim, 0, sizeof prim);
	socklen_t plen = sizeof prim;
	int have_prim = opt == SCTP_GET_PEER_ADDRS && getsockopt(fd, IPPROTO_SCTP, SCTP_PRIMARY_ADDR, &prim, &plen) == 0;
	unsigned char *p = u.ga.addrs;
	for (unsigned i = 0; i < u.ga.addr_num; i++) {
		struct sockaddr *sa = (struct sockaddr *)p;
		if (sa->sa_family != AF_INET) {
			printf("r%s error address family %d\n", id, sa->sa_family);
			return 0;
		}
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;
		char s[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sin->sin_addr, s, sizeof s);
		if (opt == SCTP_GET_LOCAL_ADDRS) {
			printf("r%s laddr %s\n", id, s);
		} else {
			struct sctp_paddrinfo pi;
			memset(&pi, 0, sizeof pi);
			memcpy(&pi.spinfo_address, sin, sizeof *sin);
			socklen_t l = sizeof pi;
			if (getsockopt(fd, IPPROTO_SCTP, SCTP_GET_PEER_ADDR_INFO, &pi, &l) < 0)
				return -1;
			int primary = have_prim && ((struct sockaddr_in *)&prim.ssp_addr)->sin_addr.s_addr == sin->sin_addr.s_addr;
			printf("r%s path %s %s%s\n", id, s, state_name(pi.spinfo_state), primary ? " primary" : "");
		}
		p += sizeof *sin;
	}
	return 0;
}

/* command runs one control command; see the comment at the top. */
static void command(int fd, char *line)
{
	char id[32], op[32], arg[64];
	int n1 = 0, n2 = 0;
	arg[0] = 0;
	if (sscanf(line, "%31s %31s %63s %d", id, op, arg, &n2) < 2) {
		printf("error bad command %s\n", line);
		return;
	}
	int rc = 0;
	if (strcmp(op, "paths") == 0) {
		rc = print_addrs(fd, id, SCTP_GET_PEER_ADDRS);
	} else if (strcmp(op, "laddrs") == 0) {
		rc = print_addrs(fd, id, SCTP_GET_LOCAL_ADDRS);
	} else if (strcmp(op, "add") == 0 || strcmp(op, "rem") == 0) {
		struct sockaddr_in a;
		parse_addrs(arg, 0, &a, 1);
		rc = bindx(fd, &a, 1, op[0] == 'a' ? SCTP_SOCKOPT_BINDX_ADD : SCTP_SOCKOPT_BINDX_REM);
	} else if (strcmp(op, "tick") == 0) {
		n1 = atoi(arg);
		struct ticker *tk = malloc(sizeof *tk);
		*tk = (struct ticker){.fd = fd, .n = n1, .ms = n2};
		pthread_t th;
		if (pthread_create(&th, NULL, tick_loop, tk) != 0)
			rc = -1;
		else
			pthread_detach(th);
	} else if (strcmp(op, "gaps") == 0) {
		/* The largest gap before the arrival of a tick numbered FROM
		 * or later: earlier ones came before what is measured. */
		unsigned from = atoi(arg), at = 0;
		long long gap = 0;
		pthread_mutex_lock(&mu);
		for (unsigned i = 1; i < ticks_seen; i++)
			if (tick_id[i] >= from && tick_at_us[i] - tick_at_us[i - 1] > gap) {
				gap = tick_at_us[i] - tick_at_us[i - 1];
				at = tick_id[i];
			}
		printf("r%s gap %lld before tick %u of %u\n", id, gap, at, ticks_seen);
		ticks_seen = 0;
		pthread_mutex_unlock(&mu);
	} else {
		printf("r%s error unknown command %s\n", id, op);
		return;
	}
	if (rc < 0)
		printf("r%s error %s: %s\n", id, op, strerror(errno));
	else
		printf("r%s done\n", id);
}

static int ctl_mode(int argc, char **argv)
{
	if (argc < 7 || (strcmp(argv[2], "connect") == 0 && argc < 8)) {
		fprintf(stderr, "usage: peer ctl listen|connect PORT ENCAP LADDRS FIFO [PADDRS]\n");
		return 2;
	}
	int connect_mode = strcmp(argv[2], "connect") == 0;
	int port = atoi(argv[3]), encap = atoi(argv[4]);
	struct sockaddr_in la[8], pa[8];
	/* Listening binds PORT; connecting any free port. */
	int nl = parse_addrs(argv[5], connect_mode ? 0 : port, la, 8);
	int s = new_socket(encap);
	/* The first address with bind, so that every later one takes the
	 * port it chose. */
	if (bind(s, (struct sockaddr *)&la[0], sizeof la[0]) < 0)
		die("bind");
	if (nl > 1 && bindx(s, la + 1, nl - 1, SCTP_SOCKOPT_BINDX_ADD) < 0)
		die("sctp_bindx");
	/* The pipe is opened read-write so that the open does not wait for
	 * a writer and the reads never see the end of the file between two
	 * commands. */
	FILE *cmds = fopen(argv[6], "r+");
	if (!cmds)
		die("fifo");
	int fd = s;
	if (connect_mode) {
		int np = parse_addrs(argv[7], port, pa, 8);
		if (setsockopt(s, IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX, pa, np * sizeof pa[0]) < 0)
			die("sctp_connectx");
		printf("connected\n");
	} else {
		if (listen(s, 1) < 0)
			die("listen");
		printf("listening\n");
		fflush(stdout);
		if ((fd = accept(s, NULL, NULL)) < 0)
			die("accept");
		printf("accepted\n");
	}
	fflush(stdout);
	pthread_t th;
	if (pthread_create(&th, NULL, echo_loop, &fd) != 0)
		die("pthread_create");
	char line[256];
	while (fgets(line, sizeof line, cmds)) {
		line[strcspn(line, "\n")] = 0;
		command(fd, line);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && strcmp(argv[1], "echo") == 0)
		return echo_mode(atoi(argv[2]), atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 0);
	if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
		return ctl_mode(argc, argv);
	if (argc == 7 && strcmp(argv[1], "send") == 0)
		return send_mode(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), (uint32_t)strtoul(argv[6], NULL, 0));
	fprintf(stderr, "usage: peer echo PORT ENCAP [HB_MS] | peer send ADDR PORT ENCAP COUNT SEED | peer ctl ...\n");
	return 2;
}
