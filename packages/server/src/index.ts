// @syncrepl-rx/server: the public API, what users program against. Everything exported is named
// here; internals stay unexported (tests import them by path).
export { syncreplResources } from './middleware.js';
export type { SyncreplResources } from './middleware.js';
export type { SyncreplResourcesOptions, Authorize, Authorization, AuthorizationContext } from './options.js';
export type { ResourceDefinition, Body } from './resource.js';
export type { SourceDefinition, UpstreamState } from './source.js';
export type { Logger } from '@syncrepl-rx/core';
export { HttpError } from './errors.js';
export { SSE_HEADERS } from './sse.js';
