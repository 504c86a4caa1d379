/* Tunables: parsing and the registry walk over the tide_params section.
 * See param.h. */
#include "config.h"
#include "util/param.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bounds of the linker section; at least one TIDE_PARAM_DEFINE (log.c)
 * guarantees it exists. */
extern tide_param_t *const __start_tide_params[] __attribute__((visibility("hidden")));
extern tide_param_t *const __stop_tide_params[] __attribute__((visibility("hidden")));

int tide_parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0)
        return -EINVAL;
    int64_t mul = 1;
    switch (tolower((unsigned char)*end)) {
    case '\0': break;
    case 'k':
        mul = 1024;
        end++;
        break;
    case 'm':
        mul = 1024 * 1024;
        end++;
        break;
    case 'g':
        mul = 1024LL * 1024 * 1024;
        end++;
        break;
    default: return -EINVAL;
    }
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end != '\0')
        return -EINVAL;
    *out = (int64_t)v * mul;
    return 0;
}

int tide_parse_time_ns(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return -EINVAL;
    double mul;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mul = 1e9;
    else if (strcmp(end, "ms") == 0)
        mul = 1e6;
    else if (strcmp(end, "us") == 0)
        mul = 1e3;
    else if (strcmp(end, "ns") == 0)
        mul = 1;
    else
        return -EINVAL;
    *out = (int64_t)(v * mul);
    return 0;
}

int tide_parse_bool(const char *s, int64_t *out)
{
    static const char *yes[] = {"1", "yes", "on", "true", "y"};
    static const char *no[] = {"0", "no", "off", "false", "n"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int tide_param_parse(tide_param_t *p, const char *text)
{
    char *end;
    switch (p->type) {
    case TIDE_PARAM_INT:
        errno = 0;
        p->ival = strtoll(text, &end, 0);
        return (end == text || *end || errno) ? -EINVAL : 0;
    case TIDE_PARAM_SIZE: return tide_parse_size(text, &p->ival);
    case TIDE_PARAM_BOOL: return tide_parse_bool(text, &p->ival);
    case TIDE_PARAM_TIME: return tide_parse_time_ns(text, &p->ival);
    case TIDE_PARAM_DOUBLE:
        errno = 0;
        p->dval = strtod(text, &end);
        return (end == text || *end || errno) ? -EINVAL : 0;
    case TIDE_PARAM_STRING: p->sval = text; return 0;
    }
    return -EINVAL;
}

static void tide_param_load(tide_param_t *p)
{
    if (__atomic_load_n(&p->loaded, __ATOMIC_ACQUIRE))
        return;
    char envname[128] = "TIDE_";
    strncat(envname, p->name, sizeof(envname) - 6);
    const char *text = getenv(envname);
    if (text && tide_param_parse(p, text) != 0) {
        tide_warn("%s=\"%s\" is not a valid %s; using the default \"%s\"", envname, text,
                  tide_param_type_name(p->type), p->defval);
        text = NULL;
    }
    if (!text && tide_param_parse(p, p->defval) != 0)
        tide_error("internal: default of TIDE_%s (\"%s\") does not parse", p->name, p->defval);
    if (p->type == TIDE_PARAM_STRING && !text)
        p->sval = p->defval;
    __atomic_store_n(&p->loaded, 1, __ATOMIC_RELEASE);
}

int64_t tide_param_int(tide_param_t *p)
{
    tide_param_load(p);
    return p->ival;
}

double tide_param_double(tide_param_t *p)
{
    tide_param_load(p);
    return p->dval;
}

const char *tide_param_str(tide_param_t *p)
{
    tide_param_load(p);
    return p->sval;
}

int tide_param_count(void)
{
    return (int)(__stop_tide_params - __start_tide_params);
}

tide_param_t *tide_param_at(int index)
{
    if (index < 0 || index >= tide_param_count())
        return NULL;
    return __start_tide_params[index];
}

void tide_param_foreach(tide_param_visit_fn fn, void *arg)
{
    for (tide_param_t *const *pp = __start_tide_params; pp < __stop_tide_params; pp++)
        fn(*pp, arg);
}

void tide_param_reset_all(void)
{
    for (tide_param_t *const *pp = __start_tide_params; pp < __stop_tide_params; pp++)
        __atomic_store_n(&(*pp)->loaded, 0, __ATOMIC_RELEASE);
}

const char *tide_param_type_name(tide_param_type_t t)
{
    switch (t) {
    case TIDE_PARAM_INT: return "integer";
    case TIDE_PARAM_SIZE: return "size";
    case TIDE_PARAM_BOOL: return "boolean";
    case TIDE_PARAM_STRING: return "string";
    case TIDE_PARAM_TIME: return "duration";
    case TIDE_PARAM_DOUBLE: return "number";
    }
    return "?";
}

void tide_param_print(const tide_param_t *p, int verbose, FILE *f)
{
    char env[160];
    snprintf(env, sizeof(env), "TIDE_%s", p->name);
    const char *cur = getenv(env);
    if (!verbose) {
        fprintf(f, "%s %s %s\n", env, tide_param_type_name(p->type), p->defval);
        return;
    }
    fprintf(f, "  %-28s %-9s default %-10s%s%s%s\n      %s\n", env, tide_param_type_name(p->type),
            p->defval[0] ? p->defval : "\"\"", cur ? " (set: " : "", cur ? cur : "", cur ? ")" : "",
            p->desc);
}
