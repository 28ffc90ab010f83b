/*
 * webhook_dispatch - deliver the spool's events to webhook endpoints; see
 * webhook_dispatch.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/spool.h"
#include "common/timefmt.h"
#include "common/webhook_dispatch.h"
#include "common/xalloc.h"

/* An event is read whole into memory; the spool keeps them far smaller. */
#define EVENT_MAX_BYTES (4L * 1024 * 1024)
/* Wake at least this often, whatever inotify says (ms). */
#define IDLE_WAKE_MS 60000

/* An event an endpoint refused or could not take yet. */
struct retry {
	char name[SPOOL_NAME_MAX];
	bool redrive;
	unsigned attempts;
	long long due_ms; /* monotonic */
	unsigned long pass;
};

struct endpoint_state {
	const struct webhook_endpoint *ep;
	CURL *curl;
	int done_fd, redrive_fd, dead_fd;
	int state_fd;        /* SPOOL/webhook/E */
	bool confirmed;      /* no handshake needed, or it was answered */
	unsigned handshakes; /* unanswered SubscriptionConfirmations in a row */
	struct retry *retries;
	size_t retry_count;
	long long hold_until_ms;          /* unreachable: wait for the oldest event's retry */
	char curl_error[CURL_ERROR_SIZE]; /* curl's own words for the last failure */
};

struct webhook_dispatcher {
	char *dir;
	int new_fd, cur_fd;
	struct endpoint_state *eps;
	size_t count;
	unsigned long pass;
	long long next_due_ms;
};

enum attempt_result {
	ATTEMPT_DELIVERED,
	ATTEMPT_REFUSED,     /* an HTTP answer other than 2xx */
	ATTEMPT_UNREACHABLE, /* no HTTP answer at all */
	ATTEMPT_UNUSABLE,    /* the event cannot become a notification: never will */
};

static long long
clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
webhook_valid_name(const char *name)
{
	return *name != '\0' && *name != '.' && strchr(name, '/') == NULL &&
	       strlen(name) < SPOOL_NAME_MAX;
}

