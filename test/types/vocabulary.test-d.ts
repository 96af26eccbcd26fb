// One vocabulary across the packages: the shapes that core, server and client each define (the
// client cannot import core: it runs in browsers) must stay identical, names and types.
import { describe, expectTypeOf, it } from 'vitest';
import type { BackoffOptions as CoreBackoffOptions } from '@syncrepl-rx/core';
import type { BackoffOptions as ClientBackoffOptions } from '@syncrepl-rx/client';

describe('one vocabulary', () => {
  it('core and client share one BackoffOptions shape', () => {
    expectTypeOf<CoreBackoffOptions>().toEqualTypeOf<ClientBackoffOptions>();
    expectTypeOf<keyof CoreBackoffOptions>().toEqualTypeOf<
      'initialDelay' | 'maxDelay' | 'multiplier' | 'maxAttempts'
    >();
  });
});
