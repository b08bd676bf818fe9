/* udp-echo: the guest fixture's UDP echo service.  Listens on the UDP port
 * given as its only argument (default 7, the echo port) on every address
 * and sends each datagram back to its sender, unchanged.  busybox's nc has
 * no UDP mode, so the guest carries this small static program. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
    struct sockaddr_in6 addr;
    char buf[65536];
    int fd, off = 0;

    fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0) {
        return 1;
    }
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    memset(&addr, 0, sizeof addr);
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(argc > 1 ? atoi(argv[1]) : 7);
    addr.sin6_addr = in6addr_any;
    if (bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
        return 1;
    }
    for (;;) {
        struct sockaddr_in6 peer;
        socklen_t peer_size = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *) &peer,
                             &peer_size);

        if (n >= 0) {
            sendto(fd, buf, n, 0, (struct sockaddr *) &peer, peer_size);
        }
    }
}
