#include "common.h"

#include <pthread.h>
#include <signal.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void throw_last_napi_error(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  const char *msg = info && info->error_message ? info->error_message : "Node-API call failed";
  napi_throw_error(env, "ERR_NAPI", msg);
}

bool get_string_arg(napi_env env, napi_value value, const char *what,
                    bool allow_null, char **out) {
  *out = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) {
    throw_last_napi_error(env);
    return false;
  }
  if (allow_null && (type == napi_null || type == napi_undefined)) return true;
  char msg[128];
  if (type != napi_string) {
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
    throw_last_napi_error(env);
    return false;
  }
  char *buf = malloc(len + 1);
  if (!buf) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return false;
  }
  if (napi_get_value_string_utf8(env, value, buf, len + 1, &len) != napi_ok) {
    free(buf);
    throw_last_napi_error(env);
    return false;
  }
  if (strlen(buf) != len) {
    free(buf);
    snprintf(msg, sizeof msg, "%s must not contain NUL bytes", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
    return false;
  }
  *out = buf;
  return true;
}

bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *fn) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_last_napi_error(env);
    return false;
  }
  if (argc < n) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s expects %zu argument%s", fn, n, n == 1 ? "" : "s");
    napi_throw_type_error(env, "ERR_MISSING_ARGS", msg);
    return false;
  }
  return true;
}

void *alloc_job(napi_env env, size_t size) {
  void *job = calloc(1, size);
  if (!job) napi_throw_error(env, "ENOMEM", "out of memory");
  return job;
}

bool get_uint32_arg(napi_env env, napi_value value, const char *what, uint32_t *out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) {
    throw_last_napi_error(env);
    return false;
  }
  double d = 0;
  if (type == napi_number) napi_get_value_double(env, value, &d);
  if (type != napi_number || d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be an integer in [0, 2^32)", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

static void set_named_string(napi_env env, napi_value obj, const char *key, const char *s) {
  napi_value v;
  if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, obj, key, v);
}

napi_value make_errno_error(napi_env env, int errnum, const char *syscall,
                            const char *path, const char *detail) {
  /* strerrorname_np/strerrordesc_np are thread-safe and locale-free, unlike strerror. */
  const char *code = strerrorname_np(errnum);
  const char *desc = strerrordesc_np(errnum);
  char codebuf[32];
  if (!code) {
    snprintf(codebuf, sizeof codebuf, "E%d", errnum);
    code = codebuf;
  }
  if (!desc) desc = "Unknown error";

  char *msg = NULL;
  int n = asprintf(&msg, "%s%s%s: %s (%s)%s%s", syscall, path ? " " : "", path ? path : "",
                   code, desc, detail ? ": " : "", detail ? detail : "");
  if (n < 0) return NULL;

  napi_value js_code, js_msg, error, js_errno;
  napi_status st = napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code);
  if (st == napi_ok) st = napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &js_msg);
  free(msg);
  if (st == napi_ok) st = napi_create_error(env, js_code, js_msg, &error);
  if (st != napi_ok) return NULL;
  if (napi_create_int32(env, errnum, &js_errno) == napi_ok)
    napi_set_named_property(env, error, "errno", js_errno);
  set_named_string(env, error, "syscall", syscall);
  if (path) set_named_string(env, error, "path", path);
  if (detail) set_named_string(env, error, "detail", detail);
  return error;
}

void throw_errno_error(napi_env env, int errnum, const char *syscall, const char *path) {
  napi_value error = make_errno_error(env, errnum, syscall, path, NULL);
  if (error)
    napi_throw(env, error);
  else
    throw_last_napi_error(env);
}

void job_error_set(job_error *e, int errnum, const char *syscall, const char *path) {
  e->errnum = errnum;
  e->syscall = syscall;
  free(e->path);
  e->path = path ? strdup(path) : NULL;
}

void job_error_set_detail(job_error *e, const char *detail) {
  free(e->detail);
  e->detail = detail ? strdup(detail) : NULL;
}

void job_error_free(job_error *e) {
  free(e->path);
  free(e->detail);
  e->path = NULL;
  e->detail = NULL;
}

void settle_promise(napi_env env, napi_deferred deferred, const job_error *e) {
  if (e->errnum == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, deferred, undef);
    return;
  }
  napi_value error = make_errno_error(env, e->errnum, e->syscall, e->path, e->detail);
  if (!error) {
    napi_value msg;
    napi_create_string_utf8(env, "failed to build error", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
  }
  napi_reject_deferred(env, deferred, error);
}

napi_value queue_promise_job(napi_env env, const char *name, void *data,
                             napi_async_execute_callback execute,
                             napi_async_complete_callback complete,
                             napi_deferred *deferred, napi_async_work *work) {
  napi_value promise, resource_name;
  NAPI_CALL(env, napi_create_promise(env, deferred, &promise));
  NAPI_CALL(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name));
  NAPI_CALL(env, napi_create_async_work(env, NULL, resource_name, execute, complete, data, work));
  if (napi_queue_async_work(env, *work) != napi_ok) {
    throw_last_napi_error(env);
    napi_delete_async_work(env, *work);
    return NULL;
  }
  return promise;
}

void run_on_fresh_thread(void *(*fn)(void *), void *arg, job_error *e) {
  pthread_t thread;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&thread, NULL, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    job_error_set(e, rc, "pthread_create", NULL);
    return;
  }
  pthread_join(thread, NULL);
}
