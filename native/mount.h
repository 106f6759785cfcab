#ifndef KEELSON_MOUNT_H
#define KEELSON_MOUNT_H

#include <stdbool.h>
#include <node_api.h>

/* Adds this module's functions and constants to the addon's exports. */
bool mount_register(napi_env env, napi_value exports);

#endif
