/* SPDX-License-Identifier: ISC */
/*
 * The exchanges, each a task (task_*.c): what starts one as initiator,
 * and the responder's entry points.
 */
#ifndef XK_IKE_TASK_H
#define XK_IKE_TASK_H

#include "ike/ike_sa.h"

struct ike_task *task_init_new(void);
struct ike_task *task_auth_new(void);
struct ike_task *task_delete_ike_new(void);
/* The same for ike_engine_terminate: should a rekey replace the SA first, its successor goes too. */
struct ike_task *task_terminate_new(void);
/* retire: the CHILD_SA was replaced; keep its inbound SA a while. */
struct ike_task *task_delete_child_new(uint32_t spi_in, bool retire);
/* A DELETE of the CHILD_SA with this inbound SPI is queued on sa, or out. */
bool task_delete_child_queued(const struct ike_sa *sa, uint32_t spi_in);
/*
 * A DELETE for a CHILD_SA the peer made but we could not keep (no longer
 * here): spi_in is the inbound SPI we had given it.
 */
struct ike_task *task_delete_gone_new(uint32_t spi_in);
/* CREATE_CHILD_SA: rekey the CHILD_SA with this inbound SPI, or (0) a new one. */
struct ike_task *task_child_new(uint32_t old_spi_in);
/*
 * CREATE_CHILD_SA for a new CHILD_SA like the one with this inbound SPI on
 * the SA that this one reauthenticates (same selectors, mode and reqid).
 */
struct ike_task *task_child_copy_new(uint32_t src_spi_in);
/* A new CHILD_SA in place of one lost (child_recreate.c); tells it the outcome. */
struct ike_task *task_child_recreate_new(uint8_t cfg);
/* A new CHILD_SA of the connection's CHILD_SA configuration cfg. */
struct ike_task *task_child_cfg_new(uint8_t cfg);
struct ike_task *task_liveness_new(void);
struct ike_task *task_ike_rekey_new(void);
/*
 * An IKE SA dies: if it is the peer's SA of a collision we have not
 * settled, its CHILD_SAs go back to the SA both rekeyed (ike_sa_kill).
 */
void ike_rekey_sa_gone(struct ike_sa *gone);
/* COLLIDED: the local SPI of the peer's new SA of the collision (else 0). */
uint64_t ike_rekey_collision(const struct ike_sa *sa);
/* Responder: a CREATE_CHILD_SA whose SA payload proposes an IKE SA. */
int task_ike_rekey_respond(struct ike_sa *sa, const struct ike_msg *req,
			   struct ike_mb *mb, uint16_t *notify);

/* Responder entry points: build the response for one request. */
void task_init_respond(struct ike_engine *e, const struct ike_msg *msg,
		       const struct xk_addr *local, const struct xk_addr *remote);
/* 0: response built; <0: send an error notify `*notify` (0: drop). */
int task_auth_respond(struct ike_sa *sa, const struct ike_msg *req,
		      struct ike_mb *mb, uint16_t *notify);
int task_info_respond(struct ike_sa *sa, const struct ike_msg *req,
		      struct ike_mb *mb, uint16_t *notify);
int task_child_respond(struct ike_sa *sa, const struct ike_msg *req,
		       struct ike_mb *mb, uint16_t *notify);

#endif
