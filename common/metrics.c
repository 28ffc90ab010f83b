/*
 * metrics - a lock-free registry and the exposition format; see metrics.h.
 *
 * A slot goes EMPTY -> CLAIMED (one thread writes its key) -> READY, and
 * never back, so a pointer to a READY slot stays good for the registry's
 * life and updates are plain atomic adds on it.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h> /* isnan, isinf: macros, no libm */
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "common/xalloc.h"

#define DEFAULT_MAX_SERIES 256

enum slot_state { SLOT_EMPTY, SLOT_CLAIMED, SLOT_READY };

struct series {
	atomic_int state;
	uint64_t hash;
	char *key; /* the label values, each ending in NUL */
	size_t key_len;
	_Atomic int64_t value;     /* counter or gauge */
	_Atomic uint64_t sum_bits; /* histogram: the sum, as the bits of a double */
	_Atomic uint64_t *buckets; /* histogram: per bucket, not cumulative; +Inf last */
};

struct family_table {
	const struct metrics_family *def;
	size_t label_count;
	size_t max_series;
	size_t capacity; /* a power of two, over twice max_series */
	atomic_size_t used;
	struct series *slots;
};

struct metrics {
	struct family_table *families;
	size_t count;
};

static size_t
label_count(const struct metrics_family *def)
{
	size_t n = 0;

	while (n < METRICS_MAX_LABELS && def->labels[n] != NULL)
		n++;
	return n;
}

struct metrics *
metrics_new(const struct metrics_family *families, size_t count)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->families = xcalloc(count, sizeof(*m->families));
	m->count = count;
	for (size_t i = 0; i < count; i++) {
		struct family_table *t = &m->families[i];
		t->def = &families[i];
		t->label_count = label_count(&families[i]);
		t->max_series =
		    families[i].max_series ? families[i].max_series : DEFAULT_MAX_SERIES;
		t->capacity = 16;
		while (t->capacity < 2 * (t->max_series + 1))
			t->capacity *= 2;
		t->slots = xcalloc(t->capacity, sizeof(*t->slots));
	}
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->count; i++) {
		for (size_t s = 0; s < m->families[i].capacity; s++) {
			free(m->families[i].slots[s].key);
			free((void *)m->families[i].slots[s].buckets);
		}
		free(m->families[i].slots);
	}
	free(m->families);
	free(m);
}

/* The key of a label set; values too long (or NULL) become "other". */
static size_t
make_key(const struct family_table *t, const char *const *values, char *key, size_t size)
{
	size_t len = 0;

	for (size_t i = 0; i < t->label_count; i++) {
		const char *v = values != NULL && values[i] != NULL ? values[i] : METRICS_OTHER;
		size_t n = strlen(v);
		if (n >= METRICS_VALUE_MAX) {
			v = METRICS_OTHER;
			n = strlen(v);
		}
		if (len + n + 1 > size)
			break; /* cannot happen: size allows every value at its longest */
		memcpy(key + len, v, n + 1);
		len += n + 1;
	}
	return len;
}

static size_t
overflow_key(const struct family_table *t, char *key, size_t size)
{
	return make_key(t, NULL, key, size);
}

/* FNV-1a: label sets are few and chosen by us, nothing needs keying. */
static uint64_t
hash_key(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	return h;
}

static void
fill_slot(const struct family_table *t, struct series *s, uint64_t hash, const char *key,
          size_t len)
{
	s->hash = hash;
	s->key = xmalloc(len + 1);
	memcpy(s->key, key, len);
	s->key[len] = '\0';
	s->key_len = len;
	if (t->def->type == METRICS_HISTOGRAM)
		s->buckets = xcalloc(t->def->bucket_count + 1, sizeof(*s->buckets));
	atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
}

static bool
slot_matches(struct series *s, uint64_t hash, const char *key, size_t len)
{
	int state;

	while ((state = atomic_load_explicit(&s->state, memory_order_acquire)) == SLOT_CLAIMED)
		sched_yield(); /* another thread is writing its key: a few instructions */
	return state == SLOT_READY && s->hash == hash && s->key_len == len &&
	       memcmp(s->key, key, len) == 0;
}

/*
 * The slot of a key, claimed if new.  limited: a new key counts against
 * max_series (the overflow key does not, so it always finds room).
 */
