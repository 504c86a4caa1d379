/* I/O forwarding: each rank's stdout and stderr arrive on pipes and leave
 * mpirun's stdout and stderr whole lines at a time, so lines of different
 * ranks never mix within a line (we are the only writer, and a line is
 * written completely before the next one).  With --tag-output each line
 * starts with "[1,R]<stdout>: " (or <stderr>), as in Open MPI.  A line
 * longer than TIDE_MPIRUN_LINE_MAX is cut there.  A last line without a
 * newline is written when its rank's pipe closes (tagged: with a newline).
 * mpirun's stdin goes to rank 0 through a pipe; the other ranks read
 * /dev/null.  While rank 0 does not read, we stop reading too (bounded
 * buffer), and we never make our own stdin non-blocking: it is shared with
 * the shell. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/log.h"
#include "util/param.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

TIDE_PARAM_DEFINE(mpirun_line_max, TIDE_PARAM_SIZE, "MPIRUN_LINE_MAX", "1m",
                  "mpirun forwards rank output whole lines at a time; a line longer than this "
                  "is cut into pieces of this size");

#define IOF_BUF_MIN 4096

static int iof_sink_dead[3]; /* our stdout/stderr gave EPIPE or similar */

/* Write all of iov to fd, waiting if fd is non-blocking and full. */
static void iof_write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0 && !iof_sink_dead[fd]) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, 100);
                continue;
            }
            iof_sink_dead[fd] = 1; /* nobody reads our output any more */
            return;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
}

static void iof_emit(const tide_mpirun_job_t *job, int rank, tide_mpirun_ostream_t *s,
                     const char *p, size_t len, int add_nl)
{
    char tag[48];
    struct iovec iov[3];
    int n = 0;
    if (job->opts->tag_output) {
        int tl = snprintf(tag, sizeof(tag), "[1,%d]<%s>: ", rank,
                          s->to == STDOUT_FILENO ? "stdout" : "stderr");
        iov[n++] = (struct iovec){tag, (size_t)tl};
    }
    iov[n++] = (struct iovec){(void *)p, len};
    if (add_nl)
        iov[n++] = (struct iovec){"\n", 1};
    iof_write_all(s->to, iov, n);
}

