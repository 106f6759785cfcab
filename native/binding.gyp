{
  "targets": [
    {
      "target_name": "keelson_native",
      "sources": [
        "addon.c",
        "common.c",
        "mount.c",
        "fsnode.c",
        "namespaces.c",
        "lock.c",
        "seqpacket.c",
        "netdial.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      # node's common.gypi adds -Wno-unused-parameter; drop it so -Wextra is whole.
      "cflags!": ["-Wno-unused-parameter"],
      "cflags": ["-Wall", "-Wextra", "-Wshadow", "-Wstrict-prototypes", "-Werror=implicit-function-declaration"],
      "cflags_c": ["-std=gnu11"],
      "libraries": ["-lpthread"]
    }
  ]
}
