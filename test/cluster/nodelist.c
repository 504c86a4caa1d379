/* Unit test of mpirun's Slurm notations (mpirun/hosts.c): node lists such
 * as "n[1-3],m5" or "n[01-03]" expand to host names in order, task counts
 * such as "2(x3),1" to slots per node, and malformed input is refused. */
#include "config.h"
#include "mpirun/mpirun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void expect_list(const char *spec, const char *want)
{
    char **names = NULL, got[1024] = "";
    int n = 0, rc = tide_mpirun_hosts_slurm_nodelist(spec, &names, &n);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(got + len, sizeof(got) - len, i ? " %s" : "%s", names[i]);
        free(names[i]);
    }
    free(names);
    if (want == NULL ? rc == 0 : (rc != 0 || strcmp(got, want) != 0)) {
        fprintf(stderr, "FAIL: nodelist '%s': got rc %d '%s', want %s\n", spec, rc, got,
                want ? want : "an error");
        failures++;
    }
}

static void expect_tasks(const char *spec, int n, const char *want)
{
    int slots[16] = {0}, rc = tide_mpirun_hosts_slurm_tasks(spec, slots, n);
    char got[256] = "";
    size_t len = 0;
    for (int i = 0; rc == 0 && i < n; i++)
        len += (size_t)snprintf(got + len, sizeof(got) - len, i ? " %d" : "%d", slots[i]);
    if (want == NULL ? rc == 0 : (rc != 0 || strcmp(got, want) != 0)) {
        fprintf(stderr, "FAIL: tasks '%s' for %d: got rc %d '%s', want %s\n", spec, n, rc, got,
                want ? want : "an error");
        failures++;
    }
}

int main(void)
{
    expect_list("n1", "n1");
    expect_list("n[1-3],m5", "n1 n2 n3 m5");
    expect_list("n[01-03]", "n01 n02 n03");
    expect_list("node[8-11]", "node8 node9 node10 node11");
    expect_list("a[1,3-4]b", "a1b a3b a4b");
    expect_list("r[1-2]c[1-2]", "r1c1 r1c2 r2c1 r2c2");
    expect_list("x,y[7],z", "x y7 z");
    expect_list("n[1-", NULL);
    expect_list("n[3-1]", NULL);
    expect_list("n[a-b]", NULL);
    expect_list("n]1", NULL);
    expect_list("a,,b", NULL);
    expect_tasks("2(x3),1", 4, "2 2 2 1");
    expect_tasks("1", 1, "1");
    expect_tasks("4,2(x2)", 3, "4 2 2");
    expect_tasks("2(x3)", 2, NULL);
    expect_tasks("2(x3)", 4, NULL);
    expect_tasks("2(y3)", 3, NULL);
    if (failures == 0)
        printf("nodelist: all cases passed\n");
    return failures ? 1 : 0;
}
