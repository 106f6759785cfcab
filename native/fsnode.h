#ifndef KEELSON_FSNODE_H
#define KEELSON_FSNODE_H

#include <stdbool.h>
#include <node_api.h>

/* Adds this module's functions and constants to the addon's exports. */
bool fsnode_register(napi_env env, napi_value exports);

#endif
