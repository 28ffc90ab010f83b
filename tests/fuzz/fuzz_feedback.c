/*
 * fuzz_feedback - bounces and complaints: the whole message through the
 * GMime walk, the DSN, text and ARF readers, the classifier and the event
 * writer
 *
 * Every event that comes out must be JSON no larger than the SES limit.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>

#include "common/feedback.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feedback fb = { 0 };
	struct buf err = BUF_INIT;

	fuzz_quiet();
	feedback_init();
	if (feedback_parse((const char *)data, size, &fb, &err) > FEEDBACK_NOT_FEEDBACK) {
		for (size_t i = 0; i < feedback_event_count(&fb); i++) {
			size_t len = 0;
			char *event = feedback_event_json(&fb, NULL, FEEDBACK_SHAPE_EVENT, i, &len);
			json_t *parsed = event ? json_loadb(event, len, 0, NULL) : NULL;

			if (event == NULL || parsed == NULL || len > FEEDBACK_MAX_EVENT)
				abort(); /* every event must be JSON within the limit */
			json_decref(parsed);
			free(event);
		}
	}
	feedback_free(&fb);
	buf_free(&err);
	return 0;
}