static struct series *
find_slot(struct family_table *t, const char *key, size_t len, bool limited, bool *full)
{
	uint64_t hash = hash_key(key, len);
	size_t mask = t->capacity - 1, i = (size_t)hash & mask;
	bool reserved = false;

	*full = false;
	for (size_t probes = 0; probes < t->capacity; probes++, i = (i + 1) & mask) {
		struct series *s = &t->slots[i];
		int expected = SLOT_EMPTY;

		if (slot_matches(s, hash, key, len))
			return s;
		if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_EMPTY)
			continue;
		if (limited && !reserved) {
			if (atomic_fetch_add(&t->used, 1) >= t->max_series) {
				atomic_fetch_sub(&t->used, 1);
				*full = true;
				return NULL;
			}
			reserved = true;
		}
		if (atomic_compare_exchange_strong(&s->state, &expected, SLOT_CLAIMED)) {
			fill_slot(t, s, hash, key, len);
			return s;
		}
		if (slot_matches(s, hash, key, len)) { /* someone else added the same key */
			if (reserved)
				atomic_fetch_sub(&t->used, 1);
			return s;
		}
	}
	return NULL; /* cannot happen: capacity is over twice max_series */
}

static struct series *
series_of(struct metrics *m, size_t family, const char *const *values)
{
	char key[METRICS_MAX_LABELS * (METRICS_VALUE_MAX + 1)];
	struct family_table *t;
	struct series *s;
	size_t len;
	bool full;

	if (m == NULL || family >= m->count)
		return NULL;
	t = &m->families[family];
	len = make_key(t, values, key, sizeof(key));
	s = find_slot(t, key, len, true, &full);
	if (s == NULL && full) {
		len = overflow_key(t, key, sizeof(key));
		s = find_slot(t, key, len, false, &full);
	}
	return s;
}

void
metrics_add(struct metrics *m, size_t family, const char *const *values, uint64_t n)
{
	struct series *s = series_of(m, family, values);

	if (s != NULL)
		atomic_fetch_add_explicit(&s->value, (int64_t)n, memory_order_relaxed);
}

void
metrics_gauge_add(struct metrics *m, size_t family, const char *const *values, int64_t delta)
{
	struct series *s = series_of(m, family, values);

	if (s != NULL)
		atomic_fetch_add_explicit(&s->value, delta, memory_order_relaxed);
}

void
metrics_set(struct metrics *m, size_t family, const char *const *values, int64_t value)
{
	struct series *s = series_of(m, family, values);

	if (s != NULL)
		atomic_store_explicit(&s->value, value, memory_order_relaxed);
}

static void
add_double(_Atomic uint64_t *bits, double value)
{
	uint64_t old = atomic_load_explicit(bits, memory_order_relaxed), new;
	double sum;

	do {
		memcpy(&sum, &old, sizeof(sum));
		sum += value;
		memcpy(&new, &sum, sizeof(new));
	} while (!atomic_compare_exchange_weak_explicit(bits, &old, new, memory_order_relaxed,
	                                                memory_order_relaxed));
}

void
metrics_observe(struct metrics *m, size_t family, const char *const *values, double value)
{
	struct series *s = series_of(m, family, values);
	const struct metrics_family *def;
	size_t i = 0;

	if (s == NULL || s->buckets == NULL)
		return;
	def = m->families[family].def;
	while (i < def->bucket_count && value > def->buckets[i])
		i++;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	add_double(&s->sum_bits, value);
}

int64_t
metrics_value(struct metrics *m, size_t family, const char *const *values)
{
	struct series *s = series_of(m, family, values);

	return s != NULL ? atomic_load_explicit(&s->value, memory_order_relaxed) : 0;
}

/* ------------------------------------------------------------------ the writer */

const char *
metrics_type_name(enum metrics_type type)
{
	switch (type) {
	case METRICS_COUNTER:
		return "counter";
	case METRICS_GAUGE:
		return "gauge";
	case METRICS_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

/* The fewest digits that read back as the same double (15 to 17). */
static void
shortest(double value, char *text, size_t len)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(text, len, "%.*g", digits, value);
		if (strtod(text, NULL) == value)
			return;
	}
}

void
metrics_format_value(double value, char *text, size_t len)
{
	if (isnan(value))
		snprintf(text, len, "NaN");
	else if (isinf(value))
		snprintf(text, len, "%s", value > 0 ? "+Inf" : "-Inf");
	else if (value > -9007199254740992.0 && value < 9007199254740992.0 && /* 2^53 */
	         value == (double)(int64_t)value)
		snprintf(text, len, "%" PRId64, (int64_t)value);
	else
		shortest(value, text, len);
}

