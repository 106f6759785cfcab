/* mount(2), the fsopen/fsmount API and umount2(2) as promises: mounts can block
   on slow filesystems, so they run on the libuv pool, never on the main thread. */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common.h"

#define PROPAGATION_FLAGS (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
#define ATIME_FLAGS (MS_RELATIME | MS_NOATIME | MS_STRICTATIME)
/* Per-mount flags: ignored by mount(2) on a fresh bind, the only ones fsmount takes. */
#define BIND_ATTR_FLAGS \
  (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW | MS_NODIRATIME | ATIME_FLAGS)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *source;
  char *target;
  char *fstype;
  char *data;
  unsigned long flags;
  job_error error;
} mount_job;

static void mount_job_free(mount_job *job) {
  free(job->source);
  free(job->target);
  free(job->fstype);
  free(job->data);
  job_error_free(&job->error);
  free(job);
}

/* MS_* per-mount flags in the MOUNT_ATTR_* form of mount_setattr and fsmount. */
static struct mount_attr ms_to_mount_attr(unsigned long flags) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  if (flags & MS_RDONLY) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) attr.attr_set |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) attr.attr_set |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NOSYMFOLLOW) attr.attr_set |= MOUNT_ATTR_NOSYMFOLLOW;
  if (flags & MS_NODIRATIME) attr.attr_set |= MOUNT_ATTR_NODIRATIME;
  if (flags & ATIME_FLAGS) {
    /* The atime mode is one field: clear it as a whole, then set one value. */
    attr.attr_clr |= MOUNT_ATTR__ATIME;
    if (flags & MS_NOATIME)
      attr.attr_set |= MOUNT_ATTR_NOATIME;
    else if (flags & MS_STRICTATIME)
      attr.attr_set |= MOUNT_ATTR_STRICTATIME;
    else
      attr.attr_set |= MOUNT_ATTR_RELATIME;
  }
  return attr;
}

static void mount_execute(napi_env env, void *data) {
  (void)env;
  mount_job *job = data;
  unsigned long flags = job->flags;
  unsigned long propagation = flags & PROPAGATION_FLAGS;
  unsigned long base = flags & ~PROPAGATION_FLAGS;
  bool fresh_bind = (flags & MS_BIND) && !(flags & MS_REMOUNT);
  /* mount(2) treats any propagation flag as "only change the propagation type" and
     drops the rest, so a new mount plus a propagation type takes two calls. */
  bool creates = (base & ~(MS_REC | MS_SILENT)) != 0 || job->fstype != NULL;
  bool undo_on_failure = creates && !(flags & (MS_REMOUNT | MS_MOVE));

  if (propagation == 0 || creates) {
    unsigned long first = fresh_bind ? (MS_BIND | (base & MS_REC)) : base;
    if (mount(job->source, job->target, job->fstype, first, job->data) != 0) {
      job_error_set(&job->error, errno, "mount", job->target);
      return;
    }
  }
  if (fresh_bind && (flags & BIND_ATTR_FLAGS)) {
    struct mount_attr attr = ms_to_mount_attr(flags);
    unsigned int at = (flags & MS_REC) ? AT_RECURSIVE : 0;
    if (mount_setattr(AT_FDCWD, job->target, at, &attr, sizeof attr) != 0) {
      job_error_set(&job->error, errno, "mount_setattr", job->target);
      goto undo;
    }
  }
  if (propagation != 0) {
    if (mount(NULL, job->target, NULL, propagation | (flags & MS_REC), NULL) != 0) {
      job_error_set(&job->error, errno, "mount", job->target);
      goto undo;
    }
  }
  return;

undo:
  if (undo_on_failure && (propagation == 0 || creates)) umount2(job->target, MNT_DETACH);
}

static void mount_complete(napi_env env, napi_status status, void *data) {
  mount_job *job = data;
  if (status != napi_ok && job->error.errnum == 0)
    job_error_set(&job->error, ECANCELED, "mount", job->target);
  settle_promise(env, job->deferred, &job->error);
  napi_delete_async_work(env, job->work);
  mount_job_free(job);
}

/* mount(source: string|null, target: string, fstype: string|null, flags: number,
         data: string|null): Promise<void> */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "mount")) return NULL;
  mount_job *job = alloc_job(env, sizeof *job);
  if (!job) return NULL;
  uint32_t flags = 0;
  napi_value promise = NULL;
  if (get_string_arg(env, argv[0], "source", true, &job->source) &&
      get_string_arg(env, argv[1], "target", false, &job->target) &&
      get_string_arg(env, argv[2], "fstype", true, &job->fstype) &&
      get_uint32_arg(env, argv[3], "flags", &flags) &&
      get_string_arg(env, argv[4], "data", true, &job->data)) {
    job->flags = flags;
    promise = queue_promise_job(env, "keelson:mount", job, mount_execute,
                                mount_complete, &job->deferred, &job->work);
  }
  if (!promise) mount_job_free(job);
  return promise;
}

