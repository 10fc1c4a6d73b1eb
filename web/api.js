// api.js - the dashboard's one way to the daemon: fetch() on the HTTP API, same origin.
// Every failure becomes an Error carrying the RFC 9457 problem (status, title, detail).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? `${problem.title || status}: ${problem.detail}` :
          `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function request(method, path, body, accept) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (accept) init.headers.Accept = accept;
  const r = await fetch(path, init);
  if (!r.ok) {
    let problem = null;
    try { problem = await r.json(); } catch (e) { /* not JSON */ }
    throw new ApiError(r.status, problem);
  }
  return r;
}

export const m = (id, rest = '') => `/v1/machines/${encodeURIComponent(id)}${rest}`;

export const api = {
  async get(path) { return (await request('GET', path)).json(); },
  async text(path) { return (await request('GET', path, undefined, 'text/plain')).text(); },
  async bytes(path) { return new Uint8Array(await (await request('GET', path)).arrayBuffer()); },
  async post(path, body) {
    const r = await request('POST', path, body === undefined ? {} : body);
    return r.status === 204 ? null : r.json();
  },
  async put(path, body) { return (await request('PUT', path, body)).json(); },
  async del(path) {
    const r = await request('DELETE', path);
    return r.status === 204 ? null : r.json();
  },
  // one command, or an array of them (a batch), through POST .../commands
  command(id, cmd) { return this.post(m(id, '/commands'), cmd); },
  m,
};
