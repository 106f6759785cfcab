/* mknod and extended attributes: what the layer unpacker needs to store overlay
   whiteouts (char 0/0) and opaque dirs (trusted.overlay.opaque). Synchronous: each
   is a single metadata syscall on a local path. */
#include "fsnode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include "common.h"

/* A value that keeps changing size between our two calls is a hostile or broken
   filesystem; give up rather than loop forever. */
#define XATTR_RETRIES 8

static napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* mknod(path: string, kind: 'char'|'block'|'fifo', mode: number, major: number,
         minor: number): void */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "mknod")) return NULL;
  char *path = NULL, *kind = NULL;
  uint32_t mode = 0, major = 0, minor = 0;
  napi_value result = NULL;
  if (!get_string_arg(env, argv[0], "path", false, &path) ||
      !get_string_arg(env, argv[1], "kind", false, &kind) ||
      !get_uint32_arg(env, argv[2], "mode", &mode) ||
      !get_uint32_arg(env, argv[3], "major", &major) ||
      !get_uint32_arg(env, argv[4], "minor", &minor))
    goto out;
  mode_t type;
  if (strcmp(kind, "char") == 0)
    type = S_IFCHR;
  else if (strcmp(kind, "block") == 0)
    type = S_IFBLK;
  else if (strcmp(kind, "fifo") == 0)
    type = S_IFIFO;
  else {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "kind must be 'char', 'block' or 'fifo'");
    goto out;
  }
  if (mode & ~07777u) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "mode must only hold permission bits (07777)");
    goto out;
  }
  if (mknod(path, type | (mode_t)mode, makedev(major, minor)) != 0) {
    throw_errno_error(env, errno, "mknod", path);
    goto out;
  }
  result = undefined(env);
out:
  free(path);
  free(kind);
  return result;
}

/* lsetxattr(path: string, name: string, value: Buffer, mode: 'create'|'replace'|null): void */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "lsetxattr")) return NULL;
  char *path = NULL, *name = NULL, *mode = NULL;
  napi_value result = NULL;
  if (!get_string_arg(env, argv[0], "path", false, &path) ||
      !get_string_arg(env, argv[1], "name", false, &name) ||
      !get_string_arg(env, argv[3], "mode", true, &mode))
    goto out;
  bool is_buffer = false;
  napi_is_buffer(env, argv[2], &is_buffer);
  if (!is_buffer) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "value must be a Buffer");
    goto out;
  }
  void *value = NULL;
  size_t size = 0;
  if (napi_get_buffer_info(env, argv[2], &value, &size) != napi_ok) {
    throw_last_napi_error(env);
    goto out;
  }
  int flags = 0;
  if (mode && strcmp(mode, "create") == 0)
    flags = XATTR_CREATE;
  else if (mode && strcmp(mode, "replace") == 0)
    flags = XATTR_REPLACE;
  else if (mode) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "mode must be 'create' or 'replace'");
    goto out;
  }
  /* An empty Buffer may have a NULL data pointer; the kernel accepts any pointer
     with size 0 but glibc-level checkers do not like NULL. */
  static const char empty[1];
  if (lsetxattr(path, name, size ? value : empty, size, flags) != 0) {
    throw_errno_error(env, errno, "lsetxattr", path);
    goto out;
  }
  result = undefined(env);
out:
  free(path);
  free(name);
  free(mode);
  return result;
}

/* lgetxattr(path: string, name: string): Buffer | null (null when absent) */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "lgetxattr")) return NULL;
  char *path = NULL, *name = NULL, *buf = NULL;
  napi_value result = NULL;
  if (!get_string_arg(env, argv[0], "path", false, &path) ||
      !get_string_arg(env, argv[1], "name", false, &name))
    goto out;
  for (int attempt = 0;; attempt++) {
    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) break;
    free(buf);
    buf = malloc(size ? (size_t)size : 1);
    if (!buf) {
      napi_throw_error(env, "ENOMEM", "out of memory");
      goto out;
    }
    ssize_t got = lgetxattr(path, name, buf, (size_t)size);
    if (got >= 0) {
      if (napi_create_buffer_copy(env, (size_t)got, buf, NULL, &result) != napi_ok) {
        result = NULL;
        throw_last_napi_error(env);
      }
      goto out;
    }
    /* ERANGE: the value grew since we asked its size. */
    if (errno != ERANGE || attempt + 1 >= XATTR_RETRIES) break;
  }
  if (errno == ENODATA)
    napi_get_null(env, &result);
  else
    throw_errno_error(env, errno, "lgetxattr", path);
out:
  free(path);
  free(name);
  free(buf);
  return result;
}

/* llistxattr(path: string): string[] */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, "llistxattr")) return NULL;
  char *path = NULL, *buf = NULL;
  napi_value result = NULL;
  if (!get_string_arg(env, argv[0], "path", false, &path)) goto out;
  ssize_t got = -1;
  for (int attempt = 0;; attempt++) {
    ssize_t size = llistxattr(path, NULL, 0);
    if (size < 0) break;
    free(buf);
    buf = malloc(size ? (size_t)size : 1);
    if (!buf) {
      napi_throw_error(env, "ENOMEM", "out of memory");
      goto out;
    }
    got = llistxattr(path, buf, (size_t)size);
    if (got >= 0 || errno != ERANGE || attempt + 1 >= XATTR_RETRIES) break;
  }
  if (got < 0) {
    throw_errno_error(env, errno, "llistxattr", path);
    goto out;
  }
  napi_value list;
  if (napi_create_array(env, &list) != napi_ok) {
    throw_last_napi_error(env);
    goto out;
  }
  /* The kernel returns names as consecutive NUL-terminated strings. */
  uint32_t index = 0;
  for (ssize_t pos = 0; pos < got;) {
    size_t len = strnlen(buf + pos, (size_t)(got - pos));
    napi_value name;
    if (len > 0) {
      if (napi_create_string_utf8(env, buf + pos, len, &name) != napi_ok ||
          napi_set_element(env, list, index++, name) != napi_ok) {
        throw_last_napi_error(env);
        goto out;
      }
    }
    pos += (ssize_t)len + 1;
  }
  result = list;
out:
  free(path);
  free(buf);
  return result;
}

bool fsnode_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
