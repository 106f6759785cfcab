/* A TCP connection to 127.0.0.1:port inside another network namespace (a pod's pinned
   netns), for port-forward. A socket belongs to the netns it was created in, whatever thread
   uses it later, so only its creation and connect need to happen in there: a throwaway
   pthread (signals blocked) does setns(CLONE_NEWNET), socket, a non-blocking connect bounded
   by a timeout, and exits; no thread of the process stays in the pod's network. The libuv
   pool thread only waits for it. The fd is handed to JS, which wraps it in a net.Socket. */
#include "netdial.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *netns; /* NULL: this process's own network */
  uint32_t port;
  uint32_t timeout_ms;
  int fd; /* the connected socket, -1 until then */
  job_error error;
} dial_job;

static void dial_job_free(dial_job *job) {
  if (job->fd >= 0) close(job->fd);
  free(job->netns);
  job_error_free(&job->error);
  free(job);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *dial_thread(void *arg) {
  dial_job *job = arg;
  if (job->netns) {
    int nsfd = open(job->netns, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      job_error_set(&job->error, errno, "open", job->netns);
      return NULL;
    }
    int rc = setns(nsfd, CLONE_NEWNET);
    int saved = errno;
    close(nsfd);
    if (rc != 0) {
      job_error_set(&job->error, saved, "setns", job->netns);
      return NULL;
    }
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    job_error_set(&job->error, errno, "socket", job->netns);
    return NULL;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)job->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  if (rc != 0 && errno != EINPROGRESS && errno != EINTR) {
    job_error_set(&job->error, errno, "connect", job->netns);
    close(fd);
    return NULL;
  }
  if (rc != 0) {
    int64_t deadline = now_ms() + job->timeout_ms;
    for (;;) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        job_error_set(&job->error, ETIMEDOUT, "connect", job->netns);
        close(fd);
        return NULL;
      }
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int n = poll(&p, 1, (int)left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        job_error_set(&job->error, errno, "poll", job->netns);
        close(fd);
        return NULL;
      }
      if (n > 0) break;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
    if (soerr != 0) {
      job_error_set(&job->error, soerr, "connect", job->netns);
      close(fd);
      return NULL;
    }
  }
  job->fd = fd;
  return NULL;
}

static void dial_execute(napi_env env, void *data) {
  (void)env;
  dial_job *job = data;
  if (!job->netns) {
    /* The host's network: no namespace to enter, the pool thread dials itself. */
    dial_thread(job);
    return;
  }
  run_on_fresh_thread(dial_thread, job, &job->error);
}

static void dial_complete(napi_env env, napi_status status, void *data) {
  dial_job *job = data;
  if (status != napi_ok && job->error.errnum == 0)
    job_error_set(&job->error, ECANCELED, "dialTcpInNetns", job->netns);
  napi_value fd;
  if (job->error.errnum == 0 && napi_create_int32(env, job->fd, &fd) == napi_ok) {
    job->fd = -1; /* owned by JS now */
    napi_resolve_deferred(env, job->deferred, fd);
  } else {
    if (job->error.errnum == 0) job_error_set(&job->error, ENOMEM, "napi_create_int32", NULL);
    settle_promise(env, job->deferred, &job->error);
  }
  napi_delete_async_work(env, job->work);
  dial_job_free(job);
}

/* dialTcpInNetns(netns: string|null, port: number, timeoutMs: number): Promise<number>
   (a connected, non-blocking, close-on-exec TCP socket to 127.0.0.1:port) */
static napi_value js_dial_tcp_in_netns(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, "dialTcpInNetns")) return NULL;
  dial_job *job = alloc_job(env, sizeof *job);
  if (!job) return NULL;
  job->fd = -1;
  napi_value promise = NULL;
  if (!get_string_arg(env, argv[0], "netns", true, &job->netns) ||
      !get_uint32_arg(env, argv[1], "port", &job->port) ||
      !get_uint32_arg(env, argv[2], "timeoutMs", &job->timeout_ms))
    goto out;
  if (job->port < 1 || job->port > 65535) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "dialTcpInNetns: port must be 1-65535");
    goto out;
  }
  if (job->timeout_ms < 1 || job->timeout_ms > 0x7fffffff) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "dialTcpInNetns: timeoutMs must be positive");
    goto out;
  }
  promise = queue_promise_job(env, "keelson:dialTcpInNetns", job, dial_execute, dial_complete,
                              &job->deferred, &job->work);
out:
  if (!promise) dial_job_free(job);
  return promise;
}

bool netdial_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"dialTcpInNetns", NULL, js_dial_tcp_in_netns, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
