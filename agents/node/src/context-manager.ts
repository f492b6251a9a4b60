import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

type AnyFn = (...args: never[]) => unknown;

function invokeWith(fn: AnyFn, thisArg: unknown, args: unknown[]): unknown {
  return Reflect.apply(fn, thisArg, args);
}

/**
 * The SDK's AsyncLocalStorage context manager, with its storage in the open so
 * that the method tracer can enter a context without going through `with()`
 * (which binds a new closure on every call).
 */
export class FlowTraceContextManager extends AsyncLocalStorageContextManager {
  readonly storage = new AsyncLocalStorage<Context>();

  override active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(context, invokeWith, fn as unknown as AnyFn, thisArg, args) as ReturnType<F>;
  }

  override disable(): this {
    this.storage.disable();
    return this;
  }

  override attach(context: Context): { dispose(): void } {
    const previous = this.active();
    this.storage.enterWith(context);
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.storage.enterWith(previous);
      },
    };
  }
}
