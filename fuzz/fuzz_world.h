/* SPDX-License-Identifier: MIT */
/* fuzz_world.h - a whole server in one process for the harnesses that need one: a temporary
 * SQLite store with an account, API token, app, meeting and participants, the live layer, and
 * optionally the real HTTP server on 127.0.0.1. */
#ifndef FUZZ_WORLD_H
#define FUZZ_WORLD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "api/rtk_api.h"
#include "auth/rtk_token.h"
#include "live/rtk_live.h"
#include "net/rtk_http.h"
#include "persist/rtk_persist.h"

/* Fixed ids, so that seeds and dictionaries can name them. The account, app and API token are
 * made by the store and differ per world: raw-HTTP inputs name them with the placeholders
 * below, which fuzz_world_expand replaces. */
#define FW_MEETING "5f1d7a52-2d1c-4c8e-9a53-8b2b6e0f0a01"
#define FW_NPART 3
#define FW_PART0 "7c0e3c1a-1b2d-4e5f-8a9b-0c1d2e3f4a50"
#define FW_PART1 "7c0e3c1a-1b2d-4e5f-8a9b-0c1d2e3f4a51"
#define FW_PART2 "7c0e3c1a-1b2d-4e5f-8a9b-0c1d2e3f4a52"
#define FW_CUSTOM0 "fuzz-ann"
#define FW_CUSTOM1 "fuzz-bob"
#define FW_CUSTOM2 "fuzz-cy"

/* Placeholders of raw requests: "$ACC" account id, "$APP" app id, "$TOK" API token secret,
 * "$PTK0".."$PTK2" a valid participant token of participant 0..2. */

typedef struct fuzz_world {
    char dir[256];
    uv_loop_t loop;
    rtk_ctx ctx;
    char account[33];
    char app[37];
    char token_id[33];
    char api_token[RTK_API_TOKEN_LEN + 1];
    char *ptoken[FW_NPART];
    rtk_persist *persist;
    uv_prepare_t turn;     /* the loop turn: the store's commit, then the channels' writes */
    rtk_http_server *http; /* NULL unless started with serve = 1 */
    int port;
} fuzz_world;

extern const char *const fuzz_world_parts[FW_NPART];

/* Builds the world in a new folder under $TMPDIR (or /tmp). |tr| is the live layer's transport
 * (rtk_channel_transport for a real server). Flood control is off (msg_rate -1) and the API
 * and handshake rate limits are off. |serve| starts the HTTP server with the limits rtkd
 * serve uses. Aborts on any failure: a harness without its world is useless. */
void fuzz_world_open(fuzz_world *w, const rtk_live_transport *tr, int serve);

/* Stops everything, runs the loop until every handle is closed, removes the folder. */
void fuzz_world_close(fuzz_world *w);

/* Joins participant |i| (0..FW_NPART-1) to the live meeting through connection |conn|. */
rtk_peer *fuzz_world_join(fuzz_world *w, int i, void *conn);

/* Copies |in|[0..|len|) to a new buffer with every placeholder replaced; *out_len gets its
 * length. The caller frees it. */
char *fuzz_world_expand(const fuzz_world *w, const uint8_t *in, size_t len, size_t *out_len);

/* Copies |in|[0..|len|) to a new NUL-terminated buffer with each of the |nkeys| strings
 * keys[i] (each starting with '$'; none a prefix of a later one) replaced by vals[i]. *out_len
 * gets the length. The caller frees it. */
char *fuzz_expand(const uint8_t *in, size_t len, const char *const *keys, const char *const *vals,
                  size_t nkeys, size_t *out_len);

/* Runs one non-blocking turn of the loop (the store's completions and commit included). */
void fuzz_world_turn(fuzz_world *w);

/* A fixed signing key for participant tokens. */
extern const uint8_t fuzz_world_key[32];

#endif
