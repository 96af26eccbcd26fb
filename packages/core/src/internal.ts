// @syncrepl-rx/core/internal: what @syncrepl-rx/server needs from core beyond the public API
// (src/index.ts). Not covered by semver: it changes with the server, in any release. Program
// against '@syncrepl-rx/core'.
export { checkLmdbFile } from './stores/lmdb.js';
export { viewIdentity } from './stores/store.js';
export { parseCookie } from './protocol/cookie.js';
