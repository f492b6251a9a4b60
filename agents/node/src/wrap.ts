import { basename, dirname, extname } from 'node:path';
import { types } from 'node:util';
import type { Attributes } from '@opentelemetry/api';
import type { CallSite } from './method-span.js';
import type { MethodTracer } from './method-tracer.js';
import { parameterNames } from './params.js';
import { isSecretKey } from './redact.js';
import type { ModuleSource } from './source.js';

type Target = (...args: unknown[]) => unknown;
type NewTarget = abstract new (...args: unknown[]) => unknown;

/** wrapper → the function it wraps: marks wrappers so nothing is wrapped twice. */
const ORIGINALS = new WeakMap<Function, Function>();
/** Classes and objects whose methods were already wrapped in place. */
const INSTRUMENTED = new WeakSet<object>();

const CALLBACK_PARAM = /^(cb|callback|done)$/;

export interface ModuleInfo {
  /** Absolute path of the module file. */
  file: string;
  /** Short name used in span names: the file name without extension (the folder's for index files). */
  moduleName: string;
  source: ModuleSource;
}

export function moduleNameOf(file: string): string {
  const base = basename(file, extname(file));
  return base === 'index' ? basename(dirname(file)) : base;
}

export function isWrapper(fn: Function): boolean {
  return ORIGINALS.has(fn);
}

export function originalOf<T extends Function>(fn: T): T {
  return (ORIGINALS.get(fn) as T | undefined) ?? fn;
}

function sourceOf(fn: Function): string {
  try {
    return Function.prototype.toString.call(fn);
  } catch {
    return '';
  }
}

function isConstructible(fn: Function): boolean {
  try {
    // Throws unless `fn` can be a new.target, i.e. is a constructor; runs nothing of fn.
    Reflect.construct(Object, [], fn);
    return true;
  } catch {
    return false;
  }
}

/** Classes, and pre-class constructor functions whose prototype carries methods. */
export function isClassLike(fn: Function): boolean {
  if (sourceOf(fn).startsWith('class')) return true;
  if (types.isGeneratorFunction(fn) || !Object.prototype.hasOwnProperty.call(fn, 'prototype')) return false;
  const proto: unknown = (fn as { prototype?: unknown }).prototype;
  return proto !== null && typeof proto === 'object' && Object.getOwnPropertyNames(proto).some((k) => k !== 'constructor');
}

export function makeCallSite(name: string, namespace: string, fn: Function, info: ModuleInfo): CallSite {
  const attributes: Attributes = {
    'code.function.name': name,
    'code.namespace': namespace,
    'code.file.path': info.file,
  };
  const line = info.source.lineOf(fn);
  if (line !== undefined) attributes['code.line.number'] = line;
  const params = parameterNames(fn);
  const kind = types.isGeneratorFunction(fn) ? (types.isAsyncFunction(fn) ? 'asyncGenerator' : 'generator') : 'function';
  return {
    name,
    attributes: Object.freeze(attributes),
    secretParams: params.map((p) => p !== undefined && isSecretKey(p)),
    paramNames: params.map((p) => p ?? ''),
    kind,
    callbackLast: kind === 'function' && params.length > 0 && CALLBACK_PARAM.test(params[params.length - 1] ?? ''),
  };
}

/**
 * A function that behaves as `fn` does — same `this`, `new` and `new.target`,
 * return value, throw, `length`, `name`, own properties and prototype — and
 * runs it inside a span.
 */
export function wrapFunction<T extends Function>(tracer: MethodTracer, fn: T, site: CallSite): T {
  const target = fn as unknown as Target;
  let wrapper: Function;
  if (isConstructible(fn)) {
    wrapper = function (this: unknown): unknown {
      const nt = new.target as unknown as NewTarget | undefined;
      // `new wrapper()` must build what `new fn()` builds: fn is the new.target then.
      return tracer.call(site, target, this, arguments, nt === undefined ? undefined : nt === wrapper ? (fn as unknown as NewTarget) : nt);
    };
  } else {
    // Method syntax gives a function that, like methods and arrows, cannot be called with `new`.
    wrapper = {
      traced(this: unknown): unknown {
        return tracer.call(site, target, this, arguments, undefined);
      },
    }.traced;
  }
  copyShape(fn, wrapper);
  ORIGINALS.set(wrapper, fn);
  return wrapper as T;
}

function copyShape(from: Function, to: Function): void {
  for (const key of Reflect.ownKeys(from)) {
    if (key === 'arguments' || key === 'caller') continue;
    const desc = Object.getOwnPropertyDescriptor(from, key);
    if (desc === undefined) continue;
    try {
      if (key === 'prototype' && Object.prototype.hasOwnProperty.call(to, 'prototype')) {
        // A function's own prototype slot is not configurable, but it is writable.
        (to as { prototype?: unknown }).prototype = desc.value;
      } else {
        Object.defineProperty(to, key, desc);
      }
    } catch {
      // A property the wrapper cannot take is left out rather than failing the module.
    }
  }
  Object.setPrototypeOf(to, Object.getPrototypeOf(from) as object | null);
}

