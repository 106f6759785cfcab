/* SOCK_SEQPACKET connect, which Node's net module cannot do: conmon serves a container's
   attach socket as SEQPACKET. The socket is reached through /proc/self/fd/<dir fd>/<name>
   so that a long bundle path does not hit sun_path's 108-byte limit. */
#include "seqpacket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

/* connectSeqpacket(dir: string, name: string): number  (a non-blocking, close-on-exec fd) */
static napi_value js_connect_seqpacket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "connectSeqpacket")) return NULL;
  char *dir = NULL, *name = NULL;
  napi_value result = NULL;
  int dirfd = -1, fd = -1;
  if (!get_string_arg(env, argv[0], "dir", false, &dir)) goto out;
  if (!get_string_arg(env, argv[1], "name", false, &name)) goto out;
  if (strchr(name, '/') != NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "connectSeqpacket: name must not contain '/'");
    goto out;
  }
  dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    throw_errno_error(env, errno, "open", dir);
    goto out;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  int n = snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  if (n < 0 || (size_t)n >= sizeof addr.sun_path) {
    throw_errno_error(env, ENAMETOOLONG, "connect", name);
    goto out;
  }
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno_error(env, errno, "socket", dir);
    goto out;
  }
  int rc;
  do rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    throw_errno_error(env, errno, "connect", dir);
    goto out;
  }
  /* Non-blocking afterwards: the caller polls it without holding a thread-pool thread. */
  if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
    throw_errno_error(env, errno, "fcntl", dir);
    goto out;
  }
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    result = NULL;
    throw_last_napi_error(env);
    goto out;
  }
  fd = -1; /* owned by the caller now */
out:
  if (fd >= 0) close(fd);
  if (dirfd >= 0) close(dirfd);
  free(dir);
  free(name);
  return result;
}

/* shutdownWrite(fd: number): void  -- half-close: the peer reads EOF, we keep reading.
   Node can neither shut down nor close-for-writing a socket it did not create. */
static napi_value js_shutdown_write(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t fd = 0;
  if (!get_args(env, info, 1, argv, "shutdownWrite")) return NULL;
  if (!get_uint32_arg(env, argv[0], "fd", &fd)) return NULL;
  if (shutdown((int)fd, SHUT_WR) != 0) throw_errno_error(env, errno, "shutdown", NULL);
  return NULL;
}

bool seqpacket_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"connectSeqpacket", NULL, js_connect_seqpacket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shutdownWrite", NULL, js_shutdown_write, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