/* A new filesystem through fsopen/fsconfig/fsmount/move_mount. Unlike mount(2),
   whose data string is cut at one page (4 KiB: about 40 long overlay lowerdirs),
   each parameter is passed on its own, overlay's "lowerdir+" adds one layer at a
   time (Linux 6.8+), and the kernel explains a refusal in the context's log. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *target;
  char *fstype;
  size_t nparams;
  char **keys;
  char **values; /* NULL entry: a flag parameter without value */
  unsigned long flags;
  job_error error;
} fsmount_job;

static void fsmount_job_free(fsmount_job *job) {
  for (size_t i = 0; i < job->nparams; i++) {
    free(job->keys[i]);
    free(job->values[i]);
  }
  free(job->keys);
  free(job->values);
  free(job->target);
  free(job->fstype);
  job_error_free(&job->error);
  free(job);
}

/* Keeps the last error line ("e tmpfs: Bad value for 'size'") of the fs
   context's message log, without its "e " prefix. Some refusals only reach dmesg
   (overlay's "failed to resolve"); then the refused parameter is the best hint. */
static void fs_context_error(int fsfd, const char *key, const char *value, job_error *error) {
  char line[4096], last[4096] = ""; /* a message longer than the buffer would be dropped */
  for (;;) {
    ssize_t n = read(fsfd, line, sizeof line - 1);
    if (n <= 0) break;
    while (n > 0 && line[n - 1] == '\n') n--;
    line[n] = '\0';
    if (n > 2 && line[0] == 'e' && line[1] == ' ') snprintf(last, sizeof last, "%s", line + 2);
  }
  if (!last[0] && key)
    snprintf(last, sizeof last, "refused %s%s%s", key, value ? "=" : "", value ? value : "");
  if (last[0]) job_error_set_detail(error, last);
}

static void fsmount_execute(napi_env env, void *data) {
  (void)env;
  fsmount_job *job = data;
  int mfd = -1;
  int fsfd = fsopen(job->fstype, FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    job_error_set(&job->error, errno, "fsopen", job->target);
    return;
  }
  for (size_t i = 0; i < job->nparams; i++) {
    int rc = job->values[i]
                 ? fsconfig(fsfd, FSCONFIG_SET_STRING, job->keys[i], job->values[i], 0)
                 : fsconfig(fsfd, FSCONFIG_SET_FLAG, job->keys[i], NULL, 0);
    if (rc != 0) {
      job_error_set(&job->error, errno, "fsconfig", job->target);
      fs_context_error(fsfd, job->keys[i], job->values[i], &job->error);
      goto out;
    }
  }
  if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
    job_error_set(&job->error, errno, "fsconfig", job->target);
    fs_context_error(fsfd, NULL, NULL, &job->error);
    goto out;
  }
  struct mount_attr attr = ms_to_mount_attr(job->flags);
  mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned int)attr.attr_set);
  if (mfd < 0) {
    job_error_set(&job->error, errno, "fsmount", job->target);
    fs_context_error(fsfd, NULL, NULL, &job->error);
    goto out;
  }
  if (move_mount(mfd, "", AT_FDCWD, job->target, MOVE_MOUNT_F_EMPTY_PATH) != 0)
    job_error_set(&job->error, errno, "move_mount", job->target);
out:
  /* A detached mount that never got attached is freed with its last fd. */
  if (mfd >= 0) close(mfd);
  close(fsfd);
}

static void fsmount_complete(napi_env env, napi_status status, void *data) {
  fsmount_job *job = data;
  if (status != napi_ok && job->error.errnum == 0)
    job_error_set(&job->error, ECANCELED, "fsmount", job->target);
  settle_promise(env, job->deferred, &job->error);
  napi_delete_async_work(env, job->work);
  fsmount_job_free(job);
}

/* Reads params: Array<[key: string, value: string | null]>. */
static bool get_fs_params(napi_env env, napi_value array, fsmount_job *job) {
  bool is_array = false;
  uint32_t length = 0;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, array, &length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "params must be an array of [key, value] pairs");
    return false;
  }
  job->keys = calloc(length ? length : 1, sizeof *job->keys);
  job->values = calloc(length ? length : 1, sizeof *job->values);
  if (!job->keys || !job->values) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return false;
  }
  for (uint32_t i = 0; i < length; i++) {
    napi_value pair, key, value;
    uint32_t pair_length = 0;
    if (napi_get_element(env, array, i, &pair) != napi_ok ||
        napi_is_array(env, pair, &is_array) != napi_ok || !is_array ||
        napi_get_array_length(env, pair, &pair_length) != napi_ok || pair_length != 2 ||
        napi_get_element(env, pair, 0, &key) != napi_ok ||
        napi_get_element(env, pair, 1, &value) != napi_ok) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "params must be an array of [key, value] pairs");
      return false;
    }
    job->nparams = i + 1; /* so that a failure below frees what was read */
    if (!get_string_arg(env, key, "param key", false, &job->keys[i]) ||
        !get_string_arg(env, value, "param value", true, &job->values[i]))
      return false;
  }
  return true;
}

