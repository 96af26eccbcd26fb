// @syncrepl-rx/server: the public API. Everything exported is named here.
export { syncreplResources } from './middleware.js';
export type { SyncreplResources } from './middleware.js';
export type { SyncreplResourcesOptions, Authorize, Authorization, AuthorizationContext } from './options.js';
export type { ResourceDefinition, Body } from './resource.js';
export type { SourceDefinition, UpstreamState } from './source.js';
export type { Logger } from '@syncrepl-rx/core';
export { HttpError } from './errors.js';
export { SSE_HEADERS } from './sse.js';
export { MAX_RESUME_COOKIE_BYTES } from './resume-cookie.js';
