'use strict';
// A JSON client for one downstream service. The agent's fetch instrumentation adds
// traceparent, baggage and x-request-id to each call, so the code passes no headers of its own.
const { httpError } = require('../../shared/http.js');

class Downstream {
  constructor(name, baseUrl) {
    this.name = name;
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async post(path, body) {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const out = await res.json();
    // A downstream refusal (out of stock, card declined) keeps its status; anything else is a bad gateway.
    if (!res.ok) throw httpError(res.status < 500 ? res.status : 502, `${this.name}: ${out.error ?? res.status}`);
    return out;
  }
}

module.exports = { Downstream };