/* mkdir -p of one level below an open directory, then open it. */
static int
open_subdir(int parent, const char *name, struct buf *err, const char *what)
{
	int fd;

	if (mkdirat(parent, name, 0750) < 0 && errno != EEXIST) {
		buf_printf(err, "%s/%s: %s", what, name, strerror(errno));
		return -1;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		buf_printf(err, "%s/%s: %s", what, name, strerror(errno));
	return fd;
}

static int
open_path_dir(const char *dir, const char *sub, struct buf *err)
{
	int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (top < 0) {
		buf_printf(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open_subdir(top, sub, err, dir);
	close(top);
	return fd;
}

static int
close_fd(int fd)
{
	return fd >= 0 ? close(fd) : 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The event names in a directory, sorted (oldest first); NULL-terminated. */
static char **
list_names(int dirfd, size_t *count)
{
	int fd = dup(dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	struct dirent *de;
	size_t n = 0;

	if (dir == NULL) {
		close_fd(fd);
		*count = 0;
		return xcalloc(1, sizeof(char *));
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (!webhook_valid_name(de->d_name))
			continue;
		names = xgrow(names, n + 2, sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	names = xgrow(names, n + 1, sizeof(char *));
	names[n] = NULL;
	qsort(names, n, sizeof(char *), name_cmp);
	*count = n;
	return names;
}

static void
free_names(char **names)
{
	for (char **p = names; *p != NULL; p++)
		free(*p);
	free(names);
}

static bool
exists_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The whole event file; NULL with a reason. */
static char *
read_event(int dirfd, const char *name, size_t *len, struct buf *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct buf data = BUF_INIT;
	char chunk[8192];
	ssize_t n;

	if (fd < 0) {
		buf_printf(err, "%s: %s", name, strerror(errno));
		return NULL;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && data.len <= EVENT_MAX_BYTES)
		buf_append(&data, chunk, (size_t)n);
	close(fd);
	if (n < 0 || data.len > EVENT_MAX_BYTES) {
		buf_printf(err, "%s: %s", name, n < 0 ? strerror(errno) : "too large");
		buf_free(&data);
		return NULL;
	}
	*len = data.len;
	return data.data != NULL ? data.data : xstrdup("");
}

static size_t
discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

static CURL *
endpoint_curl(const struct webhook_endpoint *ep, char error[CURL_ERROR_SIZE])
{
	CURL *c = curl_easy_init();

	if (c == NULL)
		log_panic("curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, ep->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* SNS does not follow redirects; neither do we (a 3xx is a failure). */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, ep->timeout_seconds);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, ep->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, ep->tls_verify ? 2L : 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mailward/" PACKAGE_VERSION " (SNS-compatible)");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
	return c;
}

static struct curl_slist *
sns_headers(const struct webhook_endpoint *ep, const char *type, const char *message_id)
{
	struct curl_slist *h = NULL;
	char *line;

	h = curl_slist_append(h, "Content-Type: text/plain; charset=UTF-8");
	line = xasprintf("x-amz-sns-message-type: %s", type);
	h = curl_slist_append(h, line);
	free(line);
	line = xasprintf("x-amz-sns-message-id: %s", message_id);
	h = curl_slist_append(h, line);
	free(line);
	line = xasprintf("x-amz-sns-topic-arn: %s", ep->topic.topic_arn);
	h = curl_slist_append(h, line);
	free(line);
	/* No "Expect: 100-continue" round trip for larger bodies. */
	h = curl_slist_append(h, "Expect:");
	if (h == NULL)
		log_panic("out of memory");
	return h;
}

/* POST body as an SNS message of that type; the HTTP status in *status. */
static CURLcode
post(struct endpoint_state *es, const char *type, const char *message_id, const struct buf *body,
     long *status)
{
	struct curl_slist *headers = sns_headers(es->ep, type, message_id);
	CURLcode rc;

	*status = 0;
	curl_easy_setopt(es->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(es->curl, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(es->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	es->curl_error[0] = '\0';
	rc = curl_easy_perform(es->curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(es->curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(es->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	return rc;
}

/* POST one event to one endpoint. */
static enum attempt_result
attempt(struct endpoint_state *es, int dirfd, const char *name)
{
	struct buf err = BUF_INIT, body = BUF_INIT;
	char message_id[SNS_UUID_LEN + 1];
	enum attempt_result result;
	long status = 0;
	size_t len;
	CURLcode rc;
	char *event = read_event(dirfd, name, &len, &err);

	if (event == NULL ||
	    sns_notification(&es->ep->topic, name, event, len, &body, message_id, &err) < 0) {
		log_error(NULL, "webhook %s: event %s cannot be sent: %s", es->ep->name, name,
		          buf_str(&err));
		free(event);
		buf_free(&err);
		buf_free(&body);
		return ATTEMPT_UNUSABLE;
	}
	rc = post(es, "Notification", message_id, &body, &status);
	if (rc != CURLE_OK) {
		log_warning(NULL, "webhook %s: event %s: %s", es->ep->name, name,
		            es->curl_error[0] != '\0' ? es->curl_error : curl_easy_strerror(rc));
		result = ATTEMPT_UNREACHABLE;
	} else if (status < 200 || status > 299) {
		log_warning(NULL, "webhook %s: event %s: HTTP status %ld", es->ep->name, name,
		            status);
		result = ATTEMPT_REFUSED;
	} else {
		log_info(NULL, "webhook %s: event %s delivered (MessageId %s)", es->ep->name, name,
		         message_id);
		result = ATTEMPT_DELIVERED;
	}
	free(event);
	buf_free(&body);
	buf_free(&err);
	return result;
}

static struct retry *
retry_find(struct endpoint_state *es, const char *name, bool redrive)
{
	for (size_t i = 0; i < es->retry_count; i++)
		if (es->retries[i].redrive == redrive && strcmp(es->retries[i].name, name) == 0)
			return &es->retries[i];
	return NULL;
}

static struct retry *
retry_add(struct endpoint_state *es, const char *name, bool redrive)
{
	struct retry *r;

	es->retries = xgrow(es->retries, es->retry_count + 1, sizeof(*es->retries));
	r = &es->retries[es->retry_count++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->redrive = redrive;
	return r;
}

static void
retry_drop(struct endpoint_state *es, struct retry *r)
{
	if (r != NULL)
		*r = es->retries[--es->retry_count];
}

/* Forget events that left the queues by other hands (acked, removed). */
static void
retry_prune(struct endpoint_state *es, unsigned long pass)
{
	for (size_t i = 0; i < es->retry_count;)
		if (es->retries[i].pass != pass)
			es->retries[i] = es->retries[--es->retry_count];
		else
			i++;
}

/* retry_min_ms doubled per attempt up to retry_max_ms, then drawn in [half, all]. */
static long long
backoff_ms(const struct webhook_endpoint *ep, unsigned attempts)
{
	long long delay = ep->retry_min_ms;
	uint32_t r = 0;

	for (unsigned i = 1; i < attempts && delay < ep->retry_max_ms; i++)
		delay *= 2;
	if (delay > ep->retry_max_ms)
		delay = ep->retry_max_ms;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)clock_ms(CLOCK_MONOTONIC);
	return delay / 2 + (long long)(r % (uint32_t)(delay / 2 + 1));
}

/* Milliseconds since the event was made (its name) or redriven (its mtime). */
static long long
event_age_ms(int dirfd, const char *name, bool redrive)
{
	struct stat st;
	long long made_ms;

	if (redrive) {
		if (fstatat(dirfd, name, &st, 0) < 0)
			return 0;
		made_ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	} else {
		made_ms = strtoll(name, NULL, 10) * 1000;
	}
	return clock_ms(CLOCK_REALTIME) - made_ms;
}

/* A copy of the event in another directory, for when a hard link cannot be made. */
static int
copy_event(int from_fd, int to_fd, const char *name)
{
	struct buf err = BUF_INIT;
	char tmp[SPOOL_NAME_MAX + 1];
	size_t len;
	char *data = read_event(from_fd, name, &len, &err);
	int fd, rc = -1;

	buf_free(&err);
	if (data == NULL)
		return -1;
	snprintf(tmp, sizeof(tmp), ".%s", name);
	fd = openat(to_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0) {
		rc = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
		close(fd);
		if (rc == 0)
			rc = renameat(to_fd, tmp, to_fd, name);
		if (rc < 0)
			unlinkat(to_fd, tmp, 0);
	}
	free(data);
	return rc;
}

/* Give up on the event for this endpoint: into SPOOL/dead/E/. */
static bool
dead_letter(struct endpoint_state *es, int dirfd, const char *name, bool redrive, unsigned tries)
{
	int rc;

	if (redrive)
		rc = renameat(dirfd, name, es->dead_fd, name);
	else if ((rc = linkat(dirfd, name, es->dead_fd, name, 0)) < 0 && errno != EEXIST)
		rc = copy_event(dirfd, es->dead_fd, name);
	else
		rc = 0;
	if (rc < 0) {
		log_error(NULL, "webhook %s: event %s: cannot move to the dead-letter folder: %s",
		          es->ep->name, name, strerror(errno));
		return false;
	}
	log_warning(NULL, "webhook %s: event %s is a dead letter after %u attempt%s", es->ep->name,
	            name, tries, tries == 1 ? "" : "s");
	return true;
}

/* The endpoint has the event: a marker (new/), or the queue entry goes (redrive). */
static void
mark_delivered(const struct webhook_dispatcher *d, struct endpoint_state *es, int dirfd,
               const char *name, bool redrive)
{
	int fd;

	if (redrive) {
		/* Still in new/ for other endpoints: this one has it now. */
		if (exists_at(d->new_fd, name))
			mark_delivered(d, es, d->new_fd, name, false);
		unlinkat(dirfd, name, 0);
		return;
	}
	fd = openat(es->done_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		log_error(NULL, "webhook %s: event %s: cannot record the delivery: %s",
		          es->ep->name, name, strerror(errno));
	close_fd(fd);
}

static void
note_due(struct webhook_dispatcher *d, long long due_ms)
{
	if (d->next_due_ms < 0 || due_ms < d->next_due_ms)
		d->next_due_ms = due_ms;
}

/* ----------------------------------------------- the subscription handshake */

#define CONFIRMED_FILE "confirmed"

/* Did this endpoint confirm a subscription to its topic (SPOOL/webhook/E/confirmed)? */
static bool
confirmation_recorded(const struct endpoint_state *es)
{
	char text[4096];
	int fd = openat(es->state_fd, CONFIRMED_FILE, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	size_t arn = strlen(es->ep->topic.topic_arn);

	close_fd(fd);
	if (n < 0)
		return false;
	text[n] = '\0';
	return (size_t)n > arn && strncmp(text, es->ep->topic.topic_arn, arn) == 0 &&
	       text[arn] == '\n';
}

static void
confirmation_record(const struct endpoint_state *es, const char *message_id)
{
	char stamp[TIMEFMT_ISO8601_LEN];
	struct timespec now;
	char *text;
	int fd = openat(es->state_fd, "." CONFIRMED_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	                0640);
	bool ok;

	clock_gettime(CLOCK_REALTIME, &now);
	timefmt_iso8601(&now, stamp, sizeof(stamp));
	text = xasprintf("%s\n%s %s\n", es->ep->topic.topic_arn, stamp, message_id);
	ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && fsync(fd) == 0;
	ok = close_fd(fd) == 0 && ok &&
	     renameat(es->state_fd, "." CONFIRMED_FILE, es->state_fd, CONFIRMED_FILE) == 0;
	if (!ok) /* it is asked again at the next start: harmless */
		log_warning(NULL, "webhook %s: confirmation not recorded: %s", es->ep->name,
		            strerror(errno));
	free(text);
}

/* POST a SubscriptionConfirmation; true when the endpoint answered 2xx. */
static bool
handshake(struct endpoint_state *es)
{
	struct buf body = BUF_INIT, err = BUF_INIT;
	char message_id[SNS_UUID_LEN + 1];
	long status = 0;
	CURLcode rc = CURLE_OK;

	if (sns_subscription_confirmation(&es->ep->topic, es->ep->url, &body, message_id, &err) < 0)
		log_error(NULL, "webhook %s: SubscriptionConfirmation not made: %s", es->ep->name,
		          buf_str(&err));
	else
		rc = post(es, "SubscriptionConfirmation", message_id, &body, &status);
	if (rc != CURLE_OK)
		log_warning(NULL, "webhook %s: SubscriptionConfirmation: %s", es->ep->name,
		            es->curl_error[0] != '\0' ? es->curl_error : curl_easy_strerror(rc));
	else if (status >= 200 && status <= 299)
		es->confirmed = true;
	else if (status != 0)
		log_warning(NULL, "webhook %s: SubscriptionConfirmation: HTTP status %ld",
		            es->ep->name, status);
	if (es->confirmed) {
		log_info(NULL, "webhook %s: subscription to %s confirmed (MessageId %s)",
		         es->ep->name, es->ep->topic.topic_arn, message_id);
		confirmation_record(es, message_id);
	}
	buf_free(&body);
	buf_free(&err);
	return es->confirmed;
}

/* May events go to this endpoint?  If not, when to ask again is noted. */
static bool
subscribed(struct webhook_dispatcher *d, struct endpoint_state *es, long long now)
{
	if (es->confirmed)
		return true;
	if (es->hold_until_ms <= now && handshake(es)) {
		es->handshakes = 0;
		es->hold_until_ms = 0;
		return true;
	}
	if (es->hold_until_ms <= now)
		es->hold_until_ms =
		    clock_ms(CLOCK_MONOTONIC) + backoff_ms(es->ep, ++es->handshakes);
	note_due(d, es->hold_until_ms);
	return false;
}

/* Try the event on one endpoint if it is due; true when the endpoint is finished with it. */
static bool
deliver(struct webhook_dispatcher *d, struct endpoint_state *es, int dirfd, const char *name,
        bool redrive)
{
	const struct webhook_endpoint *ep = es->ep;
	struct retry *r = retry_find(es, name, redrive);
	long long now = clock_ms(CLOCK_MONOTONIC);
	enum attempt_result result;
	unsigned tries;

	if (r != NULL)
		r->pass = d->pass;
	if (!subscribed(d, es, now))
		return false;
	if (r != NULL && r->due_ms > now) {
		note_due(d, r->due_ms);
		return false;
	}
	if (es->hold_until_ms > now) {
		note_due(d, es->hold_until_ms);
		return false;
	}
	result = attempt(es, dirfd, name);
	if (result == ATTEMPT_DELIVERED) {
		es->hold_until_ms = 0;
		mark_delivered(d, es, dirfd, name, redrive);
		retry_drop(es, r);
		return true;
	}
	if (r == NULL)
		r = retry_add(es, name, redrive);
	r->pass = d->pass;
	tries = ++r->attempts;
	if (result == ATTEMPT_UNUSABLE || tries >= (unsigned)ep->max_attempts ||
	    event_age_ms(dirfd, name, redrive) >= ep->max_hours * 3600000LL) {
		if (dead_letter(es, dirfd, name, redrive, tries)) {
			retry_drop(es, r);
			return true;
		}
	}
	r->due_ms = clock_ms(CLOCK_MONOTONIC) + backoff_ms(ep, tries);
	if (result == ATTEMPT_UNREACHABLE)
		es->hold_until_ms = r->due_ms;
	note_due(d, r->due_ms);
	return false;
}

/* Has this endpoint finished with new/NAME (delivered, dead, or redriven on its own)? */
static bool
endpoint_finished(const struct endpoint_state *es, const char *name)
{
	return exists_at(es->done_fd, name) || exists_at(es->dead_fd, name) ||
	       exists_at(es->redrive_fd, name);
}

static void
dispatch_new(struct webhook_dispatcher *d)
{
	size_t n;
	char **names = list_names(d->new_fd, &n);

	for (size_t i = 0; i < n; i++) {
		bool all = true;
		for (size_t e = 0; e < d->count; e++)
			if (!endpoint_finished(&d->eps[e], names[i]) &&
			    !deliver(d, &d->eps[e], d->new_fd, names[i], false))
				all = false;
		if (!all)
			continue;
		if (renameat(d->new_fd, names[i], d->cur_fd, names[i]) < 0) {
			log_error(NULL, "webhook: event %s: cannot move to cur/: %s", names[i],
			          strerror(errno));
			continue;
		}
		for (size_t e = 0; e < d->count; e++)
			unlinkat(d->eps[e].done_fd, names[i], 0);
	}
	free_names(names);
}

static void
dispatch_redriven(struct webhook_dispatcher *d, struct endpoint_state *es)
{
	size_t n;
	char **names = list_names(es->redrive_fd, &n);

	for (size_t i = 0; i < n; i++)
		deliver(d, es, es->redrive_fd, names[i], true);
	free_names(names);
}

long
webhook_dispatch_pass(struct webhook_dispatcher *d)
{
	long long now;

	d->pass++;
	d->next_due_ms = -1;
	dispatch_new(d);
	for (size_t e = 0; e < d->count; e++) {
		dispatch_redriven(d, &d->eps[e]);
		retry_prune(&d->eps[e], d->pass);
	}
	if (d->next_due_ms < 0)
		return -1;
	now = clock_ms(CLOCK_MONOTONIC);
	return d->next_due_ms > now ? (long)(d->next_due_ms - now) : 0;
}

/* Markers of events no longer in new/ (a crash between the move to cur/ and their removal). */
static void
sweep_markers(struct webhook_dispatcher *d, struct endpoint_state *es)
{
	size_t n;
	char **names = list_names(es->done_fd, &n);

	for (size_t i = 0; i < n; i++)
		if (!exists_at(d->new_fd, names[i]))
			unlinkat(es->done_fd, names[i], 0);
	free_names(names);
}

static int
endpoint_open(struct webhook_dispatcher *d, struct endpoint_state *es,
              const struct webhook_endpoint *ep, struct buf *err)
{
	int webhook_fd = -1, ep_fd = -1, dead_fd = -1;

	es->ep = ep;
	es->done_fd = es->redrive_fd = es->dead_fd = es->state_fd = -1;
	if (!webhook_valid_name(ep->name)) {
		buf_printf(err, "webhook name \"%s\" cannot name a directory", ep->name);
		return -1;
	}
	if ((webhook_fd = open_path_dir(d->dir, "webhook", err)) >= 0 &&
	    (ep_fd = open_subdir(webhook_fd, ep->name, err, "webhook")) >= 0 &&
	    (es->done_fd = open_subdir(ep_fd, "done", err, ep->name)) >= 0 &&
	    (es->redrive_fd = open_subdir(ep_fd, "redrive", err, ep->name)) >= 0 &&
	    (dead_fd = open_path_dir(d->dir, "dead", err)) >= 0)
		es->dead_fd = open_subdir(dead_fd, ep->name, err, "dead");
	close_fd(webhook_fd);
	close_fd(dead_fd);
	es->state_fd = ep_fd;
	es->confirmed = !ep->confirm_subscription || (ep_fd >= 0 && confirmation_recorded(es));
	return es->dead_fd < 0 ? -1 : 0;
}

static void
endpoint_close(struct endpoint_state *es)
{
	close_fd(es->done_fd);
	close_fd(es->redrive_fd);
	close_fd(es->dead_fd);
	close_fd(es->state_fd);
	if (es->curl != NULL)
		curl_easy_cleanup(es->curl);
	free(es->retries);
}

struct webhook_dispatcher *
webhook_dispatcher_new(const char *spool_dir, const struct webhook_endpoint *endpoints,
                       size_t count, struct buf *err)
{
	struct webhook_dispatcher *d = xcalloc(1, sizeof(*d));

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		log_panic("curl_global_init failed");
	d->dir = xstrdup(spool_dir);
	d->eps = xcalloc(count + 1, sizeof(*d->eps));
	d->new_fd = open_path_dir(spool_dir, "new", err);
	d->cur_fd = d->new_fd < 0 ? -1 : open_path_dir(spool_dir, "cur", err);
	if (d->cur_fd < 0) {
		webhook_dispatcher_free(d);
		return NULL;
	}
	for (; d->count < count; d->count++) {
		if (endpoint_open(d, &d->eps[d->count], &endpoints[d->count], err) < 0) {
			d->count++;
			webhook_dispatcher_free(d);
			return NULL;
		}
		d->eps[d->count].curl =
		    endpoint_curl(&endpoints[d->count], d->eps[d->count].curl_error);
		sweep_markers(d, &d->eps[d->count]);
	}
	return d;
}

void
webhook_dispatcher_free(struct webhook_dispatcher *d)
{
	if (d == NULL)
		return;
	for (size_t e = 0; e < d->count; e++)
		endpoint_close(&d->eps[e]);
	close_fd(d->new_fd);
	close_fd(d->cur_fd);
	free(d->eps);
	free(d->dir);
	free(d);
	curl_global_cleanup();
}

/* Watch new/ and the redrive queues, so a new event goes out at once. */
static int
watch_queues(const struct webhook_dispatcher *d)
{
	const uint32_t mask = IN_CREATE | IN_MOVED_TO;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	char *path;

	if (fd < 0)
		return -1;
	path = xasprintf("%s/new", d->dir);
	inotify_add_watch(fd, path, mask);
	free(path);
	for (size_t e = 0; e < d->count; e++) {
		path = xasprintf("%s/webhook/%s/redrive", d->dir, d->eps[e].ep->name);
		inotify_add_watch(fd, path, mask);
		free(path);
	}
	return fd;
}

void
webhook_dispatch_run(struct webhook_dispatcher *d, int stop_fd)
{
	int watch_fd = watch_queues(d);
	char drain[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		long wait = webhook_dispatch_pass(d);
		struct pollfd fds[2] = { { .fd = stop_fd, .events = POLLIN },
			                 { .fd = watch_fd, .events = POLLIN } };
		/* Without inotify, look again every second. */
		long idle = watch_fd >= 0 ? IDLE_WAKE_MS : 1000;

		if (wait < 0 || wait > idle)
			wait = idle;
		if (poll(fds, watch_fd >= 0 ? 2 : 1, (int)wait) < 0 && errno != EINTR)
			break;
		if (fds[0].revents != 0)
			break;
		if (watch_fd >= 0 && fds[1].revents != 0)
			while (read(watch_fd, drain, sizeof(drain)) > 0)
				continue;
	}
	close_fd(watch_fd);
}

long
webhook_redrive(const char *spool_dir, const char *endpoint, struct buf *err)
{
	struct webhook_dispatcher d = { .dir = (char *)spool_dir };
	struct webhook_endpoint ep = { .name = endpoint };
	struct endpoint_state es = { 0 };
	struct timespec now[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_NOW } };
	char **names;
	size_t n;
	long moved = 0;

	if (endpoint_open(&d, &es, &ep, err) < 0) {
		endpoint_close(&es);
		return -1;
	}
	names = list_names(es.dead_fd, &n);
	for (size_t i = 0; i < n; i++) {
		/* max_hours of a redriven event counts from now. */
		utimensat(es.dead_fd, names[i], now, 0);
		if (renameat(es.dead_fd, names[i], es.redrive_fd, names[i]) == 0)
			moved++;
		else if (err->len == 0)
			buf_printf(err, "%s: %s", names[i], strerror(errno));
	}
	free_names(names);
	endpoint_close(&es);
	return err->len > 0 ? -1 : moved;
}