/* Backslash and newline always; the double quote too inside a label value. */
static void
put_escaped(struct buf *out, const char *text, bool quote)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\\')
			buf_puts(out, "\\\\");
		else if (*p == '\n')
			buf_puts(out, "\\n");
		else if (*p == '"' && quote)
			buf_puts(out, "\\\"");
		else
			buf_append(out, p, 1);
	}
}

void
metrics_write_header(struct buf *out, const char *name, const char *help, enum metrics_type type)
{
	buf_printf(out, "# HELP %s ", name);
	put_escaped(out, help, false);
	buf_printf(out, "\n# TYPE %s %s\n", name, metrics_type_name(type));
}

static void
put_label(struct buf *out, bool *first, const char *name, const char *value)
{
	buf_printf(out, "%s%s=\"", *first ? "{" : ",", name);
	put_escaped(out, value, true);
	buf_puts(out, "\"");
	*first = false;
}

void
metrics_write_sample(struct buf *out, const char *name, const struct metrics_labels *labels,
                     const char *extra_name, const char *extra_value, double value)
{
	char text[64];
	bool first = true;

	buf_puts(out, name);
	for (size_t i = 0; labels != NULL && i < labels->count; i++)
		put_label(out, &first, labels->names[i], labels->values[i]);
	if (extra_name != NULL)
		put_label(out, &first, extra_name, extra_value);
	if (!first)
		buf_puts(out, "}");
	metrics_format_value(value, text, sizeof(text));
	buf_printf(out, " %s\n", text);
}

/* ------------------------------------------------------------------ rendering */

static int
compare_series(const void *a, const void *b)
{
	const struct series *x = *(const struct series *const *)a;
	const struct series *y = *(const struct series *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	return c != 0 ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* The label values of a key, one pointer each into it. */
static void
split_key(const struct series *s, size_t count, const char **values)
{
	const char *p = s->key;

	for (size_t i = 0; i < count; i++) {
		values[i] = p;
		p += strlen(p) + 1;
	}
}

static void
render_histogram(struct buf *out, const struct metrics_family *def,
                 const struct metrics_labels *labels, struct series *s)
{
	char name[256], le[64];
	uint64_t cumulative = 0, bits = atomic_load(&s->sum_bits);
	double sum;

	snprintf(name, sizeof(name), "%s_bucket", def->name);
	for (size_t i = 0; i <= def->bucket_count; i++) {
		cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		if (i < def->bucket_count)
			metrics_format_value(def->buckets[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		metrics_write_sample(out, name, labels, "le", le, (double)cumulative);
	}
	memcpy(&sum, &bits, sizeof(sum));
	snprintf(name, sizeof(name), "%s_sum", def->name);
	metrics_write_sample(out, name, labels, NULL, NULL, sum);
	snprintf(name, sizeof(name), "%s_count", def->name);
	metrics_write_sample(out, name, labels, NULL, NULL, (double)cumulative);
}

static void
render_family(struct buf *out, const struct family_table *t)
{
	struct series **ready = xcalloc(t->capacity, sizeof(*ready));
	const char *values[METRICS_MAX_LABELS];
	struct metrics_labels labels = { t->def->labels, values, t->label_count };
	size_t n = 0;

	for (size_t i = 0; i < t->capacity; i++)
		if (atomic_load_explicit(&t->slots[i].state, memory_order_acquire) == SLOT_READY)
			ready[n++] = &t->slots[i];
	qsort(ready, n, sizeof(*ready), compare_series);
	metrics_write_header(out, t->def->name, t->def->help, t->def->type);
	for (size_t i = 0; i < n; i++) {
		split_key(ready[i], t->label_count, values);
		if (t->def->type == METRICS_HISTOGRAM)
			render_histogram(out, t->def, &labels, ready[i]);
		else
			metrics_write_sample(out, t->def->name, &labels, NULL, NULL,
			                     (double)atomic_load(&ready[i]->value));
	}
	free(ready);
}

void
metrics_render(struct metrics *m, struct buf *out)
{
	for (size_t i = 0; m != NULL && i < m->count; i++)
		render_family(out, &m->families[i]);
}
