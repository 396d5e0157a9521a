#include "core/err.h"

#include <string.h>

struct err_row {
	int code;
	const char *name;
	int http;
};

static const struct err_row rows[] = {
#define X(sym, name, http) {ERR_##sym, name, http},
	ERR_LIST(X)
#undef X
};

static const struct err_row *find(int e)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (rows[i].code == e)
			return &rows[i];
	return NULL;
}

const char *err_name(int e)
{
	if (e == 0)
		return "ok";
	const struct err_row *r = find(e);
	return r ? r->name : "internal_error";
}

int err_http(int e)
{
	const struct err_row *r = find(e);
	return r ? r->http : 200;
}

int err_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (strcmp(rows[i].name, name) == 0)
			return rows[i].code;
	return 0;
}
