#ifndef KEELSON_NETDIAL_H
#define KEELSON_NETDIAL_H

#include <stdbool.h>
#include <node_api.h>

bool netdial_register(napi_env env, napi_value exports);

#endif
