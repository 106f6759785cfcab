/* Advisory whole-file lock that keeps a second daemon off the same root, state
   dir or socket. flock locks belong to the open file description, so the kernel
   drops it when the process dies, however it dies. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "common.h"

/* tryLockFile(path: string): number | null  (the fd holding the lock, or null
   when another open file description holds it) */
static napi_value js_try_lock_file(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, "tryLockFile")) return NULL;
  char *path = NULL;
  if (!get_string_arg(env, argv[0], "path", false, &path)) return NULL;
  napi_value result = NULL;
  /* O_CLOEXEC: runc, conmon and CNI plugins we spawn must not inherit the lock. */
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    throw_errno_error(env, errno, "open", path);
    goto out;
  }
  int rc;
  do rc = flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int saved = errno;
    close(fd);
    if (saved == EWOULDBLOCK)
      napi_get_null(env, &result);
    else
      throw_errno_error(env, saved, "flock", path);
    goto out;
  }
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    result = NULL;
    throw_last_napi_error(env);
  }
out:
  free(path);
  return result;
}

bool lock_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"tryLockFile", NULL, js_try_lock_file, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
