// How layers mark deletions (the OCI image spec's whiteout files) and how keelson stores
// them on disk (the overlayfs way: a 0/0 char device, or an opaque-dir xattr).

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
