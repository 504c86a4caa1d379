# test/: unit tests (Check), launcher, MPI, wire, stream and multi-host tests.
# Each area lists its own tests in its local.mk.  Shell tests (*.sh) run with
# test/lib.sh; exit 0 pass, 77 skip, anything else fail.
EXTRA_DIST += test/lib.sh test/lsan.supp
include test/unit/local.mk
include test/launch/local.mk
include test/cluster/local.mk
include test/mpi/local.mk
include test/net/local.mk
include test/wire/local.mk
include test/stream/local.mk
include test/roce/local.mk
include test/bench/local.mk
include test/slurm/local.mk
include test/fault/local.mk
include test/hardening/local.mk
include test/mpich/local.mk
include test/suites/local.mk
