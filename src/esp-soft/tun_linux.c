/* SPDX-License-Identifier: ISC */
/*
 * The TUN device on Linux: /dev/net/tun, IFF_TUN | IFF_NO_PI, one fd per
 * queue (IFF_MULTI_QUEUE), MTU and IFF_UP through the classic ioctls so
 * that this layer needs no netlink.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "esp-soft/tun.h"

static int set_link(const char *name, unsigned mtu)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = (int)mtu;
	if (mtu && ioctl(s, SIOCSIFMTU, &ifr) < 0)
		err = -errno;
	if (!err && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (!err && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

/* Offloads need the virtio header in host order, i.e. a little-endian host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TUN_VNET_OK 1
#else
#define TUN_VNET_OK 0
#endif

static int open_queues(struct esp_tun *t, unsigned queues, bool vnet)
{
	int err = 0;

	for (unsigned q = 0; q < queues; q++) {
		struct ifreq ifr;
		int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0) {
			err = -errno;
			goto fail;
		}
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
		if (queues > 1)
			ifr.ifr_flags |= IFF_MULTI_QUEUE;
		if (vnet)
			ifr.ifr_flags |= IFF_VNET_HDR;
		/* Queue 0 may create the device; the others attach by its name. */
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			err = -errno;
			close(fd);
			goto fail;
		}
		snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
		t->fd[q] = fd;
		t->queues = q + 1;
	}
	return 0;
fail:
	esp_tun_close(t);
	return err;
}

int esp_tun_open(struct esp_tun *t, const char *name, unsigned queues, unsigned mtu,
		 bool offload)
{
	int err;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < ESP_TUN_MAX_QUEUES; i++)
		t->fd[i] = -1;
	if (queues == 0 || queues > ESP_TUN_MAX_QUEUES || (name && strlen(name) >= IFNAMSIZ))
		return -EINVAL;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "xike%d");
	offload = offload && TUN_VNET_OK;
	err = open_queues(t, queues, offload);
	if (offload) {
		unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

		/* An old kernel without offloads: fall back to plain packets. */
		if (!err && ioctl(t->fd[0], TUNSETOFFLOAD, off) == 0) {
			t->vnet = true;
		} else {
			if (!err)
				esp_tun_close(t);
			snprintf(t->name, sizeof(t->name), "%s", name ? name : "xike%d");
			err = open_queues(t, queues, false);
		}
	}
	if (err)
		return err;
	t->ifindex = (int)if_nametoindex(t->name);
	t->mtu = mtu;
	err = set_link(t->name, mtu);
	if (err)
		goto fail;
	return 0;
fail:
	esp_tun_close(t);
	return err;
}

ssize_t esp_tun_read(struct esp_tun *t, unsigned q, void *buf, size_t cap)
{
	ssize_t n = read(t->fd[q], buf, cap);

	return n < 0 ? -errno : n;
}

ssize_t esp_tun_write(struct esp_tun *t, unsigned q, const struct iovec *iov, int n)
{
	ssize_t w = writev(t->fd[q], iov, n);

	return w < 0 ? -errno : w;
}

void esp_tun_close(struct esp_tun *t)
{
	for (unsigned i = 0; i < ESP_TUN_MAX_QUEUES; i++) {
		if (t->fd[i] >= 0)
			close(t->fd[i]);
		t->fd[i] = -1;
	}
	t->queues = 0;
}
