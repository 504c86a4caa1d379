/* Which Ethernet interface the eth wire uses.  TIDE_ETH_IF (or the config's
 * device) names it, or lists one per local rank ("eth0,eth1": rank i takes
 * item i, the last item when the list is shorter).  Otherwise the automatic
 * rule: among the interfaces that are up, running, not loopback and of type
 * Ethernet (ARPHRD_ETHER), prefer those hwloc places near the cores this
 * process is bound to, then physical devices (with /sys/class/net/X/device)
 * over virtual ones, then the lowest interface index.  Bridges and bridge
 * ports are skipped (frames must go out of the interface that owns the MAC
 * we publish). */
#include "config.h"

#include <errno.h>
#include <hwloc.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/param.h"
#include "wire/eth.h"
#include "wire/wire_impl.h"

TIDE_PARAM_DEFINE(eth_if, TIDE_PARAM_STRING, "ETH_IF", "",
                  "Interface of the eth wire; a comma list is indexed by the local rank; "
                  "empty: the first up Ethernet interface, nearest NIC first (doc/wire.md)");

static int eth_if_type(int fd, const char *name, int *arphrd)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr))
        return -errno;
    *arphrd = ifr.ifr_hwaddr.sa_family;
    return 0;
}

static int eth_if_sysfs(const char *name, const char *what)
{
    char path[256];
    snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, what);
    return access(path, F_OK) == 0;
}

/* 1 if the interface's NIC is near the cores this process may run on. */
static int eth_if_near(hwloc_topology_t topo, hwloc_bitmap_t bound, const char *name)
{
    hwloc_obj_t os = NULL;
    if (!topo)
        return 0;
    while ((os = hwloc_get_next_osdev(topo, os))) {
        if (os->attr->osdev.type != HWLOC_OBJ_OSDEV_NETWORK || strcmp(os->name, name))
            continue;
        hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, os);
        return anc && anc->cpuset && hwloc_bitmap_intersects(anc->cpuset, bound) &&
               !hwloc_bitmap_isincluded(hwloc_topology_get_topology_cpuset(topo), bound);
    }
    return 0;
}

static hwloc_topology_t eth_if_topology(hwloc_bitmap_t bound)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo))
        return NULL;
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    if (hwloc_topology_load(topo) || hwloc_get_cpubind(topo, bound, HWLOC_CPUBIND_PROCESS)) {
        hwloc_topology_destroy(topo);
        return NULL;
    }
    return topo;
}

/* Score of a candidate interface, higher is better, -1 unusable. */
static int eth_if_score(int fd, const struct ifaddrs *i, hwloc_topology_t topo,
                        hwloc_bitmap_t bound)
{
    int type = 0;
    unsigned want = IFF_UP | IFF_RUNNING;
    if ((i->ifa_flags & want) != want || (i->ifa_flags & IFF_LOOPBACK))
        return -1;
    if (eth_if_type(fd, i->ifa_name, &type) || type != ARPHRD_ETHER)
        return -1;
    if (eth_if_sysfs(i->ifa_name, "bridge") || eth_if_sysfs(i->ifa_name, "brport"))
        return -1;
    return 2 * eth_if_near(topo, bound, i->ifa_name) + eth_if_sysfs(i->ifa_name, "device");
}

/* One pass over the interfaces: the best by score, then lowest index.
 * Returns how many are usable; the best one's name goes to name. */
static int eth_if_scan(int fd, struct ifaddrs *ifs, hwloc_topology_t topo, hwloc_bitmap_t bound,
                       char *name, size_t len)
{
    int best = -1, usable = 0;
    unsigned best_idx = 0;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET)
            continue;
        int s = eth_if_score(fd, i, topo, bound);
        unsigned idx = if_nametoindex(i->ifa_name);
        usable += s >= 0;
        if (s > best || (s == best && s >= 0 && idx < best_idx)) {
            best = s;
            best_idx = idx;
            snprintf(name, len, "%s", i->ifa_name);
        }
    }
    return usable;
}

/* hwloc (and its PCI discovery) is asked only when there is a choice. */
static int eth_if_auto(char *name, size_t len)
{
    struct ifaddrs *ifs;
    int usable = 0, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || getifaddrs(&ifs)) {
        if (fd >= 0)
            close(fd);
        return -ENODEV;
    }
    usable = eth_if_scan(fd, ifs, NULL, NULL, name, len);
    if (usable > 1) {
        hwloc_bitmap_t bound = hwloc_bitmap_alloc();
        hwloc_topology_t topo = bound ? eth_if_topology(bound) : NULL;
        if (topo) {
            eth_if_scan(fd, ifs, topo, bound, name, len);
            hwloc_topology_destroy(topo);
        }
        hwloc_bitmap_free(bound);
    }
    freeifaddrs(ifs);
    close(fd);
    return usable > 0 ? 0 : -ENODEV;
}

int tide_wire_eth_if_pick(const tide_wire_config_t *cfg, char *name, size_t len, int quiet)
{
    const char *spec = cfg->device ? cfg->device : tide_param_str(&tide_param_eth_if);
    if (spec && *spec) {
        tide_wire_list_item(spec, cfg->local_rank > 0 ? cfg->local_rank : 0, name, len);
        return 0;
    }
    if (eth_if_auto(name, len) == 0)
        return 0;
    if (!quiet)
        tide_error("eth wire: no usable Ethernet interface (up, running, not loopback, not a "
                   "bridge); name one with TIDE_ETH_IF or use TIDE_WIRE=udp");
    return -ENODEV;
}
