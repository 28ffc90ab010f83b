/*
 * callbacks - the libmilter glue
 *
 * Thin by design: each callback moves what the MTA said into the
 * connection or message context and hands off to a capability module.
 */
#ifndef MW_CALLBACKS_H
#define MW_CALLBACKS_H

#include <stdbool.h>
#include <libmilter/mfapi.h>

#include "milter/services.h"

/* The filter description for smfi_register(); svc must outlive smfi_main(). */
struct smfiDesc *callbacks_filter(const struct services *svc);

#endif
