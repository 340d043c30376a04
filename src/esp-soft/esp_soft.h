/* SPDX-License-Identifier: ISC */
/*
 * esp-soft: userspace ESP (RFC 4303) over a TUN device, for hosts whose
 * kernel has no ESP.  It implements the same backend interface as the
 * kernel XFRM backend (struct xk_kernel_ops, common/sa.h) on the same
 * neutral SA and policy types, and reports the same events (expiry,
 * ACQUIRE, MAPPING).  It knows nothing of IKE messages or of an event loop:
 * the daemon polls two file descriptors and calls in.
 *
 * ---- How packets flow ----
 *
 *   outbound: kernel routes a packet into the TUN device -> a worker reads
 *     it, finds the best "out" policy for its selectors (lowest priority
 *     value first), the newest SA with that policy's reqid, encapsulates
 *     (tunnel: the whole packet; transport: the payload after the IP
 *     header) and sends ESP in UDP (RFC 3948) from the NAT-T port to the
 *     SA's destination, or raw ESP (IP protocol 50) if the SA has no encap
 *     and raw sockets were opened.  A packet that hits an out policy
 *     without SA raises ACQUIRE (at most every acquire_secs per policy).
 *   inbound: ESP arrives on the NAT-T socket (or the raw socket) -> SA by
 *     SPI -> check sequence, authenticate+decrypt, commit -> the inner
 *     packet must match an "in" or "fwd" policy with the SA's reqid (RFC
 *     4301 5.2) -> written to the TUN device, where the kernel delivers or
 *     forwards it.  Transport mode rebuilds the IP header from the SA's
 *     addresses.
 *   IKE shares the NAT-T port: datagrams that start with the non-ESP
 *     marker (four zero bytes, RFC 3948 2.2) reach the daemon through
 *     esp_soft_ike_fd/read.  A BPF program on the port's SO_REUSEPORT
 *     group steers them to a socket the daemon's thread reads itself
 *     (ESP goes to worker 1 + SPI mod n); IKE that still reaches a worker
 *     (coalesced behind ESP, or a kernel without the program) is queued.
 *     The daemon sends IKE on port 4500 through esp_soft_ike_send(), which
 *     adds the marker.  NAT keepalives (one 0xff byte, RFC 3948 2.3) are
 *     counted and dropped; the daemon sends its own through
 *     esp_soft_keepalive().  Port 500 stays the daemon's.
 *
 * ---- What the caller sets up (routes and rules) ----
 *
 * esp-soft opens the TUN device, sets its MTU and brings it up; it does not
 * touch routes, rules or addresses.  The daemon must:
 *  - tunnel mode: route each remote traffic selector into the device, with
 *    the local TS address as source, e.g.
 *        ip route add 10.2.0.0/24 dev xike0 src 10.1.0.1 table 220
 *        ip rule add not fwmark <mark>/<mark> table 220 pref 220
 *    (the table and rule as for the kernel backend; any table works).
 *  - transport mode: route the peer's own address into the device in that
 *    table, with our address as source (the device has none to offer),
 *    e.g. `ip route add 192.0.2.2/32 dev xike0 src 192.0.2.1 table 220`.  The
 *    rule above is what keeps esp-soft's own UDP (and the daemon's IKE on
 *    port 500) out of the tunnel: esp-soft's sockets carry SO_MARK <mark>
 *    (esp_soft_mark()), and the daemon must set the same mark on its port
 *    500 sockets.  Without a mark (cfg.mark = 0) only tunnel mode whose
 *    selectors exclude the peer's address works.
 *  - loose or no reverse-path filtering on the device (net.ipv4.conf.
 *    <dev>.rp_filter = 0 or 2): decrypted packets enter through it.
 *  - IPv6 transport mode needs nothing more: the kernel sends and answers
 *    neighbour discovery for the peer on the outer interface, outside the
 *    rule's table.
 *  - with backend = soft the daemon should force UDP encapsulation of every
 *    CHILD_SA (as strongSwan does with kernel-libipsec: it reports NAT so
 *    that both peers encapsulate) unless esp_soft_raw_esp() is true; an SA
 *    without encap is refused (-EPROTONOSUPPORT) once started without a
 *    raw socket (SAs added before esp_soft_start() are not checked; their
 *    packets would be dropped and counted as I/O errors).
 *
 * ---- Threads ----
 *
 * esp_soft_start() spawns one worker per core (cfg.workers) plus a 1 Hz
 * housekeeping thread (time lifetimes, reaping hard-expired SAs).  Each
 * worker reads one queue of a multi-queue TUN device (and writes what it
 * decrypted through the next worker's queue, so that TUN's flow steering
 * puts a flow's two directions on two workers) and owns one SO_REUSEPORT
 * UDP socket per address family, reads and writes in batches
 * (recvmmsg/sendmmsg, UDP GSO/GRO where the kernel has them) and allocates
 * nothing per packet.  With TUN offloads (the default where the kernel
 * has them) the kernel hands over TCP super-packets of up to 64 KiB, which
 * the worker cuts into segments before encrypting (offload.h), and the
 * worker hands back consecutive decrypted segments of a flow as one
 * super-packet.  Every function below may be called from any one
 * control thread while the workers run: the SAD and SPD sit behind a
 * writer-preferring rwlock that workers hold for one batch at a time.
 *
 * ---- Events ----
 *
 * Like the kernel's: EXPIRE soft/hard for time (seconds after add), bytes
 * and packets (of payload), and soft EXPIRE when an outbound SA's sequence
 * numbers run low (2^32 - 2^28 without ESN), hard when they run out; a hard
 * expiry removes the SA, as the kernel does.  ACQUIRE and MAPPING (an
 * authenticated ESP-in-UDP packet from a new address or port) as described
 * above.  They queue (bounded; overflow is counted) until read.  After a
 * hard expiry del_sa answers -ESRCH, as the kernel's does.
 *
 * ---- Other systems ----
 *
 * Only tun_linux.c and the socket and thread code (sock.c, outbound.c,
 * inbound.c, ike_port.c, worker.c) are Linux-specific; see tun.h and
 * docs/esp-soft.md for what another OS's tunnel device needs.
 */
