/* The per-job secret of the authenticated stream mode (auth.h).  Every
 * rank of an MPI job must hold the same key before its stack sends the
 * first segment, and the key must be new for every job and larger than the
 * 64-bit job key mpirun already draws; so process 0 draws it at MPI_Init
 * and the others fetch it with the same direct-modex lookup that finds a
 * peer's wire address (it waits until process 0 has published). */
#include "config.h"
#include "p2p/auth.h"
#include "stream/mac.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define TIDE_P2P_AUTH_PMIX_KEY "tide.mac.secret"

_Static_assert(TIDE_P2P_AUTH_KEY_LEN == TIDE_MAC_KEY_LEN, "MAC key length");

static int tide_p2p_auth_draw(uint8_t *key)
{
    size_t got = 0;
    while (got < TIDE_P2P_AUTH_KEY_LEN) {
        ssize_t n = getrandom(key + got, TIDE_P2P_AUTH_KEY_LEN - got, 0);
        if (n < 0 && errno != EINTR) {
            int err = errno;
            tide_error("p2p: no random secret for TIDE_STREAM_MAC: getrandom: %s", strerror(err));
            return -err;
        }
        if (n > 0)
            got += (size_t)n;
    }
    return 0;
}

int tide_p2p_auth_setup(const tide_p2p_rte_ops_t *rte, int my_proc,
                        uint8_t key[TIDE_P2P_AUTH_KEY_LEN])
{
    if (!tide_mac_wanted())
        return 0;
    int rc;
    if (my_proc == 0) {
        if ((rc = tide_p2p_auth_draw(key)) < 0)
            return rc;
        rc = rte->publish(TIDE_P2P_AUTH_PMIX_KEY, key, TIDE_P2P_AUTH_KEY_LEN);
        if (rc < 0)
            tide_error("p2p: could not publish the TIDE_STREAM_MAC secret (%s)", strerror(-rc));
        return rc < 0 ? rc : 1;
    }
    size_t len = TIDE_P2P_AUTH_KEY_LEN;
    rc = rte->lookup(0, TIDE_P2P_AUTH_PMIX_KEY, key, &len);
    if (rc < 0 || len != TIDE_P2P_AUTH_KEY_LEN) {
        tide_error("p2p: TIDE_STREAM_MAC=1 but the job's secret could not be read from process 0 "
                   "(%s); is TIDE_STREAM_MAC set for every rank?",
                   rc < 0 ? strerror(-rc) : "wrong length");
        return rc < 0 ? rc : -EPROTO;
    }
    return 1;
}
