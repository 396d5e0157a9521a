/* Envelope ids that name their item's slot (see apps_pendset in
 * apps_internal.h). */
#include "rt/apps_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static const char hex[] = "0123456789abcdef";

void apps__pend_id(apps_pendset *s, apps_item *it, uint64_t r1, uint64_t r2)
{
	uint32_t slot;
	if (s->nfree) {
		slot = s->free[--s->nfree];
	} else {
		if (s->top == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			s->slots = xrealloc(s->slots, s->cap * sizeof *s->slots);
			s->free = xrealloc(s->free, s->cap * sizeof *s->free);
		}
		slot = s->top++;
	}
	s->slots[slot] = it;
	s->n++;
	it->pset = s;
	it->pend_slot = slot;
	/* xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: the slot, then 90 random bits
	 * (the version nibble 4 and the variant bits 10 fixed). */
	unsigned char r[16];
	for (int i = 0; i < 4; i++)
		r[i] = (unsigned char)(slot >> (24 - 8 * i));
	memcpy(r + 4, &r1, 6);
	memcpy(r + 10, &r2, 6);
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	char *o = it->envelope_id;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[r[i] >> 4];
		*o++ = hex[r[i] & 15];
	}
	*o = '\0';
}

apps_item *apps__pend_get(const apps_pendset *s, const char *id)
{
	uint32_t slot = 0;
	for (int i = 0; i < 8; i++) {
		char c = id[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return NULL;
		slot = slot << 4 | (uint32_t)v;
	}
	if (slot >= s->top || !s->slots[slot])
		return NULL;
	apps_item *it = s->slots[slot];
	return strcmp(it->envelope_id, id) == 0 ? it : NULL;
}

void apps__pend_drop(apps_item *it)
{
	apps_pendset *s = it->pset;
	if (!s)
		return;
	s->slots[it->pend_slot] = NULL;
	s->free[s->nfree++] = it->pend_slot;
	s->n--;
	it->pset = NULL;
}

void apps__pend_release(apps_pendset *s)
{
	for (uint32_t i = 0; i < s->top; i++)
		if (s->slots[i])
			s->slots[i]->pset = NULL;
	free(s->slots);
	free(s->free);
	memset(s, 0, sizeof *s);
}