#ifndef ESP_SOFT_ESP_SOFT_H
#define ESP_SOFT_ESP_SOFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"

#define ESP_SOFT_MAX_WORKERS 64

struct esp_soft_cfg {
	const char *ifname; /* TUN device name; NULL: "xike%d" chosen by the kernel */
	uint16_t nat_port;  /* UDP port for ESP-in-UDP and IKE; 0: 4500 */
	int workers;        /* worker threads; 0: one per online CPU */
	uint32_t mark;      /* SO_MARK on esp-soft's sockets; 0: none */
	unsigned mtu;       /* TUN MTU; 0: 1400 (fits 1500 with IPv6+UDP+ESP+CBC) */
	bool raw_esp;       /* also open raw IP protocol 50 sockets (needs
			     * CAP_NET_RAW; the kernel must not run ESP) */
	bool no_v6;         /* skip the IPv6 socket (hosts without IPv6) */
	bool no_offload;    /* plain TUN: no TSO / coalescing (IFF_VNET_HDR) */
	unsigned acquire_secs; /* ACQUIRE at most this often per policy; 0: 3 */
	unsigned ike_queue;    /* IKE datagrams kept until read; 0: 256 */
	unsigned event_queue;  /* events kept until read; 0: 1024 */
};

struct esp_soft;

/*
 * Create the backend (no I/O yet): SAD, SPD, queues and their fds.  The
 * ops below work from here on, so SAs and policies may be installed before
 * start.  NULL with *err set (-EINVAL for a bad cfg, -ENOMEM).
 */
struct esp_soft *esp_soft_new(const struct esp_soft_cfg *cfg, int *err);

/*
 * Open the TUN device and the sockets (CAP_NET_ADMIN; CAP_NET_RAW for raw
 * ESP; binding the NAT-T port) and bring the device up, without starting
 * a thread: a daemon opens what needs privileges, drops them, then starts.
 * 0 or a negative errno (-EADDRINUSE: someone else owns the NAT-T port).
 */
int esp_soft_open(struct esp_soft *es);

/*
 * Start the threads, opening first if esp_soft_open() was not called.
 * Threads take the caller's credentials and capabilities.  0 or a
 * negative errno.
 */
int esp_soft_start(struct esp_soft *es);

/* Stop the threads, close everything, wipe and free every SA. */
void esp_soft_free(struct esp_soft *es);

