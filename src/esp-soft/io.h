/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's threads (worker.c): the TUN device, the sockets, one worker
 * per TUN queue and the housekeeping thread.  Not installed.
 */
#ifndef ESP_SOFT_IO_H
#define ESP_SOFT_IO_H

struct esp_soft;

/* Open the TUN device and the sockets; 0 or a negative errno. */
int esp_io_open(struct esp_soft *es);
/* Start the threads (after esp_io_open); 0 or a negative errno. */
int esp_io_run(struct esp_soft *es);
/* Stop the threads and close everything (also after a failed start). */
void esp_io_stop(struct esp_soft *es);

#endif