/* fsmount(target: string, fstype: string, params: Array<[string, string|null]>,
           flags: number): Promise<void> */
static napi_value js_fsmount(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "fsmount")) return NULL;
  fsmount_job *job = alloc_job(env, sizeof *job);
  if (!job) return NULL;
  uint32_t flags = 0;
  napi_value promise = NULL;
  if (get_string_arg(env, argv[0], "target", false, &job->target) &&
      get_string_arg(env, argv[1], "fstype", false, &job->fstype) &&
      get_fs_params(env, argv[2], job) &&
      get_uint32_arg(env, argv[3], "flags", &flags)) {
    if (flags & ~(unsigned long)BIND_ATTR_FLAGS) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                            "fsmount takes only per-mount flags (ro, nosuid, nodev, noexec, atime)");
    } else {
      job->flags = flags;
      promise = queue_promise_job(env, "keelson:fsmount", job, fsmount_execute,
                                  fsmount_complete, &job->deferred, &job->work);
    }
  }
  if (!promise) fsmount_job_free(job);
  return promise;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *target;
  int flags;
  job_error error;
} umount_job;

static void umount_execute(napi_env env, void *data) {
  (void)env;
  umount_job *job = data;
  if (umount2(job->target, job->flags) != 0)
    job_error_set(&job->error, errno, "umount2", job->target);
}

static void umount_complete(napi_env env, napi_status status, void *data) {
  umount_job *job = data;
  if (status != napi_ok && job->error.errnum == 0)
    job_error_set(&job->error, ECANCELED, "umount2", job->target);
  settle_promise(env, job->deferred, &job->error);
  napi_delete_async_work(env, job->work);
  free(job->target);
  job_error_free(&job->error);
  free(job);
}

/* umount(target: string, flags: number): Promise<void> */
static napi_value js_umount(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "umount")) return NULL;
  umount_job *job = alloc_job(env, sizeof *job);
  if (!job) return NULL;
  uint32_t flags = 0;
  napi_value promise = NULL;
  if (get_string_arg(env, argv[0], "target", false, &job->target) &&
      get_uint32_arg(env, argv[1], "flags", &flags)) {
    job->flags = (int)flags;
    promise = queue_promise_job(env, "keelson:umount", job, umount_execute,
                                umount_complete, &job->deferred, &job->work);
  }
  if (!promise) {
    free(job->target);
    free(job);
  }
  return promise;
}

static bool set_constant(napi_env env, napi_value obj, const char *name, uint32_t value) {
  napi_value v;
  return napi_create_uint32(env, value, &v) == napi_ok &&
         napi_set_named_property(env, obj, name, v) == napi_ok;
}

bool mount_register(napi_env env, napi_value exports) {
  napi_value ms, mnt;
  if (napi_create_object(env, &ms) != napi_ok || napi_create_object(env, &mnt) != napi_ok)
    return false;
  struct { const char *name; uint32_t value; } ms_flags[] = {
      {"RDONLY", MS_RDONLY},         {"NOSUID", MS_NOSUID},
      {"NODEV", MS_NODEV},           {"NOEXEC", MS_NOEXEC},
      {"SYNCHRONOUS", MS_SYNCHRONOUS}, {"REMOUNT", MS_REMOUNT},
      {"MANDLOCK", MS_MANDLOCK},     {"DIRSYNC", MS_DIRSYNC},
      {"NOSYMFOLLOW", MS_NOSYMFOLLOW},
      {"NOATIME", MS_NOATIME},       {"NODIRATIME", MS_NODIRATIME},
      {"BIND", MS_BIND},             {"MOVE", MS_MOVE},
      {"REC", MS_REC},               {"SILENT", MS_SILENT},
      {"UNBINDABLE", MS_UNBINDABLE}, {"PRIVATE", MS_PRIVATE},
      {"SLAVE", MS_SLAVE},           {"SHARED", MS_SHARED},
      {"RELATIME", MS_RELATIME},     {"STRICTATIME", MS_STRICTATIME},
      {"LAZYTIME", MS_LAZYTIME},
  };
  for (size_t i = 0; i < sizeof ms_flags / sizeof ms_flags[0]; i++)
    if (!set_constant(env, ms, ms_flags[i].name, (uint32_t)ms_flags[i].value)) return false;
  if (!set_constant(env, mnt, "FORCE", MNT_FORCE) ||
      !set_constant(env, mnt, "DETACH", MNT_DETACH) ||
      !set_constant(env, mnt, "EXPIRE", MNT_EXPIRE) ||
      !set_constant(env, mnt, "NOFOLLOW", UMOUNT_NOFOLLOW))
    return false;

  napi_property_descriptor props[] = {
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fsmount", NULL, js_fsmount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"umount", NULL, js_umount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"MS", NULL, NULL, NULL, NULL, ms, napi_enumerable, NULL},
      {"MNT", NULL, NULL, NULL, NULL, mnt, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
