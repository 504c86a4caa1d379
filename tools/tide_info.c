/* tide_info: what this Tide installation is — version, build configuration,
 * wires compiled in, and every TIDE_* tunable with its default, its current
 * value in this environment and its description.  The list comes from the
 * tunables' own declarations inside libmpi (the tide_params section), so it
 * cannot drift from the code. */
#include "config.h"
#include "mpi.h"
#include "util/param.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tide_info_usage(FILE *f)
{
    fprintf(f, "usage: tide_info [--params | --param NAME | --version | --help]\n"
               "  (no option)   version, build configuration, wires and all tunables\n"
               "  --params      only the tunables, one per line: NAME TYPE DEFAULT\n"
               "  --param NAME  the default, current value and description of TIDE_NAME\n");
}

static int tide_info_cmp(const void *a, const void *b)
{
    const tide_param_t *const *pa = a, *const *pb = b;
    return strcmp((*pa)->name, (*pb)->name);
}

/* The tunables sorted by name, in a freshly allocated array. */
static tide_param_t **tide_info_sorted(int *n_out)
{
    int n = tide_param_count();
    tide_param_t **v = calloc((size_t)n + 1, sizeof(*v));
    if (!v) {
        perror("tide_info");
        exit(1);
    }
    for (int i = 0; i < n; i++)
        v[i] = tide_param_at(i);
    qsort(v, (size_t)n, sizeof(*v), tide_info_cmp);
    *n_out = n;
    return v;
}

static void tide_info_print_param(const tide_param_t *p, int verbose)
{
    tide_param_print(p, verbose, stdout);
}

/* mpirun's own tunables live in the mpirun program, not in libmpi: ask it. */
static void tide_info_mpirun_tunables(int verbose)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "'%s/mpirun' --tunables%s 2>/dev/null", TIDE_BINDIR,
             verbose ? "" : "-brief");
    fflush(stdout);
    if (system(cmd) != 0 && verbose)
        printf("  (mpirun's own tunables: run %s/mpirun --tunables)\n", TIDE_BINDIR);
}

int main(int argc, char **argv)
{
    int n;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        tide_info_usage(stdout);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("Tide MPI %s\n", PACKAGE_VERSION);
        return 0;
    }
    tide_param_t **v = tide_info_sorted(&n);
    if (argc == 2 && !strcmp(argv[1], "--params")) {
        for (int i = 0; i < n; i++)
            tide_info_print_param(v[i], 0);
        tide_info_mpirun_tunables(0);
        free(v);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--param")) {
        const char *want = strncmp(argv[2], "TIDE_", 5) ? argv[2] : argv[2] + 5;
        for (int i = 0; i < n; i++) {
            if (!strcmp(v[i]->name, want)) {
                tide_info_print_param(v[i], 1);
                free(v);
                return 0;
            }
        }
        fprintf(stderr, "tide_info: no tunable TIDE_%s (tide_info --params lists them)\n", want);
        free(v);
        return 1;
    }
    if (argc != 1) {
        tide_info_usage(stderr);
        free(v);
        return 2;
    }
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len;
    MPI_Get_library_version(lib, &len);
    printf("Tide MPI %s\n", PACKAGE_VERSION);
    printf("  library:     %s\n", lib);
    printf("  MPI:         %d.%d\n", MPI_VERSION, MPI_SUBVERSION);
    printf("  wires:       %s\n", TIDE_WIRES);
    printf("  configure:   %s\n", TIDE_CONFIGURE_ARGS);
    printf("  compiler:    %s\n", TIDE_BUILD_CC);
    printf("Tunables (environment variables, %d):\n", n);
    for (int i = 0; i < n; i++)
        tide_info_print_param(v[i], 1);
    printf("Tunables of mpirun:\n");
    tide_info_mpirun_tunables(1);
    free(v);
    return 0;
}
