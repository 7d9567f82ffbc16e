// The JSON API the editor talks to (webapp/api.py; contract in issue 13).
// The page is signed in by its session cookie: a state-changing request carries the page's CSRF
// token (meta "csrf-token") as X-CSRFToken, which the server requires of it (webapp/access.py).

/** An API error carrying the server's JSON body ({error, message, errors?}). */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `the server answered ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** The page's CSRF token (base.html's meta "csrf-token"), for the requests that change something. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

export function createApi(base) {
  async function call(method, path, body) {
    const options = { method, headers: { Accept: 'application/json' } };
    if (!['GET', 'HEAD'].includes(method)) options.headers['X-CSRFToken'] = csrfToken();
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    const response = await fetch(base + path, options);
    if (response.status === 204) return null;
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch (error) {
      parsed = { message: text.slice(0, 200) };
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  const draft = (key) => `/drafts/${encodeURIComponent(key)}`;
  return {
    lint: (xml, name) => call('POST', '/lint', { xml, name }),
    handlers: () => call('GET', '/handlers'),
    elementTemplates: () => call('GET', '/element-templates'),
    definitions: () => call('GET', '/definitions'),
    tryIt: (xml, name, variables, tasks) => call('POST', '/try', { xml, name, variables, tasks }),
    getDraft: (key) => call('GET', draft(key)),
    saveDraft: (key, xml, basedOnVersion) => call('PUT', draft(key), { xml, based_on_version: basedOnVersion }),
    deleteDraft: (key) => call('DELETE', draft(key)),
    deployDraft: (key, { overNewer = false } = {}) => call('POST', `${draft(key)}/deploy${overNewer ? '?over_newer=true' : ''}`),
    async versionXml(key, version) {
      // A plain download of the stored file, not JSON.
      const query = version ? `?version=${encodeURIComponent(version)}` : '';
      const response = await fetch(`${base}/definitions/${encodeURIComponent(key)}/xml${query}`);
      if (!response.ok) {
        let body = null;
        try { body = await response.json(); } catch (error) { /* not JSON */ }
        throw new ApiError(response.status, body);
      }
      return response.text();
    }
  };
}
