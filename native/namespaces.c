/* Pod namespaces pinned by bind mounts. unshare() moves the *calling thread* into
   the new namespaces for good, so it must never run on Node's main thread or on a
   libuv pool thread (later jobs on that thread would run inside the pod's
   network). Each pin gets a throwaway pthread that unshares, pins and exits; the
   pool thread only waits for it. */
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

enum { NS_NET, NS_IPC, NS_UTS, NS_COUNT };

static const struct {
  const char *name; /* entry in /proc/<pid>/task/<tid>/ns/ */
  int clone_flag;
} ns_kinds[NS_COUNT] = {
    [NS_NET] = {"net", CLONE_NEWNET},
    [NS_IPC] = {"ipc", CLONE_NEWIPC},
    [NS_UTS] = {"uts", CLONE_NEWUTS},
};

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *targets[NS_COUNT]; /* NULL when that namespace is not wanted */
  char *hostname;
  job_error error;
} pin_job;

static void pin_job_free(pin_job *job) {
  for (int i = 0; i < NS_COUNT; i++) free(job->targets[i]);
  free(job->hostname);
  job_error_free(&job->error);
  free(job);
}

/* Creates the mount point as an empty read-only file. An existing regular file is
   reused (a leftover of a crash); anything else is refused, since a bind mount
   would follow a symlink planted there. */
static int prepare_target(const char *target, bool *created) {
  int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (fd >= 0) {
    *created = true;
    /* The umask may have narrowed the mode. */
    int rc = fchmod(fd, 0444);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
  }
  if (errno != EEXIST) return -1;
  struct stat st;
  if (lstat(target, &st) != 0) return -1;
  if (!S_ISREG(st.st_mode)) {
    errno = EEXIST;
    return -1;
  }
  return 0;
}

static void *pin_thread(void *arg) {
  pin_job *job = arg;
  bool created[NS_COUNT] = {false};
  bool mounted[NS_COUNT] = {false};
  int clone_flags = 0;

  for (int i = 0; i < NS_COUNT; i++) {
    if (!job->targets[i]) continue;
    clone_flags |= ns_kinds[i].clone_flag;
    if (prepare_target(job->targets[i], &created[i]) != 0) {
      job_error_set(&job->error, errno, "open", job->targets[i]);
      goto undo;
    }
  }
  if (unshare(clone_flags) != 0) {
    job_error_set(&job->error, errno, "unshare", NULL);
    goto undo;
  }
  if (job->hostname && sethostname(job->hostname, strlen(job->hostname)) != 0) {
    job_error_set(&job->error, errno, "sethostname", job->hostname);
    goto undo;
  }
  pid_t tid = gettid();
  for (int i = 0; i < NS_COUNT; i++) {
    if (!job->targets[i]) continue;
    char source[64];
    snprintf(source, sizeof source, "/proc/self/task/%d/ns/%s", (int)tid, ns_kinds[i].name);
    if (mount(source, job->targets[i], NULL, MS_BIND, NULL) != 0) {
      job_error_set(&job->error, errno, "mount", job->targets[i]);
      goto undo;
    }
    mounted[i] = true;
  }
  return NULL;

undo:
  for (int i = 0; i < NS_COUNT; i++) {
    if (mounted[i]) umount2(job->targets[i], MNT_DETACH | UMOUNT_NOFOLLOW);
    if (created[i]) unlink(job->targets[i]);
  }
  return NULL;
}

static void pin_execute(napi_env env, void *data) {
  (void)env;
  pin_job *job = data;
  run_on_fresh_thread(pin_thread, job, &job->error);
}

static void pin_complete(napi_env env, napi_status status, void *data) {
  pin_job *job = data;
  if (status != napi_ok && job->error.errnum == 0)
    job_error_set(&job->error, ECANCELED, "pinNamespaces", NULL);
  settle_promise(env, job->deferred, &job->error);
  napi_delete_async_work(env, job->work);
  pin_job_free(job);
}

/* pinNamespaces(net: string|null, ipc: string|null, uts: string|null,
                 hostname: string|null): Promise<void> */
static napi_value js_pin_namespaces(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "pinNamespaces")) return NULL;
  pin_job *job = alloc_job(env, sizeof *job);
  if (!job) return NULL;
  napi_value promise = NULL;
  if (!get_string_arg(env, argv[0], "net", true, &job->targets[NS_NET]) ||
      !get_string_arg(env, argv[1], "ipc", true, &job->targets[NS_IPC]) ||
      !get_string_arg(env, argv[2], "uts", true, &job->targets[NS_UTS]) ||
      !get_string_arg(env, argv[3], "hostname", true, &job->hostname))
    goto out;
  if (!job->targets[NS_NET] && !job->targets[NS_IPC] && !job->targets[NS_UTS]) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "no namespace to pin");
    goto out;
  }
  if (job->hostname && !job->targets[NS_UTS]) {
    /* Without a new UTS namespace sethostname would rename the host. */
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "hostname needs a new uts namespace");
    goto out;
  }
  promise = queue_promise_job(env, "keelson:pinNamespaces", job, pin_execute,
                              pin_complete, &job->deferred, &job->work);
out:
  if (!promise) pin_job_free(job);
  return promise;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  job_error error;
} unpin_job;

/* Bind mounts can stack if a pin was repeated; peel them all, then drop the file. */
#define MAX_STACKED_MOUNTS 64

static void unpin_execute(napi_env env, void *data) {
  (void)env;
  unpin_job *job = data;
  for (int i = 0; i < MAX_STACKED_MOUNTS; i++) {
    if (umount2(job->path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) break; /* not (or no longer) a mount */
    job_error_set(&job->error, errno, "umount2", job->path);
    return;
  }
  if (unlink(job->path) != 0 && errno != ENOENT)
    job_error_set(&job->error, errno, "unlink", job->path);
}

static void unpin_complete(napi_env env, napi_status status, void *data) {
  unpin_job *job = data;
  if (status != napi_ok && job->error.errnum == 0)
    job_error_set(&job->error, ECANCELED, "unpinNamespace", job->path);
  settle_promise(env, job->deferred, &job->error);
  napi_delete_async_work(env, job->work);
  free(job->path);
  job_error_free(&job->error);
  free(job);
}

/* unpinNamespace(path: string): Promise<void> */
static napi_value js_unpin_namespace(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, "unpinNamespace")) return NULL;
  unpin_job *job = alloc_job(env, sizeof *job);
  if (!job) return NULL;
  napi_value promise = NULL;
  if (get_string_arg(env, argv[0], "path", false, &job->path))
    promise = queue_promise_job(env, "keelson:unpinNamespace", job, unpin_execute,
                                unpin_complete, &job->deferred, &job->work);
  if (!promise) {
    free(job->path);
    free(job);
  }
  return promise;
}

bool namespaces_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"pinNamespaces", NULL, js_pin_namespaces, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unpinNamespace", NULL, js_unpin_namespace, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
