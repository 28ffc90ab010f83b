/*
 * checks - validators for setting values (one per kind of value)
 */
#ifndef MW_CHECKS_H
#define MW_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

bool check_milter_socket(const char *value, char *err, size_t errlen);
bool check_octal_mode(const char *value, char *err, size_t errlen);
bool check_cidr(const char *value, char *err, size_t errlen);
bool check_domain(const char *value, char *err, size_t errlen);
bool check_address(const char *value, char *err, size_t errlen);
bool check_absolute_path(const char *value, char *err, size_t errlen);
bool check_redis_address(const char *value, char *err, size_t errlen);
bool check_optional_absolute_path(const char *value, char *err, size_t errlen);
bool check_token(const char *value, char *err, size_t errlen);
bool check_nameserver(const char *value, char *err, size_t errlen);
bool check_optional_url(const char *value, char *err, size_t errlen);
bool check_optional_address(const char *value, char *err, size_t errlen);
/* Reputation limits: "0.3%", a window of hours ("24h", "7d"), a duration ("90s", "6h", "0"). */
bool check_rate(const char *value, char *err, size_t errlen);
bool check_window(const char *value, char *err, size_t errlen);
bool check_duration(const char *value, char *err, size_t errlen);

#endif
