/*
 * bindx: a usrsctp client that changes its addresses during an association
 * (RFC 5061 ASCONF, through usrsctp_bindx), for pgsctp's interop tests.
 *
 * usage: bindx LOCAL_UDP_PORT REMOTE_UDP_PORT SERVER_ADDR SERVER_PORT ADDR0 ADDR1
 *
 * It binds ADDR0 only, connects, and then follows commands on stdin, one
 * per line:
 *   send TEXT   send TEXT as one message on stream 0 and print the echo
 *   add ADDR    usrsctp_bindx(SCTP_BINDX_ADD_ADDR)
 *   rem ADDR    usrsctp_bindx(SCTP_BINDX_REM_ADDR)
 *   quit        shut down
 * Every result goes to stdout as one line ("echo TEXT", "ok add ADDR",
 * "error ..."), so the test can wait for it. IPv4 only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <usrsctp.h>

static struct sockaddr_in addr4(const char *ip, int port) {
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stdout, "error bad address %s\n", ip);
		fflush(stdout);
		exit(2);
	}
	return a;
}

int main(int argc, char **argv) {
	if (argc != 7) {
		fprintf(stderr, "usage: bindx LOCAL_UDP_PORT REMOTE_UDP_PORT SERVER_ADDR SERVER_PORT ADDR0 ADDR1\n");
		return 2;
	}
	usrsctp_init(atoi(argv[1]), NULL, NULL);
	usrsctp_sysctl_set_sctp_asconf_enable(1);
	usrsctp_sysctl_set_sctp_auth_enable(1);
	struct socket *s = usrsctp_socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (s == NULL) {
		printf("error socket: %s\n", strerror(errno));
		return 1;
	}
	struct sctp_udpencaps enc;
	memset(&enc, 0, sizeof enc);
	enc.sue_address.ss_family = AF_INET;
	enc.sue_port = htons(atoi(argv[2]));
	if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &enc, sizeof enc) < 0) {
		printf("error encaps: %s\n", strerror(errno));
		return 1;
	}
	struct sockaddr_in a0 = addr4(argv[5], 0);
	if (usrsctp_bindx(s, (struct sockaddr *)&a0, 1, SCTP_BINDX_ADD_ADDR) < 0) {
		printf("error bindx %s: %s\n", argv[5], strerror(errno));
		return 1;
	}
	struct sockaddr_in srv = addr4(argv[3], atoi(argv[4]));
	if (usrsctp_connect(s, (struct sockaddr *)&srv, sizeof srv) < 0) {
		printf("error connect: %s\n", strerror(errno));
		return 1;
	}
	printf("connected\n");
	fflush(stdout);
	char line[512];
	while (fgets(line, sizeof line, stdin) != NULL) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "send ", 5) == 0) {
			const char *msg = line + 5;
			if (usrsctp_sendv(s, msg, strlen(msg), NULL, 0, NULL, 0, SCTP_SENDV_NOINFO, 0) < 0) {
				printf("error send: %s\n", strerror(errno));
				fflush(stdout);
				continue;
			}
			char buf[512];
			struct sockaddr_in from;
			socklen_t fromlen = sizeof from;
			struct sctp_rcvinfo rcv;
			socklen_t infolen = sizeof rcv;
			unsigned int infotype = 0;
			int flags = 0;
			ssize_t n;
			do {
				flags = 0;
				n = usrsctp_recvv(s, buf, sizeof buf - 1, (struct sockaddr *)&from, &fromlen, &rcv, &infolen, &infotype, &flags);
			} while (n > 0 && (flags & MSG_NOTIFICATION));
			if (n <= 0) {
				printf("error recv: %s\n", strerror(errno));
			} else {
				buf[n] = 0;
				printf("echo %s\n", buf);
			}
		} else if (strncmp(line, "add ", 4) == 0 || strncmp(line, "rem ", 4) == 0) {
			struct sockaddr_in a = addr4(line + 4, 0);
			int op = line[0] == 'a' ? SCTP_BINDX_ADD_ADDR : SCTP_BINDX_REM_ADDR;
			if (usrsctp_bindx(s, (struct sockaddr *)&a, 1, op) < 0) {
				printf("error %s: %s\n", line, strerror(errno));
			} else {
				printf("ok %s\n", line);
			}
		} else if (strcmp(line, "quit") == 0) {
			break;
		}
		fflush(stdout);
	}
	usrsctp_close(s);
	while (usrsctp_finish() != 0) {
	}
	printf("closed\n");
	return 0;
}
