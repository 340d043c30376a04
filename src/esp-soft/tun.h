/* SPDX-License-Identifier: ISC */
/*
 * The tunnel device, behind the smallest interface esp-soft needs: open N
 * queues, read one IP packet, write one IP packet, close.  Packets are bare
 * IP (IPv4 or IPv6, told apart by the version nibble), no link header.
 *
 * Linux (tun_linux.c): /dev/net/tun with IFF_TUN | IFF_NO_PI, and
 * IFF_MULTI_QUEUE when more than one queue is asked for; each queue is its
 * own fd and the kernel spreads flows across them.
 *
 * Another OS needs a file implementing these five functions (with offload
 * always refused: t->vnet false):
 *  - FreeBSD/OpenBSD: /dev/tunN (or tun(4) cloning); TUNSIFHEAD makes every
 *    packet carry a 4-byte address family, which read strips and write adds;
 *    one queue only; MTU and up via SIOCSIFMTU / SIOCSIFFLAGS.
 *  - macOS: a utun control socket (PF_SYSTEM, UTUN_CONTROL_NAME), same
 *    4-byte family header; one queue.
 *  - Windows: Wintun's ring buffers (WintunReceivePacket/WintunSendPacket),
 *    no fds: the workers would wait on its read event instead of poll().
 * Beyond the device, the socket code (sock.c, outbound.c, inbound.c,
 * ike_port.c) uses recvmmsg/sendmmsg, UDP_SEGMENT/UDP_GRO, SO_MARK and
 * SO_REUSEPORT; elsewhere fall back to recvmsg/sendmsg, one socket
 * shared by the workers, and the OS's policy routing instead of a mark
 * (e.g. OpenBSD rtable, FreeBSD setfib).
 */
#ifndef ESP_SOFT_TUN_H
#define ESP_SOFT_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define ESP_TUN_MAX_QUEUES 64

struct esp_tun {
	int fd[ESP_TUN_MAX_QUEUES];
	unsigned queues;
	char name[16];
	int ifindex;
	unsigned mtu;
	bool vnet; /* offloads on: every packet read or written starts with a
		    * struct esp_vnet_hdr (offload.h) */
};

/*
 * Create (or attach to) device `name` (NULL: the system picks one, "xike%d"
 * on Linux) with `queues` queues, set its MTU and bring it up.  The fds are
 * non-blocking.  With `offload`, ask for checksum offload and TSO
 * (IFF_VNET_HDR, TUNSETOFFLOAD): the kernel then hands over TCP
 * super-packets of up to 64 KiB and accepts them back; t->vnet says whether
 * it agreed.  0 or a negative errno.
 */
int esp_tun_open(struct esp_tun *t, const char *name, unsigned queues, unsigned mtu,
		 bool offload);

/* One packet into buf; its length, or a negative errno (-EAGAIN: none). */
ssize_t esp_tun_read(struct esp_tun *t, unsigned q, void *buf, size_t cap);

/* One packet gathered from iov; its length, or a negative errno. */
ssize_t esp_tun_write(struct esp_tun *t, unsigned q, const struct iovec *iov, int n);

void esp_tun_close(struct esp_tun *t);

#endif
