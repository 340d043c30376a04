/* SPDX-License-Identifier: ISC */
/*
 * TUN offloads, as pure functions: the virtio-net header that precedes each
 * packet on a TUN device opened with IFF_VNET_HDR, TCP segmentation of the
 * 64 KiB super-packets the kernel hands over once TSO is on (the kernel
 * leaves that to the device, i.e. to us), and the reverse: coalescing
 * consecutive TCP segments of one flow into one super-packet before writing
 * it, so the kernel's TCP takes one packet instead of forty (what GRO does
 * for a NIC).
 *
 * Checksums follow RFC 1071; sums are kept in the byte order of the host and
 * stored with memcpy, which is what makes them order-independent.
 */
#ifndef ESP_SOFT_OFFLOAD_H
#define ESP_SOFT_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * struct virtio_net_hdr (include/uapi/linux/virtio_net.h), legacy layout, in
 * the host's byte order (TUN's default for IFF_VNET_HDR on a little-endian
 * host; esp-soft uses offloads only there).
 */
struct esp_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;     /* bytes of headers (IP + TCP) */
	uint16_t gso_size;    /* payload bytes per segment */
	uint16_t csum_start;  /* where the checksummed part starts (the L4 header) */
	uint16_t csum_offset; /* where its checksum field is, from csum_start */
} __attribute__((packed));

#define ESP_VNET_HDR_LEN 10
#define ESP_VNET_F_NEEDS_CSUM 1 /* checksum to complete: pseudo-header sum in place */
#define ESP_VNET_F_DATA_VALID 2 /* checksum already verified */
#define ESP_VNET_GSO_NONE 0
#define ESP_VNET_GSO_TCPV4 1
#define ESP_VNET_GSO_TCPV6 4
#define ESP_VNET_GSO_ECN 0x80

/* Add len bytes to a running one's-complement sum (not yet folded). */
uint64_t esp_csum_add(uint64_t sum, const void *p, size_t len);
/* Fold to 16 bits, not complemented. */
uint16_t esp_csum_fold(uint64_t sum);
/* The IPv4 header checksum of hdr (its checksum field taken as zero). */
uint16_t esp_ip4_csum(const uint8_t *hdr, size_t len);

/*
 * Finish a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM):
 * the field at start + off holds the pseudo-header sum; sum from start to
 * the end and store the complement.  -EINVAL if the offsets lie outside.
 */
int esp_csum_complete(uint8_t *pkt, size_t len, size_t start, size_t off);

/*
 * A TSO super-packet (gso_type TCPV4/TCPV6): how many segments, or -EINVAL
 * if the headers do not hold together.
 */
int esp_tso_count(const struct esp_vnet_hdr *h, const uint8_t *pkt, size_t len);

/*
 * Segment i of it, a complete IP packet with its own length, IPv4 ID + i,
 * sequence number, flags (FIN and PSH only on the last, CWR only on the
 * first) and a full TCP checksum, written to out.  Its length, or
 * -EMSGSIZE if cap is too small, -EINVAL for a bad i or packet.
 */
int esp_tso_segment(const struct esp_vnet_hdr *h, const uint8_t *pkt, size_t len, unsigned i,
		    uint8_t *out, size_t cap);

/*
 * Coalescing received TCP segments of one flow.  A run starts with a
 * segment that carries data and only ACK (and PSH); later segments join if
 * they continue it exactly: same addresses, ports, IP fields, ACK number,
 * window and TCP options, the next sequence number, no larger than the
 * first.  A shorter segment or PSH ends the run.  Nothing is copied but the
 * first segment's headers: the run is a list of iovecs pointing at each
 * segment's payload where it lies, which must stay put until the run is
 * finished and written.
 */
#define ESP_GRO_MAX 64

struct esp_gro {
	uint8_t hdr[128]; /* the first segment's IP + TCP headers */
	size_t l4;        /* offset of the TCP header */
	size_t hlen;      /* length of the headers */
	size_t len;       /* the whole run's length */
	uint16_t gso;     /* payload of the first segment */
	unsigned segs;
	bool closed;
	uint32_t next_seq;
	/* [0] the virtio header, [1] hdr, [2..] the payloads */
	struct iovec iov[2 + ESP_GRO_MAX];
};

/*
 * Offer a packet given as two pieces (hdr may be empty): true if it joined
 * or started the run; false if it cannot (the caller finishes the run and
 * offers it again, or writes it alone).
 */
bool esp_gro_add(struct esp_gro *g, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
		 size_t len);

/*
 * End the run: patch the headers' lengths and checksums, fill *h, and point
 * *iov at the iovecs to write (the first one is *h); returns how many, 0 if
 * the run was empty.  A run of one packet goes out as it came, with an
 * empty virtio header; a longer one as a TSO super-packet whose checksum
 * the kernel finishes (NEEDS_CSUM, pseudo-header sum in place).
 */
int esp_gro_finish(struct esp_gro *g, struct esp_vnet_hdr *h, const struct iovec **iov);

#endif