/** Wraps, in place, the method stored at `obj[key]` when it is a plain data property holding a function. */
function wrapMember(tracer: MethodTracer, obj: object, key: string, name: string, namespace: string, info: ModuleInfo): void {
  const desc = Object.getOwnPropertyDescriptor(obj, key);
  if (desc === undefined || !('value' in desc) || typeof desc.value !== 'function') return; // getters/setters stay as they are
  const fn = desc.value as Function;
  if (ORIGINALS.has(fn) || isClassLike(fn)) return;
  if (!desc.writable && !desc.configurable) return;
  const wrapped = wrapFunction(tracer, fn, makeCallSite(name, namespace, fn, info));
  try {
    if (desc.configurable) Object.defineProperty(obj, key, { ...desc, value: wrapped });
    else (obj as Record<string, unknown>)[key] = wrapped;
  } catch {
    // Frozen after all: leave it.
  }
}

const STATIC_SKIP = new Set(['length', 'name', 'prototype', 'arguments', 'caller']);

/** Wraps a class's prototype and static methods in place: the class itself is untouched, so `instanceof` holds. */
export function instrumentClass(tracer: MethodTracer, cls: Function, className: string, info: ModuleInfo): void {
  if (INSTRUMENTED.has(cls)) return;
  INSTRUMENTED.add(cls);
  const proto: unknown = (cls as { prototype?: unknown }).prototype;
  if (proto !== null && typeof proto === 'object') {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key !== 'constructor') wrapMember(tracer, proto, key, `${className}.${key}`, className, info);
    }
  }
  for (const key of Object.getOwnPropertyNames(cls)) {
    if (!STATIC_SKIP.has(key)) wrapMember(tracer, cls, key, `${className}.${key}`, className, info);
  }
}

/** Wraps the methods of an object literal in place (`export const repo = { find() {} }`). */
export function instrumentObject(tracer: MethodTracer, obj: object, objName: string, info: ModuleInfo): void {
  if (INSTRUMENTED.has(obj) || Object.isFrozen(obj)) return;
  INSTRUMENTED.add(obj);
  for (const key of Object.keys(obj)) wrapMember(tracer, obj, key, `${objName}.${key}`, objName, info);
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * What a module exports under `key`, instrumented: classes and objects are
 * changed in place and returned as they are; a plain function comes back wrapped.
 * Classes are only touched when their source is in this module, so a class
 * re-exported from elsewhere (EventEmitter…) is never patched from here.
 */
export function instrumentValue(tracer: MethodTracer, value: unknown, key: string | undefined, info: ModuleInfo): unknown {
  if (typeof value === 'function') {
    if (ORIGINALS.has(value)) return value;
    // An anonymous default export is named 'default' by the language: the module's name says more.
    const ownName = value.name !== '' && value.name !== 'default' ? value.name : undefined;
    if (isClassLike(value)) {
      if (info.source.lineOf(value) !== undefined) instrumentClass(tracer, value, ownName ?? (key !== 'default' ? key : undefined) ?? info.moduleName, info);
      return value;
    }
    const fname = key === undefined || key === 'default' ? (ownName ?? 'default') : key;
    return wrapFunction(tracer, value, makeCallSite(`${info.moduleName}.${fname}`, info.moduleName, value, info));
  }
  if (value !== null && typeof value === 'object' && !types.isProxy(value)) {
    if (isPlainObject(value)) {
      instrumentObject(tracer, value, key === undefined || key === 'default' ? info.moduleName : key, info);
    } else {
      // An instance (`module.exports = new Service()`): its class, if written here.
      const ctor = (Object.getPrototypeOf(value) as { constructor?: unknown }).constructor;
      if (typeof ctor === 'function' && isClassLike(ctor) && info.source.lineOf(ctor) !== undefined) {
        instrumentClass(tracer, ctor, ctor.name || info.moduleName, info);
      }
    }
  }
  return value;
}

/** A CommonJS module's exports, instrumented; the return value replaces `module.exports`. */
export function instrumentCjsExports(tracer: MethodTracer, exports: unknown, info: ModuleInfo): unknown {
  if (typeof exports === 'function') return instrumentValue(tracer, exports, undefined, info);
  if (exports === null || typeof exports !== 'object' || types.isModuleNamespaceObject(exports) || types.isProxy(exports)) return exports;
  if (isPlainObject(exports) || Object.getPrototypeOf(exports) === null) {
    for (const key of Object.keys(exports)) {
      const desc = Object.getOwnPropertyDescriptor(exports, key);
      if (desc === undefined || !('value' in desc)) continue; // re-exports through getters are instrumented where they are defined
      const replaced = instrumentValue(tracer, desc.value, key, info);
      if (replaced !== desc.value && (desc.writable || desc.configurable)) {
        Object.defineProperty(exports, key, { ...desc, value: replaced });
      }
    }
    return exports;
  }
  return instrumentValue(tracer, exports, undefined, info);
}

/** An ES module's namespace as import-in-the-middle hands it over: assigning an export rebinds it for importers. */
export function instrumentEsmNamespace(tracer: MethodTracer, ns: Record<string, unknown>, info: ModuleInfo): void {
  for (const key of Object.keys(ns)) {
    let value: unknown;
    try {
      value = ns[key];
    } catch {
      continue; // not initialised yet (a cycle): nothing to wrap
    }
    const replaced = instrumentValue(tracer, value, key, info);
    if (replaced !== value) {
      try {
        ns[key] = replaced;
      } catch {
        // The binding refused: the export stays unwrapped.
      }
    }
  }
}