/* Write out the complete lines in s->buf; keep the rest. */
static void iof_flush_lines(const tide_mpirun_job_t *job, int rank, tide_mpirun_ostream_t *s)
{
    size_t off = 0;
    for (;;) {
        char *nl = memchr(s->buf + off, '\n', s->len - off);
        if (nl == NULL)
            break;
        size_t end = (size_t)(nl - s->buf) + 1;
        if (!job->opts->tag_output) {
            /* untagged: all complete lines in one write */
            char *last = memrchr(s->buf + off, '\n', s->len - off);
            end = (size_t)(last - s->buf) + 1;
        }
        iof_emit(job, rank, s, s->buf + off, end - off, 0);
        off = end;
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
}

static void iof_flush_partial(const tide_mpirun_job_t *job, int rank, tide_mpirun_ostream_t *s)
{
    if (s->len > 0)
        iof_emit(job, rank, s, s->buf, s->len, job->opts->tag_output);
    s->len = 0;
}

static void iof_close(const tide_mpirun_job_t *job, int rank, tide_mpirun_ostream_t *s)
{
    iof_flush_partial(job, rank, s);
    close(s->fd);
    s->fd = -1;
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}

/* Room to read into: grow up to the line limit, else cut the line. */
static int iof_make_room(const tide_mpirun_job_t *job, int rank, tide_mpirun_ostream_t *s)
{
    size_t max = (size_t)tide_param_int(&tide_param_mpirun_line_max);
    if (max < IOF_BUF_MIN)
        max = IOF_BUF_MIN;
    if (s->len < s->cap)
        return 0;
    if (s->cap >= max) {
        iof_flush_partial(job, rank, s);
        return 0;
    }
    size_t ncap = s->cap ? s->cap * 2 : IOF_BUF_MIN;
    char *nb = realloc(s->buf, ncap > max ? max : ncap);
    if (nb == NULL) {
        iof_flush_partial(job, rank, s);
        return s->cap ? 0 : -ENOMEM;
    }
    s->buf = nb;
    s->cap = ncap > max ? max : ncap;
    return 0;
}

/* Read once (the fd is readable or we are draining); 1 while open. */
static int iof_read(const tide_mpirun_job_t *job, int rank, tide_mpirun_ostream_t *s)
{
    if (iof_make_room(job, rank, s) < 0) {
        iof_close(job, rank, s);
        return 0;
    }
    ssize_t r = read(s->fd, s->buf + s->len, s->cap - s->len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return errno == EINTR;
    if (r <= 0) {
        iof_close(job, rank, s);
        return 0;
    }
    s->len += (size_t)r;
    iof_flush_lines(job, rank, s);
    return 1;
}

/* Everything a reaped rank wrote is in its pipes already: take it now, so
 * its output comes before any message about how it ended.  A pipe still
 * held open by a descendant stays open and is drained by the loop. */
void tide_mpirun_iof_drain_rank(tide_mpirun_job_t *job, int rank)
{
    tide_mpirun_rank_t *r = &job->ranks[rank];
    tide_mpirun_ostream_t *ss[2] = {&r->out, &r->err};
    for (int k = 0; k < 2; k++) {
        if (ss[k]->fd >= 0)
            fcntl(ss[k]->fd, F_SETFL, O_NONBLOCK);
        while (ss[k]->fd >= 0 && iof_read(job, rank, ss[k]) > 0)
            ;
    }
    if (rank == 0 && job->stdin_dst >= 0) {
        close(job->stdin_dst);
        job->stdin_dst = -1;
        job->stdin_src = -1;
    }
}

/* Output of a remote rank: the same line assembly as for a local pipe. */
void tide_mpirun_iof_feed(tide_mpirun_job_t *job, int rank, int which, const char *p, size_t len)
{
    tide_mpirun_rank_t *r = &job->ranks[rank];
    tide_mpirun_ostream_t *s = which == 2 ? &r->err : &r->out;
    while (len > 0) {
        if (iof_make_room(job, rank, s) < 0)
            return;
        size_t n = s->cap - s->len < len ? s->cap - s->len : len;
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        p += n;
        len -= n;
        iof_flush_lines(job, rank, s);
    }
}

/* A remote rank ended: its last partial lines go out now. */
void tide_mpirun_iof_flush_rank(tide_mpirun_job_t *job, int rank)
{
    tide_mpirun_rank_t *r = &job->ranks[rank];
    iof_flush_partial(job, rank, &r->out);
    iof_flush_partial(job, rank, &r->err);
    free(r->out.buf);
    free(r->err.buf);
    r->out.buf = r->err.buf = NULL;
    r->out.cap = r->err.cap = 0;
}

void tide_mpirun_iof_finish(tide_mpirun_job_t *job)
{
    for (int i = 0; i < job->np; i++) {
        if (job->remote != NULL) {
            tide_mpirun_iof_flush_rank(job, i);
            continue;
        }
        tide_mpirun_iof_drain_rank(job, i);
        if (job->ranks[i].out.fd >= 0)
            iof_close(job, i, &job->ranks[i].out);
        if (job->ranks[i].err.fd >= 0)
            iof_close(job, i, &job->ranks[i].err);
    }
}

void tide_mpirun_iof_init(tide_mpirun_job_t *job)
{
    job->stdin_src = STDIN_FILENO;
    job->stdin_dst = -1;
    job->stdin_len = 0;
    for (int i = 0; i < job->np; i++) {
        job->ranks[i].out = (tide_mpirun_ostream_t){.fd = -1, .to = STDOUT_FILENO};
        job->ranks[i].err = (tide_mpirun_ostream_t){.fd = -1, .to = STDERR_FILENO};
    }
}

int tide_mpirun_iof_pollfds(tide_mpirun_job_t *job, struct pollfd *pfd, int max)
{
    int n = 0;
    for (int i = 0; i < job->np && n + 2 <= max; i++) {
        if (job->ranks[i].out.fd >= 0)
            pfd[n++] = (struct pollfd){.fd = job->ranks[i].out.fd, .events = POLLIN};
        if (job->ranks[i].err.fd >= 0)
            pfd[n++] = (struct pollfd){.fd = job->ranks[i].err.fd, .events = POLLIN};
    }
    if (job->stdin_dst >= 0 && n + 2 <= max) {
        if (job->stdin_src >= 0 && job->stdin_len < sizeof(job->stdin_buf))
            pfd[n++] = (struct pollfd){.fd = job->stdin_src, .events = POLLIN};
        if (job->stdin_len > 0)
            pfd[n++] = (struct pollfd){.fd = job->stdin_dst, .events = POLLOUT};
    }
    return n;
}

static void iof_stdin_close_dst(tide_mpirun_job_t *job)
{
    close(job->stdin_dst);
    job->stdin_dst = -1;
    job->stdin_src = -1;
    job->stdin_len = 0;
}

static void iof_stdin_read(tide_mpirun_job_t *job)
{
    size_t room = sizeof(job->stdin_buf) - job->stdin_len;
    ssize_t r = read(job->stdin_src, job->stdin_buf + job->stdin_len, room);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) { /* EOF (or an unreadable stdin): rank 0 sees EOF */
        job->stdin_src = -1;
        if (job->stdin_len == 0)
            iof_stdin_close_dst(job);
        return;
    }
    job->stdin_len += (size_t)r;
}

static void iof_stdin_write(tide_mpirun_job_t *job)
{
    ssize_t w = write(job->stdin_dst, job->stdin_buf, job->stdin_len);
    if (w < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (w < 0) { /* rank 0 closed its stdin: stop forwarding */
        iof_stdin_close_dst(job);
        return;
    }
    memmove(job->stdin_buf, job->stdin_buf + w, job->stdin_len - (size_t)w);
    job->stdin_len -= (size_t)w;
    if (job->stdin_len == 0 && job->stdin_src < 0)
        iof_stdin_close_dst(job);
}

static void iof_handle_fd(tide_mpirun_job_t *job, int fd, short revents)
{
    if (job->stdin_dst >= 0 && fd == job->stdin_src) {
        iof_stdin_read(job);
        return;
    }
    if (job->stdin_dst >= 0 && fd == job->stdin_dst) {
        iof_stdin_write(job);
        return;
    }
    for (int i = 0; i < job->np; i++) {
        if (job->ranks[i].out.fd == fd) {
            iof_read(job, i, &job->ranks[i].out);
            return;
        }
        if (job->ranks[i].err.fd == fd) {
            iof_read(job, i, &job->ranks[i].err);
            return;
        }
    }
}

void tide_mpirun_iof_handle(tide_mpirun_job_t *job, struct pollfd *pfd, int n)
{
    for (int k = 0; k < n; k++)
        if (pfd[k].revents != 0)
            iof_handle_fd(job, pfd[k].fd, pfd[k].revents);
}
