/* keelson_native: the syscalls Node lacks (see DESIGN.md, "Native addon"). The
   only caller is src/native.ts, which types these functions and wraps errors. */
#include <node_api.h>

#include "common.h"
#include "fsnode.h"
#include "lock.h"
#include "mount.h"
#include "namespaces.h"
#include "netdial.h"
#include "seqpacket.h"

/* NAPI_MODULE_INIT makes the addon context-aware: it can load in worker threads,
   and keeps no per-process state. */
NAPI_MODULE_INIT() {
  if (!mount_register(env, exports) || !fsnode_register(env, exports) ||
      !namespaces_register(env, exports) || !lock_register(env, exports) ||
      !seqpacket_register(env, exports) || !netdial_register(env, exports)) {
    throw_last_napi_error(env);
    return NULL;
  }
  return exports;
}