/* The backend interface; ctx is the struct esp_soft. */
extern const struct xk_kernel_ops esp_soft_ops;

/* The same calls, typed. */
int esp_soft_alloc_spi(struct esp_soft *es, const struct xk_addr *src,
		       const struct xk_addr *dst, uint32_t *spi);
int esp_soft_add_sa(struct esp_soft *es, const struct xk_sa *sa);
int esp_soft_upd_sa(struct esp_soft *es, const struct xk_sa *sa);
int esp_soft_del_sa(struct esp_soft *es, const struct xk_sa_id *id);
/* The SA (id->dst, id->spi) now goes between src and dst (addresses and
 * ports: a NAT mapping changed); keys, counters and window stay. */
int esp_soft_move_sa(struct esp_soft *es, const struct xk_sa_id *id, const struct xk_addr *src,
		     const struct xk_addr *dst);
int esp_soft_add_policy(struct esp_soft *es, const struct xk_policy *pol);
int esp_soft_del_policy(struct esp_soft *es, const struct xk_policy *pol);
int esp_soft_query_sa(struct esp_soft *es, const struct xk_sa_id *id, struct xk_sa_stats *st);
int esp_soft_flush(struct esp_soft *es);

/* After start: the TUN device's index and name. */
int esp_soft_ifindex(const struct esp_soft *es);
const char *esp_soft_ifname(const struct esp_soft *es);
uint32_t esp_soft_mark(const struct esp_soft *es);
uint16_t esp_soft_nat_port(const struct esp_soft *es);
/* True if raw ESP sockets are open (SAs without encap are carried). */
bool esp_soft_raw_esp(const struct esp_soft *es);

/* ---- IKE on the shared NAT-T socket ---- */

/* Readable (an epoll fd) while IKE datagrams wait. */
int esp_soft_ike_fd(const struct esp_soft *es);

/* local: our address and port the datagram came to; remote: the sender. */
typedef void (*esp_soft_ike_cb)(void *ctx, const struct xk_addr *local,
				const struct xk_addr *remote, const uint8_t *buf, size_t len);

/*
 * Hand every waiting IKE datagram (marker stripped) to cb, in arrival
 * order per source; returns how many, or a negative errno.  ESP that
 * arrived with them is decrypted and delivered on the way.
 */
int esp_soft_ike_read(struct esp_soft *es, esp_soft_ike_cb cb, void *ctx);

/*
 * Send one IKE message to remote (port as given, usually 4500) from the
 * NAT-T port, with the non-ESP marker prepended.  local: the source
 * address (port ignored), or NULL / family 0 for the kernel's choice.
 * 0 or a negative errno.  Only after start.
 */
int esp_soft_ike_send(struct esp_soft *es, const struct xk_addr *local,
		      const struct xk_addr *remote, const uint8_t *buf, size_t len);

/*
 * Send one NAT keepalive (RFC 3948 2.3: a single 0xff octet, no marker)
 * to remote from the NAT-T port, local as for esp_soft_ike_send(); the
 * daemon calls it every keepalive interval while behind a NAT, since the
 * NAT-T socket is esp-soft's.  0 or a negative errno.  Only after start.
 */
int esp_soft_keepalive(struct esp_soft *es, const struct xk_addr *local,
		       const struct xk_addr *remote);

/* ---- events ---- */

/* Readable (an eventfd) while events wait. */
int esp_soft_events_fd(const struct esp_soft *es);
/* Dispatch every queued event; returns how many, or a negative errno. */
int esp_soft_events_read(struct esp_soft *es, xk_event_cb cb, void *ctx);

/* ---- counters ---- */

