/* Tunables.  Every tunable is an environment variable TIDE_<NAME>, declared
 * once with TIDE_PARAM_DEFINE next to the code that uses it, with its type,
 * default and description.  The declaration drops a pointer into the
 * "tide_params" linker section, so tide_info (and MPI_T) can list every
 * tunable without a hand-kept table.  Values are parsed on first use and
 * cached; a malformed value is reported once and the default is used. */
#ifndef TIDE_UTIL_PARAM_H
#define TIDE_UTIL_PARAM_H

#include <stdint.h>
#include <stdio.h>

/* Symbols of libmpi beyond the MPI API that Tide's tools call. */
#define TIDE_EXPORT __attribute__((visibility("default")))

typedef enum {
    TIDE_PARAM_INT,    /* signed decimal integer */
    TIDE_PARAM_SIZE,   /* byte count, suffixes k/m/g (binary) */
    TIDE_PARAM_BOOL,   /* 0/1, yes/no, on/off, true/false */
    TIDE_PARAM_STRING, /* free text */
    TIDE_PARAM_TIME,   /* duration, suffixes ns/us/ms/s; stored in ns */
    TIDE_PARAM_DOUBLE, /* floating point */
} tide_param_type_t;

typedef struct tide_param {
    const char *name; /* without the TIDE_ prefix */
    tide_param_type_t type;
    const char *defval;
    const char *desc;
    int loaded; /* accessed atomically */
    int64_t ival;
    double dval;
    const char *sval;
} tide_param_t;

#define TIDE_PARAM_DEFINE(var, type, name, def, desc)                      \
    __attribute__((visibility("hidden")))                                  \
    tide_param_t tide_param_##var = {name, type, def, desc, 0, 0, 0.0, 0}; \
    static tide_param_t *const tide_param_ptr_##var                        \
        __attribute__((section("tide_params"), used)) = &tide_param_##var

#define TIDE_PARAM_EXTERN(var) extern tide_param_t tide_param_##var

TIDE_EXPORT int64_t tide_param_int(tide_param_t *p);     /* INT, SIZE, BOOL, TIME */
TIDE_EXPORT double tide_param_double(tide_param_t *p);   /* DOUBLE */
TIDE_EXPORT const char *tide_param_str(tide_param_t *p); /* STRING (and raw text of any) */
/* Forget cached values (tests change the environment between cases). */
void tide_param_reset_all(void);

/* Parse helpers shared with option parsing elsewhere; 0 or -EINVAL. */
int tide_parse_size(const char *s, int64_t *out);
int tide_parse_time_ns(const char *s, int64_t *out);
int tide_parse_bool(const char *s, int64_t *out);

/* Iterate over every tunable linked into this program or library. */
typedef void (*tide_param_visit_fn)(const tide_param_t *p, void *arg);
TIDE_EXPORT void tide_param_foreach(tide_param_visit_fn fn, void *arg);
TIDE_EXPORT int tide_param_count(void);
TIDE_EXPORT tide_param_t *tide_param_at(int index);
/* One tunable on f: "TIDE_NAME type default" or, verbose, with its current
 * value and description (tide_info, mpirun --tunables). */
TIDE_EXPORT void tide_param_print(const tide_param_t *p, int verbose, FILE *f);
TIDE_EXPORT const char *tide_param_type_name(tide_param_type_t t);

#endif
