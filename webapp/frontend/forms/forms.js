// Forms drawn with form-js (Camunda Forms, and Spiff Arena JSON schemas the server turned into
// form-js schemas: engine/forms/json_schema.py). Each `.formjs-form` on a page (templates/_form.html)
// holds its schema and starting variables in <script type="application/json"> blocks (no inline
// script: the Content-Security-Policy runs only this server's files). The form checks its fields in
// place; a valid form is POSTed to the JSON API, whose per-field refusals (422 invalid_form) are
// shown next to the fields too; then the page follows to the instance.
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import './forms.css';

import { Form } from '@bpmn-io/form-js-viewer';

function json(root, selector) {
  const block = root.querySelector(selector);
  return block ? JSON.parse(block.textContent) : {};
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

/** {"a.b": component id} of the inputs of a form-js schema, group paths included. */
function fieldIds(components, prefix = []) {
  const ids = {};
  for (const component of components || []) {
    if (component.type === 'group') {
      const path = component.path ? prefix.concat(component.path.split('.')) : prefix;
      Object.assign(ids, fieldIds(component.components, path));
    } else if (component.key) {
      ids[prefix.concat(String(component.key).split('.')).join('.')] = component.id;
    }
  }
  return ids;
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
    body: JSON.stringify(body)
  });
  let answer = {};
  try {
    answer = await response.json();
  } catch (error) {
    answer = { message: `the server answered ${response.status}` };
  }
  return { ok: response.ok, answer };
}

async function mount(root) {
  const schema = json(root, '.formjs-schema');
  const data = json(root, '.formjs-data');
  const alert = root.querySelector('.formjs-alert');
  const button = root.querySelector('.formjs-submit');
  const businessKey = root.querySelector('.formjs-business-key');
  // debounce off: a value typed just before the button is pressed is in what is sent
  const form = new Form({ container: root.querySelector('.formjs-container'), debounce: false });
  await form.importSchema(schema, data);
  const ids = fieldIds(schema.components);

  function say(message) {
    alert.textContent = message || '';
    alert.hidden = !message;
  }

  function showRefusal(answer) {
    const errors = {};
    const elsewhere = [];
    for (const { field, message } of answer.errors || []) {
      if (ids[field]) {
        errors[ids[field]] = (errors[ids[field]] || []).concat(message);
      } else {
        elsewhere.push(message);
      }
    }
    form._setState({ errors }); // form-js draws these under their fields, as its own checks
    say([answer.message].concat(elsewhere).filter(Boolean).join(' · '));
  }

  form.on('changed', () => say('')); // what the alert said was about the values before this change
  button.hidden = false;
  button.addEventListener('click', async () => {
    say('');
    const { data: values, errors } = form.submit();
    if (Object.keys(errors).length) {
      say('Some fields need attention.');
      return;
    }
    const body = { data: values };
    if (businessKey && businessKey.value.trim()) body.business_key = businessKey.value.trim();
    button.disabled = true;
    try {
      const { ok, answer } = await post(root.dataset.submit, body);
      if (ok) {
        window.location.assign(root.dataset.done.replace('__ID__', encodeURIComponent(answer.id || '')));
        return;
      }
      showRefusal(answer);
    } catch (error) {
      say(`Could not send the form: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  });
}

for (const root of document.querySelectorAll('.formjs-form')) {
  root.classList.add('formjs-ready');
  mount(root).catch((error) => {
    const alert = root.querySelector('.formjs-alert');
    alert.textContent = `This form cannot be shown: ${error.message}`;
    alert.hidden = false;
  });
}
