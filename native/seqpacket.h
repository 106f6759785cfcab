#ifndef KEELSON_SEQPACKET_H
#define KEELSON_SEQPACKET_H

#include <stdbool.h>
#include <node_api.h>

/* Adds this module's functions to the addon's exports. */
bool seqpacket_register(napi_env env, napi_value exports);

#endif
