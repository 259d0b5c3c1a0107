/* SPDX-License-Identifier: MIT */
/* rtk_api_view.h - the REST objects rendered from live's views: one serialiser per object.
 *
 * The session object is also what the channel's hello and session.updated carry
 * (PROTOCOL.md §4: "the same object GET …/active-session returns"), so the channel renders it
 * with rtk_api_view_session too. */
#ifndef RTK_API_VIEW_H
#define RTK_API_VIEW_H

#include "live/rtk_live.h"
#include "store/rtk_store.h"
#include "util/rtk_jw.h"

/* Appends the RealtimeKit session object for |s|. */
void rtk_api_view_session(rtk_jw *w, const rtk_session_view *s);

/* A stored session row as a view (|live| none, minutes from closed_ms). Borrows |row|. */
void rtk_api_view_from_row(const rtk_store_session *row, rtk_session_view *out);

/* Appends the REST poll view (PROTOCOL.md §6): every voter of every option (none when
 * anonymous) and the ids of those who voted. */
void rtk_api_view_poll(rtk_jw *w, const rtk_poll_view *p);

#endif