enum esp_soft_drop {
	ESP_SOFT_DROP_SHORT,      /* too short or malformed ESP / UDP payload */
	ESP_SOFT_DROP_NO_SA,      /* inbound SPI unknown */
	ESP_SOFT_DROP_REPLAY,     /* duplicate or left of the window */
	ESP_SOFT_DROP_AUTH,       /* ICV did not verify */
	ESP_SOFT_DROP_PAD,        /* padding not as RFC 4303 2.4 says */
	ESP_SOFT_DROP_NEXT_HDR,   /* next header not allowed in this mode */
	ESP_SOFT_DROP_DUMMY,      /* next header 59 (TFC dummy), silently */
	ESP_SOFT_DROP_INNER,      /* inner packet malformed or unsupported */
	ESP_SOFT_DROP_POLICY,     /* inner packet outside the SA's policy */
	ESP_SOFT_DROP_NO_POLICY,  /* outbound packet matches no out policy */
	ESP_SOFT_DROP_NO_SA_OUT,  /* out policy without SA (ACQUIRE raised) */
	ESP_SOFT_DROP_EXPIRED,    /* SA hard-expired or out of sequence numbers */
	ESP_SOFT_DROP_TOO_BIG,    /* does not fit a buffer */
	ESP_SOFT_DROP_QUEUE,      /* IKE queue full */
	ESP_SOFT_DROP_IO,         /* send or TUN write failed */
	ESP_SOFT_DROP_CRYPTO,     /* the crypto library failed */
	ESP_SOFT_DROP_N
};

const char *esp_soft_drop_name(enum esp_soft_drop d);

struct esp_soft_stats {
	uint64_t rx_packets, rx_bytes; /* ESP decapsulated, inner bytes */
	uint64_t tx_packets, tx_bytes; /* ESP sent, inner bytes */
	uint64_t ike_in, ike_out;      /* IKE datagrams on the NAT-T port */
	/*
	 * Of ike_in, those a worker read and queued for the daemon: where the
	 * kernel refused the steering program, or GRO put the IKE behind ESP.
	 */
	uint64_t ike_relayed;
	uint64_t keepalives;           /* NAT keepalives received (and dropped) */
	uint64_t keepalives_out;       /* sent with esp_soft_keepalive() */
	uint64_t events_lost;          /* event queue overflow */
	uint64_t drops[ESP_SOFT_DROP_N];
};

/* Totals over all workers (racy but consistent per counter). */
void esp_soft_get_stats(const struct esp_soft *es, struct esp_soft_stats *st);

/* ---- the datapath without I/O, for tests and fuzzing ---- */

/*
 * Each call below runs the code a worker runs for one packet, on thread
 * slot `slot` (0 <= slot < esp_soft_slots(es); one thread per slot at a
 * time; esp_soft_slots(es) - 1 is never used by a worker).  They take the
 * table lock themselves.
 */
unsigned esp_soft_slots(const struct esp_soft *es);

/* An inner packet for the TUN device: hdr (transport mode only) + data. */
struct esp_soft_rx {
	uint8_t hdr[40];
	size_t hdr_len;
	const uint8_t *data; /* points into the input buffer */
	size_t len;
};

#define ESP_SOFT_RX_IKE 1       /* an IKE datagram, queued */
#define ESP_SOFT_RX_KEEPALIVE 2 /* a NAT keepalive, dropped */

/*
 * One datagram as received on the NAT-T port (udp = true) or one ESP
 * packet from the raw socket (udp = false, IP header removed).  0 and *rx
 * set: deliver rx to the TUN device; ESP_SOFT_RX_IKE / _KEEPALIVE; or a
 * negative errno, with the drop counted.  buf is decrypted in place.
 */
int esp_soft_input(struct esp_soft *es, unsigned slot, const struct xk_addr *local,
		   const struct xk_addr *remote, bool udp, uint8_t *buf, size_t len,
		   struct esp_soft_rx *rx);

/* Where an outbound ESP packet goes. */
struct esp_soft_tx {
	struct xk_addr local;  /* source address (port unused) */
	struct xk_addr remote; /* destination; port for UDP */
	bool udp;              /* ESP in UDP, else raw ESP */
};

/*
 * One IP packet as read from the TUN device: the ESP packet (UDP payload
 * for encap) is written to out; returns its length and sets *tx (if not
 * NULL), or a negative errno with the drop counted.
 */
int esp_soft_output(struct esp_soft *es, unsigned slot, const uint8_t *ip, size_t len,
		    uint8_t *out, size_t cap, struct esp_soft_tx *tx);

/*
 * Run the housekeeping pass now, as at monotonic second `now` (0: the
 * clock): time lifetimes, reaping hard-expired SAs, stale SPI
 * reservations.  The housekeeping thread calls it once a second; tests
 * call it with a made-up clock.
 */
void esp_soft_tick(struct esp_soft *es, uint64_t now);

#endif
