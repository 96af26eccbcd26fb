/**
 * The rxjs values core uses, each from its own module. Under Node, `import 'rxjs'` selects rxjs's
 * CommonJS build, whose index loads all of rxjs (about 220 modules, most of the start-up of a
 * process that imports core); these five load about 40. They are the same classes and functions
 * `rxjs` exports (the same files), so what users combine them with is unaffected. rxjs 7 exports
 * these paths (`./internal/*` in its package.json); types still come from `rxjs`.
 */
export { Observable } from 'rxjs/internal/Observable';
export { Subject } from 'rxjs/internal/Subject';
export { defer } from 'rxjs/internal/observable/defer';
export { asyncScheduler } from 'rxjs/internal/scheduler/async';
export { takeUntil } from 'rxjs/internal/operators/takeUntil';
