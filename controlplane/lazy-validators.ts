// Fastify compiles every route's validators when it starts: about 100 ms of `lattice up` on the
// 2-core machine (`npm run bench -- up`), for routes most starts never see called. This factory
// hands fastify a stand-in per route that compiles with fastify's own compiler (the same Ajv
// options and the same errors) on the route's first request. Bodies are validated without type
// coercion: a query string has only strings, but a JSON body that sends a number where a string
// belongs (a password of 12345678) is wrong, not a string.
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import type { AnyValidateFunction } from 'ajv/dist/core.js';

type LazyValidate = ((data: unknown, context?: unknown) => unknown) & { errors?: AnyValidateFunction['errors'] };

export function lazyValidatorFactory(): ValidatorFactory {
  const buildCompiler = AjvCompiler();
  return (externalSchemas, options) => {
    const compile = buildCompiler(externalSchemas, options);
    const compileBody = buildCompiler(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options);
    return (route) => {
      let compiled: AnyValidateFunction | undefined;
      const validator = () => (compiled ??= (route.httpPart === 'body' ? compileBody : compile)(route));
      const validate: LazyValidate = (data, context) => {
        const fn = validator();
        const result = (fn as (data: unknown, context?: unknown) => unknown)(data, context);
        validate.errors = fn.errors;
        return result;
      };
      // Fastify passes the parent object (so that Ajv may coerce a root value) only to validators
      // that have a schemaEnv: reading it compiles, as a call would.
      Object.defineProperty(validate, 'schemaEnv', { get: () => validator().schemaEnv });
      return validate as unknown as AnyValidateFunction;
    };
  };
}
