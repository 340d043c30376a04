/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's internals that white-box tests reach past esp_soft.h: the
 * shared state, the tables, the queues and the one-packet datapath.  The
 * library's own files include only the headers they use.  Not installed.
 */
#ifndef ESP_SOFT_INT_H
#define ESP_SOFT_INT_H

#include "esp-soft/datapath.h"
#include "esp-soft/esp.h"
#include "esp-soft/queue.h"
#include "esp-soft/sad.h"
#include "esp-soft/state.h"

#endif
