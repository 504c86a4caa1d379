/* The wire dispatcher: tide_wire_open picks the wire (the config's kind,
 * else TIDE_WIRE, else the automatic rule below), opens it and stacks the
 * fault wrapper when faults are configured; tide_wire_addr_str prints any
 * wire's address.  This is the only place that knows every wire.
 *
 * Automatic rule (TIDE_WIRE unset or "auto"), documented in doc/wire.md:
 *   0. udp, when the caller says every peer is on this host (a job on one
 *      node: loopback, and no frame of it on a real network);
 *   1. roce, when built and an RDMA device has an active port;
 *   2. eth, when the process has CAP_NET_RAW and an interface is given by
 *      TIDE_ETH_IF or found by eth's own rule;
 *   3. udp otherwise.
 * Every rank of a job must end up on the same wire: the address blob carries
 * the kind and peer_add refuses a blob of another kind, so a job whose ranks
 * differ fails at its first contact with a message instead of hanging. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/param.h"
#include "wire/faults.h"
#include "wire/wire_impl.h"

TIDE_PARAM_DEFINE(wire, TIDE_PARAM_STRING, "WIRE", "auto",
                  "Wire under the stream engine: eth, roce, udp, sim or auto (roce if an "
                  "active RDMA port exists, else eth with CAP_NET_RAW, else udp)");
TIDE_PARAM_DEFINE(wire_faults, TIDE_PARAM_STRING, "WIRE_FAULTS", "",
                  "Fault injection stacked on the wire, e.g. "
                  "drop=0.01,dup=0.001,reorder=0.05,corrupt=0.0001,delay=50us,jitter=100us,"
                  "seed=7,side=rx|tx|both (see doc/wire.md)");

static const tide_wire_ops_t *const wire_table[] = {
    &tide_wire_sim_ops,
#ifdef TIDE_WIRE_HAVE_UDP
    &tide_wire_udp_ops,
#endif
#ifdef TIDE_WIRE_HAVE_ETH
    &tide_wire_eth_ops,
#endif
#ifdef TIDE_WIRE_HAVE_ROCE
    &tide_wire_roce_ops,
#endif
};

static const tide_wire_ops_t *wire_find(const char *name)
{
    for (size_t i = 0; i < sizeof(wire_table) / sizeof(wire_table[0]); i++)
        if (!strcmp(wire_table[i]->name, name))
            return wire_table[i];
    return NULL;
}

/* Try the automatic rule; each probe stays quiet, the chosen wire logs. */
static int wire_open_auto(const tide_wire_config_t *cfg, tide_wire_t **out)
{
    tide_wire_config_t c = *cfg;
    (void)c;
#ifdef TIDE_WIRE_HAVE_UDP
    if (cfg->single_host) {
        c.kind = "udp";
        return tide_wire_udp_ops.open(&c, out);
    }
#endif
#ifdef TIDE_WIRE_HAVE_ROCE
    if (tide_wire_roce_usable(cfg)) {
        c.kind = "roce";
        if (tide_wire_roce_ops.open(&c, out) == 0)
            return 0;
    }
#endif
#ifdef TIDE_WIRE_HAVE_ETH
    if (tide_wire_eth_usable(cfg)) {
        c.kind = "eth";
        if (tide_wire_eth_ops.open(&c, out) == 0)
            return 0;
    }
#endif
#ifdef TIDE_WIRE_HAVE_UDP
    c.kind = "udp";
    return tide_wire_udp_ops.open(&c, out);
#else
    tide_error("wire: no wire could be chosen automatically; set TIDE_WIRE");
    return -ENODEV;
#endif
}

static int wire_stack_faults(const tide_wire_config_t *cfg, tide_wire_t **w)
{
    const char *s = cfg->faults ? cfg->faults : tide_param_str(&tide_param_wire_faults);
    tide_wire_fault_spec_t spec;
    int rc = tide_wire_faults_parse(s, &spec);
    if (rc || !tide_wire_faults_active(&spec))
        return rc;
    tide_wire_t *wrapped;
    rc = tide_wire_faults_wrap(*w, &spec, &wrapped);
    if (rc)
        return rc;
    tide_info("wire: fault injection on %s: %s", (*w)->ops->name, s);
    *w = wrapped;
    return 0;
}

int tide_wire_open(const tide_wire_config_t *cfg, tide_wire_t **out)
{
    const char *kind = cfg->kind ? cfg->kind : tide_param_str(&tide_param_wire);
    tide_wire_t *w = NULL;
    int rc;
    if (!kind || !*kind || !strcmp(kind, "auto")) {
        rc = wire_open_auto(cfg, &w);
    } else {
        const tide_wire_ops_t *ops = wire_find(kind);
        if (!ops) {
            tide_error("wire: unknown wire '%s' (built: %s)", kind, TIDE_WIRES);
            return -EINVAL;
        }
        rc = ops->open(cfg, &w);
    }
    if (rc)
        return rc;
    rc = wire_stack_faults(cfg, &w);
    if (rc) {
        tide_wire_close(w);
        return rc;
    }
    *out = w;
    return 0;
}

const char *tide_wire_addr_str(const tide_wire_addr_t *a, char *buf, size_t len)
{
    switch (a->len ? a->bytes[0] : 0) {
    case TIDE_WIRE_SIM: tide_wire_sim_addr_fmt(a, buf, len); break;
#ifdef TIDE_WIRE_HAVE_UDP
    case TIDE_WIRE_UDP: tide_wire_udp_addr_fmt(a, buf, len); break;
#endif
#ifdef TIDE_WIRE_HAVE_ETH
    case TIDE_WIRE_ETH: tide_wire_eth_addr_fmt(a, buf, len); break;
#endif
#ifdef TIDE_WIRE_HAVE_ROCE
    case TIDE_WIRE_ROCE: tide_wire_roce_addr_fmt(a, buf, len); break;
#endif
    default: snprintf(buf, len, "?(%u bytes)", a->len); break;
    }
    return buf;
}
