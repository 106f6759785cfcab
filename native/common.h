/* Shared helpers of the keelson addon: argument decoding, errno errors, promises. */
#ifndef KEELSON_COMMON_H
#define KEELSON_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <node_api.h>

/* Bails out of a napi_callback with NULL (a JS exception is pending). */
#define NAPI_CALL(env, call)                                                   \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      throw_last_napi_error(env);                                              \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

/* The failing syscall of an async job, turned into a rejection on the main thread. */
typedef struct {
  int errnum;          /* 0 when the job succeeded */
  const char *syscall; /* static string */
  char *path;          /* owned copy, may be NULL */
  char *detail;        /* owned copy, may be NULL: the kernel's own explanation */
} job_error;

void throw_last_napi_error(napi_env env);

/* Reads args[index] as a UTF-8 string into a malloc'd buffer. With allow_null,
   null/undefined yield *out = NULL. Throws TypeError (and returns false) when the
   value is not a string, or holds a NUL byte that the kernel would silently
   truncate at. */
bool get_string_arg(napi_env env, napi_value value, const char *what,
                    bool allow_null, char **out);
bool get_uint32_arg(napi_env env, napi_value value, const char *what, uint32_t *out);

/* Reads the n arguments of a call into argv; fewer throws ERR_MISSING_ARGS naming fn. */
bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *fn);

/* calloc(1, size) for an async job; NULL with an ENOMEM error thrown when memory is out. */
void *alloc_job(napi_env env, size_t size);

/* Error carrying code/errno/syscall/path (and detail when not NULL), like Node's
   own system errors. */
napi_value make_errno_error(napi_env env, int errnum, const char *syscall,
                            const char *path, const char *detail);
void throw_errno_error(napi_env env, int errnum, const char *syscall,
                       const char *path);

void job_error_set(job_error *e, int errnum, const char *syscall, const char *path);
/* Runs fn(arg) on a fresh thread with every signal blocked and waits for it: for work that
 * enters another namespace (setns), so the thread pool's threads never leave the daemon's and
 * no process signal lands on a thread in a pod's namespace. A failure to start is set in e. */
void run_on_fresh_thread(void *(*fn)(void *), void *arg, job_error *e);
void job_error_set_detail(job_error *e, const char *detail);
void job_error_free(job_error *e);
/* Settles a promise with undefined or with the recorded error. */
void settle_promise(napi_env env, napi_deferred deferred, const job_error *e);

/* Queues execute/complete as async work. On failure it throws and returns NULL,
   and data still belongs to the caller. */
napi_value queue_promise_job(napi_env env, const char *name, void *data,
                             napi_async_execute_callback execute,
                             napi_async_complete_callback complete,
                             napi_deferred *deferred, napi_async_work *work);

#endif
