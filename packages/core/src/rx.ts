/**
 * The rxjs values core uses, loaded on first use. Importing core loads no rxjs: a process pays for
 * rxjs when it first builds an Observable (`syncrepl()`, `replicate()`, an operator), not at
 * `import`. They are loaded with `require()`, each from its own module: under Node, `import 'rxjs'`
 * selects rxjs's CommonJS build, whose index loads all of rxjs (about 220 modules); these five load
 * about 40, and `require()` skips what importing CommonJS from ES modules costs (the export scan of
 * each file), about 45 ms against 28 ms here. They are the same classes and functions `rxjs` exports
 * (the same files, the same module cache), so what users combine them with is unaffected. rxjs 7
 * exports these paths (`./internal/*` in its package.json); types come from `rxjs`.
 */
import { createRequire } from 'node:module';
import type { Observable, Subject, asyncScheduler, defer, takeUntil } from 'rxjs';

/** The rxjs values core uses. */
export interface Rx {
  readonly Observable: typeof Observable;
  readonly Subject: typeof Subject;
  readonly defer: typeof defer;
  readonly asyncScheduler: typeof asyncScheduler;
  readonly takeUntil: typeof takeUntil;
}

let loaded: Rx | undefined;

/** rxjs's values, loaded on the first call. */
export function rx(): Rx {
  if (loaded) return loaded;
  const load = createRequire(import.meta.url);
  loaded = Object.freeze({
    Observable: (load('rxjs/internal/Observable') as Pick<Rx, 'Observable'>).Observable,
    Subject: (load('rxjs/internal/Subject') as Pick<Rx, 'Subject'>).Subject,
    defer: (load('rxjs/internal/observable/defer') as Pick<Rx, 'defer'>).defer,
    asyncScheduler: (load('rxjs/internal/scheduler/async') as Pick<Rx, 'asyncScheduler'>).asyncScheduler,
    takeUntil: (load('rxjs/internal/operators/takeUntil') as Pick<Rx, 'takeUntil'>).takeUntil,
  });
  return loaded;
}
