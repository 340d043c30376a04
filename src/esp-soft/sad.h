/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's security databases behind one writer-preferring rwlock: the
 * SAD (SAs by SPI, outbound SAs by reqid, SPI reservations), the three
 * SPD tables of spd.c, lifetimes and the housekeeping pass.  The workers
 * hold the lock for reading one batch at a time; every call below that
 * changes a table takes it for writing.  Arguments are checked by the
 * caller (esp_soft.c).  Not installed.
 */
#ifndef ESP_SOFT_SAD_H
#define ESP_SOFT_SAD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sa.h"

struct esp_soft;
struct esp_sa;
struct esp_pol;

/* The lock, empty tables and the SPD's hash seed; 0 or -ENOMEM. */
int esp_sad_init(struct esp_soft *es);
/* After esp_sad_flush(): the tables and the lock. */
void esp_sad_free(struct esp_soft *es);

/* For the datapath, with the lock held for reading. */
struct esp_sa *esp_sad_in(struct esp_soft *es, uint32_t spi);
struct esp_sa *esp_sad_out(struct esp_soft *es, uint32_t reqid);
/* Raise EXPIRE once per kind; a hard one also marks the SA dead. */
void esp_expire(struct esp_soft *es, struct esp_sa *sa, bool hard);

/* The backend operations on the tables, each under the write lock. */
int esp_sad_alloc_spi(struct esp_soft *es, uint32_t *spi);
/* Files sa (built by esp_sa_new), added as of now; on -EEXIST it is freed. */
int esp_sad_add(struct esp_soft *es, struct esp_sa *sa);
int esp_sad_upd(struct esp_soft *es, const struct xk_sa *cfg);
int esp_sad_move(struct esp_soft *es, const struct xk_sa_id *id, const struct xk_addr *src,
		 const struct xk_addr *dst);
int esp_sad_del(struct esp_soft *es, const struct xk_sa_id *id);
int esp_sad_query(struct esp_soft *es, const struct xk_sa_id *id, struct xk_sa_stats *st);
/* Files pol; on failure it is freed. */
int esp_sad_add_policy(struct esp_soft *es, struct esp_pol *pol);
int esp_sad_del_policy(struct esp_soft *es, const struct xk_policy *p);
/* Every SA, policy and reservation. */
int esp_sad_flush(struct esp_soft *es);

/* Time lifetimes, reaping, stale reservations, as at monotonic second now. */
void esp_sad_tick(struct esp_soft *es, uint64_t now);

#endif
