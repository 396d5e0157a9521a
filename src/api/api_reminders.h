/* Reminders (api_reminders.c): the timer that fires them, and /remind. */
#ifndef CANAL_API_API_REMINDERS_H
#define CANAL_API_API_REMINDERS_H
#include <uv.h>

#include "api/api.h"

typedef struct api_reminders api_reminders;
/* Starts firing due reminders (a timer on loop; env borrowed). */
api_reminders *api_reminders_start(api_env *env, uv_loop_t *loop);
/* Stops the timer (before the store closes); frees once fires in flight
 * have been answered. NULL is fine. */
void api_reminders_stop(api_reminders *r);
/* The /remind built-in: "me [to] WHAT WHEN" or "me WHEN to WHAT". */
int api_remind_command(api_ctx *c, channel *ch, const char *text);

#endif
