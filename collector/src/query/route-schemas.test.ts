import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { routesWithoutResponseSchema } from './openapi-routes.js';
import { documentOnly, schemaErrorMessage } from './route-schemas.js';

describe('schemaErrorMessage', () => {
  it('names the parameter the way the routes do', () => {
    expect(schemaErrorMessage([{ keyword: 'type', instancePath: '/limit', params: { type: 'string' }, message: 'must be string' }], 'querystring')).toBe('limit: expected one value, got several');
    expect(schemaErrorMessage([{ keyword: 'maxLength', instancePath: '/traceId', params: { limit: 64 }, message: 'must NOT have more than 64 characters' }], 'params')).toBe('traceId: must NOT have more than 64 characters');
    expect(schemaErrorMessage([{ keyword: 'required', instancePath: '', params: { missingProperty: 'query' }, message: "must have required property 'query'" }], 'body')).toBe('query: required');
    expect(schemaErrorMessage([{ keyword: 'type', instancePath: '/a/0', params: { type: 'integer' }, message: 'must be integer' }], 'body')).toBe('a.0: must be integer');
    expect(schemaErrorMessage([{ keyword: 'type', instancePath: '', params: { type: 'object' }, message: 'must be object' }], 'body')).toBe('body: must be object');
  });
});

describe('documentOnly', () => {
  it('lets the handler see the body as sent: no coercion, no refusal', async () => {
    const app = Fastify();
    const schema = { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } };
    app.post('/checked', { schema }, async (req) => ({ got: req.body }));
    app.post('/documented', { schema, validatorCompiler: documentOnly }, async (req) => ({ got: req.body }));
    const post = async (url: string, payload: unknown) => (await app.inject({ method: 'POST', url, payload: payload as object })).json<unknown>();
    expect(await post('/checked', { n: '60' })).toEqual({ got: { n: 60 } });
    expect(await post('/documented', { n: '60' })).toEqual({ got: { n: '60' } });
    expect(await post('/documented', {})).toEqual({ got: {} });
    await app.close();
  });
});

describe('routesWithoutResponseSchema', () => {
  it('flags operations with no responses or a listed response without its body', () => {
    const json = { content: { 'application/json': { schema: { type: 'object' } } } };
    const document = {
      paths: {
        '/a': { get: { responses: { 200: json, 400: json } }, delete: { responses: { 204: { description: 'gone' }, 403: json } } },
        '/b': { get: { responses: { 200: { description: 'Default Response' } } } },
        '/c': { get: { responses: { 200: json, 404: { description: 'missing' } } } },
        '/d': { get: { responses: { 302: { description: 'redirect' } } }, post: { responses: { 202: { description: 'accepted' }, 400: json } } },
      },
    };
    expect(routesWithoutResponseSchema(document)).toEqual(['GET /b', 'GET /c']);
  });
});
