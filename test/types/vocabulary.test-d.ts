// One vocabulary across the packages: the shapes that core, server and client each define (the
// client cannot import core: it runs in browsers) must stay identical, names and types.
import { describe, expectTypeOf, it } from 'vitest';
import type { BackoffOptions as ClientBackoffOptions } from '@syncrepl-rx/client';
import type { Logger as ServerLogger, SyncreplResourcesOptions } from '@syncrepl-rx/server';
import type {
  BackoffOptions as CoreBackoffOptions,
  LmdbStoreOptions,
  Logger as CoreLogger,
  ReplicateOptions,
  SyncreplOptions,
} from '@syncrepl-rx/core';

describe('one vocabulary', () => {
  it('core and client share one BackoffOptions shape', () => {
    expectTypeOf<CoreBackoffOptions>().toEqualTypeOf<ClientBackoffOptions>();
    expectTypeOf<keyof CoreBackoffOptions>().toEqualTypeOf<
      'initialDelay' | 'maxDelay' | 'multiplier' | 'maxAttempts'
    >();
  });

  it('core and server take one Logger shape, everywhere', () => {
    expectTypeOf<ServerLogger>().toEqualTypeOf<CoreLogger>();
    expectTypeOf<NonNullable<SyncreplOptions['logger']>>().toEqualTypeOf<CoreLogger>();
    expectTypeOf<NonNullable<ReplicateOptions['logger']>>().toEqualTypeOf<CoreLogger>();
    expectTypeOf<NonNullable<LmdbStoreOptions['logger']>>().toEqualTypeOf<CoreLogger>();
    expectTypeOf<NonNullable<SyncreplResourcesOptions['logger']>>().toEqualTypeOf<CoreLogger>();
    expectTypeOf(console).toMatchTypeOf<CoreLogger>();
  });
});
